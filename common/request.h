#ifndef KOURYU_COMMON_REQUEST_H_
#define KOURYU_COMMON_REQUEST_H_

// Requests that do not parse. A string field holding bytes that are not
// UTF-8 (a client sending raw bytes can produce one) makes a protobuf
// request unparsable; gRPC's generated handlers then fail the call with
// INTERNAL and no message before the method runs. Both servers answer such
// a call with INVALID_ARGUMENT, ErrorInfo reason MALFORMED_REQUEST, and, when
// the bytes are at hand, a BadRequest naming the field ("record.title").
//
// Server::Start installs MalformedRequestInterceptorFactory on every
// server; methods that read their request as raw bytes (gRPC's raw callback
// API) parse it with ParseRequest, which names the field.

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Descriptor;
class Message;
}  // namespace google::protobuf
namespace grpc {
class ByteBuffer;
namespace experimental {
class ServerInterceptorFactoryInterface;
}  // namespace experimental
}  // namespace grpc

namespace kouryu {

// The field path of the first string field in `bytes`, read as a message of
// `type`, whose value is not valid UTF-8: "name", "record.title",
// "columns[2]" (indexes of repeated fields count from 0). "" when there is
// none, or when the bytes break off before one is found.
std::string FirstInvalidUtf8Field(const google::protobuf::Descriptor& type,
                                  absl::string_view bytes);

// INVALID_ARGUMENT, reason MALFORMED_REQUEST (metadata "requestType", and
// "field" when known): `bytes` do not parse as a `type`. `type` may be null
// (unknown method); `bytes` may be empty when they are no longer at hand.
absl::Status MalformedRequest(const google::protobuf::Descriptor* type,
                              absl::string_view bytes);

// Parses `bytes` into `request`; MalformedRequest when they do not parse.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes,
                          google::protobuf::Message& request);

// For ServerBuilder::experimental().SetInterceptorCreators: on unary and
// server-streaming calls whose request gRPC could not parse, replaces the
// INTERNAL status gRPC answers with MalformedRequest (without the field:
// gRPC has dropped the bytes by then). Other calls are left alone.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory();

}  // namespace kouryu

#endif  // KOURYU_COMMON_REQUEST_H_
