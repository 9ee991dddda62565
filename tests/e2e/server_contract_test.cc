// What every method of both real servers promises, whatever the method:
// a request that does not parse (a string field holding invalid UTF-8, as a
// client sending raw bytes can produce) is INVALID_ARGUMENT with a reason
// and, where it can be known, the field; and grpc.health.v1 answers for ""
// and for every service the server offers, following the server's state.
// kouryu-ingest and kouryu-query run as processes on port 0.

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "kouryu/v1/admin_service.grpc.pb.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/process.h"

namespace kouryu {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::kouryu::testing::ServerProcess;

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
  return context;
}

void AppendVarint(uint64_t value, std::string& out) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void AppendLengthDelimited(int number, const std::string& payload,
                           std::string& out) {
  AppendVarint((static_cast<uint64_t>(number) << 3) | 2, out);
  AppendVarint(payload.size(), out);
  out += payload;
}

// A message of type `type` whose first string field (depth first, into
// message fields) holds invalid UTF-8, written by hand on the wire; `path`
// is the field path of that string ("record.title", "columns[0]").
// nullopt when the type holds no string field.
struct BadMessage {
  std::string bytes;
  std::string path;
};
std::optional<BadMessage> WithInvalidUtf8(const Descriptor& type, int depth = 0) {
  if (depth > 3) return std::nullopt;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const std::string index = field.is_repeated() ? "[0]" : "";
    if (field.type() == FieldDescriptor::TYPE_STRING) {
      BadMessage out;
      AppendLengthDelimited(field.number(), "ok\xff\xfe", out.bytes);
      out.path = field.name() + index;
      return out;
    }
    if (field.type() == FieldDescriptor::TYPE_MESSAGE && !field.is_map()) {
      std::optional<BadMessage> inner =
          WithInvalidUtf8(*field.message_type(), depth + 1);
      if (!inner) continue;
      BadMessage out;
      AppendLengthDelimited(field.number(), inner->bytes, out.bytes);
      out.path = field.name() + index + "." + inner->path;
      return out;
    }
  }
  return std::nullopt;
}

struct Answer {
  grpc::Status status;
  std::string reason;
  std::string domain;
  std::vector<std::string> fields;
};

Answer CallRaw(grpc::Channel& channel, const std::string& method,
               const std::string& bytes) {
  grpc::GenericStub stub(channel.shared_from_this());
  grpc::Slice slice(bytes.data(), bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = Deadline(10);
  Answer answer;
  absl::Notification done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                 &response, [&](grpc::Status status) {
                   answer.status = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  google::rpc::Status details;
  if (details.ParseFromString(answer.status.error_details())) {
    for (const google::protobuf::Any& any : details.details()) {
      google::rpc::ErrorInfo info;
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&info)) {
        answer.reason = info.reason();
        answer.domain = info.domain();
      }
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) {
          answer.fields.push_back(v.field());
        }
      }
    }
  }
  return answer;
}

class ServerContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir();
    ASSERT_FALSE(root_.empty());
  }
  void TearDown() override {
    query_.reset();
    ingest_.reset();
    std::filesystem::remove_all(root_);
  }

  void StartIngest(const std::string& listen = "127.0.0.1:0") {
    auto p = ServerProcess::Start({KOURYU_INGEST_BIN, "--listen=" + listen,
                                   "--data_dir=" + root_ + "/ingest"});
    ASSERT_TRUE(p.ok()) << p.status();
    ingest_ = *std::move(p);
  }
  void StartQuery(const std::string& ingest_address) {
    auto p = ServerProcess::Start({KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
                                   "--data_dir=" + root_ + "/query",
                                   "--ingest=" + ingest_address});
    ASSERT_TRUE(p.ok()) << p.status();
    query_ = *std::move(p);
  }

  static std::shared_ptr<grpc::Channel> Connect(const ServerProcess& server) {
    return grpc::CreateChannel(server.address(),
                               grpc::InsecureChannelCredentials());
  }

  // Every unary method of `service_name`, each sent a request with invalid
  // UTF-8 in its first string field, or (for a request without strings) a
  // length that runs past the end of the message.
  void ExpectEveryMethodRejectsUnparsableRequests(
      grpc::Channel& channel, const std::string& service_name,
      const std::vector<std::string>& fields_named) {
    // Links the generated descriptors of every service into the pool.
    (void)v1::UpsertRecordRequest::descriptor();
    (void)v1::SubscribeRequest::descriptor();
    (void)v1::ListRecordsRequest::descriptor();
    (void)v1::CreateBackupRequest::descriptor();
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor& method = *service->method(i);
      if (method.client_streaming() || method.server_streaming()) continue;
      const std::string path =
          absl::StrCat("/", service_name, "/", method.name());
      SCOPED_TRACE(path);
      std::optional<BadMessage> bad = WithInvalidUtf8(*method.input_type());
      const std::string bytes = bad ? bad->bytes : std::string("\x0a\x05" "ab", 4);
      Answer answer = CallRaw(channel, path, bytes);
      EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << answer.status.error_message();
      EXPECT_EQ(answer.reason, "MALFORMED_REQUEST");
      EXPECT_EQ(answer.domain, "kouryu.v1");
      EXPECT_THAT(answer.status.error_message(),
                  ::testing::HasSubstr(method.input_type()->full_name()));
      if (bad && std::find(fields_named.begin(), fields_named.end(),
                           method.name()) != fields_named.end()) {
        EXPECT_THAT(answer.fields, ::testing::ElementsAre(bad->path));
      }
    }
  }

  std::string root_;
  std::unique_ptr<ServerProcess> ingest_;
  std::unique_ptr<ServerProcess> query_;
};

