// What a person debugging with a reflection client sees: kouryu-cli (which
// learns the API through server reflection, as grpcurl does) against the
// real kouryu-ingest and kouryu-query on port 0. One case per RPC of every
// service either server offers, each asserting on the parsed JSON of the
// answer; CoversEveryMethodTheServersDescribe fails when a server offers a
// method that has no case here.

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "kouryu/v1/admin_service.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/process.h"
#include "tests/support/published_table.h"

namespace kouryu {
namespace {

using ::kouryu::testing::kBeijingRecords;
using ::kouryu::testing::kEducationBureauRecords;
using ::kouryu::testing::kOlympicBureauRecords;
using ::kouryu::testing::kParisRecords;
using ::kouryu::testing::kPublishedRecords;
using ::kouryu::testing::kSeoulRecords;
using ::kouryu::testing::PublishedTable;
using ::kouryu::testing::RunCommand;
using ::kouryu::testing::ServerProcess;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using Json = nlohmann::json;

using Methods = std::map<std::string, std::set<std::string>>;

// The services each server offers and their methods.
const Methods kCommonServices = {
    {"grpc.health.v1.Health", {"Check", "Watch"}},
    {"grpc.reflection.v1alpha.ServerReflection", {"ServerReflectionInfo"}},
    {"grpc.channelz.v1.Channelz",
     {"GetTopChannels", "GetServers", "GetServer", "GetServerSockets",
      "GetChannel", "GetSubchannel", "GetSocket"}},
};
const Methods kIngestServices = {
    {"kouryu.v1.IngestService",
     {"UpsertRecord", "IngestRecords", "ImportTable", "DeleteRecord"}},
    {"kouryu.v1.ChangeFeed", {"Subscribe", "GetDigest"}},
    {"kouryu.v1.AdminService", {"CreateBackup", "ListBackups", "DeleteBackup"}},
};
const Methods kQueryServices = {
    {"kouryu.v1.QueryService",
     {"GetRecord", "ListRecords", "SearchRecords", "ListCities", "ListBureaus",
      "SummarizeRecords", "GetReplicaStatus", "GetDigest"}},
};

// トムスク appears on lines 11 and 34 only.
const std::set<int> kTomskRows = {11, 34};

std::unique_ptr<grpc::ClientContext> Deadline() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
  return context;
}

// The answer of one kouryu-cli call: its exit code and every response,
// parsed from its line of -o jsonl.
struct Answer {
  int exit_code = -1;
  std::vector<Json> responses;
};

class ReflectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir();
    ASSERT_FALSE(root_.empty());
    auto ingest =
        ServerProcess::Start({KOURYU_INGEST_BIN, "--listen=127.0.0.1:0",
                              "--data_dir=" + root_ + "/ingest",
                              "--backup_dir=" + root_ + "/backups"});
    ASSERT_TRUE(ingest.ok()) << ingest.status();
    ingest_ = *std::move(ingest);
    auto query = ServerProcess::Start({KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
                                       "--data_dir=" + root_ + "/query",
                                       "--ingest=" + ingest_->address()});
    ASSERT_TRUE(query.ok()) << query.status();
    query_ = *std::move(query);
    ingest_channel_ = grpc::CreateChannel(ingest_->address(),
                                          grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    query_.reset();
    ingest_.reset();
    std::filesystem::remove_all(root_);
  }

