#ifndef KOURYU_COMMON_SERVER_H_
#define KOURYU_COMMON_SERVER_H_

// The server bootstrap both services share: listening (port 0 picks a free
// port, the bound address is printed), grpc.health.v1 (for "" and for each
// service the server offers by its full name), server reflection, channelz
// (grpc.channelz.v1.Channelz), resource limits, INVALID_ARGUMENT for
// requests that do not parse (common/request.h), one log line per call
// (common/log.h), gRPC server metrics (common/metrics.h), and graceful
// shutdown on SIGTERM/SIGINT. TLS and per-method authorization come in as
// the main port's credentials (common/server_security.h), and an optional
// plaintext port answers health alone (common/health_port.h).
//
// Usage in main():
//   kouryu::LimitMallocArenas();
//   kouryu::SkipMutexDeadlockDetection();
//   kouryu::BlockTerminationSignals();        // before any thread starts
//   auto server = kouryu::Server::Start(options, {&service_a, &service_b});
//   kouryu::WaitForTerminationSignal();
//   server->Shutdown();                        // NOT_SERVING, then drain

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

// --max_connection_age and --max_connection_age_grace, defined once here for
// both servers; main() copies them into ServerOptions.
ABSL_DECLARE_FLAG(absl::Duration, max_connection_age);
ABSL_DECLARE_FLAG(absl::Duration, max_connection_age_grace);

namespace grpc {
class Server;
class ServerCredentials;
class Service;
}  // namespace grpc

namespace kouryu {

class Metrics;
class HealthPort;

// Largest message a kouryu server sends or receives by default, and what a
// query replica accepts from the change feed: one constant, so that
// whatever ingest may send, a replica can receive.
inline constexpr int kMaxMessageBytes = 64 << 20;

struct ServerOptions {
  // HOST:PORT; port 0 picks a free port.
  std::string listen = "127.0.0.1:0";
  // Printed with the bound address: "<name> listening on HOST:PORT".
  std::string name = "kouryu";
  // Largest request or response message accepted (default 64 MiB, enough
  // for ImportTable of a large table).
  int max_message_bytes = kMaxMessageBytes;
  // Bounds under overload: calls beyond these fail with RESOURCE_EXHAUSTED
  // instead of growing the process. Threads serving calls at once (the
  // sync server runs one call per thread), memory gRPC may use for
  // connections and messages, and streams per connection.
  int max_threads = 64;
  int64_t max_memory_bytes = int64_t{1} << 30;
  int max_concurrent_streams = 100;
  // A connection older than this (gRPC adds +-10% jitter) is sent GOAWAY,
  // so that clients holding one channel open rebalance over replicas added
  // since; calls on it get `max_connection_age_grace` more before it is
  // closed. Infinite: connections live as long as the client keeps them.
  absl::Duration max_connection_age = absl::InfiniteDuration();
  absl::Duration max_connection_age_grace = absl::Seconds(30);
  // Calls still running this long after shutdown begins are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Health is SERVING as soon as the server starts; otherwise NOT_SERVING
  // until SetServing(true).
  bool serving_at_start = true;
  // gRPC server metrics of every call go here (common/metrics.h) when set;
  // must outlive the server. Every call is logged either way (common/log.h).
  Metrics* metrics = nullptr;
  // Credentials of the main port (common/server_security.h); plaintext
  // when null.
  std::shared_ptr<grpc::ServerCredentials> credentials{};
  // HOST:PORT of a second, plaintext server offering grpc.health.v1 and
  // nothing else (no reflection, no service of the main port), whose
  // statuses follow the main server's; none when empty. Port 0 picks a
  // free port.
  std::string health_listen{};
};

// A running gRPC server. Thread-safe.
class Server {
 public:
  // Binds, starts serving and prints "<name> listening on HOST:PORT" to
  // stdout, then, with a health port, "<name> health listening on
  // HOST:PORT". Health is SERVING once Start returns, unless
  // options.serving_at_start is false. `services` must outlive
  // the server.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, const std::vector<grpc::Service*>& services);

  ~Server();

  // The bound address, HOST:PORT with the chosen port.
  const std::string& address() const { return address_; }

  // Health of "" and of every service the server offers, all together.
  void SetServing(bool serving);

  // Health NOT_SERVING, then `before_drain` (to end long-lived streams),
  // then waits for running calls up to the grace period and stops. Safe to
  // call more than once.
  void Shutdown(const std::function<void()>& before_drain = nullptr);

 private:
  Server(std::unique_ptr<grpc::Server> server, std::string address,
         absl::Duration grace);

  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  // The plaintext health-only port (ServerOptions::health_listen).
  std::unique_ptr<HealthPort> health_port_;
  absl::Duration grace_;
  std::atomic<bool> shut_down_{false};
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it
// starts afterwards, so that WaitForTerminationSignal receives them.
void BlockTerminationSignals();

// Caps glibc's malloc arenas at `arenas`. By default glibc keeps up to
// eight per core, each holding on to freed memory, so a server's resident
// size follows how many threads once allocated at the same time rather
// than what it holds. Call first thing in main(). It matters only to a
// build without jemalloc (KOURYU_JEMALLOC=OFF, and the sanitizer builds,
// whose runtime allocates anyway): with jemalloc linked, glibc's malloc is
// not used and common/jemalloc_config.cc sets how memory is returned.
void LimitMallocArenas(int arenas = 2);
// Turns off Abseil's mutex deadlock detection (on in Debian's build of
// Abseil), which records every lock's order in a global graph: gRPC and
// the services take locks on every call. Call first thing in main().
void SkipMutexDeadlockDetection();
// Returns when SIGTERM or SIGINT arrives.
void WaitForTerminationSignal();
// Ends the process with status 0 once main() has shut down and released
// what it owns, without the library teardown at exit (gRPC's waits on
// internal timers for a second or two; there is nothing left to save).
// In sanitizer builds, leaks are checked first and fail the process.
[[noreturn]] void ExitAfterShutdown();

}  // namespace kouryu

#endif  // KOURYU_COMMON_SERVER_H_
