#include "cli/errors.h"

#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace kouryu::cli {
namespace {

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// The details below the first line, each line starting with "\n  ".
std::string FormatDetails(const std::string& bytes, int max_violations) {
  google::rpc::Status details;
  if (bytes.empty() || !details.ParseFromString(bytes)) return "";
  // The reason first, then the violations, then anything else.
  std::string out, violations, others;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    google::rpc::RetryInfo retry;
    google::rpc::ResourceInfo resource;
    if (any.UnpackTo(&info)) {
      absl::StrAppend(&out, "\n  reason: ", info.reason());
      if (!info.domain().empty())
        absl::StrAppend(&out, " (", info.domain(), ")");
      std::vector<std::string> metadata;
      // Sorted, so that the line reads the same every time.
      std::map<std::string, std::string> sorted(info.metadata().begin(),
                                                info.metadata().end());
      for (const auto& [key, value] : sorted) {
        metadata.push_back(absl::StrCat(key, "=", value));
      }
      if (!metadata.empty()) {
        absl::StrAppend(&out, "  ", absl::StrJoin(metadata, " "));
      }
    } else if (any.UnpackTo(&bad)) {
      int shown = 0;
      for (const auto& v : bad.field_violations()) {
        if (shown++ == max_violations) break;
        absl::StrAppend(&violations, "\n  - ",
                        v.field().empty() ? "(request)" : v.field(), ": ",
                        v.description());
      }
      if (bad.field_violations_size() > max_violations) {
        absl::StrAppend(&violations, "\n  ... and ",
                        bad.field_violations_size() - max_violations, " more");
      }
    } else if (any.UnpackTo(&retry)) {
      absl::StrAppend(&others,
                      "\n  retry after: ", retry.retry_delay().seconds(), "s");
    } else if (any.UnpackTo(&resource)) {
      absl::StrAppend(&others, "\n  resource: ", resource.resource_type(), " ",
                      resource.resource_name());
    } else {
      absl::StrAppend(&others, "\n  detail: ", any.type_url());
    }
  }
  return out + violations + others;
}

}  // namespace

std::string FormatRpcError(const grpc::Status& status, int max_violations) {
  return absl::StrCat("ERROR: ", CodeName(status.error_code()), ": ",
                      status.error_message(),
                      FormatDetails(status.error_details(), max_violations));
}

absl::Status FromGrpc(const grpc::Status& status) {
  const absl::Status converted = FromGrpcStatus(status);
  if (converted.ok()) return converted;
  return absl::Status(converted.code(),
                      absl::StrCat(converted.message(),
                                   FormatDetails(status.error_details(), 20)));
}

void PrintError(const absl::Status& status) {
  std::fprintf(stderr, "ERROR: %s: %s\n",
               absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
}

}  // namespace kouryu::cli