  // kouryu-cli ADDRESS ARGS... with `input` on standard input.
  testing::CommandResult Cli(const std::string& address,
                             const std::vector<std::string>& args,
                             const std::string& input = "") {
    std::vector<std::string> argv = {KOURYU_CLI_BIN, address};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, input);
  }

  // `method` called with the JSON `request` (or several, for a
  // client-streaming method).
  Answer Call(const std::string& address, const std::string& method,
              const std::string& request = "{}",
              const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = {"-o", "jsonl", "-d", "@"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(method);
    testing::CommandResult result = Cli(address, args, request);
    Answer answer{result.exit_code, {}};
    for (absl::string_view line : absl::StrSplit(result.out, '\n')) {
      if (!line.empty()) answer.responses.push_back(Json::parse(line));
    }
    return answer;
  }

  // A unary call that must succeed; its response.
  Json Unary(const std::string& address, const std::string& method,
             const std::string& request = "{}") {
    Answer answer = Call(address, method, request);
    EXPECT_EQ(answer.exit_code, 0) << method;
    EXPECT_EQ(answer.responses.size(), 1u) << method;
    return answer.responses.empty() ? Json::object() : answer.responses[0];
  }

  Json Ingest(const std::string& method, const std::string& request = "{}") {
    return Unary(ingest_->address(), method, request);
  }
  Json Query(const std::string& method, const std::string& request = "{}") {
    return Unary(query_->address(), method, request);
  }

  // Returns once the query server is SERVING (its replica has caught up
  // with the head), watched over gRPC.
  void AwaitQueryServing() {
    auto channel = grpc::CreateChannel(query_->address(),
                                       grpc::InsecureChannelCredentials());
    auto context = Deadline();
    auto watch = grpc::health::v1::Health::NewStub(channel)->Watch(
        context.get(), grpc::health::v1::HealthCheckRequest());
    grpc::health::v1::HealthCheckResponse response;
    while (watch->Read(&response) &&
           response.status() !=
               grpc::health::v1::HealthCheckResponse::SERVING) {
    }
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
    context->TryCancel();
    watch->Finish();
  }

  // The published table imported over gRPC (not through the CLI); its
  // sequence.
  uint64_t ImportPublishedTable() {
    v1::ImportTableRequest request;
    request.set_content(PublishedTable());
    request.set_file_name("tokyo-exchange-r1.tsv");
    v1::ImportTableResponse response;
    grpc::Status status =
        v1::IngestService::NewStub(ingest_channel_)
            ->ImportTable(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.sequence(), static_cast<uint64_t>(kPublishedRecords));
    return response.sequence();
  }

  v1::UpsertRecordResponse UpsertOverGrpc(const std::string& title) {
    v1::UpsertRecordRequest request;
    request.mutable_record()->set_category("②姉妹港交流");
    request.mutable_record()->set_department("港湾局港湾経営部");
    request.mutable_record()->set_title(title);
    request.mutable_record()->set_fiscal_year(2020);
    v1::UpsertRecordResponse response;
    grpc::Status status =
        v1::IngestService::NewStub(ingest_channel_)
            ->UpsertRecord(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // {"...": ..., "minSequence": "N"} for the query methods.
  static std::string AtSequence(Json request, uint64_t sequence) {
    request["minSequence"] = std::to_string(sequence);
    return request.dump();
  }

  // response[list][0][ref][id]: the ID of the first channelz object a
  // list response names, or "" when it names none.
  static std::string FirstId(const Json& response, const std::string& list,
                             const std::string& ref, const std::string& id) {
    if (!response.contains(list) || response[list].empty()) return "";
    return response.at(list).at(0).at(ref).at(id).get<std::string>();
  }

  // GetChannel's answer for the query server's first top channel, the
  // follower's to ingest.
  Json FollowerChannel() {
    const std::string id =
        FirstId(Query("grpc.channelz.v1.Channelz/GetTopChannels"), "channel",
                "ref", "channelId");
    Json got = Query("grpc.channelz.v1.Channelz/GetChannel",
                     Json{{"channelId", id}}.dump());
    EXPECT_EQ(got["channel"]["ref"]["channelId"], id);
    return got;
  }

  // GetSubchannel's answer for that channel's first subchannel.
  Json FollowerSubchannel() {
    const std::string id = FollowerChannel()
                               .at("channel")
                               .at("subchannelRef")
                               .at(0)
                               .at("subchannelId")
                               .get<std::string>();
    Json got = Query("grpc.channelz.v1.Channelz/GetSubchannel",
                     Json{{"subchannelId", id}}.dump());
    EXPECT_EQ(got["subchannel"]["ref"]["subchannelId"], id);
    return got;
  }

  std::string root_;
  std::unique_ptr<ServerProcess> ingest_;
  std::unique_ptr<ServerProcess> query_;
  std::shared_ptr<grpc::Channel> ingest_channel_;
};

// --- what reflection describes ----------------------------------------------

// The services `kouryu-cli ADDRESS list` prints, one per line.
std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty()) out.emplace(line);
  }
  return out;
}

