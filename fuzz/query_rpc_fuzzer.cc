// Fuzz target: the request path of kouryu-query. Every RPC of QueryService,
// called through gRPC on an in-process server over a real Replica that
// followed a real ingest server's change feed after the published table
// was imported (rpc_env.h), with the request bytes of the input
// (rpc_harness.h: first byte the method, then the request).
//
// Checks, besides no crash and no sanitizer report: no INTERNAL, UNKNOWN or
// DATA_LOSS status and OK responses that parse (rpc.*); reads never change
// the replica (query.read_only); a page holds at most the page_size asked
// for (query.page_size).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/rpc_env.h"
#include "fuzz/rpc_harness.h"
#include "kouryu/v1/query_service.pb.h"
#include "query-service/replica.h"

namespace {

using kouryu::fuzz::QueryEnv;
using kouryu::fuzz::RpcMethod;
using kouryu::fuzz::RpcResult;

constexpr size_t kMaxInputBytes = 64 << 10;
constexpr absl::Duration kDeadline = absl::Seconds(1);

struct Target {
  std::vector<RpcMethod> methods = QueryEnv::Methods();
  std::unique_ptr<QueryEnv> env = std::make_unique<QueryEnv>();
  uint64_t applied = env->replica().applied_sequence();
};

Target* target = nullptr;

void DestroyTarget() {
  delete target;
  target = nullptr;
}

// Records (or results) in an OK page, and the page_size asked for.
template <typename Request, typename Response>
void CheckPageSize(const std::string& request_bytes, const RpcResult& result,
                   int (Response::*count)() const) {
  Request request;
  Response response;
  if (!request.ParseFromString(request_bytes) ||
      !response.ParseFromString(result.responses[0])) {
    return;
  }
  if (request.page_size() > 0) {
    FUZZ_CHECK("query.page_size", (response.*count)() <= request.page_size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (target == nullptr) {
    target = new Target;
    std::atexit(DestroyTarget);
  }
  if (size == 0 || size > kMaxInputBytes) return 0;
  kouryu::fuzz::RpcInput input =
      kouryu::fuzz::DecodeInput(data, size, target->methods);
  const RpcMethod& method = target->methods[input.method];
  const RpcResult result =
      target->env->server().Call(method, input.messages, kDeadline);
  kouryu::fuzz::CheckCall(method, result);
  FUZZ_CHECK("query.read_only",
             target->env->replica().applied_sequence() == target->applied);
  if (result.code == 0 && result.responses.size() == 1) {
    const std::string& name = method.descriptor->name();
    if (name == "ListRecords") {
      CheckPageSize<kouryu::v1::ListRecordsRequest, kouryu::v1::ListRecordsResponse>(
          input.messages[0], result, &kouryu::v1::ListRecordsResponse::records_size);
    } else if (name == "SearchRecords") {
      CheckPageSize<kouryu::v1::SearchRecordsRequest,
                    kouryu::v1::SearchRecordsResponse>(
          input.messages[0], result, &kouryu::v1::SearchRecordsResponse::results_size);
    } else if (name == "ListCities") {
      CheckPageSize<kouryu::v1::ListCitiesRequest, kouryu::v1::ListCitiesResponse>(
          input.messages[0], result, &kouryu::v1::ListCitiesResponse::cities_size);
    } else if (name == "ListBureaus") {
      CheckPageSize<kouryu::v1::ListBureausRequest, kouryu::v1::ListBureausResponse>(
          input.messages[0], result, &kouryu::v1::ListBureausResponse::bureaus_size);
    }
  }
  return 0;
}
