// kouryu-bench: kouryu measured against the floors beneath it, side by side
// in one run on one machine, so that every speed claim is a ratio anyone
// can reproduce. Prints one Markdown table (QPS, p50/p99 latency, server
// CPU per operation, errors, and each figure divided by its floor's), the
// goals met or not, and the machine.
//
// Floors: a loopback TCP round trip; an empty RPC (grpc.health.v1 Check)
// on the query server's own stack; RocksDB writes and reads of the store's
// keys and values with the store's options, in-process.
// Scenarios: GetRecord; ListRecords (page of 20, BASIC and FULL);
// SearchRecords; UpsertRecord; IngestRecords streamed; ImportTable;
// durable (--sync) UpsertRecord with 1 and 16 writers; replication lag
// under UpsertRecord at half the rate it reaches with the replica
// following.
//
//   kouryu-bench --records=100000 --import_rows=100000 --seconds=10
//
// scripts/bench.sh builds and runs it (quick and full modes);
// docs/benchmarks.md explains every figure.

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/bench_run.h"
#include "bench/tcp_floor.h"

ABSL_FLAG(int64_t, records, 100'000,
          "rows loaded through one IngestRecords stream (the streamed-ingest "
          "scenario), which the query scenarios then read; also the records "
          "in the RocksDB floor's database");
ABSL_FLAG(int64_t, import_rows, 100'000, "rows of the ImportTable table");
ABSL_FLAG(double, seconds, 10, "measured seconds of each timed scenario");
ABSL_FLAG(double, warmup_seconds, 2, "unmeasured seconds before each");
ABSL_FLAG(int, concurrency, 16, "calls in flight for the throughput rows");
ABSL_FLAG(std::string, sync_writers, "1,16",
          "concurrent writers of the durable (--sync) ingest scenarios");
ABSL_FLAG(double, lag_writes_per_second, 0,
          "UpsertRecord rate of the replication-lag scenario; 0 for half the "
          "rate UpsertRecord reaches with the replica following");
ABSL_FLAG(int, page_size, 20, "page size of ListRecords and SearchRecords");
ABSL_FLAG(int, tcp_message_bytes, 64,
          "bytes each way of the TCP round-trip floor");
ABSL_FLAG(uint64_t, seed, 1, "generator seed");
ABSL_FLAG(std::string, ingest_bin, KOURYU_INGEST_BIN, "kouryu-ingest binary");
ABSL_FLAG(std::string, query_bin, KOURYU_QUERY_BIN, "kouryu-query binary");
ABSL_FLAG(std::string, postgres_bin_dir, "/usr/lib/postgresql/15/bin",
          "PostgreSQL's programs (Debian's postgresql-15) for the PostgreSQL "
          "rows; empty: none");
ABSL_FLAG(bool, tcp_echo_server, false,
          "internal: serve the TCP floor's echo (kouryu-bench runs itself so)");

int main(int argc, char** argv) {
  // --help lists this file's flags (absl matches the program's name, whose
  // dash is an underscore here).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return absl::EndsWith(path, "kouryu_bench.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "kouryu against its floors: kouryu-bench --records=N --import_rows=N "
      "--seconds=S");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_tcp_echo_server)) {
    return kouryu::bench::ServeTcpEcho(absl::GetFlag(FLAGS_tcp_message_bytes));
  }

  kouryu::bench::BenchOptions options{
      .records = absl::GetFlag(FLAGS_records),
      .import_rows = absl::GetFlag(FLAGS_import_rows),
      .duration = absl::Seconds(absl::GetFlag(FLAGS_seconds)),
      .warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds)),
      .concurrency = absl::GetFlag(FLAGS_concurrency),
      .page_size = absl::GetFlag(FLAGS_page_size),
      .lag_writes_per_second = absl::GetFlag(FLAGS_lag_writes_per_second),
      .tcp_message_bytes = absl::GetFlag(FLAGS_tcp_message_bytes),
      .seed = absl::GetFlag(FLAGS_seed),
      .ingest_bin = absl::GetFlag(FLAGS_ingest_bin),
      .query_bin = absl::GetFlag(FLAGS_query_bin),
      .postgres_bin_dir = absl::GetFlag(FLAGS_postgres_bin_dir),
      .self_bin = std::filesystem::read_symlink("/proc/self/exe").string(),
  };
  options.sync_writers.clear();
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_sync_writers),
                                            ',', absl::SkipEmpty())) {
    int writers = 0;
    if (!absl::SimpleAtoi(s, &writers) || writers <= 0) {
      std::fprintf(stderr, "kouryu-bench: bad --sync_writers entry \"%s\"\n",
                   std::string(s).c_str());
      return 2;
    }
    options.sync_writers.push_back(writers);
  }
  if (options.records <= 0 || options.import_rows <= 0 ||
      options.concurrency <= 0 || options.page_size <= 0 ||
      options.tcp_message_bytes <= 0) {
    std::fprintf(stderr,
                 "kouryu-bench: --records, --import_rows, --concurrency, "
                 "--page_size and --tcp_message_bytes must be positive\n");
    return 2;
  }

  absl::Status status = kouryu::bench::RunBench(options, stdout);
  if (!status.ok()) {
    std::fprintf(stderr, "kouryu-bench: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
