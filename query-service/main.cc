// kouryu-query: a query replica (QueryService) following kouryu-ingest.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/gazetteer.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/server.h"
#include "common/server_security.h"
#include "common/tls.h"
#include "query-service/follower.h"
#include "query-service/query_metrics.h"
#include "query-service/query_service.h"
#include "query-service/replica.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "HOST:PORT to serve on; port 0 picks a free port");
ABSL_FLAG(std::string, data_dir, "", "replica RocksDB directory (required)");
ABSL_FLAG(size_t, block_cache_mb, 64,
          "RocksDB block cache of the replica, for data, index and filter blocks; "
          "its memtables (--write_buffer_mb) are charged to it on top of this");
ABSL_FLAG(size_t, write_buffer_mb, 64,
          "memtables of the replica, all column families together");
ABSL_FLAG(std::string, ingest, "127.0.0.1:50051",
          "HOST:PORT of kouryu-ingest, whose change feed this replica follows");
ABSL_FLAG(std::string, ingest_tls_ca, "",
          "PEM CA bundle that kouryu-ingest's certificate must chain to; "
          "with it (or --ingest_tls_cert) the replica dials ingest over TLS");
ABSL_FLAG(std::string, ingest_tls_cert, "",
          "PEM client certificate presented to kouryu-ingest (mutual TLS)");
ABSL_FLAG(std::string, ingest_tls_key, "", "PEM key of --ingest_tls_cert");
ABSL_FLAG(std::string, ingest_tls_server_name, "",
          "name kouryu-ingest's certificate must carry, instead of the host "
          "of --ingest");
ABSL_FLAG(std::string, gazetteer, "",
          "gazetteer TSV replacing the built-in data/gazetteer.tsv, for the "
          "names of cities and bureaus in filters (as kouryu-ingest's)");

