#ifndef KOURYU_CLI_REFLECTION_CLIENT_H_
#define KOURYU_CLI_REFLECTION_CLIENT_H_

// A gRPC client that learns a server's API through server reflection
// (grpc.reflection.v1alpha) and calls any method with JSON, as grpcurl does.
// Not thread-safe.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class DescriptorPool;
class ServiceDescriptor;
}  // namespace google::protobuf

namespace kouryu::cli {

class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel);
  ~ReflectionClient();

  // Fully-qualified names of the services the server registers.
  absl::StatusOr<std::vector<std::string>> ListServices();

  // The definition of a service, method or message, in .proto syntax.
  absl::StatusOr<std::string> Describe(absl::string_view symbol);

  // Calls `method` ("pkg.Service/Method" or "pkg.Service.Method") with the
  // JSON `requests` (one for unary and server-streaming methods; any number
  // for client-streaming). Each response is passed to `on_response` as
  // JSON (indented when `pretty`, else on one line). On an RPC error,
  // returns its status with the google.rpc.Status details after the message
  // (see errors.h).
  absl::Status Call(absl::string_view method,
                    const std::vector<std::string>& requests,
                    const std::function<void(const std::string&)>& on_response,
                    absl::Duration timeout, bool pretty = true);

 private:
  class Database;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
};

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_REFLECTION_CLIENT_H_
