// kouryu-query-bench: loads generated records into real kouryu-ingest and
// kouryu-query processes and measures the query service at each size:
// ListRecords and SearchRecords latency (p50/p99) at concurrency 1, QPS at
// concurrency 16, the query server's resident memory (with what its block
// cache and memtables hold of it, from its /metrics), and each server's disk
// bytes per record. Prints a table.
//
//   kouryu-query-bench --sizes=10000,100000,1000000 --seconds=5

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/measure.h"
#include "bench/scenarios.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/generator.h"
#include "tests/support/http.h"
#include "tests/support/process.h"

ABSL_FLAG(std::string, sizes, "10000,100000,1000000", "record counts to load");
ABSL_FLAG(double, seconds, 5, "duration of each measurement");
ABSL_FLAG(uint64_t, seed, 1, "generator seed");
ABSL_FLAG(std::string, ingest_bin, KOURYU_INGEST_BIN, "kouryu-ingest binary");
ABSL_FLAG(std::string, query_bin, KOURYU_QUERY_BIN, "kouryu-query binary");
ABSL_FLAG(std::vector<std::string>, query_flags, {},
          "further kouryu-query flags, comma-separated "
          "(e.g. --block_cache_mb=16,--write_buffer_mb=16)");

namespace kouryu::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRowsPerStream = 20000;

int64_t ResidentKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      int64_t kb = 0;
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb;
    }
  }
  return -1;
}

// Bytes of the regular files under `dir` (a server's data directory).
int64_t DirectoryBytes(const std::string& dir) {
  int64_t bytes = 0;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, error);
       !error && it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    std::error_code size_error;
    if (it->is_regular_file(size_error)) {
      const auto size = it->file_size(size_error);
      if (!size_error) bytes += static_cast<int64_t>(size);
    }
  }
  return bytes;
}

// The value of the first sample of `metric` in a Prometheus text scrape
// (its name followed by labels or a space), or -1.
double ScrapedValue(const std::string& scrape, absl::string_view metric) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!absl::StartsWith(line, metric) || line.size() == metric.size()) continue;
    const char next = line[metric.size()];
    if (next != '{' && next != ' ') continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) return value;
  }
  return -1;
}

struct Latency {
  double p50_us = 0, p99_us = 0;
  int64_t errors = 0;
};

double Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  size_t i = static_cast<size_t>(p * (samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + i, samples.end());
  return samples[i];
}

// Calls `call(i)` for `seconds` on `threads` threads; returns latencies in
// microseconds and the error count.
template <typename Call>
std::pair<std::vector<double>, int64_t> Drive(int threads, double seconds,
                                              Call call) {
  std::vector<std::vector<double>> per_thread(threads);
  std::atomic<int64_t> errors{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t i = t; Clock::now() < end; i += threads) {
        auto start = Clock::now();
        bool ok = call(i);
        per_thread[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        if (!ok) ++errors;
      }
    });
  }
  for (auto& w : workers) w.join();
  std::vector<double> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  return {all, errors.load()};
}

struct Row {
  int64_t size = 0;
  double load_seconds = 0;
  // From the replica's reaching the head to both servers' going idle (their
  // flushes and compactions, the replica's settle).
  double settle_seconds = 0;
  Latency list, search;
  double list_qps = 0, search_qps = 0;
  int64_t rss_kb = 0;
  // What the replica's block cache and memtables held then, in bytes.
  double cache_bytes = -1, memtable_bytes = -1, table_reader_bytes = -1;
  // Disk bytes of each server's data directory, after the measurements.
  int64_t ingest_bytes = 0, query_bytes = 0;
  int64_t errors = 0;
};

