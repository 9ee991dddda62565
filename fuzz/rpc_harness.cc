#include "fuzz/rpc_harness.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/support/server_interceptor.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/request.h"
#include "common/server.h"
#include "fuzz/fuzz_check.h"

namespace kouryu::fuzz {
namespace {

// One operation on the completion queue at a time: start it with `tag`,
// then Await.
bool Await(grpc::CompletionQueue& cq) {
  void* tag = nullptr;
  bool ok = false;
  if (!cq.Next(&tag, &ok)) {
    std::fprintf(stderr, "rpc harness: the completion queue shut down\n");
    std::abort();
  }
  return ok;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

}  // namespace

std::vector<RpcMethod> MethodsOf(const std::vector<std::string>& services) {
  std::vector<RpcMethod> methods;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) {
      std::fprintf(stderr, "rpc harness: no service %s\n", name.c_str());
      std::abort();
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = service->method(i);
      methods.push_back({absl::StrCat("/", name, "/", m->name()), m});
    }
  }
  return methods;
}

bool TakesOneRequest(const RpcMethod& method) {
  return !method.descriptor->client_streaming();
}

RpcInput DecodeInput(const uint8_t* data, size_t size,
                     const std::vector<RpcMethod>& methods) {
  RpcInput input;
  if (size == 0 || methods.empty()) return input;
  input.method = data[0] % methods.size();
  const char* p = reinterpret_cast<const char*>(data) + 1;
  size_t left = size - 1;
  if (TakesOneRequest(methods[input.method])) {
    input.messages.emplace_back(p, left);
    return input;
  }
  while (left > 0 && input.messages.size() < kMaxStreamMessages) {
    size_t length = static_cast<uint8_t>(p[0]) << 8;
    if (left >= 2) length |= static_cast<uint8_t>(p[1]);
    const size_t header = std::min<size_t>(2, left);
    p += header;
    left -= header;
    length = std::min(length, left);
    input.messages.emplace_back(p, length);
    p += length;
    left -= length;
  }
  return input;
}

std::string EncodeInput(size_t method, const std::vector<std::string>& messages,
                        const std::vector<RpcMethod>& methods) {
  std::string out(1, static_cast<char>(method));
  if (TakesOneRequest(methods[method])) {
    if (!messages.empty()) out += messages[0];
    return out;
  }
  for (const std::string& m : messages) {
    const size_t length = std::min<size_t>(m.size(), 0xffff);
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xff));
    out.append(m, 0, length);
  }
  return out;
}

std::unique_ptr<InProcessServer> InProcessServer::Start(
    const std::vector<grpc::Service*>& services, int max_threads) {
  std::unique_ptr<InProcessServer> out(new InProcessServer);
  out->metrics_ = std::make_unique<Metrics>();
  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("kouryu_fuzz");
  quota.SetMaxThreads(max_threads);
  builder.SetResourceQuota(quota);
  // As kouryu::Server: the sync server keeps its threads instead of
  // creating and ending one per call (gRPC's thread manager holds ended
  // threads in a way LeakSanitizer reports as leaks).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              max_threads);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // As kouryu::Server::Start, in its order.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(MalformedRequestInterceptorFactory());
  interceptors.push_back(out->metrics_->ServerInterceptorFactory());
  interceptors.push_back(RequestLogInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  for (grpc::Service* service : services) builder.RegisterService(service);
  out->server_ = builder.BuildAndStart();
  if (out->server_ == nullptr) {
    std::fprintf(stderr, "rpc harness: the server did not start\n");
    std::abort();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  out->channel_ = out->server_->InProcessChannel(args);
  out->stub_ = std::make_unique<grpc::GenericStub>(out->channel_);
  return out;
}

InProcessServer::~InProcessServer() { Shutdown(); }

void InProcessServer::Shutdown() {
  if (server_ == nullptr) return;
  stub_.reset();
  channel_.reset();
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

RpcResult InProcessServer::Call(const RpcMethod& method,
                                const std::vector<std::string>& requests,
                                absl::Duration deadline,
                                const ResponseVisitor& visit) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::CompletionQueue cq;
  void* const tag = &context;
  RpcResult result;
  grpc::Status status;
  if (!method.descriptor->client_streaming() &&
      !method.descriptor->server_streaming()) {
    grpc::ByteBuffer response;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
        stub_->PrepareUnaryCall(&context, method.path,
                                ToBuffer(requests.empty() ? "" : requests[0]), &cq);
    call->StartCall();
    call->Finish(&response, &status, tag);
    Await(cq);
    if (status.ok()) result.responses.push_back(FromBuffer(response));
  } else {
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub_->PrepareCall(&context, method.path, &cq);
    call->StartCall(tag);
    bool open = Await(cq);
    const size_t count = TakesOneRequest(method) ? 1 : requests.size();
    for (size_t i = 0; open && i < count; ++i) {
      call->Write(ToBuffer(i < requests.size() ? requests[i] : ""), tag);
      open = Await(cq);
    }
    if (open) {
      call->WritesDone(tag);
      Await(cq);
    }
    // The initial metadata on its own first: with gRPC 1.51's in-process
    // transport, a Read pending when the server answers with trailers only
    // (any error) leaks the call (about 20 KB each).
    call->ReadInitialMetadata(tag);
    Await(cq);
    for (bool reading = true; reading;) {
      grpc::ByteBuffer buffer;
      call->Read(&buffer, tag);
      if (!Await(cq)) break;
      result.responses.push_back(FromBuffer(buffer));
      if (result.responses.size() >= kMaxStreamResponses ||
          (visit && !visit(result.responses.back()))) {
        context.TryCancel();
        reading = false;
      }
    }
    call->Finish(&status, tag);
    Await(cq);
  }
  cq.Shutdown();
  void* ignored_tag = nullptr;
  bool ignored_ok = false;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }
  result.code = status.error_code();
  result.message = status.error_message();
  return result;
}

void CheckCall(const RpcMethod& method, const RpcResult& result) {
  static const bool verbose = std::getenv("KOURYU_FUZZ_RPC_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s: %s %s (%zu responses)\n", method.path.c_str(),
                 absl::StatusCodeToString(static_cast<absl::StatusCode>(result.code))
                     .c_str(),
                 result.message.substr(0, 200).c_str(), result.responses.size());
  }
  const bool internal = result.code == grpc::StatusCode::INTERNAL ||
                        result.code == grpc::StatusCode::UNKNOWN ||
                        result.code == grpc::StatusCode::DATA_LOSS;
  if (internal) {
    std::fprintf(stderr, "%s answered %s: %s\n", method.path.c_str(),
                 absl::StatusCodeToString(static_cast<absl::StatusCode>(result.code))
                     .c_str(),
                 result.message.c_str());
  }
  FUZZ_CHECK("rpc.no_internal", !internal);
  if (result.code != grpc::StatusCode::OK) return;
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(
          method.descriptor->output_type());
  for (const std::string& response : result.responses) {
    std::unique_ptr<google::protobuf::Message> parsed(prototype->New());
    const bool parses = parsed->ParseFromString(response);
    if (!parses) {
      std::fprintf(stderr, "%s: a response does not parse as %s\n",
                   method.path.c_str(),
                   method.descriptor->output_type()->full_name().c_str());
    }
    FUZZ_CHECK("rpc.response_parses", parses);
  }
}

}  // namespace kouryu::fuzz
