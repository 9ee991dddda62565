#ifndef KOURYU_COMMON_RPC_METHOD_H_
#define KOURYU_COMMON_RPC_METHOD_H_

// The parts of a gRPC method's path as the server interceptors (metrics,
// request log) report them: "/kouryu.v1.QueryService/ListRecords" is
// service "kouryu.v1.QueryService", method "ListRecords".

#include <string>

#include "absl/strings/string_view.h"

namespace kouryu {

struct RpcMethod {
  std::string service;
  std::string method;
};

// A path without the form "/SERVICE/METHOD" is all method, with service
// "unknown".
inline RpcMethod SplitRpcMethod(absl::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const size_t slash = path.find('/');
  if (slash == absl::string_view::npos) return {"unknown", std::string(path)};
  return {std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

}  // namespace kouryu

#endif  // KOURYU_COMMON_RPC_METHOD_H_