// The names of the rpcs of a `describe SERVICE` text (.proto syntax).
std::set<std::string> RpcNames(const std::string& text) {
  const auto is_word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  std::set<std::string> out;
  // Each "rpc NAME(" where "rpc" starts a word.
  for (size_t at = text.find("rpc "); at != std::string::npos;
       at = text.find("rpc ", at + 1)) {
    if (at > 0 && is_word(text[at - 1])) continue;
    const size_t begin = at + 4;
    size_t end = begin;
    while (end < text.size() && is_word(text[end])) ++end;
    if (end > begin && end < text.size() && text[end] == '(') {
      out.insert(text.substr(begin, end - begin));
    }
  }
  return out;
}

TEST_F(ReflectionTest, CoversEveryMethodTheServersDescribe) {
  std::set<std::string> cases;
  const ::testing::TestSuite* suite =
      ::testing::UnitTest::GetInstance()->current_test_suite();
  for (int i = 0; i < suite->total_test_count(); ++i) {
    cases.insert(suite->GetTestInfo(i)->name());
  }
  for (const auto& [address, own] :
       {std::pair{ingest_->address(), kIngestServices},
        std::pair{query_->address(), kQueryServices}}) {
    Methods expected = kCommonServices;
    expected.insert(own.begin(), own.end());
    testing::CommandResult listed = Cli(address, {"list"});
    ASSERT_EQ(listed.exit_code, 0);
    std::set<std::string> services;
    for (const auto& [service, methods] : expected) services.insert(service);
    EXPECT_EQ(Lines(listed.out), services) << address;
    for (const auto& [service, methods] : expected) {
      testing::CommandResult described = Cli(address, {"describe", service});
      ASSERT_EQ(described.exit_code, 0) << service;
      EXPECT_EQ(RpcNames(described.out), methods) << service;
      // The case of SERVICE/METHOD is named <last part of SERVICE><METHOD>.
      const std::string prefix = service.substr(service.rfind('.') + 1);
      for (const std::string& method : methods) {
        EXPECT_THAT(cases, Contains(prefix + method))
            << service << "/" << method << " has no case";
      }
    }
  }
}

TEST_F(ReflectionTest, DescribesMessagesWithTheirFields) {
  testing::CommandResult described =
      Cli(query_->address(), {"describe", "kouryu.v1.Record"});
  ASSERT_EQ(described.exit_code, 0);
  EXPECT_THAT(described.out, ::testing::HasSubstr(
                                 "repeated .kouryu.v1.City mentioned_cities"));
}

// --- grpc.health.v1.Health --------------------------------------------------

TEST_F(ReflectionTest, HealthCheck) {
  // The query server is SERVING once its replica has caught up with the
  // (empty) head.
  AwaitQueryServing();
  for (const auto& [address, services] :
       {std::pair{ingest_->address(), kIngestServices},
        std::pair{query_->address(), kQueryServices}}) {
    EXPECT_EQ(Unary(address, "grpc.health.v1.Health/Check"),
              (Json{{"status", "SERVING"}}));
    for (const auto& [service, methods] : services) {
      EXPECT_EQ(Unary(address, "grpc.health.v1.Health/Check",
                      Json{{"service", service}}.dump()),
                (Json{{"status", "SERVING"}}))
          << service;
    }
  }
  // A service the server does not offer is NOT_FOUND.
  EXPECT_EQ(Call(query_->address(), "grpc.health.v1.Health/Check",
                 R"({"service":"kouryu.v1.IngestService"})")
                .exit_code,
            1);
}

