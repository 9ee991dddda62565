#include "common/request.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/status.h"
#include "common/text.h"

namespace kouryu {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::internal::WireFormatLite;

constexpr absl::string_view kReason = "MALFORMED_REQUEST";
// Deeper nesting than any request has; bounds the walk over hostile bytes.
constexpr int kMaxDepth = 16;

std::string FirstInvalidUtf8Field(const Descriptor& type,
                                  absl::string_view bytes, int depth) {
  if (depth > kMaxDepth) return "";
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  std::map<int, int> seen;  // field number -> entries read (repeated fields)
  while (const uint32_t tag = input.ReadTag()) {
    const FieldDescriptor* field =
        type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool nested =
        field != nullptr &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
        (field->type() == FieldDescriptor::TYPE_STRING ||
         field->type() == FieldDescriptor::TYPE_MESSAGE);
    if (!nested) {
      if (!WireFormatLite::SkipField(&input, tag)) return "";
      continue;
    }
    std::string value;
    uint32_t length = 0;
    if (!input.ReadVarint32(&length) ||
        !input.ReadString(&value, static_cast<int>(length))) {
      return "";
    }
    std::string path = field->name();
    if (field->is_repeated()) absl::StrAppend(&path, "[", seen[field->number()]++, "]");
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(value)) return path;
      continue;
    }
    std::string inner =
        FirstInvalidUtf8Field(*field->message_type(), value, depth + 1);
    if (!inner.empty()) return absl::StrCat(path, ".", inner);
  }
  return "";
}

// The request type of `method` ("/kouryu.v1.QueryService/ListRecords"),
// from the generated descriptors; null when unknown.
const Descriptor* RequestTypeOf(absl::string_view method) {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  const google::protobuf::MethodDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrReplaceAll(method, {{"/", "."}}));
  return descriptor == nullptr ? nullptr : descriptor->input_type();
}

class MalformedRequestInterceptor final
    : public grpc::experimental::Interceptor {
 public:
  explicit MalformedRequestInterceptor(const char* method) : method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    // gRPC hands interceptors a null message when it could not parse one.
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsed_ = true;
    }
    if (unparsed_ &&
        methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      methods->ModifySendStatus(
          ToGrpcStatus(MalformedRequest(RequestTypeOf(method_), "")));
    }
    methods->Proceed();
  }

 private:
  const char* method_;
  bool unparsed_ = false;
};

class MalformedRequestFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    // gRPC parses the request itself only on these; streams read by the
    // method see their parse failures themselves.
    if (info->type() != Type::UNARY && info->type() != Type::SERVER_STREAMING) {
      return nullptr;
    }
    return new MalformedRequestInterceptor(info->method());
  }
};

}  // namespace

std::string FirstInvalidUtf8Field(const Descriptor& type,
                                  absl::string_view bytes) {
  return FirstInvalidUtf8Field(type, bytes, 0);
}

absl::Status MalformedRequest(const Descriptor* type, absl::string_view bytes) {
  const std::string type_name =
      type == nullptr ? std::string("request") : type->full_name();
  const std::string field =
      type == nullptr || bytes.empty() ? "" : FirstInvalidUtf8Field(*type, bytes);
  if (field.empty()) {
    return InvalidArgumentError(
        kReason,
        absl::StrCat("the request is not a valid ", type_name,
                     ": a string field holds bytes that are not UTF-8, or the "
                     "bytes are not a message of that type"),
        {}, {{"requestType", type_name}});
  }
  const std::string description = absl::StrCat(
      "holds bytes that are not valid UTF-8 (string fields must be UTF-8; "
      "send raw bytes in a bytes field)");
  return InvalidArgumentError(
      kReason,
      absl::StrCat("the request is not a valid ", type_name, ": ", field, " ",
                   description),
      {{field, description}}, {{"requestType", type_name}});
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message& request) {
  grpc::ByteBuffer copy(bytes);  // Deserialize consumes its buffer.
  if (grpc::SerializationTraits<google::protobuf::Message>::Deserialize(
          &copy, &request)
          .ok()) {
    return absl::OkStatus();
  }
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (bytes.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  return MalformedRequest(request.GetDescriptor(), flat);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory() {
  return std::make_unique<MalformedRequestFactory>();
}

}  // namespace kouryu
