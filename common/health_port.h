#ifndef KOURYU_COMMON_HEALTH_PORT_H_
#define KOURYU_COMMON_HEALTH_PORT_H_

// The plaintext health port (ServerOptions::health_listen): a server of its
// own that offers grpc.health.v1.Health and nothing else (no reflection, no
// service of the main port), answering for "" and the main server's service
// names as the main server's health does. Kubernetes probes cannot present
// a client certificate, so they come here while the main port speaks TLS.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace kouryu {

class HealthPort {
 public:
  // Listens on `listen` (port 0 picks a free port); "" and `names` answer
  // `serving` until SetServing.
  static absl::StatusOr<std::unique_ptr<HealthPort>> Start(
      const std::string& listen, const std::vector<std::string>& names,
      bool serving);
  ~HealthPort();

  // HOST:PORT with the chosen port.
  const std::string& address() const { return address_; }

  // Every name at once, as Server::SetServing; Watch streams are told.
  void SetServing(bool serving);

  // Ends Watch streams and stops. Idempotent.
  void Shutdown();

  class Service;

 private:
  HealthPort() = default;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace kouryu

#endif  // KOURYU_COMMON_HEALTH_PORT_H_