TEST_F(ReflectionTest, HealthWatch) {
  // Watch never ends by itself: its deadline ends it (exit code 1), after
  // the first response, the status at the time of the call.
  Answer answer =
      Call(ingest_->address(), "grpc.health.v1.Health/Watch",
           R"({"service":"kouryu.v1.IngestService"})", {"--timeout", "1s"});
  EXPECT_EQ(answer.exit_code, 1);
  ASSERT_THAT(answer.responses, Not(IsEmpty()));
  EXPECT_EQ(answer.responses[0], (Json{{"status", "SERVING"}}));
}

// --- grpc.reflection.v1alpha.ServerReflection -------------------------------

TEST_F(ReflectionTest, ServerReflectionServerReflectionInfo) {
  // A bidirectional stream: both requests go out, then both answers come.
  Answer answer =
      Call(ingest_->address(),
           "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
           R"({"listServices":""})"
           R"({"fileContainingSymbol":"kouryu.v1.IngestService"})");
  ASSERT_EQ(answer.exit_code, 0);
  ASSERT_EQ(answer.responses.size(), 2u);
  std::set<std::string> services;
  for (const Json& s : answer.responses[0]["listServicesResponse"]["service"]) {
    services.insert(s["name"]);
  }
  EXPECT_THAT(services, Contains("kouryu.v1.IngestService"));
  EXPECT_THAT(services, Contains("kouryu.v1.ChangeFeed"));
  EXPECT_THAT(services, Not(Contains("kouryu.v1.QueryService")));
  const Json& files =
      answer.responses[1]["fileDescriptorResponse"]["fileDescriptorProto"];
  // The file that defines the symbol (and what it imports), each the bytes
  // of a FileDescriptorProto, base64 in JSON.
  std::set<std::string> names;
  for (const Json& file : files) {
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape(file.get<std::string>(), &bytes));
    google::protobuf::FileDescriptorProto proto;
    ASSERT_TRUE(proto.ParseFromString(bytes));
    names.insert(proto.name());
  }
  EXPECT_THAT(names, Contains("kouryu/v1/ingest_service.proto"));
}

// --- grpc.channelz.v1.Channelz ----------------------------------------------
// The query server's one top channel is the follower's to ingest; it has a
// subchannel with a connected socket whose peer is ingest's port.

TEST_F(ReflectionTest, ChannelzGetTopChannels) {
  Json top = Query("grpc.channelz.v1.Channelz/GetTopChannels");
  ASSERT_THAT(top["channel"], Not(IsEmpty()));
  std::vector<std::string> targets;
  for (const Json& c : top["channel"]) targets.push_back(c["data"]["target"]);
  EXPECT_THAT(targets, Contains(ingest_->address()));
  EXPECT_EQ(top.value("end", false), true);
}

TEST_F(ReflectionTest, ChannelzGetChannel) {
  Json got = FollowerChannel();
  EXPECT_EQ(got["channel"]["data"]["target"], ingest_->address());
  EXPECT_THAT(got["channel"]["subchannelRef"], Not(IsEmpty()));
}

TEST_F(ReflectionTest, ChannelzGetSubchannel) {
  Json sub = FollowerSubchannel();
  EXPECT_EQ(sub["subchannel"]["data"]["state"]["state"], "READY");
  EXPECT_THAT(sub["subchannel"]["socketRef"], Not(IsEmpty()));
}

TEST_F(ReflectionTest, ChannelzGetSocket) {
  const std::string id = FollowerSubchannel()
                             .at("subchannel")
                             .at("socketRef")
                             .at(0)
                             .at("socketId")
                             .get<std::string>();
  Json socket = Query("grpc.channelz.v1.Channelz/GetSocket",
                      Json{{"socketId", id}}.dump());
  EXPECT_EQ(socket["socket"]["ref"]["socketId"], id);
  const std::string port =
      ingest_->address().substr(ingest_->address().rfind(':') + 1);
  EXPECT_EQ(socket["socket"]["remote"]["tcpipAddress"]["port"],
            std::stoi(port));
}

