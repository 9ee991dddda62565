#include "common/status.h"

#include <grpcpp/support/status.h>
#include <rocksdb/status.h>

#include <algorithm>
#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/quote.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace kouryu {
namespace {

constexpr absl::string_view kTypePrefix = "type.googleapis.com/";

std::string TypeUrl(const google::protobuf::Message& message) {
  return absl::StrCat(kTypePrefix, message.GetDescriptor()->full_name());
}

template <typename T>
std::optional<T> PayloadOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(TypeUrl(T()));
  if (!payload) return std::nullopt;
  T message;
  if (!message.ParseFromString(std::string(*payload))) return std::nullopt;
  return message;
}

void SetPayload(absl::Status& status, const google::protobuf::Message& m) {
  status.SetPayload(TypeUrl(m), absl::Cord(m.SerializeAsString()));
}

}  // namespace

absl::Status InvalidArgumentError(
    absl::string_view reason, absl::string_view message,
    const std::vector<FieldViolation>& violations, ErrorMetadata metadata) {
  if (!violations.empty() && !violations.front().field.empty()) {
    metadata.emplace("field", violations.front().field);
  }
  const size_t listed = std::min(violations.size(), kMaxFieldViolations);
  if (listed < violations.size()) {
    metadata.emplace("violationCount", absl::StrCat(violations.size()));
    metadata.emplace("violationsListed", absl::StrCat(listed));
  }
  absl::Status status =
      WithReason(absl::InvalidArgumentError(message), reason, metadata);
  if (!violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (size_t i = 0; i < listed; ++i) {
      const FieldViolation& v = violations[i];
      auto* out = bad_request.add_field_violations();
      out->set_field(v.field);
      out->set_description(v.description);
    }
    SetPayload(status, bad_request);
  }
  return status;
}

absl::Status WithReason(absl::Status status, absl::string_view reason,
                        const ErrorMetadata& metadata) {
  if (status.ok()) return status;
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  for (const auto& [key, value] : metadata) {
    (*info.mutable_metadata())[key] =
        value.size() > kMaxMetadataValueBytes ? QuoteValue(value) : value;
  }
  SetPayload(status, info);
  return status;
}

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info =
      PayloadOf<google::rpc::ErrorInfo>(status);
  return info ? info->reason() : "";
}

std::vector<FieldViolation> ViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  std::optional<google::rpc::BadRequest> bad =
      PayloadOf<google::rpc::BadRequest>(status);
  if (!bad) return out;
  for (const auto& v : bad->field_violations()) {
    out.push_back({v.field(), v.description()});
  }
  return out;
}

ErrorMetadata MetadataOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info =
      PayloadOf<google::rpc::ErrorInfo>(status);
  if (!info) return {};
  return ErrorMetadata(info->metadata().begin(), info->metadata().end());
}

absl::Status FromRocksDb(const rocksdb::Status& status,
                         absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", status.ToString());
  if (status.IsNoSpace() ||
      status.subcode() == rocksdb::Status::SubCode::kSpaceLimit) {
    return WithReason(absl::ResourceExhaustedError(message), "STORAGE_FULL");
  }
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsCorruption()) {
    return WithReason(absl::InternalError(message), "STORAGE_CORRUPTED");
  }
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return WithReason(absl::UnavailableError(message), "STORAGE_BUSY");
  }
  if (status.IsIOError()) {
    return WithReason(absl::UnavailableError(message), "STORAGE_IO_ERROR");
  }
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return WithReason(absl::InternalError(message), "STORAGE_ERROR");
}

absl::Status StorageCorrupted(absl::string_view what) {
  return WithReason(
      absl::InternalError(absl::StrCat("cannot parse stored ", what)),
      "STORAGE_CORRUPTED");
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  status.ForEachPayload(
      [&details](absl::string_view type_url, const absl::Cord& payload) {
        auto* any = details.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(payload));
      });
  // absl::StatusCode and grpc::StatusCode share the canonical numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()),
                      details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace kouryu
