#ifndef KOURYU_INGEST_SERVICE_INGEST_SERVICE_H_
#define KOURYU_INGEST_SERVICE_INGEST_SERVICE_H_

// kouryu.v1.IngestService over a Store. Handlers
// convert the request, call the normalizer and the store, and convert back;
// errors leave through ToGrpcStatus.

#include <atomic>
#include <cstddef>
#include <functional>

#include "absl/time/time.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "ingest-service/watchdog.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"

namespace kouryu::ingest {

struct IngestServiceOptions {
  // Bytes the per-row results of one IngestRecords or ImportTable answer
  // may take; beyond it results are left out (those of rejected and warned
  // rows last) and counted in omitted_result_count. Default 4 MiB less 64 KiB,
  // so that the answer fits gRPC's default 4 MiB receive limit.
  size_t max_results_bytes = (4 << 20) - (64 << 10);
  // ImportTable calls running at once; more fail with RESOURCE_EXHAUSTED
  // (reason TOO_MANY_IMPORTS). Each holds its file a few times over.
  int max_concurrent_imports = 2;
  // UpsertRecord, ImportTable and DeleteRecord calls running at once; more
  // fail with RESOURCE_EXHAUSTED (reason TOO_MANY_CALLS). With the server's
  // thread limit set above it, the change feed keeps threads of its own.
  int max_unary_calls = 64;
  // IngestRecords streams open at once; more fail with RESOURCE_EXHAUSTED
  // (reason TOO_MANY_STREAMS). A stream holds at most two batches (512
  // messages or 8 MiB of them each: the next is read while one is
  // written) and its per-row results.
  int max_streams = 64;
  // An IngestRecords stream that sends no message for this long is ended
  // with DEADLINE_EXCEEDED (reason STREAM_IDLE).
  absl::Duration stream_idle_timeout = absl::Minutes(1);
  // Threads that normalize and write the batches of IngestRecords streams;
  // those with nothing to do help normalize any call's rows (an
  // ImportTable's too) on a machine with more than one core.
  int stream_workers = 4;
  // Called with the content's size after an ImportTable wrote its table
  // (not for validate_only or a failed import), when set (metrics).
  std::function<void(size_t bytes)> on_table_imported = nullptr;
  // Called with the method ("IngestRecords" or "ImportTable") and the
  // number of rows its successful answer reports rejected (validate_only
  // calls included), when set and not zero (metrics).
  std::function<void(const char* method, int rows)> on_rows_rejected = nullptr;
};

// IngestRecords uses the callback API on raw bytes: an idle stream holds no
// server thread, and a message that does not parse is reported as a
// rejected row instead of ending the stream as if the client had finished.
// The other methods are synchronous.
class IngestServiceImpl final
    : public v1::IngestService::WithRawCallbackMethod_IngestRecords<
          v1::IngestService::Service> {
 public:
  // `normalizer` and `store` must outlive the service.
  IngestServiceImpl(const Normalizer& normalizer, Store& store,
                    const IngestServiceOptions& options = {});
  ~IngestServiceImpl() override;

  grpc::Status UpsertRecord(grpc::ServerContext* context,
                            const v1::UpsertRecordRequest* request,
                            v1::UpsertRecordResponse* response) override;
  grpc::ServerReadReactor<grpc::ByteBuffer>* IngestRecords(
      grpc::CallbackServerContext* context, grpc::ByteBuffer* response) override;
  grpc::Status ImportTable(grpc::ServerContext* context,
                           const v1::ImportTableRequest* request,
                           v1::ImportTableResponse* response) override;
  grpc::Status DeleteRecord(grpc::ServerContext* context,
                            const v1::DeleteRecordRequest* request,
                            v1::DeleteRecordResponse* response) override;

 private:
  class StreamReactor;

  grpc::Status DoImportTable(const v1::ImportTableRequest& request,
                             v1::ImportTableResponse* response);
  void RowsRejected(const char* method, int rows) const;

  const Normalizer& normalizer_;
  Store& store_;
  const IngestServiceOptions options_;
  std::atomic<int> unary_calls_{0};
  std::atomic<int> imports_{0};
  std::atomic<int> streams_{0};
  Watchdog idle_;
  WorkerPool workers_;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_INGEST_SERVICE_H_
