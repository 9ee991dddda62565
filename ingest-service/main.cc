// kouryu-ingest: the ingest server (IngestService, ChangeFeed and
// AdminService), or, with --restore_from, the offline restore of a backup.

#include <malloc.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/gazetteer.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/server.h"
#include "common/server_security.h"
#include "ingest-service/admin_service.h"
#include "ingest-service/backups.h"
#include "ingest-service/change_feed.h"
#include "ingest-service/ingest_metrics.h"
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
ABSL_FLAG(std::string, backup_dir, "",
          "directory of the backups AdminService.CreateBackup takes; without "
          "it AdminService fails with FAILED_PRECONDITION (BACKUPS_DISABLED)");
ABSL_FLAG(std::string, restore_from, "",
          "restore a backup of this backup directory into --data_dir (empty "
          "or missing), then exit instead of serving");
ABSL_FLAG(uint32_t, restore_backup_id, 0,
          "with --restore_from: the backup to restore (0: the latest)");
ABSL_FLAG(absl::Duration, trim_interval, absl::Minutes(1),
          "how often changes beyond both retention limits are dropped");

namespace {

void TrimChangelog(kouryu::ingest::Store& store) {
  auto dropped = store.TrimChangelog(absl::Now());
  if (!dropped.ok()) {
    kouryu::LogError("trim_failed", {{"error", dropped.status().ToString()}});
  } else if (*dropped > 0) {
    kouryu::LogInfo("trim", {{"dropped", *dropped},
                             {"first_retained", store.FirstRetained()},
                             {"head", store.HeadSequence()}});
  }
}

// --restore_from: restores, prints what, and returns the exit code.
int Restore(const std::string& data_dir) {
  const std::string from = absl::GetFlag(FLAGS_restore_from);
  const uint32_t id = absl::GetFlag(FLAGS_restore_backup_id);
  absl::StatusOr<kouryu::ingest::BackupInfo> restored =
      kouryu::ingest::RestoreBackup(
          from, id == 0 ? std::nullopt : std::optional<uint32_t>(id), data_dir);
  if (!restored.ok()) {
    std::fprintf(stderr, "kouryu-ingest: restore failed: %s: %s\n",
                 absl::StatusCodeToString(restored.status().code()).c_str(),
                 std::string(restored.status().message()).c_str());
    return 1;
  }
  std::printf(
      "kouryu-ingest: restored backup %u of %s into %s: sequence %llu, %llu "
      "records, digest %s; a new history continues %s up to sequence %llu\n",
      restored->id, from.c_str(), data_dir.c_str(),
      static_cast<unsigned long long>(restored->sequence),
      static_cast<unsigned long long>(restored->record_count),
      restored->digest.c_str(), restored->history_id.c_str(),
      static_cast<unsigned long long>(restored->sequence));
  return 0;
}

// A startup error: logged, and the exit code.
int Fail(const absl::Status& status, int code = 1) {
  kouryu::LogError("startup_failed", {{"error", status.ToString()}});
  return code;
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
  auto log_options = kouryu::LogOptionsFromFlags("kouryu-ingest");
  if (!log_options.ok()) return Fail(log_options.status(), 2);
  kouryu::InitLogging(*log_options);
  kouryu::BlockTerminationSignals();

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    return Fail(absl::InvalidArgumentError("--data_dir is required"), 2);
  }
  if (!absl::GetFlag(FLAGS_restore_from).empty()) return Restore(data_dir);
  if (absl::GetFlag(FLAGS_restore_backup_id) != 0) {
    std::fprintf(stderr,
                 "kouryu-ingest: --restore_backup_id needs --restore_from\n");
    return 2;
  }
  // Before the store is opened: a bad certificate, key or policy stops
  // the server with nothing touched.
  // Calls the policy denies never reach the interceptors: counted here.
  std::unique_ptr<kouryu::Metrics> metrics;
  auto credentials = kouryu::ServerCredentialsFromFlags(
      "kouryu-ingest", [&metrics](const std::string& path) {
        if (metrics != nullptr) metrics->CountRefused(path, grpc::StatusCode::PERMISSION_DENIED);
      });
  if (!credentials.ok()) {
    std::fprintf(stderr, "kouryu-ingest: %s\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }
  // Metrics first: the store reports to them as it opens.
  if (absl::GetFlag(FLAGS_metrics_listen).empty()) {
    metrics = std::make_unique<kouryu::Metrics>();
  } else {
    auto served = kouryu::Metrics::Serve(absl::GetFlag(FLAGS_metrics_listen));
    if (!served.ok()) return Fail(served.status());
    metrics = *std::move(served);
  }
  kouryu::AddProcessMetrics(*metrics);
  kouryu::ingest::IngestMetrics ingest_metrics(*metrics);
  std::unique_ptr<kouryu::Gazetteer> loaded;
  const kouryu::Gazetteer* gazetteer = &kouryu::Gazetteer::Builtin();
  if (!absl::GetFlag(FLAGS_gazetteer).empty()) {
    auto g = kouryu::Gazetteer::Load(absl::GetFlag(FLAGS_gazetteer));
    if (!g.ok()) return Fail(g.status());
    loaded = *std::move(g);
    gazetteer = loaded.get();
  }

  auto store = kouryu::ingest::Store::Open(
      data_dir, {.sync = absl::GetFlag(FLAGS_sync),
                 .retain_changes = absl::GetFlag(FLAGS_retain_changes),
                 .retain_age = absl::GetFlag(FLAGS_retain_age),
                 .min_free_bytes = absl::GetFlag(FLAGS_min_free_disk_mb) << 20,
                 .observer = &ingest_metrics});
  if (!store.ok()) return Fail(store.status());
  ingest_metrics.Register(**store);
  kouryu::LogInfo("startup", {{"data_dir", data_dir},
                              {"head", (*store)->HeadSequence()},
                              {"first_retained", (*store)->FirstRetained()},
                              {"sync", absl::GetFlag(FLAGS_sync)}});
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
       .stream_idle_timeout = idle,
       .on_table_imported = [&ingest_metrics](size_t bytes) {
         ingest_metrics.TableImported(bytes);
       },
       .on_rows_rejected = [&ingest_metrics](const char* method, int rows) {
         ingest_metrics.RowsRejected(method, rows);
       }});
  kouryu::ingest::ChangeFeedImpl feed(
      **store, {.max_subscribers = max_subscribers, .unread_timeout = idle});
  std::unique_ptr<kouryu::ingest::Backups> backups;
  if (!absl::GetFlag(FLAGS_backup_dir).empty()) {
    // The checkpoint a backup is copied from sits beside the database, on
    // its file system, so that it is made of hard links.
    auto opened = kouryu::ingest::Backups::Open(
        absl::GetFlag(FLAGS_backup_dir), data_dir + "/backup-checkpoint");
    if (!opened.ok()) return Fail(opened.status());
    backups = *std::move(opened);
  }
  kouryu::ingest::AdminServiceImpl admin(**store, backups.get());

