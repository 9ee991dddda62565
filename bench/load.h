#ifndef KOURYU_BENCH_LOAD_H_
#define KOURYU_BENCH_LOAD_H_

// The load generator: keeps a fixed number of calls in flight through
// gRPC's callback API (a closed loop: each call that ends starts the next),
// times every call, and counts every non-OK status by code.
//
//   auto* async = stub->async();
//   Figures f = RunLoad("GetRecord", {.concurrency = 16, .cpu_pids = {pid}},
//       UnaryCall<v1::GetRecordRequest, v1::Record>(
//           [async](auto* context, auto* request, auto* response, auto done) {
//             async->GetRecord(context, request, response, std::move(done));
//           },
//           [&](uint64_t i, v1::GetRecordRequest& request) {
//             request.set_name(names[i % names.size()]);
//           }));

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/measure.h"

namespace kouryu::bench {

// Deadline of every call the benchmark makes: a call that hangs shows up
// as DEADLINE_EXCEEDED, never as a benchmark that does not end.
inline constexpr absl::Duration kCallTimeout = absl::Seconds(60);

// Receives the status of a call; called exactly once per call.
using CallDone = std::function<void(const grpc::Status&)>;
// Starts call number `i` (0, 1, 2, ... over the run) without blocking and
// calls `done` when it ends, on any thread (possibly this one). `slot`
// (0 .. concurrency - 1) names which of the calls kept in flight this is:
// a slot's next call starts when its last one ends.
using AsyncCall = std::function<void(uint64_t i, int slot, CallDone done)>;

// Spreads the slots over `calls` (one per connection, say): slot k always
// calls calls[k % calls.size()], so with as many calls as slots each
// connection carries one call at a time.
AsyncCall PerSlot(std::vector<AsyncCall> calls);

// Keeps `options.concurrency` calls in flight: unmeasured for
// options.warmup, then measured for options.duration; then waits for the
// calls in flight. OK calls that end inside the window count and are
// timed; failed calls are counted by code over the whole run.
Figures RunLoad(const std::string& name, const LoadOptions& options,
                const AsyncCall& call);

// One unary call's state: its context, with the kCallTimeout deadline set,
// its request and its response. Allocate it with `new` when starting the
// call and delete it in the call's callback.
template <typename Request, typename Response>
struct CallState {
  CallState() {
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
  }
  grpc::ClientContext context;
  Request request;
  Response response;
};

// The bytes of `buffer`, in one string.
std::string Flatten(const grpc::ByteBuffer& buffer);

// A generated stub's callback-API method: stub->async()->Method(...).
template <typename Request, typename Response>
using AsyncMethod =
    std::function<void(grpc::ClientContext*, const Request*, Response*,
                       std::function<void(grpc::Status)>)>;

// An AsyncCall of a unary method: each call gets a fresh context (with the
// kCallTimeout deadline), a request filled by `fill(i, request)`, and a
// response that `check`, when given, may turn into a failure (a wrong
// answer with an OK status). The AsyncCall must outlive its calls (RunLoad
// waits for them).
template <typename Request, typename Response>
AsyncCall UnaryCall(
    AsyncMethod<Request, Response> method,
    std::function<void(uint64_t i, Request& request)> fill,
    std::function<grpc::Status(const Response&)> check = nullptr) {
  return [method = std::move(method), fill = std::move(fill),
          check = std::move(check)](uint64_t i, int /*slot*/, CallDone done) {
    auto* call = new CallState<Request, Response>;
    fill(i, call->request);
    method(&call->context, &call->request, &call->response,
           [call, &check, done = std::move(done)](grpc::Status status) {
             if (status.ok() && check) status = check(call->response);
             delete call;
             done(status);
           });
  };
}

// The name of a status code ("DEADLINE_EXCEEDED").
std::string CodeName(grpc::StatusCode code);

// An AsyncCall of a unary method whose answer is checked without parsing
// it into its message type: `check(request, answer)` reads the serialized
// answer (a client that needs a few fields of a large answer may do the
// same, and the benchmark's own CPU then stays out of the servers' way).
// `method` is the full name, "/kouryu.v1.QueryService/GetRecord".
template <typename Request>
AsyncCall RawAnswerCall(
    std::shared_ptr<grpc::Channel> channel, std::string method,
    std::function<void(uint64_t i, Request& request)> fill,
    std::function<grpc::Status(const Request& request, absl::string_view answer)>
        check) {
  auto stub = std::make_shared<grpc::TemplatedGenericStub<Request, grpc::ByteBuffer>>(
      std::move(channel));
  return [stub, method = std::move(method), fill = std::move(fill),
          check = std::move(check)](uint64_t i, int /*slot*/, CallDone done) {
    auto* call = new CallState<Request, grpc::ByteBuffer>;
    fill(i, call->request);
    stub->UnaryCall(&call->context, method, grpc::StubOptions(), &call->request,
                    &call->response,
                    [call, &check, done = std::move(done)](grpc::Status status) {
                      if (status.ok()) {
                        std::string answer = Flatten(call->response);
                        status = check(call->request, answer);
                      }
                      delete call;
                      done(status);
                    });
  };
}

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_LOAD_H_