namespace {

// A startup error: logged, and the exit code.
int Fail(const absl::Status& status, int code = 1) {
  kouryu::LogError("startup_failed", {{"error", status.ToString()}});
  return code;
}

// How the replica dials ingest: TLS when any --ingest_tls_* flag is set.
absl::StatusOr<kouryu::ChannelSecurity> IngestChannelSecurity() {
  const kouryu::ClientTlsOptions tls{
      .ca_file = absl::GetFlag(FLAGS_ingest_tls_ca),
      .cert_file = absl::GetFlag(FLAGS_ingest_tls_cert),
      .key_file = absl::GetFlag(FLAGS_ingest_tls_key),
      .server_name = absl::GetFlag(FLAGS_ingest_tls_server_name),
      .refresh_interval = absl::GetFlag(FLAGS_security_reload_interval)};
  if (tls.ca_file.empty() && tls.cert_file.empty() && tls.key_file.empty()) {
    if (!tls.server_name.empty()) {
      return absl::InvalidArgumentError(
          "--ingest_tls_server_name needs --ingest_tls_ca");
    }
    return kouryu::PlaintextChannel();
  }
  auto security = kouryu::MakeChannelSecurity(tls);
  if (!security.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ingest_tls_*: ", security.status().message()));
  }
  return security;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("kouryu query server");
  kouryu::LimitMallocArenas();
  kouryu::SkipMutexDeadlockDetection();
  absl::ParseCommandLine(argc, argv);
  auto log_options = kouryu::LogOptionsFromFlags("kouryu-query");
  if (!log_options.ok()) return Fail(log_options.status(), 2);
  kouryu::InitLogging(*log_options);
  kouryu::BlockTerminationSignals();

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  if (data_dir.empty()) {
    return Fail(absl::InvalidArgumentError("--data_dir is required"), 2);
  }
  // Calls the policy denies never reach the interceptors: counted here.
  std::unique_ptr<kouryu::Metrics> metrics;
  auto credentials = kouryu::ServerCredentialsFromFlags(
      "kouryu-query", [&metrics](const std::string& path) {
        if (metrics != nullptr) metrics->CountRefused(path, grpc::StatusCode::PERMISSION_DENIED);
      });
  if (!credentials.ok()) {
    std::fprintf(stderr, "kouryu-query: %s\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }
  auto ingest_security = IngestChannelSecurity();
  if (!ingest_security.ok()) {
    std::fprintf(stderr, "kouryu-query: %s\n",
                 std::string(ingest_security.status().message()).c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_metrics_listen).empty()) {
    metrics = std::make_unique<kouryu::Metrics>();
  } else {
    auto served = kouryu::Metrics::Serve(absl::GetFlag(FLAGS_metrics_listen));
    if (!served.ok()) return Fail(served.status());
    metrics = *std::move(served);
  }
  kouryu::AddProcessMetrics(*metrics);
  std::unique_ptr<kouryu::Gazetteer> gazetteer;
  if (!absl::GetFlag(FLAGS_gazetteer).empty()) {
    auto loaded = kouryu::Gazetteer::Load(absl::GetFlag(FLAGS_gazetteer));
    if (!loaded.ok()) return Fail(loaded.status());
    gazetteer = *std::move(loaded);
  }
  const kouryu::query::ReplicaOptions replica_options{
      .block_cache_bytes = absl::GetFlag(FLAGS_block_cache_mb) << 20,
      .write_buffer_bytes = absl::GetFlag(FLAGS_write_buffer_mb) << 20};
  auto replica = kouryu::query::Replica::Open(data_dir, replica_options);
  if (!replica.ok()) return Fail(replica.status());
  kouryu::LogInfo("startup", {{"data_dir", data_dir},
                              {"applied", (*replica)->applied_sequence()},
                              {"ingest", absl::GetFlag(FLAGS_ingest)}});

  // Health stays NOT_SERVING until the replica first reaches the head of
  // the changelog, and SERVING afterwards, through ingest outages too;
  // NOT_SERVING again while the replica is stalled (it cannot make
  // progress), until it reaches the head again.
  std::atomic<kouryu::Server*> serving{nullptr};
  kouryu::query::Follower follower(
      **replica,
      kouryu::query::ConnectToIngest(absl::GetFlag(FLAGS_ingest),
                                     kouryu::kMaxMessageBytes, *ingest_security),
      {}, [&serving](bool ready) {
        if (kouryu::Server* server = serving.load()) server->SetServing(ready);
      });
  kouryu::query::QueryServiceImpl query(
      **replica, {.gazetteer = gazetteer.get()}, &follower);
  kouryu::query::AddQueryMetrics(*metrics, follower, **replica, data_dir);

  auto server = kouryu::Server::Start({.listen = absl::GetFlag(FLAGS_listen),
                                       .name = "kouryu-query",
                                       .max_connection_age = absl::GetFlag(
                                           FLAGS_max_connection_age),
                                       .max_connection_age_grace = absl::GetFlag(
                                           FLAGS_max_connection_age_grace),
                                       .serving_at_start = false,
                                       .metrics = metrics.get(),
                                       .credentials = *credentials,
                                       .health_listen = absl::GetFlag(
                                           FLAGS_health_listen)},
                                      {&query});
  if (!server.ok()) return Fail(server.status());
  if (!metrics->address().empty()) {
    std::printf("kouryu-query metrics on %s\n", metrics->address().c_str());
    std::fflush(stdout);
    kouryu::LogInfo("metrics_listening", {{"address", metrics->address()}});
  }
  serving.store(server->get());
  follower.Start();
  kouryu::WaitForTerminationSignal();
  kouryu::LogInfo("shutdown", {{"applied", (*replica)->applied_sequence()}});
  serving.store(nullptr);
  (*server)->Shutdown([&] { (*replica)->StopWaiting(); });
  follower.Stop();
  server->reset();
  metrics.reset();  // Stops scrapes, which read the follower and replica.
  replica->reset();  // Closes RocksDB after the last call has finished.
  kouryu::LogInfo("stopped");
  kouryu::ExitAfterShutdown();  // Everything of ours is closed.
}
