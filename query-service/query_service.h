#ifndef KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_
#define KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_

// kouryu.v1.QueryService over a Replica. Every method first waits for the
// request's min_sequence (bounded by the call's deadline and by
// max_sequence_wait), then reads. Scans stop when the call is cancelled or
// its deadline passes.
//
// Every method is a gRPC callback method on raw bytes: it parses its
// request itself (so a request that does not parse is MALFORMED_REQUEST
// naming the field) and converts it to a gRPC-free call (list_records.h,
// search_records.h, summarize.h, list_cities.h). Point reads and pages
// that need no scan are answered on gRPC's own thread; waiting for
// min_sequence and longer reads go to a CallRunner, so no call holds a
// server thread while it waits. GetRecord and ListRecords answer with the
// records as stored, without parsing and re-serializing them.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/call_runner.h"
#include "query-service/follower.h"
#include "query-service/names.h"
#include "query-service/replica.h"

namespace kouryu::query {

struct QueryServiceOptions {
  // Longest a call without a deadline waits for min_sequence before
  // failing with DEADLINE_EXCEEDED.
  absl::Duration max_sequence_wait = absl::Seconds(30);
  // Threads of the CallRunner (searches, summaries, digests, listings with
  // a filter or sort, and calls that waited for min_sequence).
  int runner_threads = 4;
  // Largest ListRecords or SearchRecords response: a page ends early, with
  // a next_page_token, rather than pass it (AIP-158 allows short pages). A
  // single record larger than this fails the call with RESOURCE_EXHAUSTED.
  // The server's send limit by default.
  size_t max_response_bytes = kMaxMessageBytes;
  // Names of cities and bureaus in parents and filters; null means
  // Gazetteer::Builtin(). Must outlive the service.
  const Gazetteer* gazetteer = nullptr;
};

// kouryu.v1.QueryService with every method on the raw callback API.
using RawCallbackQueryService =
    v1::QueryService::WithRawCallbackMethod_GetRecord<
        v1::QueryService::WithRawCallbackMethod_ListRecords<
            v1::QueryService::WithRawCallbackMethod_SearchRecords<
                v1::QueryService::WithRawCallbackMethod_ListCities<
                    v1::QueryService::WithRawCallbackMethod_ListBureaus<
                        v1::QueryService::
                            WithRawCallbackMethod_SummarizeRecords<
                                v1::QueryService::
                                    WithRawCallbackMethod_GetReplicaStatus<
                                        v1::QueryService::
                                            WithRawCallbackMethod_GetDigest<
                                                v1::QueryService::
                                                    Service>>>>>>>>;

class QueryServiceImpl final : public RawCallbackQueryService {
 public:
  // `replica` and `follower` must outlive the service; `follower` may be
  // null (GetReplicaStatus then reports only the applied sequence).
  QueryServiceImpl(Replica& replica, const QueryServiceOptions& options,
                   const Follower* follower = nullptr)
      : replica_(replica),
        options_(options),
        follower_(follower),
        names_(options.gazetteer != nullptr ? *options.gazetteer
                                            : Gazetteer::Builtin(),
               replica),
        runner_(replica, options.runner_threads) {}

  // Request: v1::GetRecordRequest; response: v1::Record.
  grpc::ServerUnaryReactor* GetRecord(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  // Request: v1::ListRecordsRequest; response: v1::ListRecordsResponse.
  grpc::ServerUnaryReactor* ListRecords(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  // Request: v1::SearchRecordsRequest; response: v1::SearchRecordsResponse.
  grpc::ServerUnaryReactor* SearchRecords(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  // Request: v1::ListCitiesRequest; response: v1::ListCitiesResponse.
  grpc::ServerUnaryReactor* ListCities(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  // Request: v1::ListBureausRequest; response: v1::ListBureausResponse.
  grpc::ServerUnaryReactor* ListBureaus(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  // Request: v1::SummarizeRecordsRequest; response:
  // v1::SummarizeRecordsResponse.
  grpc::ServerUnaryReactor* SummarizeRecords(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  // Request: v1::GetReplicaStatusRequest; response: v1::ReplicaStatus.
  grpc::ServerUnaryReactor* GetReplicaStatus(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;
  // Request: v1::GetDigestRequest; response: v1::Digest.
  grpc::ServerUnaryReactor* GetDigest(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

 private:
  // A call's answer: its serialized response, or its error.
  using Reply = absl::AnyInvocable<absl::StatusOr<grpc::ByteBuffer>() &&>;

  // Finishes the call with `reply()` in `response` once the replica has
  // applied `min_sequence` (0: at once): on this thread if it has and the
  // reply is `cheap`, else on the runner. Returns the call's reactor.
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                   grpc::ByteBuffer* response,
                                   uint64_t min_sequence, bool cheap,
                                   Reply reply);

  const Replica& replica_;
  QueryServiceOptions options_;
  const Follower* follower_;
  Names names_;
  // Last: destroyed first, finishing the calls it holds.
  CallRunner runner_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_
