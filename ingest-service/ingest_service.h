#ifndef KOURYU_INGEST_SERVICE_INGEST_SERVICE_H_
#define KOURYU_INGEST_SERVICE_INGEST_SERVICE_H_

// kouryu.v1.IngestService and kouryu.v1.ChangeFeed over a Store. Handlers
// convert the request, call the normalizer and the store, and convert back;
// errors leave through ToGrpcStatus.

#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"

namespace kouryu::ingest {

class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  // `normalizer` and `store` must outlive the service.
  IngestServiceImpl(const Normalizer& normalizer, Store& store)
      : normalizer_(normalizer), store_(store) {}

  grpc::Status UpsertRecord(grpc::ServerContext* context,
                            const v1::UpsertRecordRequest* request,
                            v1::UpsertRecordResponse* response) override;
  grpc::Status IngestRecords(
      grpc::ServerContext* context,
      grpc::ServerReader<v1::IngestRecordsRequest>* reader,
      v1::IngestRecordsResponse* response) override;
  grpc::Status ImportTable(grpc::ServerContext* context,
                           const v1::ImportTableRequest* request,
                           v1::ImportTableResponse* response) override;
  grpc::Status DeleteRecord(grpc::ServerContext* context,
                            const v1::DeleteRecordRequest* request,
                            v1::DeleteRecordResponse* response) override;

 private:
  const Normalizer& normalizer_;
  Store& store_;
};

class ChangeFeedImpl final : public v1::ChangeFeed::Service {
 public:
  // `store` must outlive the service. Call store.StopWaiting() before the
  // server drains, or open Subscribe streams keep it waiting.
  explicit ChangeFeedImpl(const Store& store) : store_(store) {}

  grpc::Status Subscribe(grpc::ServerContext* context,
                         const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer)
      override;
  grpc::Status GetDigest(grpc::ServerContext* context,
                         const v1::GetDigestRequest* request,
                         v1::Digest* response) override;

 private:
  // Streams every record as of one sequence; returns that sequence.
  absl::StatusOr<uint64_t> SendSnapshot(
      grpc::ServerContext* context,
      grpc::ServerWriter<v1::SubscribeResponse>* writer);

  const Store& store_;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_INGEST_SERVICE_H_