TEST_F(ReflectionTest, ChannelzGetServers) {
  Json servers = Ingest("grpc.channelz.v1.Channelz/GetServers");
  ASSERT_EQ(servers["server"].size(), 1u);
  EXPECT_THAT(servers["server"][0]["ref"]["serverId"].get<std::string>(),
              Not(IsEmpty()));
  EXPECT_EQ(servers.value("end", false), true);
}

TEST_F(ReflectionTest, ChannelzGetServer) {
  const std::string id = FirstId(Ingest("grpc.channelz.v1.Channelz/GetServers"),
                                 "server", "ref", "serverId");
  ASSERT_FALSE(id.empty());
  Json got = Ingest("grpc.channelz.v1.Channelz/GetServer",
                    Json{{"serverId", id}}.dump());
  EXPECT_EQ(got["server"]["ref"]["serverId"], id);
  // This call and the one before it, at least.
  EXPECT_GE(
      std::stoll(got["server"]["data"]["callsStarted"].get<std::string>()), 2);
}

TEST_F(ReflectionTest, ChannelzGetServerSockets) {
  const std::string id = FirstId(Ingest("grpc.channelz.v1.Channelz/GetServers"),
                                 "server", "ref", "serverId");
  ASSERT_FALSE(id.empty());
  // The follower's connection, which stays open, and this call's own.
  Json sockets = Ingest("grpc.channelz.v1.Channelz/GetServerSockets",
                        Json{{"serverId", id}}.dump());
  EXPECT_GE(sockets["socketRef"].size(), 2u);
  EXPECT_EQ(sockets.value("end", false), true);
}

// --- kouryu.v1.IngestService ------------------------------------------------

TEST_F(ReflectionTest, IngestServiceUpsertRecord) {
  Json upserted = Ingest(
      "kouryu.v1.IngestService/UpsertRecord",
      R"({"record":{"category":"②姉妹港交流","department":"港湾局港湾経営部",)"
      R"("title":"大韓民国ソウル特別市との港湾交流","fiscalYear":2020}})");
  EXPECT_EQ(upserted["sequence"], "1");
  EXPECT_EQ(upserted["outcome"], "OUTCOME_CREATED");
  EXPECT_THAT(upserted["record"]["name"].get<std::string>(),
              StartsWith("cities/seoul/bureaus/port-harbor/records/"));
  EXPECT_EQ(upserted["record"]["city"]["id"], "seoul");
  EXPECT_EQ(upserted["record"]["category"], "CATEGORY_SISTER_PORT_EXCHANGE");
  EXPECT_EQ(upserted["record"]["fiscalYear"], 2020);
}

TEST_F(ReflectionTest, IngestServiceIngestRecords) {
  // Client-streaming: several JSON objects in a row.
  Json ingested = Ingest(
      "kouryu.v1.IngestService/IngestRecords",
      R"({"record":{"category":"②姉妹港交流","department":"港湾局港湾経営部","title":"A港","fiscalYear":2020}})"
      R"({"record":{"category":"②姉妹港交流","department":"未知局","title":"B港","fiscalYear":2020}})");
  EXPECT_EQ(ingested["createdCount"], 1);
  EXPECT_EQ(ingested["rejectedCount"], 1);
  EXPECT_EQ(ingested["sequence"], "1");
  ASSERT_EQ(ingested["results"].size(), 2u);
  EXPECT_EQ(ingested["results"][0]["outcome"], "OUTCOME_CREATED");
  EXPECT_EQ(ingested["results"][1]["outcome"], "OUTCOME_REJECTED");
  EXPECT_EQ(ingested["results"][1]["violations"][0]["field"],
            "records[2].department");
}

TEST_F(ReflectionTest, IngestServiceImportTable) {
  // Bytes travel as base64 in JSON.
  Json imported = Ingest("kouryu.v1.IngestService/ImportTable",
                         Json{{"content", absl::Base64Escape(PublishedTable())},
                              {"fileName", "tokyo-exchange-r1.tsv"}}
                             .dump());
  EXPECT_EQ(imported["createdCount"], kPublishedRecords);
  EXPECT_EQ(imported.value("rejectedCount", 0), 0);
  EXPECT_EQ(imported["fiscalYear"], 2019);
  EXPECT_EQ(imported["sequence"], std::to_string(kPublishedRecords));
}

