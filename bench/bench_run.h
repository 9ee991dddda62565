#ifndef KOURYU_BENCH_BENCH_RUN_H_
#define KOURYU_BENCH_BENCH_RUN_H_

// One run of kouryu-bench: every floor and every scenario, in an order that
// keeps them from disturbing each other, then the report.
//
//   1. floors without kouryu: TCP round trips to an echo process; RocksDB
//      synced writes (in an empty database), then writes and reads
//      in-process (rocksdb_floor.h);
//   2. kouryu-ingest alone: IngestRecords streamed (loading the records the
//      queries read), UpsertRecord, ImportTable;
//   3. kouryu-query started on it, timed while it copies the changelog
//      (its apply rate), then: the null RPC, GetRecord, ListRecords BASIC
//      and FULL, SearchRecords;
//   4. UpsertRecord with the replica following, then replication lag
//      under UpsertRecord at half that rate (or lag_writes_per_second);
//   5. a fresh kouryu-ingest --sync: UpsertRecord with 1 and 16 writers;
//   6. PostgreSQL with the replica's records (exported after step 3): point
//      gets and pages of one city, beside GetRecord and ListRecords
//      (postgres_floor.h).
//
// Servers run as child processes on 127.0.0.1, port 0, data in a fresh
// temporary directory that the run removes; their standard error is the
// benchmark's.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kouryu::bench {

struct BenchOptions {
  // Rows streamed in (and read back by the query scenarios).
  int64_t records = 100'000;
  // Rows of the imported table.
  int64_t import_rows = 100'000;
  // Each timed scenario: unmeasured warm-up, then the measured window.
  absl::Duration duration = absl::Seconds(10);
  absl::Duration warmup = absl::Seconds(2);
  // Calls in flight for the throughput rows (latency rows use 1).
  int concurrency = 16;
  // Writers of the durable ingest scenarios.
  std::vector<int> sync_writers = {1, 16};
  int page_size = 20;
  // Writes per second of the replication-lag scenario; 0 for half the rate
  // UpsertRecord reaches with `concurrency` calls in flight and the
  // replica following.
  double lag_writes_per_second = 0;
  int tcp_message_bytes = 64;
  uint64_t seed = 1;
  std::string ingest_bin, query_bin;
  // PostgreSQL's programs (initdb, postgres, psql, pgbench); empty, or no
  // server there: no PostgreSQL rows.
  std::string postgres_bin_dir = "/usr/lib/postgresql/15/bin";
  // This binary, run again as the TCP echo server.
  std::string self_bin;
};

// Runs everything and prints the report to `out`. Fails when a server does
// not start or a step cannot go on; failed calls are reported, not fatal.
absl::Status RunBench(const BenchOptions& options, std::FILE* out);

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_BENCH_RUN_H_
