#include "ingest-service/call_limits.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kouryu::ingest {

grpc::Status Busy(absl::string_view what, int limit, absl::string_view reason) {
  return ToGrpcStatus(WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          limit, " ", what, " are running, the most this server runs at once; "
          "retry later")),
      reason));
}

}  // namespace kouryu::ingest