  // Each kind of call has threads of its own: the unary calls' share, the
  // change feed's, and a few for GetDigest and reflection. IngestRecords
  // streams take none while they wait for a message (callback API).
  auto server = kouryu::Server::Start(
      {.listen = absl::GetFlag(FLAGS_listen),
       .name = "kouryu-ingest",
       .max_threads = max_unary_calls + max_subscribers + 16,
       .max_connection_age = absl::GetFlag(FLAGS_max_connection_age),
       .max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace),
       .metrics = metrics.get(),
       .credentials = *credentials,
       .health_listen = absl::GetFlag(FLAGS_health_listen)},
      {&ingest, &feed, &admin});
  if (!server.ok()) return Fail(server.status());
  if (!metrics->address().empty()) {
    std::printf("kouryu-ingest metrics on %s\n", metrics->address().c_str());
    std::fflush(stdout);
    kouryu::LogInfo("metrics_listening", {{"address", metrics->address()}});
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
  kouryu::LogInfo("shutdown", {{"head", (*store)->HeadSequence()}});
  stop_trimming.Notify();
  trimmer.join();
  (*server)->Shutdown([&] { (*store)->StopWaiting(); });
  server->reset();
  metrics.reset();  // Stops scrapes, which read the store.
  backups.reset();
  store->reset();  // Closes RocksDB after the last call has finished.
  kouryu::LogInfo("stopped");
  kouryu::ExitAfterShutdown();  // Everything of ours is closed.
}
