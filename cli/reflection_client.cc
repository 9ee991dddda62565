#include "cli/reflection_client.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/errors.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace kouryu::cli {
namespace {

namespace pb = google::protobuf;
namespace refl = grpc::reflection::v1alpha;

std::string ToBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

}  // namespace

// Fetches file descriptors from the server on demand and keeps them.
class ReflectionClient::Database : public pb::DescriptorDatabase {
 public:
  explicit Database(std::shared_ptr<grpc::Channel> channel)
      : stub_(refl::ServerReflection::NewStub(channel)) {}

  bool FindFileByName(const std::string& filename,
                      pb::FileDescriptorProto* output) override {
    if (cache_.FindFileByName(filename, output)) return true;
    refl::ServerReflectionRequest request;
    request.set_file_by_filename(filename);
    return Fetch(request) && cache_.FindFileByName(filename, output);
  }

  bool FindFileContainingSymbol(const std::string& symbol,
                                pb::FileDescriptorProto* output) override {
    if (cache_.FindFileContainingSymbol(symbol, output)) return true;
    refl::ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    return Fetch(request) && cache_.FindFileContainingSymbol(symbol, output);
  }

  bool FindFileContainingExtension(const std::string& containing_type,
                                   int field_number,
                                   pb::FileDescriptorProto* output) override {
    return cache_.FindFileContainingExtension(containing_type, field_number,
                                              output);
  }

  absl::StatusOr<std::vector<std::string>> ListServices() {
    refl::ServerReflectionRequest request;
    request.set_list_services("");
    absl::StatusOr<refl::ServerReflectionResponse> response = Ask(request);
    if (!response.ok()) return response.status();
    std::vector<std::string> names;
    for (const auto& s : response->list_services_response().service()) {
      names.push_back(s.name());
    }
    return names;
  }

  const grpc::Status& last_error() const { return last_error_; }

 private:
  absl::StatusOr<refl::ServerReflectionResponse> Ask(
      const refl::ServerReflectionRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    auto stream = stub_->ServerReflectionInfo(&context);
    refl::ServerReflectionResponse response;
    bool ok = stream->Write(request) && stream->WritesDone() &&
              stream->Read(&response);
    grpc::Status status = stream->Finish();
    last_error_ = status;
    if (!status.ok()) return FromGrpc(status);
    if (!ok) return absl::UnavailableError("no reflection response");
    if (response.has_error_response()) {
      return absl::NotFoundError(response.error_response().error_message());
    }
    return response;
  }

  bool Fetch(const refl::ServerReflectionRequest& request) {
    absl::StatusOr<refl::ServerReflectionResponse> response = Ask(request);
    if (!response.ok()) return false;
    for (const std::string& bytes :
         response->file_descriptor_response().file_descriptor_proto()) {
      pb::FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) return false;
      pb::FileDescriptorProto existing;
      if (!cache_.FindFileByName(file.name(), &existing)) cache_.Add(file);
    }
    return true;
  }

  std::unique_ptr<refl::ServerReflection::Stub> stub_;
  pb::SimpleDescriptorDatabase cache_;
  grpc::Status last_error_;
};

ReflectionClient::ReflectionClient(std::shared_ptr<grpc::Channel> channel)
    : channel_(channel),
      database_(std::make_unique<Database>(channel)),
      pool_(std::make_unique<pb::DescriptorPool>(database_.get())) {}

ReflectionClient::~ReflectionClient() = default;

absl::StatusOr<std::vector<std::string>> ReflectionClient::ListServices() {
  return database_->ListServices();
}

absl::StatusOr<std::string> ReflectionClient::Describe(
    absl::string_view symbol) {
  std::string name(symbol);
  if (const auto* s = pool_->FindServiceByName(name)) return s->DebugString();
  if (const auto* m = pool_->FindMethodByName(name)) return m->DebugString();
  if (const auto* m = pool_->FindMessageTypeByName(name)) {
    return m->DebugString();
  }
  if (const auto* e = pool_->FindEnumTypeByName(name)) return e->DebugString();
  if (!database_->last_error().ok()) return FromGrpc(database_->last_error());
  return absl::NotFoundError(
      absl::StrCat("the server describes no symbol \"", symbol, "\""));
}

absl::Status ReflectionClient::Call(
    absl::string_view method_name, const std::vector<std::string>& requests,
    const std::function<void(const std::string&)>& on_response,
    absl::Duration timeout, bool pretty) {
  std::string full = absl::StrReplaceAll(method_name, {{"/", "."}});
  const pb::MethodDescriptor* method = pool_->FindMethodByName(full);
  if (method == nullptr) {
    if (!database_->last_error().ok()) return FromGrpc(database_->last_error());
    return absl::NotFoundError(
        absl::StrCat("the server describes no method \"", method_name, "\""));
  }
  if (!method->client_streaming() && requests.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(method->full_name(), " takes exactly one request; got ",
                     requests.size()));
  }
  pb::DynamicMessageFactory factory(pool_.get());
  const pb::Message* request_type = factory.GetPrototype(method->input_type());
  const pb::Message* response_type =
      factory.GetPrototype(method->output_type());

  std::vector<std::string> encoded;
  for (const std::string& json : requests) {
    std::unique_ptr<pb::Message> request(request_type->New());
    auto parsed = pb::util::JsonStringToMessage(json, request.get());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request is not a valid ", method->input_type()->full_name(),
          " in JSON: ", parsed.ToString()));
    }
    encoded.push_back(request->SerializeAsString());
  }

  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::CompletionQueue cq;
  std::string path =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, path, &cq);
  // One operation at a time: start it, then wait for its completion.
  auto wait = [&cq]() {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  call->StartCall(nullptr);
  bool open = wait();
  for (size_t i = 0; open && i < encoded.size(); ++i) {
    grpc::Slice slice(encoded[i]);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, nullptr);
    open = wait();
  }
  if (open) {
    call->WritesDone(nullptr);
    open = wait();
  }
  grpc::ByteBuffer buffer;
  while (open) {
    call->Read(&buffer, nullptr);
    if (!wait()) break;
    std::unique_ptr<pb::Message> response(response_type->New());
    if (!response->ParseFromString(ToBytes(buffer))) {
      return absl::DataLossError("cannot parse a response");
    }
    std::string json;
    pb::util::JsonPrintOptions options;
    options.add_whitespace = pretty;
    options.always_print_primitive_fields = false;
    (void)pb::util::MessageToJsonString(*response, &json, options);
    if (!pretty && !json.empty() && json.back() == '\n') json.pop_back();
    on_response(json);
  }
  grpc::Status status;
  call->Finish(&status, nullptr);
  wait();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  if (!status.ok()) return FromGrpc(status);
  return absl::OkStatus();
}

}  // namespace kouryu::cli
