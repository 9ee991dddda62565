#ifndef KOURYU_INGEST_SERVICE_INGEST_METRICS_H_
#define KOURYU_INGEST_SERVICE_INGEST_METRICS_H_

// kouryu-ingest's own metrics (common/metrics.h has the shared ones):
//   kouryu_changelog_head_sequence            latest durable change
//   kouryu_changelog_first_retained_sequence  oldest change still held
//   kouryu_records_written_total{outcome}     created|updated|unchanged|deleted
//   kouryu_import_bytes_total                 ImportTable content written
//   kouryu_rows_rejected_total{method}        rows answered REJECTED by
//                                             IngestRecords|ImportTable
//   kouryu_store_group_commit_changes         histogram: changes per group commit
//   kouryu_store_write_seconds                histogram: a group commit's RocksDB
//                                             write (the WAL fsync with --sync)
//   kouryu_store_writes_refused_for_space_total  group commits refused
//                                             because the disk was nearly full
// plus the store's RocksDB properties (db="ingest") and its disk.
//
// Thread-safe. The store passed to Register must outlive the metrics.

#include "common/metrics.h"
#include "ingest-service/store.h"

namespace prometheus {
class Counter;
template <typename T>
class Family;
class Histogram;
}  // namespace prometheus

namespace kouryu::ingest {

class IngestMetrics final : public StoreObserver {
 public:
  explicit IngestMetrics(Metrics& metrics);

  // The gauges read from `store` at every scrape (head, first retained,
  // RocksDB, disk). Once the store is open.
  void Register(const Store& store);

  // ImportTable wrote a table of `bytes`.
  void TableImported(size_t bytes);
  // An answer of `method` (IngestRecords or ImportTable) rejected `rows`.
  void RowsRejected(const char* method, int rows);

  // StoreObserver
  void GroupCommitted(uint64_t changes, absl::Duration write_time) override;
  void RecordsWritten(int created, int updated, int unchanged,
                      int deleted) override;
  void WriteRefusedForSpace() override;

 private:
  Metrics& metrics_;
  prometheus::Counter& created_;
  prometheus::Counter& updated_;
  prometheus::Counter& unchanged_;
  prometheus::Counter& deleted_;
  prometheus::Counter& import_bytes_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Histogram& group_changes_;
  prometheus::Histogram& write_seconds_;
  prometheus::Counter& refused_for_space_;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_INGEST_METRICS_H_
