#include "fuzz/rpc_env.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/gazetteer.h"
#include "common/log.h"
#include "ingest-service/admin_service.h"
#include "ingest-service/backups.h"
#include "ingest-service/change_feed.h"
#include "ingest-service/ingest_service.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/ingest_service.pb.h"
#include "query-service/follower.h"
#include "query-service/query_service.h"
#include "query-service/replica.h"

namespace kouryu::fuzz {
namespace {

[[noreturn]] void SetupFailed(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "rpc fuzz setup: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::abort();
}

// Quiet logs (the log interceptor still runs on every call) and no mutex
// deadlock graph, as the servers' main() sets up.
void InitProcess() {
  static const bool done = [] {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    InitLogging({.program = "kouryu-fuzz", .level = LogLevel::kError});
    return true;
  }();
  (void)done;
}

// As kouryu-ingest's defaults: --max_unary_calls + --max_subscribers + 16.
constexpr int kIngestThreads = 64 + 128 + 16;
constexpr int kQueryThreads = 64;

}  // namespace

std::string PublishedTable() {
  const std::string path = KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv";
  std::ifstream in(path, std::ios::binary);
  if (!in) SetupFailed("cannot read " + path, absl::NotFoundError(path));
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                        "/kouryu_fuzz_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    SetupFailed("mkdtemp " + pattern, absl::InternalError("mkdtemp failed"));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::vector<RpcMethod> IngestEnv::Methods() {
  return MethodsOf({"kouryu.v1.IngestService", "kouryu.v1.ChangeFeed",
                    "kouryu.v1.AdminService"});
}

IngestEnv::IngestEnv() {
  InitProcess();
  ingest::StoreOptions store_options;
  store_options.min_free_bytes = 64ull << 20;
  auto store = ingest::Store::Open(dir_.path() + "/db", store_options);
  if (!store.ok()) SetupFailed("Store::Open", store.status());
  store_ = *std::move(store);
  normalizer_ = std::make_unique<ingest::Normalizer>(Gazetteer::Builtin());
  auto backups = ingest::Backups::Open(dir_.path() + "/backups",
                                       dir_.path() + "/db/backup-checkpoint");
  if (!backups.ok()) SetupFailed("Backups::Open", backups.status());
  backups_ = *std::move(backups);
  ingest::IngestServiceOptions ingest_options;
  ingest_options.stream_workers = 2;
  ingest_ = std::make_unique<ingest::IngestServiceImpl>(*normalizer_, *store_,
                                                        ingest_options);
  feed_ = std::make_unique<ingest::ChangeFeedImpl>(*store_);
  admin_ = std::make_unique<ingest::AdminServiceImpl>(*store_, backups_.get());
  server_ = InProcessServer::Start({ingest_.get(), feed_.get(), admin_.get()},
                                   kIngestThreads);

  v1::ImportTableRequest request;
  request.set_content(PublishedTable());
  request.set_file_name("tokyo-exchange-r1.tsv");
  const std::vector<RpcMethod> methods = Methods();
  const RpcMethod* import = nullptr;
  for (const RpcMethod& m : methods) {
    if (m.path == "/kouryu.v1.IngestService/ImportTable") import = &m;
  }
  if (import == nullptr) SetupFailed("ImportTable", absl::NotFoundError("no method"));
  RpcResult imported =
      server_->Call(*import, {request.SerializeAsString()}, absl::Seconds(60));
  v1::ImportTableResponse response;
  if (imported.code != grpc::StatusCode::OK || imported.responses.size() != 1 ||
      !response.ParseFromString(imported.responses[0]) ||
      response.created_count() == 0) {
    SetupFailed("importing the published table",
                absl::Status(static_cast<absl::StatusCode>(imported.code),
                             imported.message));
  }
}

IngestEnv::~IngestEnv() {
  store_->StopWaiting();  // Ends Subscribe streams still waiting.
  server_->Shutdown();
}

std::vector<RpcMethod> QueryEnv::Methods() {
  return MethodsOf({"kouryu.v1.QueryService"});
}

QueryEnv::QueryEnv() {
  query::ReplicaOptions replica_options;
  replica_options.block_cache_bytes = 8 << 20;
  replica_options.write_buffer_bytes = 8 << 20;
  auto replica = query::Replica::Open(dir_.path() + "/db", replica_options);
  if (!replica.ok()) SetupFailed("Replica::Open", replica.status());
  replica_ = *std::move(replica);
  // Followed as kouryu-query does: Subscribe on the ingest server's
  // channel, each response applied as it arrives.
  absl::Notification caught_up;
  follower_ = std::make_unique<query::Follower>(
      *replica_, ingest_.server().channel(), query::FollowerOptions{},
      [&caught_up](bool serving) {
        if (serving && !caught_up.HasBeenNotified()) caught_up.Notify();
      });
  follower_->Start();
  if (!caught_up.WaitForNotificationWithTimeout(absl::Seconds(120))) {
    SetupFailed("following the change feed",
                absl::DeadlineExceededError("the replica did not catch up"));
  }
  follower_->Stop();
  if (replica_->applied_sequence() != ingest_.store().HeadSequence()) {
    SetupFailed("following the change feed",
                absl::InternalError("the replica stopped short of the head"));
  }
  // Calls waiting for a min_sequence the replica never reaches give up
  // after a short wait, so that they do not dominate the run.
  query::QueryServiceOptions query_options;
  query_options.max_sequence_wait = absl::Milliseconds(20);
  query_options.runner_threads = 2;
  query_ = std::make_unique<query::QueryServiceImpl>(*replica_, query_options,
                                                     follower_.get());
  server_ = InProcessServer::Start({query_.get()}, kQueryThreads);
}

QueryEnv::~QueryEnv() {
  replica_->StopWaiting();
  server_->Shutdown();
}

}  // namespace kouryu::fuzz
