#include "common/server.h"

#include <grpcpp/ext/channelz_service_plugin.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_initializer.h>
#include <grpcpp/resource_quota.h>
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/health_port.h"
#include "common/request.h"
#include "grpc/health/v1/health.pb.h"

// LeakSanitizer runs with AddressSanitizer (gcc defines the first macro,
// clang answers the second).
#if defined(__SANITIZE_ADDRESS__)
#define KOURYU_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KOURYU_LEAK_CHECK 1
#endif
#endif
#ifdef KOURYU_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

ABSL_FLAG(absl::Duration, max_connection_age, absl::InfiniteDuration(),
          "send GOAWAY to connections older than this (+-10% jitter), so that "
          "long-lived client channels rebalance over new replicas; inf: never");
ABSL_FLAG(absl::Duration, max_connection_age_grace, absl::Seconds(30),
          "calls on a connection past --max_connection_age get this long to "
          "finish before it is closed");

namespace kouryu {
namespace {

// A duration as gRPC's int milliseconds channel argument.
int ChannelArgMillis(absl::Duration d) {
  return static_cast<int>(
      absl::ToInt64Milliseconds(std::min(d, absl::Milliseconds(INT32_MAX))));
}

// The host part of HOST:PORT ("[::1]:0" -> "[::1]").
std::string HostOf(const std::string& listen) {
  size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

// Learns the full names of the services a server offers (its own, and
// those gRPC and its plugins add, such as reflection) once it is built:
// grpc::Service does not tell its name, the built server does.
class ServiceNames final : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNames(std::vector<std::string>* names) : names_(names) {}

  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(
      std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<Plugin>(names_));
  }

 private:
  class Plugin final : public grpc::ServerBuilderPlugin {
   public:
    explicit Plugin(std::vector<std::string>* names) : names_(names) {}
    std::string name() override { return "kouryu_service_names"; }
    void InitServer(grpc::ServerInitializer*) override {}
    void Finish(grpc::ServerInitializer* initializer) override {
      *names_ = *initializer->GetServiceList();
    }
    void ChangeArguments(const std::string&, void*) override {}

   private:
    std::vector<std::string>* names_;
  };

  std::vector<std::string>* names_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, const std::vector<grpc::Service*>& services) {
  // Reflection describes grpc.health.v1.Health only if its descriptor is in
  // the generated pool; referencing it keeps the linker from dropping it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::channelz::experimental::InitChannelzService();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen,
                           options.credentials != nullptr
                               ? options.credentials
                               : grpc::InsecureServerCredentials(),
                           &port);
  grpc::ResourceQuota quota("kouryu");
  quota.SetMaxThreads(options.max_threads);
  quota.Resize(static_cast<size_t>(options.max_memory_bytes));
  builder.SetResourceQuota(quota);
  // The sync server runs each call on a polling thread and lets threads
  // beyond MAX_POLLERS (default 2) exit when they finish; with many calls
  // in flight that is a thread created and destroyed per call. Keep them.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              options.max_threads);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Replicas hold a change-feed stream open and ping it (keepalive) to
  // notice a dead peer; accept pings that often rather than answering them
  // with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.max_connection_age != absl::InfiniteDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               ChannelArgMillis(options.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               ChannelArgMillis(options.max_connection_age_grace));
  }
  std::vector<std::unique_ptr<
      grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // In this order: the status a call sends is final (a malformed request's
  // INVALID_ARGUMENT) by the time metrics and the log see it.
  interceptors.push_back(MalformedRequestInterceptorFactory());
  if (options.metrics != nullptr) {
    interceptors.push_back(options.metrics->ServerInterceptorFactory());
  }
  interceptors.push_back(RequestLogInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::vector<std::string> service_names;
  builder.SetOption(std::make_unique<ServiceNames>(&service_names));
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  std::string address = absl::StrCat(HostOf(options.listen), ":", port);
  // Health answers for "" and for each service by name (Kubernetes probes
  // name one); SetServing moves them all together.
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  for (const std::string& name : service_names) {
    health->SetServingStatus(name, options.serving_at_start);
  }
  health->SetServingStatus(options.serving_at_start);
  std::unique_ptr<HealthPort> health_port;
  if (!options.health_listen.empty()) {
    auto started = HealthPort::Start(options.health_listen, service_names,
                                     options.serving_at_start);
    if (!started.ok()) {
      server->Shutdown(absl::ToChronoTime(absl::Now()));
      return started.status();
    }
    health_port = *std::move(started);
  }
  std::printf("%s listening on %s\n", options.name.c_str(), address.c_str());
  if (health_port != nullptr) {
    std::printf("%s health listening on %s\n", options.name.c_str(),
                health_port->address().c_str());
  }
  std::fflush(stdout);
  LogInfo("listening", {{"address", address}, {"services", service_names}});
  std::unique_ptr<Server> out(
      new Server(std::move(server), std::move(address), options.shutdown_grace));
  out->health_port_ = std::move(health_port);
  return out;
}

Server::Server(std::unique_ptr<grpc::Server> server, std::string address,
               absl::Duration grace)
    : server_(std::move(server)), address_(std::move(address)), grace_(grace) {}

Server::~Server() { Shutdown(); }

void Server::SetServing(bool serving) {
  // Every name registered at Start, "" included.
  server_->GetHealthCheckService()->SetServingStatus(serving);
  if (health_port_ != nullptr) health_port_->SetServing(serving);
}

void Server::Shutdown(const std::function<void()>& before_drain) {
  if (shut_down_.exchange(true)) return;
  SetServing(false);
  if (before_drain) before_drain();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace_));
  server_->Wait();
  // Probes see NOT_SERVING until the main server has drained.
  if (health_port_ != nullptr) health_port_->Shutdown();
}

void LimitMallocArenas(int arenas) { mallopt(M_ARENA_MAX, arenas); }

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void SkipMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

void WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
}

void ExitAfterShutdown() {
  std::fflush(nullptr);
#ifdef KOURYU_LEAK_CHECK
  // At exit LeakSanitizer would check from an atexit handler, which
  // _Exit skips: check here (a leak ends the process with an error).
  __lsan_do_leak_check();
#endif
  std::_Exit(0);
}

}  // namespace kouryu
