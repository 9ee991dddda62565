// Security between the services: mutual TLS, the per-method policy, and the
// plaintext health port, on the real kouryu-ingest and kouryu-query
// binaries (127.0.0.1, port 0). Certificates are made by
// scripts/make-certs.sh into the test's temporary directory; the policy is
// the example deploy/kubernetes/components/tls/authz-policy.json.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/certs.h"
#include "tests/support/http.h"
#include "tests/support/process.h"

namespace kouryu {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::kouryu::testing::CertFiles;
using ::kouryu::testing::ServerProcess;
using ::testing::HasSubstr;

const std::string kPolicy =
    std::string(KOURYU_SOURCE_DIR) +
    "/deploy/kubernetes/components/tls/authz-policy.json";

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 20) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
  return context;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `content` to `path` atomically (a rename), as config tools do.
void WriteAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << content;
  std::filesystem::rename(tmp, path);
}

v1::UpsertRecordRequest SampleUpsert(
    const std::string& title = "大韓民国ソウル特別市") {
  v1::UpsertRecordRequest upsert;
  upsert.mutable_record()->set_category(
      "①姉妹・友好都市及び政策提携都市との交流");
  upsert.mutable_record()->set_department("政策企画局外務部");
  upsert.mutable_record()->set_title(title);
  upsert.mutable_record()->set_fiscal_year(2019);
  return upsert;
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir());
    auto certs = testing::MakeTestCertificates(*root_ + "/certs");
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = new testing::TestCertificates(*certs);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete certs_;
    delete root_;
  }

  void SetUp() override {
    ASSERT_NE(certs_, nullptr);
    dir_ = testing::MakeTempDir();
  }
  void TearDown() override {
    query_.reset();
    ingest_.reset();
    std::filesystem::remove_all(dir_);
  }

  // kouryu-ingest with mutual TLS and `policy`, its stderr in
  // dir_/ingest.log.
  void StartIngest(const std::string& policy = kPolicy,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {KOURYU_INGEST_BIN,
                                     "--listen=127.0.0.1:0",
                                     "--data_dir=" + dir_ + "/ingest",
                                     "--tls_cert=" + certs_->ingest.cert,
                                     "--tls_key=" + certs_->ingest.key,
                                     "--tls_ca=" + certs_->ca,
                                     "--client_auth=require",
                                     "--authz_policy=" + policy};
    args.insert(args.end(), extra.begin(), extra.end());
    ingest_ = StartLogged(args, dir_ + "/ingest.log");
  }

  // Runs `args` with standard error appended to `log`.
  static std::unique_ptr<ServerProcess> StartLogged(
      const std::vector<std::string>& args, const std::string& log) {
    std::string command = "exec";
    for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
    absl::StrAppend(&command, " 2>>'", log, "'");
    auto p = ServerProcess::Start({"/bin/sh", "-c", command});
    EXPECT_TRUE(p.ok()) << p.status() << "\n" << ReadAll(log);
    return p.ok() ? *std::move(p) : nullptr;
  }

  static std::shared_ptr<grpc::Channel> Dial(const std::string& address,
                                             const CertFiles* client,
                                             const std::string& ca = "") {
    ClientTlsOptions tls{.ca_file = ca.empty() ? certs_->ca : ca};
    if (client != nullptr) {
      tls.cert_file = client->cert;
      tls.key_file = client->key;
    }
    auto security = MakeChannelSecurity(tls);
    EXPECT_TRUE(security.ok()) << security.status();
    // A channel of its own each time: a new connection, a new handshake.
    security->args.SetInt("kouryu.test.unique", next_channel_++);
    return grpc::CreateCustomChannel(address, security->credentials,
                                     security->args);
  }

  static grpc::Status Upsert(
      grpc::Channel& channel, v1::UpsertRecordResponse* response = nullptr,
      const std::string& title = "大韓民国ソウル特別市") {
    v1::UpsertRecordResponse ignored;
    return v1::IngestService::NewStub(channel.shared_from_this())
        ->UpsertRecord(Deadline().get(), SampleUpsert(title),
                       response != nullptr ? response : &ignored);
  }

  // The first response of a Subscribe from the start of the changelog.
  static grpc::Status Subscribe(grpc::Channel& channel) {
    auto stub = v1::ChangeFeed::NewStub(channel.shared_from_this());
    auto context = Deadline();
    v1::SubscribeRequest request;
    auto reader = stub->Subscribe(context.get(), request);
    v1::SubscribeResponse response;
    if (reader->Read(&response)) {
      context->TryCancel();
      reader->Finish().IgnoreError();
      return grpc::Status::OK;
    }
    return reader->Finish();
  }

  static grpc::Status CheckHealth(grpc::Channel& channel,
                                  const std::string& service = "",
                                  HealthCheckResponse* response = nullptr) {
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse ignored;
    return Health::NewStub(channel.shared_from_this())
        ->Check(Deadline().get(), request,
                response != nullptr ? response : &ignored);
  }

  // A unary call of `method` with an empty request, through the generic
  // stub (for methods whose protos the test does not link).
  static grpc::Status CallEmpty(grpc::Channel& channel,
                                const std::string& method) {
    grpc::GenericStub generic(channel.shared_from_this());
    grpc::Slice empty("", 0);
    grpc::ByteBuffer request(&empty, 1), response;
    auto context = Deadline();
    grpc::Status status;
    absl::Notification done;
    generic.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                      &response, [&](grpc::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
    done.WaitForNotification();
    return status;
  }

  static std::string* root_;
  static testing::TestCertificates* certs_;
  static int next_channel_;
  std::string dir_;
  std::unique_ptr<ServerProcess> ingest_;
  std::unique_ptr<ServerProcess> query_;
};

