#ifndef KOURYU_FUZZ_RPC_HARNESS_H_
#define KOURYU_FUZZ_RPC_HARNESS_H_

// The request path of a service, for the RPC fuzz targets
// (ingest_rpc_fuzzer.cc, query_rpc_fuzzer.cc): a gRPC server built in the
// process with no listening port, the real service implementations behind
// the interceptors kouryu::Server installs, and calls made on its
// in-process channel with a generic stub, so that request bytes reach the
// server exactly as a client sent them.
//
// An input names the method and carries the request messages:
//   byte 0      the method: byte % (number of methods), in the order of
//               MethodsOf (the services' .proto order);
//   the rest    unary and server-streaming methods: the one request;
//               client-streaming methods: messages, each a 2-byte
//               big-endian length and that many bytes (a length past the
//               end takes what is left), at most kMaxStreamMessages.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>

#include "absl/time/time.h"

namespace google::protobuf {
class MethodDescriptor;
}  // namespace google::protobuf
namespace grpc {
class Channel;
class Server;
class Service;
}  // namespace grpc

namespace kouryu {
class Metrics;
}  // namespace kouryu

namespace kouryu::fuzz {

inline constexpr size_t kMaxStreamMessages = 64;
// Responses read from a server stream before the call is cancelled.
inline constexpr size_t kMaxStreamResponses = 64;

struct RpcMethod {
  // "/kouryu.v1.IngestService/UpsertRecord"
  std::string path;
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
};

// Every method of the services named (full names, "kouryu.v1.QueryService"),
// in their .proto order. Aborts when a service is not in the generated pool.
std::vector<RpcMethod> MethodsOf(const std::vector<std::string>& services);

// The method index and request messages of an input (see the top).
struct RpcInput {
  size_t method = 0;
  std::vector<std::string> messages;
};
RpcInput DecodeInput(const uint8_t* data, size_t size,
                     const std::vector<RpcMethod>& methods);
// The input DecodeInput reads back as `messages` for `methods[method]`
// (for the seed corpora).
std::string EncodeInput(size_t method, const std::vector<std::string>& messages,
                        const std::vector<RpcMethod>& methods);

// What a call answered.
struct RpcResult {
  int code = 0;  // grpc::StatusCode
  std::string message;
  // The serialized responses read (one for an OK unary call).
  std::vector<std::string> responses;
};

// Called with each response of a server stream; false cancels the call.
using ResponseVisitor = std::function<bool(const std::string& response)>;

class InProcessServer {
 public:
  // Builds and starts the server over `services` (which must outlive it)
  // with kouryu::Server's interceptors (malformed requests, metrics, the
  // log) and its message and thread limits.
  static std::unique_ptr<InProcessServer> Start(
      const std::vector<grpc::Service*>& services, int max_threads);
  ~InProcessServer();

  // Calls `method` with `requests` (a unary method gets exactly one, as a
  // generic unary call; streaming methods go through a generic stream) and
  // a deadline `deadline` from now, reading every response (at most
  // kMaxStreamResponses, fewer when `visit` says stop).
  RpcResult Call(const RpcMethod& method, const std::vector<std::string>& requests,
                 absl::Duration deadline, const ResponseVisitor& visit = nullptr);

  // The in-process channel the calls take (for other clients of the
  // server, such as a replica's follower).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Stops at once, cancelling calls still running.
  void Shutdown();

 private:
  InProcessServer() = default;

  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

// The invariants of every call: the status is never INTERNAL, UNKNOWN or
// DATA_LOSS (`rpc.no_internal`), and the responses of an OK call parse as
// the method's response type (`rpc.response_parses`). A failed check
// names the method and the status on standard error. With the environment
// variable KOURYU_FUZZ_RPC_VERBOSE set, every call's status is printed.
void CheckCall(const RpcMethod& method, const RpcResult& result);

// Unary and server-streaming calls take one request.
bool TakesOneRequest(const RpcMethod& method);

}  // namespace kouryu::fuzz

#endif  // KOURYU_FUZZ_RPC_HARNESS_H_