TEST_F(ReflectionTest, IngestServiceDeleteRecord) {
  v1::UpsertRecordResponse upserted = UpsertOverGrpc("A港");
  Json deleted = Ingest("kouryu.v1.IngestService/DeleteRecord",
                        Json{{"name", upserted.record().name()},
                             {"etag", upserted.record().etag()}}
                            .dump());
  EXPECT_EQ(deleted["sequence"], "2");
  // Gone: a second delete is NOT_FOUND.
  EXPECT_EQ(Call(ingest_->address(), "kouryu.v1.IngestService/DeleteRecord",
                 Json{{"name", upserted.record().name()}}.dump())
                .exit_code,
            1);
}

// --- kouryu.v1.ChangeFeed ---------------------------------------------------

TEST_F(ReflectionTest, ChangeFeedSubscribe) {
  ImportPublishedTable();
  // A server stream: one response per line.
  Answer answer = Call(ingest_->address(), "kouryu.v1.ChangeFeed/Subscribe",
                       R"({"afterSequence":"30","untilHead":true})");
  ASSERT_EQ(answer.exit_code, 0);
  std::vector<std::string> sequences;
  for (const Json& response : answer.responses) {
    EXPECT_EQ(response["headSequence"], "36");
    EXPECT_THAT(response.value("historyId", ""), Not(IsEmpty()));
    for (const Json& change : response.value("changes", Json::array())) {
      sequences.push_back(change["sequence"]);
      EXPECT_EQ(change["kind"], "CHANGE_KIND_UPSERT");
      EXPECT_EQ(change["name"], change["record"]["name"]);
    }
  }
  EXPECT_EQ(sequences,
            (std::vector<std::string>{"31", "32", "33", "34", "35", "36"}));
}

TEST_F(ReflectionTest, ChangeFeedGetDigest) {
  Json empty = Ingest("kouryu.v1.ChangeFeed/GetDigest");
  ImportPublishedTable();
  Json digest = Ingest("kouryu.v1.ChangeFeed/GetDigest");
  EXPECT_EQ(digest["sequence"], "36");
  EXPECT_EQ(digest["recordCount"], "36");
  EXPECT_THAT(digest["digest"].get<std::string>(), Not(IsEmpty()));
  EXPECT_NE(digest["digest"], empty["digest"]);
}

// --- kouryu.v1.AdminService -------------------------------------------------

TEST_F(ReflectionTest, AdminServiceCreateBackup) {
  ImportPublishedTable();
  Json digest = Ingest("kouryu.v1.ChangeFeed/GetDigest");
  Json backup = Ingest("kouryu.v1.AdminService/CreateBackup");
  EXPECT_EQ(backup["backupId"], 1);
  EXPECT_EQ(backup["sequence"], "36");
  EXPECT_EQ(backup["recordCount"], "36");
  EXPECT_EQ(backup["digest"], digest["digest"]);
  EXPECT_GT(std::stoll(backup["sizeBytes"].get<std::string>()), 0);
  EXPECT_THAT(backup.value("historyId", ""), Not(IsEmpty()));
}

// Backup ID, sequence and digest of each backup a ListBackups answer lists
// (the size of one backup changes as others share its files).
std::vector<std::string> Backups(const Json& listed) {
  std::vector<std::string> out;
  for (const Json& b : listed.value("backups", Json::array())) {
    out.push_back(absl::StrCat(b["backupId"].get<int>(), " ",
                               b.value("sequence", "0"), " ",
                               b.value("digest", "")));
  }
  return out;
}

TEST_F(ReflectionTest, AdminServiceListBackups) {
  EXPECT_EQ(Ingest("kouryu.v1.AdminService/ListBackups"), Json::object());
  Json first = Ingest("kouryu.v1.AdminService/CreateBackup");
  UpsertOverGrpc("A港");
  Json second = Ingest("kouryu.v1.AdminService/CreateBackup");
  // Oldest first, as CreateBackup answered.
  EXPECT_THAT(Backups(Ingest("kouryu.v1.AdminService/ListBackups")),
              ElementsAre(absl::StrCat("1 0 ", first.value("digest", "")),
                          absl::StrCat("2 1 ", second.value("digest", ""))));
}