TEST_F(ServerContractTest, UnparsableRequestsAreInvalidArgumentOnEveryMethod) {
  StartIngest();
  StartQuery(ingest_->address());
  auto ingest = Connect(*ingest_);
  auto query = Connect(*query_);
  ExpectEveryMethodRejectsUnparsableRequests(*ingest, "kouryu.v1.IngestService",
                                             {});
  ExpectEveryMethodRejectsUnparsableRequests(*ingest, "kouryu.v1.ChangeFeed", {});
  ExpectEveryMethodRejectsUnparsableRequests(*ingest, "kouryu.v1.AdminService",
                                             {});
  // The query methods read their requests' bytes themselves, so they name
  // the field.
  ExpectEveryMethodRejectsUnparsableRequests(
      *query, "kouryu.v1.QueryService",
      {"GetRecord", "ListRecords", "SearchRecords", "ListCities", "ListBureaus",
       "SummarizeRecords", "GetReplicaStatus", "GetDigest"});
  // Both servers still answer.
  v1::GetDigestRequest digest_request;
  v1::Digest digest;
  EXPECT_TRUE(v1::ChangeFeed::NewStub(ingest)
                  ->GetDigest(Deadline().get(), digest_request, &digest)
                  .ok());
  v1::ListCitiesRequest cities_request;
  v1::ListCitiesResponse cities;
  EXPECT_TRUE(v1::QueryService::NewStub(query)
                  ->ListCities(Deadline().get(), cities_request, &cities)
                  .ok());
}

HealthCheckResponse::ServingStatus Check(grpc::Channel& channel,
                                         const std::string& service,
                                         grpc::StatusCode* code = nullptr) {
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = grpc::health::v1::Health::NewStub(
                            channel.shared_from_this())
                            ->Check(Deadline().get(), request, &response);
  if (code != nullptr) *code = status.error_code();
  EXPECT_TRUE(status.ok() || code != nullptr)
      << service << ": " << status.error_message();
  return response.status();
}

TEST_F(ServerContractTest, HealthAnswersForEveryServiceTheServerOffers) {
  StartIngest();
  StartQuery(ingest_->address());
  auto ingest = Connect(*ingest_);
  auto query = Connect(*query_);
  for (const char* name : {"", "kouryu.v1.IngestService", "kouryu.v1.ChangeFeed",
                           "kouryu.v1.AdminService",
                           "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_EQ(Check(*ingest, name), HealthCheckResponse::SERVING) << name;
  }
  // The replica is SERVING once it has caught up with the (empty) head;
  // Watch says so without a sleep.
  for (const char* name :
       {"", "kouryu.v1.QueryService", "grpc.reflection.v1alpha.ServerReflection"}) {
    HealthCheckRequest request;
    request.set_service(name);
    auto context = Deadline();
    auto watch = grpc::health::v1::Health::NewStub(query)->Watch(context.get(),
                                                                request);
    HealthCheckResponse response;
    while (watch->Read(&response) &&
           response.status() == HealthCheckResponse::NOT_SERVING) {
    }
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << name;
    context->TryCancel();
  }
  // A service the server does not offer is NOT_FOUND, as the health
  // protocol says.
  grpc::StatusCode code = grpc::StatusCode::OK;
  Check(*query, "kouryu.v1.IngestService", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
  Check(*ingest, "kouryu.v1.QueryService", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerContractTest, QueryServiceIsNotServingUntilTheReplicaCatchesUp) {
  // Ingest's address, with ingest stopped: the replica cannot catch up.
  StartIngest();
  const std::string address = ingest_->address();
  ASSERT_EQ(ingest_->Terminate(), 0);
  StartQuery(address);
  auto query = Connect(*query_);
  for (const char* name : {"", "kouryu.v1.QueryService"}) {
    EXPECT_EQ(Check(*query, name), HealthCheckResponse::NOT_SERVING) << name;
  }
  HealthCheckRequest request;
  request.set_service("kouryu.v1.QueryService");
  auto context = Deadline();
  auto watch =
      grpc::health::v1::Health::NewStub(query)->Watch(context.get(), request);
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  StartIngest(address);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(*query, "kouryu.v1.QueryService"),
            HealthCheckResponse::SERVING);
  context->TryCancel();
}

}  // namespace
}  // namespace kouryu
