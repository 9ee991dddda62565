#ifndef KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_
#define KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_

// kouryu.v1.QueryService over a Replica. Every method first waits for the
// request's min_sequence (bounded by the call's deadline and by
// max_sequence_wait), then reads. Scans stop when the call is cancelled or
// its deadline passes.

#include "absl/time/time.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/follower.h"
#include "query-service/replica.h"

namespace kouryu::query {

struct QueryServiceOptions {
  // Longest a call without a deadline waits for min_sequence before
  // failing with DEADLINE_EXCEEDED.
  absl::Duration max_sequence_wait = absl::Seconds(30);
};

class QueryServiceImpl final : public v1::QueryService::Service {
 public:
  // `replica` and `follower` must outlive the service; `follower` may be
  // null (GetReplicaStatus then reports only the applied sequence).
  QueryServiceImpl(const Replica& replica, const QueryServiceOptions& options,
                   const Follower* follower = nullptr)
      : replica_(replica), options_(options), follower_(follower) {}

  grpc::Status GetRecord(grpc::ServerContext* context,
                         const v1::GetRecordRequest* request,
                         v1::Record* response) override;
  grpc::Status ListRecords(grpc::ServerContext* context,
                           const v1::ListRecordsRequest* request,
                           v1::ListRecordsResponse* response) override;
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
  absl::Status AwaitSequence(grpc::ServerContext* context,
                             uint64_t min_sequence) const;

  const Replica& replica_;
  QueryServiceOptions options_;
  const Follower* follower_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_QUERY_SERVICE_H_
