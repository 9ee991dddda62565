#include "query-service/query_service.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/server_context.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>

#include "common/keys.h"
#include "common/request.h"
#include "common/status.h"
#include "query-service/list_cities.h"
#include "query-service/list_records.h"
#include "query-service/request_fields.h"
#include "query-service/search_records.h"
#include "query-service/summarize.h"

namespace kouryu::query {
namespace {

template <typename Request>
absl::StatusOr<Request> Parse(const grpc::ByteBuffer& bytes) {
  Request request;
  if (absl::Status parsed = ParseRequest(bytes, request); !parsed.ok()) {
    return parsed;
  }
  return request;
}

// Parses a `Request` from `bytes` and checks it with `plan_of` (PlanList,
// ...): the request's min_sequence and its plan.
template <typename Request, typename PlanOf>
auto Decode(const grpc::ByteBuffer& bytes, PlanOf plan_of) {
  using Plan =
      typename std::invoke_result_t<PlanOf, const Request&>::value_type;
  struct Decoded {
    uint64_t min_sequence;
    Plan plan;
  };
  using Result = absl::StatusOr<Decoded>;
  absl::StatusOr<Request> request = Parse<Request>(bytes);
  if (!request.ok()) return Result(request.status());
  absl::StatusOr<Plan> plan = plan_of(*request);
  if (!plan.ok()) return Result(plan.status());
  return Result(Decoded{request->min_sequence(), *std::move(plan)});
}

// A response as it is sent: bytes as they are, or a message serialized.
absl::StatusOr<grpc::ByteBuffer> ToBytes(absl::StatusOr<std::string> bytes) {
  if (!bytes.ok()) return bytes.status();
  grpc::Slice slice(bytes->data(), bytes->size());
  return grpc::ByteBuffer(&slice, 1);
}
absl::StatusOr<grpc::ByteBuffer> ToBytes(
    const google::protobuf::MessageLite& message) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  grpc::Status serialized =
      grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(
          message, &bytes, &own_buffer);
  if (!serialized.ok()) {
    return absl::InternalError(serialized.error_message());
  }
  return bytes;
}
template <typename Message>
absl::StatusOr<grpc::ByteBuffer> ToBytes(
    const absl::StatusOr<Message>& message) {
  if (!message.ok()) return message.status();
  return ToBytes(*message);
}

// The key of the record a GetRecord request names.
absl::StatusOr<std::string> KeyOf(const v1::GetRecordRequest& request) {
  absl::StatusOr<RecordName> name = ParseRecordName(request.name());
  if (!name.ok()) {
    return BadField("INVALID_NAME", "name", name.status().message());
  }
  return RecordKey(*name);
}

grpc::ServerUnaryReactor* Fail(grpc::CallbackServerContext* context,
                               const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

CancelledFn CancelledOf(grpc::CallbackServerContext* context) {
  return [context] { return context->IsCancelled(); };
}

v1::ReplicaStatus ToReplicaStatus(const FollowerStatus& status) {
  v1::ReplicaStatus response;
  response.set_applied_sequence(status.applied_sequence);
  response.set_head_sequence(status.head_sequence);
  const uint64_t lag = status.head_sequence > status.applied_sequence
                           ? status.head_sequence - status.applied_sequence
                           : 0;
  response.set_lag_sequences(lag);
  if (status.last_change_time != absl::InfinitePast()) {
    const int64_t nanos = absl::ToUnixNanos(status.last_change_time);
    response.mutable_last_change_time()->set_seconds(nanos / 1'000'000'000);
    response.mutable_last_change_time()->set_nanos(nanos % 1'000'000'000);
    if (lag > 0) {
      response.set_lag_seconds(
          absl::ToDoubleSeconds(absl::Now() - status.last_change_time));
    }
  }
  response.set_connected(status.connected);
  response.set_caught_up_once(status.caught_up_once);
  response.set_last_error(status.last_error);
  response.set_stalled(status.stalled);
  return response;
}

}  // namespace

grpc::ServerUnaryReactor* QueryServiceImpl::Answer(
    grpc::CallbackServerContext* context, grpc::ByteBuffer* response,
    uint64_t min_sequence, bool cheap, Reply reply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [reactor, response,
                 reply = std::move(reply)](absl::Status waited) mutable {
    if (!waited.ok()) {
      reactor->Finish(ToGrpcStatus(waited));
      return;
    }
    absl::StatusOr<grpc::ByteBuffer> bytes = std::move(reply)();
    if (bytes.ok()) response->Swap(&*bytes);
    reactor->Finish(ToGrpcStatus(bytes.status()));
  };
  if (min_sequence == 0 || replica_.applied_sequence() >= min_sequence) {
    if (cheap) {
      finish(absl::OkStatus());
    } else {
      runner_.Run(
          [finish = std::move(finish)]() mutable { finish(absl::OkStatus()); });
    }
    return reactor;
  }
  const absl::Time deadline = std::min(absl::Now() + options_.max_sequence_wait,
                                       absl::FromChrono(context->deadline()));
  runner_.RunAt(min_sequence, deadline, std::move(finish));
  return reactor;
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetRecord(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  auto request = Decode<v1::GetRecordRequest>(*request_bytes, KeyOf);
  if (!request.ok()) return Fail(context, request.status());
  // One point read: cheap enough for gRPC's thread.
  return Answer(context, response, request->min_sequence, /*cheap=*/true,
                [this, key = std::move(request->plan)] {
                  return ToBytes(replica_.GetBytes(key));
                });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListRecords(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  auto request = Decode<v1::ListRecordsRequest>(*request_bytes, PlanList);
  if (!request.ok()) return Fail(context, request.status());
  const bool cheap = request->plan.cheap();
  return Answer(
      context, response, request->min_sequence, cheap,
      [this, context, plan = std::move(request->plan)]() mutable
      -> absl::StatusOr<grpc::ByteBuffer> {
        absl::Status resolved = ResolveNames(names_, plan.parent, plan.filter);
        if (!resolved.ok()) return resolved;
        return ToBytes(ListRecordsPage(
            replica_, plan, options_.max_response_bytes, CancelledOf(context)));
      });
}

grpc::ServerUnaryReactor* QueryServiceImpl::SearchRecords(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  auto request = Decode<v1::SearchRecordsRequest>(*request_bytes, PlanSearch);
  if (!request.ok()) return Fail(context, request.status());
  return Answer(
      context, response, request->min_sequence, /*cheap=*/false,
      [this, context, plan = std::move(request->plan)]() mutable
      -> absl::StatusOr<grpc::ByteBuffer> {
        absl::Status resolved = ResolveNames(names_, plan.parent, plan.filter);
        if (!resolved.ok()) return resolved;
        return ToBytes(SearchRecordsPage(
            replica_, plan, options_.max_response_bytes, CancelledOf(context)));
      });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListCities(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  auto request = Decode<v1::ListCitiesRequest>(*request_bytes, PlanCitiesPage);
  if (!request.ok()) return Fail(context, request.status());
  // The counts are in memory: cheap enough for gRPC's thread.
  return Answer(context, response, request->min_sequence, /*cheap=*/true,
                [this, plan = std::move(request->plan)] {
                  return ToBytes(CitiesPage(replica_.Cities(), plan));
                });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ListBureaus(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  auto request =
      Decode<v1::ListBureausRequest>(*request_bytes, PlanBureausPage);
  if (!request.ok()) return Fail(context, request.status());
  // The counts are in memory: cheap enough for gRPC's thread.
  return Answer(context, response, request->min_sequence, /*cheap=*/true,
                [this, plan = std::move(request->plan)] {
                  return ToBytes(BureausPage(replica_.Bureaus(), plan));
                });
}

grpc::ServerUnaryReactor* QueryServiceImpl::SummarizeRecords(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  auto request =
      Decode<v1::SummarizeRecordsRequest>(*request_bytes, PlanSummary);
  if (!request.ok()) return Fail(context, request.status());
  return Answer(context, response, request->min_sequence, /*cheap=*/false,
                [this, context, plan = std::move(request->plan)]() mutable
                -> absl::StatusOr<grpc::ByteBuffer> {
                  absl::Status resolved =
                      ResolveNames(names_, plan.parent, plan.filter);
                  if (!resolved.ok()) return resolved;
                  absl::StatusOr<Summary> summary =
                      Summarize(replica_, plan, CancelledOf(context));
                  if (!summary.ok()) return summary.status();
                  return ToBytes(ToResponse(*summary));
                });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetReplicaStatus(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  absl::StatusOr<v1::GetReplicaStatusRequest> request =
      Parse<v1::GetReplicaStatusRequest>(*request_bytes);
  if (!request.ok()) return Fail(context, request.status());
  return Answer(context, response, /*min_sequence=*/0, /*cheap=*/true, [this] {
    FollowerStatus status;
    if (follower_ != nullptr) status = follower_->status();
    status.applied_sequence = replica_.applied_sequence();
    return ToBytes(ToReplicaStatus(status));
  });
}

grpc::ServerUnaryReactor* QueryServiceImpl::GetDigest(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response) {
  absl::StatusOr<v1::GetDigestRequest> request =
      Parse<v1::GetDigestRequest>(*request_bytes);
  if (!request.ok()) return Fail(context, request.status());
  // A digest reads every record.
  return Answer(context, response, request->min_sequence(), /*cheap=*/false,
                [this]() -> absl::StatusOr<grpc::ByteBuffer> {
                  absl::StatusOr<ContentDigest> digest =
                      replica_.Digest();
                  if (!digest.ok()) return digest.status();
                  v1::Digest out;
                  out.set_sequence(digest->sequence);
                  out.set_record_count(digest->record_count);
                  out.set_digest(digest->digest);
                  return ToBytes(out);
                });
}

}  // namespace kouryu::query
