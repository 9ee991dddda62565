#ifndef KOURYU_COMMON_STATUS_H_
#define KOURYU_COMMON_STATUS_H_

// The one place where errors change form: rocksdb::Status -> absl::Status at
// the storage boundary, absl::Status -> grpc::Status at the RPC boundary.
//
// Errors carry AIP-193 details as absl::Status payloads keyed by their type
// URL: a google.rpc.ErrorInfo (reason, domain "kouryu.v1") and, for bad
// input, a google.rpc.BadRequest whose field violations point at the row and
// column of the input. ToGrpcStatus packs them into grpc-status-details-bin.
//
// ErrorInfo.metadata holds the machine-readable facts of the error, as
// AIP-193 asks, under lowerCamelCase keys: "field" (the first violation's
// path), "line" and "column" (in an uploaded table), "expected" (what was
// expected there), "minSequence" and "appliedSequence" (a replica behind),
// "requestType" (a request that does not parse), ...
//
// Field paths count as follows. An index into a repeated field of the
// request counts from 0, as in google.rpc.BadRequest ("columns[0]" is
// ImportTableRequest.columns' first entry). A position in an uploaded table
// or in a stream is numbered as people count, from 1: "rows[N]" is line N
// of the file (blank lines and the header count), "rows[N].column[C]" its
// C-th cell, "records[N]" the N-th message of an IngestRecords stream; N is
// the RowResult.row of that row.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace grpc {
class Status;
}
namespace rocksdb {
class Status;
}

namespace kouryu {

inline constexpr absl::string_view kErrorDomain = "kouryu.v1";

struct FieldViolation {
  // Path to the bad input, e.g. "rows[12].title" or "record.department".
  std::string field;
  std::string description;

  friend bool operator==(const FieldViolation&, const FieldViolation&) =
      default;
};

// ErrorInfo.metadata: key (lowerCamelCase) -> value.
using ErrorMetadata = std::map<std::string, std::string>;

// Field violations listed in one BadRequest at most: errors travel in
// trailers, which clients cap (gRPC's default is 16 KiB).
inline constexpr size_t kMaxFieldViolations = 100;

// InvalidArgument with an ErrorInfo `reason` and a BadRequest listing
// `violations` (the first kMaxFieldViolations; when there are more, the
// metadata's "violationCount" and "violationsListed" say how many); `message`
// summarizes. The ErrorInfo's metadata is `metadata`
// plus "field", the first violation's path (unless `metadata` sets it).
absl::Status InvalidArgumentError(absl::string_view reason,
                                  absl::string_view message,
                                  const std::vector<FieldViolation>& violations,
                                  ErrorMetadata metadata = {});

// Metadata values longer than this are replaced by QuoteValue's short form
// (a quoted prefix and the value's length): errors travel in trailers, which
// clients cap, and a value may come from the caller (an etag, a name).
inline constexpr size_t kMaxMetadataValueBytes = 256;

// Returns `status` with an ErrorInfo `reason` and `metadata` attached
// (replacing any ErrorInfo); see kMaxMetadataValueBytes.
absl::Status WithReason(absl::Status status, absl::string_view reason,
                        const ErrorMetadata& metadata = {});

// The ErrorInfo reason of `status`, or "" when it has none.
std::string ReasonOf(const absl::Status& status);
// The BadRequest field violations of `status` (empty when it has none).
std::vector<FieldViolation> ViolationsOf(const absl::Status& status);
// The ErrorInfo metadata of `status` (empty when it has none).
ErrorMetadata MetadataOf(const absl::Status& status);

// `context` names the operation ("writing records"). Corruption and IO
// errors become INTERNAL / UNAVAILABLE; a full disk RESOURCE_EXHAUSTED.
absl::Status FromRocksDb(const rocksdb::Status& status,
                         absl::string_view context);

// INTERNAL with reason STORAGE_CORRUPTED: a stored `what` ("record")
// does not parse.
absl::Status StorageCorrupted(absl::string_view what);

grpc::Status ToGrpcStatus(const absl::Status& status);

// The other way, for a call's answer: the same code (both use the canonical
// numbering) and message. The details (grpc-status-details-bin) stay
// behind; what shows them to a person reads grpc::Status::error_details().
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace kouryu

#endif  // KOURYU_COMMON_STATUS_H_