Row Measure(int64_t size) {
  Row row;
  row.size = size;
  std::string dir = testing::MakeTempDir();
  auto ingest = testing::ServerProcess::Start(
      {absl::GetFlag(FLAGS_ingest_bin), "--listen=127.0.0.1:0",
       "--data_dir=" + dir + "/ingest"});
  if (!ingest.ok()) {
    std::fprintf(stderr, "%s\n", ingest.status().ToString().c_str());
    std::exit(1);
  }
  std::vector<std::string> query_argv = {
      absl::GetFlag(FLAGS_query_bin), "--listen=127.0.0.1:0",
      "--data_dir=" + dir + "/query", "--ingest=" + (*ingest)->address(),
      "--metrics_listen=127.0.0.1:0"};
  for (const std::string& flag : absl::GetFlag(FLAGS_query_flags)) {
    query_argv.push_back(flag);
  }
  auto query = testing::ServerProcess::Start(query_argv);
  if (!query.ok()) {
    std::fprintf(stderr, "%s\n", query.status().ToString().c_str());
    std::exit(1);
  }
  // "kouryu-query metrics on HOST:PORT"
  absl::StatusOr<std::string> metrics_line = (*query)->ReadLine();
  if (!metrics_line.ok()) {
    std::fprintf(stderr, "%s\n", metrics_line.status().ToString().c_str());
    std::exit(1);
  }
  const std::string metrics_address =
      metrics_line->substr(metrics_line->rfind(' ') + 1);
  auto ingest_stub = v1::IngestService::NewStub(grpc::CreateChannel(
      (*ingest)->address(), grpc::InsecureChannelCredentials()));
  auto query_channel =
      grpc::CreateChannel((*query)->address(), grpc::InsecureChannelCredentials());
  auto query_stub = v1::QueryService::NewStub(query_channel);

  // Load through IngestRecords streams, then wait for the replica.
  testing::TableGenerator generator({.seed = absl::GetFlag(FLAGS_seed)});
  auto load_start = Clock::now();
  uint64_t sequence = 0;
  for (int64_t begin = 0; begin < size; begin += kRowsPerStream) {
    grpc::ClientContext context;
    v1::IngestRecordsResponse response;
    auto writer = ingest_stub->IngestRecords(&context, &response);
    for (int64_t i = begin; i < std::min(size, begin + kRowsPerStream); ++i) {
      v1::IngestRecordsRequest request;
      *request.mutable_record() = generator.Row(static_cast<uint64_t>(i));
      if (!writer->Write(request)) break;
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) {
      std::fprintf(stderr, "ingest: %s\n", status.error_message().c_str());
      std::exit(1);
    }
    sequence = response.sequence();
    row.errors += response.rejected_count();
  }
  // Wait for the replica; each call waits at most the server's own limit
  // for min_sequence (30 s), so ask again while it is still behind.
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    v1::ListRecordsRequest request;
    request.set_parent("cities/-");
    request.set_page_size(1);
    request.set_min_sequence(sequence);
    v1::ListRecordsResponse response;
    grpc::Status status = query_stub->ListRecords(&context, request, &response);
    if (status.ok()) break;
    if (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED ||
        attempt > 240) {
      std::fprintf(stderr, "catch-up: %s\n", status.error_message().c_str());
      std::exit(1);
    }
  }
  row.load_seconds =
      std::chrono::duration<double>(Clock::now() - load_start).count();
  // Reads are measured on settled servers, as kouryu-bench measures them.
  const auto settle_start = Clock::now();
  const std::string settled =
      AwaitIdle({(*ingest)->pid(), (*query)->pid()}, absl::Seconds(300));
  std::fprintf(stderr, "%lld records: %s\n", static_cast<long long>(size),
               settled.c_str());
  row.settle_seconds =
      std::chrono::duration<double>(Clock::now() - settle_start).count();

  const double seconds = absl::GetFlag(FLAGS_seconds);
  auto list = [&](uint64_t i) {
    grpc::ClientContext context;
    v1::ListRecordsRequest request;
    request.set_parent(ListParents()[i % ListParents().size()]);
    request.set_page_size(20);
    request.set_view(v1::RECORD_VIEW_BASIC);
    v1::ListRecordsResponse response;
    return query_stub->ListRecords(&context, request, &response).ok();
  };
  auto search = [&](uint64_t i) {
    grpc::ClientContext context;
    v1::SearchRecordsRequest request;
    request.set_query(SearchTerms()[i % SearchTerms().size()]);
    request.set_page_size(20);
    v1::SearchRecordsResponse response;
    return query_stub->SearchRecords(&context, request, &response).ok();
  };
  auto [list_samples, list_errors] = Drive(1, seconds, list);
  row.list = {Percentile(list_samples, 0.5), Percentile(list_samples, 0.99)};
  auto [search_samples, search_errors] = Drive(1, seconds, search);
  row.search = {Percentile(search_samples, 0.5), Percentile(search_samples, 0.99)};
  auto [list16, list16_errors] = Drive(16, seconds, list);
  row.list_qps = list16.size() / seconds;
  auto [search16, search16_errors] = Drive(16, seconds, search);
  row.search_qps = search16.size() / seconds;
  row.errors += list_errors + search_errors + list16_errors + search16_errors;
  row.rss_kb = ResidentKb((*query)->pid());
  const std::string scrape = testing::HttpGet(metrics_address, "/metrics");
  row.cache_bytes = ScrapedValue(scrape, "kouryu_rocksdb_block_cache_usage_bytes");
  row.memtable_bytes =
      ScrapedValue(scrape, "kouryu_rocksdb_cur_size_all_mem_tables_bytes");
  row.table_reader_bytes =
      ScrapedValue(scrape, "kouryu_rocksdb_estimate_table_readers_mem_bytes");
  row.ingest_bytes = DirectoryBytes(dir + "/ingest");
  row.query_bytes = DirectoryBytes(dir + "/query");

  query_stub.reset();
  query_channel.reset();
  (*query)->Terminate();
  ingest_stub.reset();
  (*ingest)->Terminate();
  std::filesystem::remove_all(dir);
  return row;
}

}  // namespace
}  // namespace kouryu::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<int64_t> sizes;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(s, &n) || n <= 0) {
      std::fprintf(stderr, "bad --sizes entry \"%s\"\n", std::string(s).c_str());
      return 2;
    }
    sizes.push_back(n);
  }
  std::printf(
      "| records | load s | settle s | List p50 µs | List p99 µs | List QPS@16 | "
      "Search p50 µs | Search p99 µs | Search QPS@16 | query RSS MiB | "
      "of it cache MiB | memtables MiB | table readers MiB | "
      "ingest disk B/record | query disk B/record | errors |\n"
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  std::vector<kouryu::bench::Row> rows;
  for (int64_t size : sizes) {
    kouryu::bench::Row r = kouryu::bench::Measure(size);
    rows.push_back(r);
    std::printf(
        "| %lld | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | "
        "%.1f | %.1f | %.0f | %.0f | %lld |\n",
        static_cast<long long>(r.size), r.load_seconds, r.settle_seconds,
        r.list.p50_us,
        r.list.p99_us, r.list_qps, r.search.p50_us, r.search.p99_us,
        r.search_qps, r.rss_kb / 1024.0, r.cache_bytes / (1 << 20),
        r.memtable_bytes / (1 << 20), r.table_reader_bytes / (1 << 20),
        static_cast<double>(r.ingest_bytes) / r.size,
        static_cast<double>(r.query_bytes) / r.size,
        static_cast<long long>(r.errors));
    std::fflush(stdout);
  }
  if (rows.size() > 1) {
    const auto& first = rows.front();
    const auto& last = rows.back();
    std::printf("\nsearch p99 at %lld / at %lld: %.2fx (goal <= 3x)\n",
                static_cast<long long>(last.size), static_cast<long long>(first.size),
                last.search.p99_us / std::max(1.0, first.search.p99_us));
    // The goal compares the last two sizes (100k and 1M by default).
    const auto& previous = rows[rows.size() - 2];
    std::printf("query RSS at %lld / at %lld: %.2fx (goal <= 1.2x)\n",
                static_cast<long long>(last.size),
                static_cast<long long>(previous.size),
                static_cast<double>(last.rss_kb) /
                    std::max<int64_t>(1, previous.rss_kb));
  }
  return 0;
}