TEST_F(ReflectionTest, AdminServiceDeleteBackup) {
  Ingest("kouryu.v1.AdminService/CreateBackup");
  UpsertOverGrpc("A港");
  Json second = Ingest("kouryu.v1.AdminService/CreateBackup");
  EXPECT_EQ(Ingest("kouryu.v1.AdminService/DeleteBackup", R"({"backupId":1})"),
            Json::object());
  EXPECT_THAT(Backups(Ingest("kouryu.v1.AdminService/ListBackups")),
              ElementsAre(absl::StrCat("2 1 ", second.value("digest", ""))));
  // Deleted already: NOT_FOUND.
  EXPECT_EQ(Call(ingest_->address(), "kouryu.v1.AdminService/DeleteBackup",
                 R"({"backupId":1})")
                .exit_code,
            1);
}

// --- kouryu.v1.QueryService -------------------------------------------------

TEST_F(ReflectionTest, QueryServiceGetRecord) {
  const uint64_t seq = ImportPublishedTable();
  // Line 4: 政策企画局外務部, 大韓民国ソウル特別市.
  Json listed = Query("kouryu.v1.QueryService/ListRecords",
                      AtSequence({{"parent", "cities/seoul"},
                                  {"view", "RECORD_VIEW_FULL"},
                                  {"pageSize", 50}},
                                 seq));
  std::string name;
  for (const Json& r : listed["records"]) {
    if (r["source"]["row"] == 4) name = r["name"];
  }
  ASSERT_FALSE(name.empty());
  Json got = Query("kouryu.v1.QueryService/GetRecord",
                   AtSequence({{"name", name}}, seq));
  EXPECT_EQ(got["name"], name);
  EXPECT_EQ(got["city"]["id"], "seoul");
  EXPECT_EQ(got["bureau"]["id"], "policy-planning");
  EXPECT_EQ(got["department"], "外務部");
  EXPECT_EQ(got["category"], "CATEGORY_SISTER_CITY_EXCHANGE");
  EXPECT_EQ(got["source"]["row"], 4);
  // A name that is not there: NOT_FOUND.
  EXPECT_EQ(Call(query_->address(), "kouryu.v1.QueryService/GetRecord",
                 AtSequence({{"name", name + "0"}}, seq))
                .exit_code,
            1);
}

TEST_F(ReflectionTest, QueryServiceListRecords) {
  const uint64_t seq = ImportPublishedTable();
  Json seoul =
      Query("kouryu.v1.QueryService/ListRecords",
            AtSequence({{"parent", "cities/seoul"}, {"pageSize", 10}}, seq));
  EXPECT_EQ(seoul["totalSize"], kSeoulRecords);
  ASSERT_EQ(seoul["records"].size(), static_cast<size_t>(kSeoulRecords));
  for (const Json& r : seoul["records"]) EXPECT_EQ(r["city"]["id"], "seoul");
  EXPECT_EQ(seoul.value("nextPageToken", ""), "");

  Json olympic = Query(
      "kouryu.v1.QueryService/ListRecords",
      AtSequence(
          {{"parent", "cities/-/bureaus/olympic-paralympic"}, {"pageSize", 3}},
          seq));
  EXPECT_EQ(olympic["totalSize"], kOlympicBureauRecords);
  EXPECT_EQ(olympic["records"].size(), 3u);
  EXPECT_THAT(olympic["nextPageToken"].get<std::string>(), Not(IsEmpty()));
}

TEST_F(ReflectionTest, QueryServiceSearchRecords) {
  const uint64_t seq = ImportPublishedTable();
  Json found = Query(
      "kouryu.v1.QueryService/SearchRecords",
      AtSequence({{"query", "トムスク"}, {"view", "RECORD_VIEW_FULL"}}, seq));
  EXPECT_EQ(found["totalSize"], static_cast<int>(kTomskRows.size()));
  std::set<int> rows;
  for (const Json& result : found["results"]) {
    rows.insert(result["record"]["source"]["row"].get<int>());
    EXPECT_THAT(result["snippet"].get<std::string>(),
                ::testing::HasSubstr("トムスク"));
  }
  EXPECT_EQ(rows, kTomskRows);
}