std::string* SecurityTest::root_ = nullptr;
testing::TestCertificates* SecurityTest::certs_ = nullptr;
int SecurityTest::next_channel_ = 0;

TEST_F(SecurityTest, ClientWithoutCertificateIsRefused) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  grpc::Status status = Upsert(*Dial(ingest_->address(), nullptr));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

// --client_auth=request admits a client without a certificate; the example
// policy then allows it nothing, since every rule names principals.
TEST_F(SecurityTest, RequestedCertificateMissingIsDeniedByThePolicy) {
  StartIngest(kPolicy, {"--client_auth=request"});
  ASSERT_NE(ingest_, nullptr);
  auto anonymous = Dial(ingest_->address(), nullptr);
  grpc::Status status = CheckHealth(*anonymous);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("an unauthenticated peer may not call "
                        "/grpc.health.v1.Health/Check"));
  EXPECT_TRUE(CheckHealth(*Dial(ingest_->address(), &certs_->reader)).ok());
  // A certificate that is presented is still verified.
  EXPECT_EQ(CheckHealth(*Dial(ingest_->address(), &certs_->other_ca_writer))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(SecurityTest, CertificateOfAnotherCaIsRefused) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  grpc::Status status =
      Upsert(*Dial(ingest_->address(), &certs_->other_ca_writer));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(SecurityTest, ClientRefusesServerOfAnotherCa) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  grpc::Status status = Upsert(
      *Dial(ingest_->address(), &certs_->writer, certs_->other_ca_writer.ca));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The client options kouryu-cli maps its grpcurl-style flags to:
// -servername (server_name) and -insecure (insecure_skip_verify).
TEST_F(SecurityTest, ClientServerNameAndInsecureSkipVerify) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  auto dial = [&](ClientTlsOptions tls) {
    tls.cert_file = certs_->reader.cert;
    tls.key_file = certs_->reader.key;
    auto security = MakeChannelSecurity(tls);
    EXPECT_TRUE(security.ok()) << security.status();
    security->args.SetInt("kouryu.test.unique", next_channel_++);
    return grpc::CreateCustomChannel(ingest_->address(), security->credentials,
                                     security->args);
  };
  EXPECT_TRUE(CheckHealth(*dial({.ca_file = certs_->ca,
                                 .server_name = "kouryu-ingest.kouryu.svc"}))
                  .ok());
  EXPECT_EQ(CheckHealth(*dial({.ca_file = certs_->ca,
                               .server_name = "kouryu-query.kouryu.svc"}))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Another CA's roots: refused, unless verification is skipped.
  EXPECT_EQ(
      CheckHealth(*dial({.ca_file = certs_->other_ca_writer.ca})).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(CheckHealth(*dial({.ca_file = certs_->other_ca_writer.ca,
                                 .insecure_skip_verify = true}))
                  .ok());
  EXPECT_TRUE(CheckHealth(*dial({.server_name = "anything.example",
                                 .insecure_skip_verify = true}))
                  .ok());
}

TEST_F(SecurityTest, ReaderMayNotWrite) {
  StartIngest(kPolicy, {"--metrics_listen=127.0.0.1:0"});
  ASSERT_NE(ingest_, nullptr);
  absl::StatusOr<std::string> metrics_line = ingest_->ReadLine();
  ASSERT_TRUE(metrics_line.ok()) << metrics_line.status();
  const std::string metrics = metrics_line->substr(metrics_line->rfind(' ') + 1);
  grpc::Status status = Upsert(*Dial(ingest_->address(), &certs_->reader));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("AUTHORIZATION_DENIED"));
  EXPECT_THAT(status.error_message(),
              HasSubstr("spiffe://kouryu.local/reader may not call "
                        "/kouryu.v1.IngestService/UpsertRecord"));
  // The denial is logged with principal and method.
  // Refused before any interceptor, and counted all the same.
  EXPECT_THAT(testing::HttpGet(metrics, "/metrics"),
              HasSubstr("grpc_server_handled_total{grpc_code=\"PermissionDenied\","
                        "grpc_method=\"UpsertRecord\",grpc_service="
                        "\"kouryu.v1.IngestService\",grpc_type=\"unary\"} 1"));
  const std::string log = ReadAll(dir_ + "/ingest.log");
  EXPECT_THAT(log, HasSubstr("\"msg\":\"authz_denied\",\"method\":"
                             "\"/kouryu.v1.IngestService/UpsertRecord\","
                             "\"principal\":\"spiffe://kouryu.local/reader\""));
}

TEST_F(SecurityTest, WriterWritesAndReplicaSubscribes) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  v1::UpsertRecordResponse written;
  grpc::Status status =
      Upsert(*Dial(ingest_->address(), &certs_->writer), &written);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(written.outcome(), v1::OUTCOME_CREATED);

  auto replica = Dial(ingest_->address(), &certs_->replica);
  status = Subscribe(*replica);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Upsert(*replica).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // The writer may not follow the feed either.
  EXPECT_EQ(Subscribe(*Dial(ingest_->address(), &certs_->writer)).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SecurityTest, ReaderMayNotSubscribe) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  grpc::Status status = Subscribe(*Dial(ingest_->address(), &certs_->reader));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("/kouryu.v1.ChangeFeed/Subscribe"));
}

