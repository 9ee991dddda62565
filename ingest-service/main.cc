// kouryu-ingest: the ingest server (IngestService and ChangeFeed).

#include <malloc.h>

#include <cstdio>
#include <thread>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "common/server_security.h"
#include "ingest-service/ingest_service.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "HOST:PORT to serve on; port 0 picks a free port");
ABSL_FLAG(std::string, data_dir, "", "RocksDB directory (required)");
ABSL_FLAG(std::string, gazetteer, "",
          "gazetteer TSV replacing the built-in data/gazetteer.tsv");
ABSL_FLAG(bool, sync, false,
          "fsync every write before acknowledging it (survives power loss); "
          "concurrent writers share one fsync");
ABSL_FLAG(uint64_t, retain_changes, 1'000'000,
          "the changelog keeps at least this many latest changes");
ABSL_FLAG(absl::Duration, retain_age, absl::Hours(24 * 7),
          "the changelog keeps every change younger than this");
ABSL_FLAG(uint64_t, min_free_disk_mb, 256,
          "writes fail with RESOURCE_EXHAUSTED while the data directory's "
          "disk has less free space than this");
ABSL_FLAG(absl::Duration, stream_idle_timeout, absl::Minutes(1),
          "an IngestRecords stream that sends nothing, or a Subscribe whose "
          "reader reads nothing, for this long is ended");
ABSL_FLAG(int, max_concurrent_imports, 2,
          "ImportTable calls run at once; more fail with RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_unary_calls, 64,
          "UpsertRecord, ImportTable and DeleteRecord calls run at once; more "
          "fail with RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_streams, 64,
          "IngestRecords streams open at once; more fail with "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_subscribers, 128,
          "change-feed streams open at once; more fail with "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, trim_interval, absl::Minutes(1),
          "how often changes beyond both retention limits are dropped");

namespace {

void TrimChangelog(kouryu::ingest::Store& store) {
  auto dropped = store.TrimChangelog(absl::Now());
  if (!dropped.ok()) {
    std::fprintf(stderr, "kouryu-ingest: trimming: %s\n",
                 dropped.status().ToString().c_str());
  } else if (*dropped > 0) {
    std::fprintf(stderr,
                 "kouryu-ingest: trimmed %llu changes; changelog starts at "
                 "%llu\n",
                 static_cast<unsigned long long>(*dropped),
                 static_cast<unsigned long long>(store.FirstRetained()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("kouryu ingest server");
  kouryu::LimitMallocArenas();
  // Buffers of a few MiB and more (an imported file, its request, a large
  // reply) are mapped and unmapped on their own, so freeing one returns it
  // to the system at once instead of raising glibc's threshold and staying
  // in the heap.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  kouryu::SkipMutexDeadlockDetection();
  absl::ParseCommandLine(argc, argv);
  kouryu::BlockTerminationSignals();

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    std::fprintf(stderr, "kouryu-ingest: --data_dir is required\n");
    return 2;
  }
  // Before the store is opened: a bad certificate, key or policy stops
  // the server with nothing touched.
  auto credentials = kouryu::ServerCredentialsFromFlags("kouryu-ingest");
  if (!credentials.ok()) {
    std::fprintf(stderr, "kouryu-ingest: %s\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }
  std::unique_ptr<kouryu::Gazetteer> loaded;
  const kouryu::Gazetteer* gazetteer = &kouryu::Gazetteer::Builtin();
  if (!absl::GetFlag(FLAGS_gazetteer).empty()) {
    auto g = kouryu::Gazetteer::Load(absl::GetFlag(FLAGS_gazetteer));
    if (!g.ok()) {
      std::fprintf(stderr, "kouryu-ingest: %s\n", g.status().ToString().c_str());
      return 1;
    }
    loaded = *std::move(g);
    gazetteer = loaded.get();
  }

  auto store = kouryu::ingest::Store::Open(
      data_dir, {.sync = absl::GetFlag(FLAGS_sync),
                 .retain_changes = absl::GetFlag(FLAGS_retain_changes),
                 .retain_age = absl::GetFlag(FLAGS_retain_age),
                 .min_free_bytes = absl::GetFlag(FLAGS_min_free_disk_mb) << 20});
  if (!store.ok()) {
    std::fprintf(stderr, "kouryu-ingest: %s\n", store.status().ToString().c_str());
    return 1;
  }
  TrimChangelog(**store);  // Before serving, so subscribers see the result.
  kouryu::ingest::Normalizer normalizer(*gazetteer);
  const absl::Duration idle = absl::GetFlag(FLAGS_stream_idle_timeout);
  const int max_unary_calls = absl::GetFlag(FLAGS_max_unary_calls);
  const int max_subscribers = absl::GetFlag(FLAGS_max_subscribers);
  kouryu::ingest::IngestServiceImpl ingest(
      normalizer, **store,
      {.max_concurrent_imports = absl::GetFlag(FLAGS_max_concurrent_imports),
       .max_unary_calls = max_unary_calls,
       .max_streams = absl::GetFlag(FLAGS_max_streams),
       .stream_idle_timeout = idle});
  kouryu::ingest::ChangeFeedImpl feed(
      **store, {.max_subscribers = max_subscribers, .unread_timeout = idle});

  // Each kind of call has threads of its own: the unary calls' share, the
  // change feed's, and a few for GetDigest and reflection. IngestRecords
  // streams take none while they wait for a message (callback API).
  auto server = kouryu::Server::Start(
      {.listen = absl::GetFlag(FLAGS_listen),
       .name = "kouryu-ingest",
       .max_threads = max_unary_calls + max_subscribers + 16,
       .max_connection_age = absl::GetFlag(FLAGS_max_connection_age),
       .max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace),
       .credentials = *credentials,
       .health_listen = absl::GetFlag(FLAGS_health_listen)},
      {&ingest, &feed});
  if (!server.ok()) {
    std::fprintf(stderr, "kouryu-ingest: %s\n", server.status().ToString().c_str());
    return 1;
  }
  // Changelog retention: drop what both limits allow, now and then.
  absl::Notification stop_trimming;
  std::thread trimmer([&] {
    while (!stop_trimming.WaitForNotificationWithTimeout(
        absl::GetFlag(FLAGS_trim_interval))) {
      TrimChangelog(**store);
    }
  });

  kouryu::WaitForTerminationSignal();
  std::fprintf(stderr, "kouryu-ingest: shutting down\n");
  stop_trimming.Notify();
  trimmer.join();
  (*server)->Shutdown([&] { (*store)->StopWaiting(); });
  server->reset();
  store->reset();  // Closes RocksDB after the last call has finished.
  std::fprintf(stderr, "kouryu-ingest: stopped\n");
  // Everything of ours is closed. gRPC's library teardown at exit waits on
  // internal timers for a second or two; there is nothing left to save.
  std::fflush(nullptr);
  std::_Exit(0);
}