TEST_F(ReflectionTest, QueryServiceListCities) {
  const uint64_t seq = ImportPublishedTable();
  Json listed = Query("kouryu.v1.QueryService/ListCities",
                      AtSequence({{"pageSize", 1000}}, seq));
  std::map<std::string, int> counts;
  for (const Json& c : listed["cities"]) {
    counts[c["city"]["id"]] = c["recordCount"];
  }
  EXPECT_EQ(counts["seoul"], kSeoulRecords);
  EXPECT_EQ(counts["beijing"], kBeijingRecords);
  EXPECT_EQ(counts["paris"], kParisRecords);
  EXPECT_EQ(counts.count("rome"), 0u) << "a city with no records is listed";
}

TEST_F(ReflectionTest, QueryServiceListBureaus) {
  const uint64_t seq = ImportPublishedTable();
  Json listed = Query("kouryu.v1.QueryService/ListBureaus",
                      AtSequence({{"pageSize", 1000}}, seq));
  std::map<std::string, int> counts;
  int total = 0;
  for (const Json& b : listed["bureaus"]) {
    counts[b["bureau"]["id"]] = b["recordCount"];
    total += b["recordCount"].get<int>();
  }
  EXPECT_EQ(counts["olympic-paralympic"], kOlympicBureauRecords);
  EXPECT_EQ(counts["education"], kEducationBureauRecords);
  // Every record has exactly one bureau.
  EXPECT_EQ(total, kPublishedRecords);
}

TEST_F(ReflectionTest, QueryServiceSummarizeRecords) {
  const uint64_t seq = ImportPublishedTable();
  Json summary =
      Query("kouryu.v1.QueryService/SummarizeRecords",
            AtSequence({{"parent", "cities/-"}, {"groupBy", {"bureau"}}}, seq));
  std::map<std::string, int> counts;
  int total = 0;
  for (const Json& g : summary["groups"]) {
    ASSERT_EQ(g["keys"].size(), 1u);
    counts[g["keys"][0]] = g["recordCount"];
    total += g["recordCount"].get<int>();
  }
  EXPECT_EQ(counts["olympic-paralympic"], kOlympicBureauRecords);
  EXPECT_EQ(counts["education"], kEducationBureauRecords);
  EXPECT_EQ(total, kPublishedRecords);
}

TEST_F(ReflectionTest, QueryServiceGetReplicaStatus) {
  // Connected and caught up once (at the empty head) before the import.
  AwaitQueryServing();
  const uint64_t seq = ImportPublishedTable();
  // At the sequence of the import (GetDigest waits for it), the replica is
  // at the head.
  Query("kouryu.v1.QueryService/GetDigest", AtSequence({}, seq));
  Json status = Query("kouryu.v1.QueryService/GetReplicaStatus");
  EXPECT_EQ(status["appliedSequence"], "36");
  EXPECT_EQ(status["headSequence"], "36");
  EXPECT_EQ(status.value("lagSequences", "0"), "0");
  EXPECT_EQ(status["connected"], true);
  EXPECT_EQ(status["caughtUpOnce"], true);
  EXPECT_EQ(status.value("stalled", false), false);
  EXPECT_EQ(status.value("lastError", ""), "");
}

TEST_F(ReflectionTest, QueryServiceGetDigest) {
  const uint64_t seq = ImportPublishedTable();
  Json replica = Query("kouryu.v1.QueryService/GetDigest", AtSequence({}, seq));
  // The replica's content is the system of record's.
  EXPECT_EQ(replica, Ingest("kouryu.v1.ChangeFeed/GetDigest"));
  EXPECT_EQ(replica["recordCount"], "36");
}

}  // namespace
}  // namespace kouryu