TEST_F(SecurityTest, HealthIsAllowedToAnyAuthenticatedPeer) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  for (const CertFiles* who :
       {&certs_->reader, &certs_->writer, &certs_->operator_}) {
    HealthCheckResponse response;
    grpc::Status status = CheckHealth(*Dial(ingest_->address(), who),
                                      "kouryu.v1.IngestService", &response);
    ASSERT_TRUE(status.ok()) << who->dir << ": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
    // Reflection too (what grpcurl list and kouryu-cli need).
    grpc::Status reflection = CallEmpty(
        *Dial(ingest_->address(), who),
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    EXPECT_NE(reflection.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << who->dir << ": " << reflection.error_message();
    EXPECT_NE(reflection.error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  // The operator may call AdminService (this branch's ingest may not offer
  // it: UNIMPLEMENTED, but not denied); the reader may not.
  EXPECT_NE(CallEmpty(*Dial(ingest_->address(), &certs_->operator_),
                      "/kouryu.v1.AdminService/ListBackups")
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(CallEmpty(*Dial(ingest_->address(), &certs_->reader),
                      "/kouryu.v1.AdminService/ListBackups")
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SecurityTest, PairEndToEndOverMutualTls) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  query_ = StartLogged(
      {KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
       "--data_dir=" + dir_ + "/query", "--ingest=" + ingest_->address(),
       "--ingest_tls_ca=" + certs_->ca,
       "--ingest_tls_cert=" + certs_->replica.cert,
       "--ingest_tls_key=" + certs_->replica.key,
       "--ingest_tls_server_name=kouryu-ingest.kouryu.svc.cluster.local",
       "--tls_cert=" + certs_->query.cert, "--tls_key=" + certs_->query.key,
       "--tls_ca=" + certs_->ca, "--authz_policy=" + kPolicy},
      dir_ + "/query.log");
  ASSERT_NE(query_, nullptr);

  v1::UpsertRecordResponse written;
  ASSERT_TRUE(
      Upsert(*Dial(ingest_->address(), &certs_->writer), &written).ok());
  auto reader = Dial(query_->address(), &certs_->reader);
  v1::GetRecordRequest get;
  get.set_name(written.record().name());
  get.set_min_sequence(written.sequence());
  v1::Record record;
  grpc::Status status = v1::QueryService::NewStub(reader)->GetRecord(
      Deadline().get(), get, &record);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n"
                           << ReadAll(dir_ + "/query.log");
  EXPECT_EQ(record.etag(), written.record().etag());
  // The writer may not read from the replica.
  status = v1::QueryService::NewStub(Dial(query_->address(), &certs_->writer))
               ->GetRecord(Deadline().get(), get, &record);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SecurityTest, ReplicaWithoutTlsCannotFollow) {
  StartIngest();
  ASSERT_NE(ingest_, nullptr);
  // A plaintext client speaking to a TLS port: the handshake fails.
  auto plaintext = grpc::CreateChannel(ingest_->address(),
                                       grpc::InsecureChannelCredentials());
  EXPECT_EQ(Subscribe(*plaintext).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The server's certificate in dir/current/, swapped by replacing the
// `current` symlink as Kubernetes does for a mounted Secret.
TEST_F(SecurityTest, NewServerCertificateServesNewConnections) {
  namespace fs = std::filesystem;
  auto second =
      testing::IssueCertificate(*certs_, "kouryu-ingest-2",
                                {"--server", "--cn", "kouryu-ingest-2", "--dns",
                                 "localhost", "--ip", "127.0.0.1"});
  ASSERT_TRUE(second.ok()) << second.status();
  const std::string served = dir_ + "/served";
  fs::create_directories(served);
  fs::copy(certs_->ingest.dir, served + "/v1");
  fs::copy(second->dir, served + "/v2");
  fs::create_directory_symlink("v1", served + "/current");
  StartIngest(kPolicy, {"--tls_cert=" + served + "/current/tls.crt",
                        "--tls_key=" + served + "/current/tls.key",
                        "--security_reload_interval=1s"});
  ASSERT_NE(ingest_, nullptr);

  auto server_name = [&]() -> std::string {
    auto channel = Dial(ingest_->address(), &certs_->reader);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    HealthCheckRequest request;
    HealthCheckResponse response;
    if (!Health::NewStub(channel)->Check(&context, request, &response).ok()) {
      return "";
    }
    auto names = context.auth_context()->FindPropertyValues("x509_common_name");
    return names.empty() ? "" : std::string(names[0].data(), names[0].size());
  };
  EXPECT_EQ(server_name(), "kouryu-ingest");

  fs::create_directory_symlink("v2", served + "/next");
  fs::rename(served + "/next", served + "/current");  // Atomic.
  std::string name;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((name = server_name()) != "kouryu-ingest-2" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling
  }
  EXPECT_EQ(name, "kouryu-ingest-2");
}

TEST_F(SecurityTest, PolicyChangesApplyWithoutRestartAndBadOnesAreRefused) {
  const std::string policy = dir_ + "/policy.json";
  const std::string example = ReadAll(kPolicy);
  WriteAtomically(policy, example);
  StartIngest(policy, {"--security_reload_interval=1s"});
  ASSERT_NE(ingest_, nullptr);
  auto reader = Dial(ingest_->address(), &certs_->reader);
  ASSERT_EQ(Upsert(*reader).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // Readers may write too now.
  std::string widened = example;
  const std::string writers =
      "\"principals\": [\"spiffe://kouryu.local/writer\"";
  ASSERT_NE(widened.find(writers), std::string::npos);
  widened.replace(widened.find(writers), writers.size(),
                  writers + ", \"spiffe://kouryu.local/reader\"");
  WriteAtomically(policy, widened);
  grpc::Status status;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(status = Upsert(*reader)).ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling
  }
  ASSERT_TRUE(status.ok()) << status.error_message();

  // A change that does not parse is logged and the policy in force stays.
  WriteAtomically(policy, "{\"name\": \"kouryu\", \"allow_rules\": [");
  const std::string log = dir_ + "/ingest.log";
  while (ReadAll(log).find("authz_policy_kept") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling
  }
  EXPECT_THAT(ReadAll(log), HasSubstr(policy + ": not JSON: parse error"));
  EXPECT_THAT(ReadAll(log), HasSubstr("\"msg\":\"authz_policy_kept\""));
  EXPECT_THAT(ReadAll(log), HasSubstr("\"policy\":\"kouryu\""));
  EXPECT_TRUE(Upsert(*reader, nullptr, "イタリア共和国ローマ市").ok());
}

// Runs a server that should refuse to start; its exit code and stderr.
testing::CommandResult RunRefused(const std::vector<std::string>& args) {
  std::string command = "exec";
  for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
  absl::StrAppend(&command, " 2>&1");
  return testing::RunCommand({"/bin/sh", "-c", command});
}

TEST_F(SecurityTest, MalformedPolicyStopsTheServerAtStart) {
  const std::string policy = dir_ + "/policy.json";
  std::ofstream(policy) << "{\"name\": \"kouryu\", \"allow_rules\": [\n"
                           "  {\"name\": \"writers\", \"sorce\": {}}]}";
  testing::CommandResult result = RunRefused(
      {KOURYU_INGEST_BIN, "--listen=127.0.0.1:0",
       "--data_dir=" + dir_ + "/ingest", "--tls_cert=" + certs_->ingest.cert,
       "--tls_key=" + certs_->ingest.key, "--tls_ca=" + certs_->ca,
       "--authz_policy=" + policy});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.out,
              HasSubstr(absl::StrCat("authorization policy ", policy,
                                     ": allow_rules[0].sorce: unknown field")));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/ingest"));
}

TEST_F(SecurityTest, TlsWithoutPolicyRefusesToStartUnlessAllowedExplicitly) {
  const std::vector<std::string> tls = {KOURYU_INGEST_BIN,
                                        "--listen=127.0.0.1:0",
                                        "--data_dir=" + dir_ + "/ingest",
                                        "--tls_cert=" + certs_->ingest.cert,
                                        "--tls_key=" + certs_->ingest.key,
                                        "--tls_ca=" + certs_->ca};
  testing::CommandResult result = RunRefused(tls);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.out, HasSubstr("no --authz_policy"));
  EXPECT_THAT(result.out, HasSubstr("--authz_allow_all"));

  // A key that is not the certificate's.
  std::vector<std::string> wrong_key = tls;
  wrong_key[4] = "--tls_key=" + certs_->query.key;
  wrong_key.push_back("--authz_allow_all");
  result = RunRefused(wrong_key);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.out, HasSubstr("does not belong to the certificate"));

  // Security flags without TLS.
  for (const std::string& flag :
       {"--authz_policy=" + kPolicy, std::string("--client_auth=require"),
        "--tls_ca=" + certs_->ca, std::string("--authz_allow_all")}) {
    result = RunRefused({KOURYU_INGEST_BIN, "--listen=127.0.0.1:0",
                         "--data_dir=" + dir_ + "/ingest", flag});
    EXPECT_EQ(result.exit_code, 2) << flag;
    EXPECT_THAT(result.out, HasSubstr("needs TLS")) << flag;
  }

  std::vector<std::string> allowed = tls;
  allowed.push_back("--authz_allow_all");
  ingest_ = StartLogged(allowed, dir_ + "/ingest.log");
  ASSERT_NE(ingest_, nullptr);
  EXPECT_TRUE(Upsert(*Dial(ingest_->address(), &certs_->reader)).ok());
}

// kouryu-cli with grpcurl's TLS flags against a server that requires mutual
// TLS and the example policy: the writer imports, the reader may list
// services but not import, an operator takes a backup, a client without a
// certificate learns the handshake failed.
TEST_F(SecurityTest, KouryuCliOverMutualTls) {
  StartIngest(kPolicy, {"--backup_dir=" + dir_ + "/backups"});
  ASSERT_NE(ingest_, nullptr);
  // Standard error too: that is where kouryu-cli reports errors.
  auto cli = [&](const CertFiles* client, const std::string& args) {
    std::string command = absl::StrCat("'", KOURYU_CLI_BIN, "' -cacert '", certs_->ca, "'");
    if (client != nullptr) {
      absl::StrAppend(&command, " -cert '", client->cert, "' -key '", client->key, "'");
    }
    absl::StrAppend(&command, " ", ingest_->address(), " ", args, " 2>&1");
    return testing::RunCommand({"/bin/sh", "-c", command});
  };
  const std::string table =
      std::string(KOURYU_SOURCE_DIR) + "/data/tokyo-exchange-r1.tsv";

  testing::CommandResult imported = cli(&certs_->writer, "import '" + table + "'");
  EXPECT_EQ(imported.exit_code, 0) << imported.out;
  EXPECT_THAT(imported.out, HasSubstr("36 created"));

  testing::CommandResult denied = cli(&certs_->reader, "import '" + table + "'");
  EXPECT_NE(denied.exit_code, 0) << denied.out;
  EXPECT_THAT(denied.out, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(denied.out, HasSubstr("spiffe://kouryu.local/reader may not call "
                                    "/kouryu.v1.IngestService/IngestRecords"));

  testing::CommandResult listed = cli(&certs_->reader, "list");
  EXPECT_EQ(listed.exit_code, 0) << listed.out;
  EXPECT_THAT(listed.out, HasSubstr("kouryu.v1.IngestService"));

  testing::CommandResult backup = cli(&certs_->operator_, "backup create -o json");
  EXPECT_EQ(backup.exit_code, 0) << backup.out;
  EXPECT_THAT(backup.out, HasSubstr("\"sequence\": \"36\""));
  testing::CommandResult not_operator = cli(&certs_->writer, "backup list");
  EXPECT_THAT(not_operator.out, HasSubstr("PERMISSION_DENIED")) << not_operator.out;

  testing::CommandResult no_cert = cli(nullptr, "list");
  EXPECT_NE(no_cert.exit_code, 0);
  EXPECT_THAT(no_cert.out, HasSubstr("UNAVAILABLE")) << no_cert.out;
}

TEST_F(SecurityTest, HealthPortAnswersHealthAndNothingElse) {
  // Plaintext ingest; the query replica with TLS and a health port.
  auto ingest = ServerProcess::Start({KOURYU_INGEST_BIN, "--listen=127.0.0.1:0",
                                      "--data_dir=" + dir_ + "/ingest",
                                      "--health_listen=127.0.0.1:0"});
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  ingest_ = *std::move(ingest);
  auto ingest_health = ingest_->ReadLine();
  ASSERT_TRUE(ingest_health.ok()) << ingest_health.status();
  EXPECT_THAT(*ingest_health, HasSubstr("kouryu-ingest health listening on"));

  query_ = StartLogged(
      {KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
       "--data_dir=" + dir_ + "/query", "--ingest=" + ingest_->address(),
       "--tls_cert=" + certs_->query.cert, "--tls_key=" + certs_->query.key,
       "--tls_ca=" + certs_->ca, "--authz_policy=" + kPolicy,
       "--health_listen=127.0.0.1:0"},
      dir_ + "/query.log");
  ASSERT_NE(query_, nullptr);
  auto line = query_->ReadLine();
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string health_address = line->substr(line->rfind(' ') + 1);
  auto health =
      grpc::CreateChannel(health_address, grpc::InsecureChannelCredentials());

  // Health follows the main server's: SERVING once caught up.
  HealthCheckRequest request;
  request.set_service("kouryu.v1.QueryService");
  grpc::ClientContext watch_context;
  auto watch = Health::NewStub(health)->Watch(&watch_context, request);
  HealthCheckResponse seen;
  while (watch->Read(&seen) && seen.status() != HealthCheckResponse::SERVING) {
  }
  ASSERT_EQ(seen.status(), HealthCheckResponse::SERVING);
  for (const char* service : {"", "kouryu.v1.QueryService",
                              "grpc.reflection.v1alpha.ServerReflection"}) {
    HealthCheckResponse response;
    ASSERT_TRUE(CheckHealth(*health, service, &response).ok()) << service;
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }

  // Nothing but health on the health port.
  v1::ListCitiesRequest cities;
  v1::ListCitiesResponse listed;
  EXPECT_EQ(v1::QueryService::NewStub(health)
                ->ListCities(Deadline().get(), cities, &listed)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  auto ingest_health_channel =
      grpc::CreateChannel(ingest_health->substr(ingest_health->rfind(' ') + 1),
                          grpc::InsecureChannelCredentials());
  EXPECT_EQ(Upsert(*ingest_health_channel).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Subscribe(*ingest_health_channel).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Reflection is not there either.
  EXPECT_EQ(
      CallEmpty(
          *health,
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);

  // Shutting down: NOT_SERVING on the health port first.
  std::thread stop([&] { EXPECT_EQ(query_->Terminate(), 0); });
  while (watch->Read(&seen) && seen.status() == HealthCheckResponse::SERVING) {
  }
  EXPECT_EQ(seen.status(), HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();
  watch->Finish().IgnoreError();
  stop.join();
  query_.reset();
}

}  // namespace
}  // namespace kouryu
