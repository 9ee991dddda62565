// kouryu-apply-bench: the replica's apply path alone, in one process, with
// no gRPC: generated rows normalized and stamped as the ingest store stamps
// them, turned into upserts (new records, then replacements of them), and
// applied to a fresh Replica in batches as the follower applies them.
// Prints changes per second and the process's CPU per change (RocksDB's
// flushes and compactions included), the median of --runs fresh replicas:
// what kouryu-bench's "replica catch-up" row measures end to end, without
// the feed and its noise.
//
//   kouryu-apply-bench --records=20000 --updates=20000 --batch=4096 --runs=3

#include <google/protobuf/util/time_util.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/gazetteer.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/change_feed.pb.h"
#include "query-service/replica.h"
#include "tests/support/generator.h"
#include "tests/support/process.h"

ABSL_FLAG(int64_t, records, 20000, "distinct records upserted in each run");
ABSL_FLAG(int64_t, updates, 20000,
          "upserts that then replace records of the first pass (each takes "
          "the name, city and bureau of one and the texts of another row)");
ABSL_FLAG(int, batch, 4096, "changes per Apply (the follower's largest batch)");
ABSL_FLAG(int, runs, 3, "fresh replicas; the median run is reported");
ABSL_FLAG(uint64_t, seed, 1, "generator seed");
ABSL_FLAG(size_t, write_buffer_mb, 64,
          "the replica's memtables, as kouryu-query's --write_buffer_mb");

namespace {

using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Run {
  double seconds = 0, cpu_seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int64_t records = std::max<int64_t>(1, absl::GetFlag(FLAGS_records));
  const size_t batch = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_batch)));

  // The changes, as the feed would carry them after a bulk load.
  kouryu::testing::TableGenerator generator({.seed = absl::GetFlag(FLAGS_seed)});
  kouryu::ingest::Normalizer normalizer(kouryu::Gazetteer::Builtin());
  const google::protobuf::Timestamp now = TimeUtil::GetCurrentTime();
  const int64_t updates = std::max<int64_t>(0, absl::GetFlag(FLAGS_updates));
  std::vector<kouryu::v1::Change> changes;
  changes.reserve(static_cast<size_t>(records + updates));
  int64_t bytes = 0;
  for (int64_t i = 0; i < records + updates; ++i) {
    absl::StatusOr<kouryu::ingest::NormalizedRecord> normalized =
        normalizer.Normalize(generator.Row(static_cast<uint64_t>(i)),
                             kouryu::v1::SourceRef(), {});
    if (!normalized.ok()) {
      std::fprintf(stderr, "row %lld: %s\n", static_cast<long long>(i),
                   normalized.status().ToString().c_str());
      return 1;
    }
    kouryu::v1::Record record = std::move(normalized->record);
    if (i >= records) {  // Replaces the record of row i mod records.
      const kouryu::v1::Record& old =
          changes[static_cast<size_t>(i % records)].record();
      record.set_name(old.name());
      *record.mutable_city() = old.city();
      *record.mutable_bureau() = old.bureau();
    }
    const uint64_t sequence = static_cast<uint64_t>(i) + 1;
    record.set_etag(kouryu::ingest::ContentEtag(record));
    *record.mutable_create_time() = now;
    *record.mutable_update_time() = now;
    record.set_create_sequence(i >= records ? sequence - records : sequence);
    kouryu::v1::Change& change = changes.emplace_back();
    change.set_sequence(sequence);
    change.set_kind(kouryu::v1::CHANGE_KIND_UPSERT);
    change.set_name(record.name());
    *change.mutable_record() = std::move(record);
    *change.mutable_commit_time() = now;
    bytes += static_cast<int64_t>(change.ByteSizeLong());
  }
  const int64_t total = records + updates;

  std::vector<Run> runs;
  for (int r = 0; r < std::max(1, absl::GetFlag(FLAGS_runs)); ++r) {
    // The batches are copied before the clock starts: the follower hands
    // Apply batches it has already parsed.
    std::vector<std::vector<kouryu::v1::Change>> batches;
    for (size_t begin = 0; begin < changes.size(); begin += batch) {
      batches.emplace_back(changes.begin() + begin,
                           changes.begin() + std::min(changes.size(), begin + batch));
    }
    const std::string dir = kouryu::testing::MakeTempDir();
    const double cpu_start = CpuSeconds();
    const auto start = Clock::now();
    {
      kouryu::query::ReplicaOptions options;
      options.write_buffer_bytes = absl::GetFlag(FLAGS_write_buffer_mb) << 20;
      auto replica = kouryu::query::Replica::Open(dir, options);
      if (!replica.ok()) {
        std::fprintf(stderr, "%s\n", replica.status().ToString().c_str());
        return 1;
      }
      for (const std::vector<kouryu::v1::Change>& part : batches) {
        absl::Status applied = (*replica)->Apply(part);
        if (!applied.ok()) {
          std::fprintf(stderr, "%s\n", applied.ToString().c_str());
          return 1;
        }
      }
    }  // Closing waits for RocksDB's background work, which is counted.
    runs.push_back({std::chrono::duration<double>(Clock::now() - start).count(),
                    CpuSeconds() - cpu_start});
    std::filesystem::remove_all(dir);
    std::fprintf(stderr, "kouryu-apply-bench: run %d: %.0f changes/s, %.1f µs CPU/change\n",
                 r + 1, total / runs.back().seconds,
                 1e6 * runs.back().cpu_seconds / total);
  }
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
  const Run& median = runs[runs.size() / 2];
  std::printf(
      "replica apply, %lld new records then %lld replacements (%.0f B per "
      "change) in batches of %zu: %.0f changes/s, %.1f µs CPU/change (median "
      "of %zu runs)\n",
      static_cast<long long>(records), static_cast<long long>(updates),
      static_cast<double>(bytes) / total, batch, total / median.seconds,
      1e6 * median.cpu_seconds / total, runs.size());
  return 0;
}
