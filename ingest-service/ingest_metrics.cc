#include "ingest-service/ingest_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

namespace kouryu::ingest {
namespace {

prometheus::Family<prometheus::Counter>& Written(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("kouryu_records_written_total")
      .Help("Records written durably, by outcome: created, updated, "
            "unchanged (an upsert equal to the stored record), deleted.")
      .Register(registry);
}

prometheus::Family<prometheus::Counter>& Rejected(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("kouryu_rows_rejected_total")
      .Help("Rows that a successful IngestRecords or ImportTable answer "
            "reports rejected (outcome REJECTED: not written), by method; "
            "validate_only calls included.")
      .Register(registry);
}

}  // namespace

IngestMetrics::IngestMetrics(Metrics& metrics)
    : metrics_(metrics),
      created_(Written(metrics.registry()).Add({{"outcome", "created"}})),
      updated_(Written(metrics.registry()).Add({{"outcome", "updated"}})),
      unchanged_(Written(metrics.registry()).Add({{"outcome", "unchanged"}})),
      deleted_(Written(metrics.registry()).Add({{"outcome", "deleted"}})),
      import_bytes_(prometheus::BuildCounter()
                        .Name("kouryu_import_bytes_total")
                        .Help("Bytes of table content ImportTable wrote "
                              "(validate_only and failed imports excluded).")
                        .Register(metrics.registry())
                        .Add({})),
      rejected_(Rejected(metrics.registry())),
      group_changes_(prometheus::BuildHistogram()
                         .Name("kouryu_store_group_commit_changes")
                         .Help("Changes made durable by one group commit (one "
                               "RocksDB write shared by concurrent writers).")
                         .Register(metrics.registry())
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      1, 2, 4, 8, 16, 32, 64, 128, 256, 512,
                                      1024, 4096, 16384})),
      write_seconds_(prometheus::BuildHistogram()
                         .Name("kouryu_store_write_seconds")
                         .Help("Time of a group commit's RocksDB write; with "
                               "--sync it includes the WAL fsync.")
                         .Register(metrics.registry())
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      .0001, .00025, .0005, .001, .0025, .005,
                                      .01, .025, .05, .1, .25, .5, 1})),
      refused_for_space_(
          prometheus::BuildCounter()
              .Name("kouryu_store_writes_refused_for_space_total")
              .Help("Group commits refused with RESOURCE_EXHAUSTED because "
                    "the data directory's disk had less free space than "
                    "--min_free_disk_mb (each fails every write in it).")
              .Register(metrics.registry())
              .Add({})) {
  // Both methods are scraped from the start, at 0.
  for (const char* method : {"IngestRecords", "ImportTable"}) {
    rejected_.Add({{"method", method}});
  }
}

void IngestMetrics::Register(const Store& store) {
  const Store* s = &store;
  metrics_.AddCollector([s] {
    std::vector<prometheus::MetricFamily> out;
    out.push_back(GaugeFamily("kouryu_changelog_head_sequence",
                              "Sequence of the latest durable change.",
                              {{{}, static_cast<double>(s->HeadSequence())}}));
    out.push_back(GaugeFamily(
        "kouryu_changelog_first_retained_sequence",
        "Oldest sequence the changelog still holds (head + 1 when empty); a "
        "replica behind it needs a snapshot.",
        {{{}, static_cast<double>(s->FirstRetained())}}));
    return out;
  });
  AddRocksDbMetrics(metrics_, "ingest", store.rocksdb());
  AddDiskMetrics(metrics_, store.dir());
}

void IngestMetrics::TableImported(size_t bytes) {
  import_bytes_.Increment(static_cast<double>(bytes));
}

void IngestMetrics::RowsRejected(const char* method, int rows) {
  rejected_.Add({{"method", method}}).Increment(rows);
}

void IngestMetrics::GroupCommitted(uint64_t changes, absl::Duration write_time) {
  group_changes_.Observe(static_cast<double>(changes));
  write_seconds_.Observe(absl::ToDoubleSeconds(write_time));
}

void IngestMetrics::RecordsWritten(int created, int updated, int unchanged,
                                   int deleted) {
  if (created > 0) created_.Increment(created);
  if (updated > 0) updated_.Increment(updated);
  if (unchanged > 0) unchanged_.Increment(unchanged);
  if (deleted > 0) deleted_.Increment(deleted);
}

void IngestMetrics::WriteRefusedForSpace() { refused_for_space_.Increment(); }

}  // namespace kouryu::ingest
