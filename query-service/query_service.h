#ifndef KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_
#define KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_

// kouryu.v1.QueryService over a Replica. Every method first waits for the
// request's min_sequence (bounded by the call's deadline and by
// max_sequence_wait), then reads. Scans stop when the call is cancelled or
// its deadline passes.
//
// GetRecord and ListRecords are gRPC callback methods on raw bytes: they
// answer with the records as stored, without parsing and re-serializing
// them, and a point read or a page in key order is answered on gRPC's own
// thread. Waiting for min_sequence and longer scans go to a CallRunner, so
// a waiting call holds no thread. The other methods use gRPC's
// synchronous API.

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include "absl/functional/any_invocable.h"
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
  // Threads of the CallRunner (scans with a filter or sort, calls that
  // waited for min_sequence).
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

class QueryServiceImpl final
    : public v1::QueryService::WithRawCallbackMethod_GetRecord<
          v1::QueryService::WithRawCallbackMethod_ListRecords<
              v1::QueryService::Service>> {
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
  grpc::Status SearchRecords(grpc::ServerContext* context,
                             const v1::SearchRecordsRequest* request,
                             v1::SearchRecordsResponse* response) override;
  grpc::Status ListCities(grpc::ServerContext* context,
                          const v1::ListCitiesRequest* request,
                          v1::ListCitiesResponse* response) override;
  grpc::Status ListBureaus(grpc::ServerContext* context,
                           const v1::ListBureausRequest* request,
                           v1::ListBureausResponse* response) override;
  grpc::Status SummarizeRecords(
      grpc::ServerContext* context, const v1::SummarizeRecordsRequest* request,
      v1::SummarizeRecordsResponse* response) override;
  grpc::Status GetReplicaStatus(grpc::ServerContext* context,
                                const v1::GetReplicaStatusRequest* request,
                                v1::ReplicaStatus* response) override;
  grpc::Status GetDigest(grpc::ServerContext* context,
                         const v1::GetDigestRequest* request,
                         v1::Digest* response) override;

 private:
  struct ListPlan;

  absl::Status AwaitSequence(grpc::ServerContext* context,
                             uint64_t min_sequence) const;
  // Finishes `reactor` with `answer()` once the replica has applied
  // `min_sequence`: at once on this thread if it has and the answer is
  // `cheap`, else on the runner.
  void Answer(grpc::CallbackServerContext* context,
              grpc::ServerUnaryReactor* reactor, uint64_t min_sequence,
              bool cheap, absl::AnyInvocable<grpc::Status() &&> answer);
  static absl::StatusOr<ListPlan> PlanList(const v1::ListRecordsRequest& request);
  // Checks the parent's city and bureau and resolves the names in the
  // filter (after min_sequence, so that records just written count).
  absl::Status ResolveNames(const Parent& parent, Filter& filter) const;
  // The serialized v1::ListRecordsResponse.
  absl::StatusOr<std::string> ListRecordsBytes(
      const grpc::ServerContextBase& context,
      const v1::ListRecordsRequest& request, const ListPlan& plan) const;

  const Replica& replica_;
  QueryServiceOptions options_;
  const Follower* follower_;
  Names names_;
  // Last: destroyed first, finishing the calls it holds.
  CallRunner runner_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_
