// Operating kouryu: the real servers' /metrics (scraped over HTTP with a
// plain socket) count exactly the calls the test makes, the replica's lag
// gauges move while ingest is down with writes the replica has not
// applied, every log line is one JSON object carrying the request id the
// client sent (and got back in the response's initial metadata), and
// channelz answers through reflection.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/http.h"
#include "tests/support/process.h"
#include "tests/support/published_table.h"

namespace kouryu {
namespace {

using ::kouryu::testing::PublishedTable;
using ::kouryu::testing::RunCommand;
using ::kouryu::testing::ServerProcess;
using ::testing::HasSubstr;

constexpr int kPublishedRecords = 36;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}


std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
  return context;
}

// One sample of the Prometheus text format: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// GET http://ADDRESS/metrics; the body.
std::string Get(const std::string& address) {
  const std::string response = testing::HttpGet(address, "/metrics");
  const size_t body = response.find("\r\n\r\n");
  EXPECT_THAT(response.substr(0, 16), HasSubstr("200"));
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The samples of a scrape. Label values here hold no quotes or commas.
std::vector<Sample> Scrape(const std::string& address) {
  std::vector<Sample> out;
  for (absl::string_view line : absl::StrSplit(Get(address), '\n')) {
    if (line.empty() || line.front() == '#') continue;
    Sample sample;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    absl::string_view series = line.substr(0, space);
    (void)absl::SimpleAtod(line.substr(space + 1), &sample.value);
    const size_t brace = series.find('{');
    sample.name = std::string(series.substr(0, brace));
    if (brace != absl::string_view::npos) {
      absl::string_view labels = series.substr(brace + 1);
      labels.remove_suffix(1);  // }
      for (absl::string_view label : absl::StrSplit(labels, ',')) {
        std::pair<std::string, std::string> kv = absl::StrSplit(label, '=');
        if (kv.second.size() >= 2) kv.second = kv.second.substr(1, kv.second.size() - 2);
        sample.labels.insert(kv);
      }
    }
    out.push_back(std::move(sample));
  }
  return out;
}

// The value of the one sample named `name` whose labels include `labels`.
std::optional<double> Value(const std::vector<Sample>& samples,
                            const std::string& name,
                            const std::map<std::string, std::string>& labels = {}) {
  std::optional<double> found;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (!match) continue;
    EXPECT_FALSE(found.has_value()) << "several samples of " << name;
    found = s.value;
  }
  return found;
}

// A ChangeFeed between a replica and ingest that can hold back changes:
// while holding, each response reaches the replica with its head sequence
// only, as when the feed has told a replica the head and the changes have
// not arrived yet.
class HoldingFeed final : public v1::ChangeFeed::Service {
 public:
  void SetUpstream(const std::string& address) {
    absl::MutexLock lock(&mutex_);
    upstream_ = address;
  }
  void Hold(bool hold) {
    absl::MutexLock lock(&mutex_);
    hold_ = hold;
  }

  grpc::Status Subscribe(grpc::ServerContext* context,
                         const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override {
    std::string upstream;
    {
      absl::MutexLock lock(&mutex_);
      upstream = upstream_;
    }
    auto stub = v1::ChangeFeed::NewStub(
        grpc::CreateChannel(upstream, grpc::InsecureChannelCredentials()));
    grpc::ClientContext stream;
    auto reader = stub->Subscribe(&stream, *request);
    v1::SubscribeResponse response;
    while (reader->Read(&response)) {
      bool hold;
      {
        absl::MutexLock lock(&mutex_);
        hold = hold_;
      }
      if (hold && (response.changes_size() > 0 || response.has_snapshot())) {
        v1::SubscribeResponse head;
        head.set_head_sequence(response.head_sequence());
        response = head;
      }
      if (context->IsCancelled() || !writer->Write(response)) {
        stream.TryCancel();
        break;
      }
    }
    grpc::Status status = reader->Finish();
    if (status.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "upstream ended");
    return status;
  }

 private:
  absl::Mutex mutex_;
  std::string upstream_ ABSL_GUARDED_BY(mutex_);
  bool hold_ ABSL_GUARDED_BY(mutex_) = false;
};

class ObservabilityTest : public ::testing::Test {
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

  void StartIngest() {
    auto p = ServerProcess::Start(
        {KOURYU_INGEST_BIN, "--listen=127.0.0.1:0",
         "--data_dir=" + root_ + "/ingest", "--metrics_listen=127.0.0.1:0"},
        root_ + "/ingest.log");
    ASSERT_TRUE(p.ok()) << p.status();
    ingest_ = *std::move(p);
    auto metrics = ingest_->ReadLine();
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    ASSERT_THAT(*metrics, HasSubstr("kouryu-ingest metrics on 127.0.0.1:"));
    ingest_metrics_ = metrics->substr(metrics->rfind(' ') + 1);
    ingest_stub_ = v1::IngestService::NewStub(grpc::CreateChannel(
        ingest_->address(), grpc::InsecureChannelCredentials()));
  }

  void StartQuery(const std::string& ingest_address) {
    auto p = ServerProcess::Start(
        {KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
         "--data_dir=" + root_ + "/query", "--ingest=" + ingest_address,
         "--metrics_listen=127.0.0.1:0"},
        root_ + "/query.log");
    ASSERT_TRUE(p.ok()) << p.status();
    query_ = *std::move(p);
    auto metrics = query_->ReadLine();
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    ASSERT_THAT(*metrics, HasSubstr("kouryu-query metrics on 127.0.0.1:"));
    query_metrics_ = metrics->substr(metrics->rfind(' ') + 1);
    query_stub_ = v1::QueryService::NewStub(grpc::CreateChannel(
        query_->address(), grpc::InsecureChannelCredentials()));
  }

  uint64_t Import(int fiscal_year = 0) {
    v1::ImportTableRequest request;
    request.set_content(PublishedTable());
    request.set_file_name("tokyo-exchange-r1.tsv");
    request.set_fiscal_year(fiscal_year);
    v1::ImportTableResponse response;
    grpc::Status status =
        ingest_stub_->ImportTable(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.sequence();
  }

  grpc::Status ListRecords(const std::string& filter, uint64_t min_sequence,
                           grpc::ClientContext& context) {
    v1::ListRecordsRequest request;
    request.set_parent("cities/-");
    request.set_filter(filter);
    request.set_min_sequence(min_sequence);
    v1::ListRecordsResponse response;
    return query_stub_->ListRecords(&context, request, &response);
  }

  // Scrapes `address` until `done` holds for the samples or 30 s pass.
  std::vector<Sample> ScrapeUntil(
      const std::string& address,
      const std::function<bool(const std::vector<Sample>&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    std::vector<Sample> samples = Scrape(address);
    while (!done(samples) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));  // Polling with a deadline.
      samples = Scrape(address);
    }
    return samples;
  }

  std::string root_;
  std::unique_ptr<ServerProcess> ingest_;
  std::unique_ptr<ServerProcess> query_;
  std::string ingest_metrics_;
  std::string query_metrics_;
  std::unique_ptr<v1::IngestService::Stub> ingest_stub_;
  std::unique_ptr<v1::QueryService::Stub> query_stub_;
};

TEST_F(ObservabilityTest, MetricsCountExactlyTheCallsMade) {
  StartIngest();
  StartQuery(ingest_->address());
  const uint64_t head = Import();
  ASSERT_EQ(head, static_cast<uint64_t>(kPublishedRecords));

  // ListRecords is a callback-API method: 3 OK, 2 INVALID_ARGUMENT.
  for (int i = 0; i < 3; ++i) {
    grpc::Status status = ListRecords("", head, *Deadline());
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  for (int i = 0; i < 2; ++i) {
    grpc::Status status = ListRecords("fiscal_year = = 2019", head, *Deadline());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // IngestRecords, a client stream on the callback API: three messages
  // (the last one rejected: it has no title), one answer.
  {
    auto context = Deadline();
    v1::IngestRecordsResponse ingested;
    auto writer = ingest_stub_->IngestRecords(context.get(), &ingested);
    for (int i = 0; i < 2; ++i) {
      v1::IngestRecordsRequest request;
      v1::RawRecord* record = request.mutable_record();
      record->set_category("①姉妹・友好都市及び政策提携都市との交流");
      record->set_department("政策企画局外務部");
      record->set_title(absl::StrCat("大韓民国ソウル特別市との交流 第", i + 1, "回"));
      record->set_results("<p>相互理解を深めた。</p>");
      record->set_fiscal_year(2030);
      ASSERT_TRUE(writer->Write(request));
    }
    v1::IngestRecordsRequest rejected;
    rejected.mutable_record()->set_category("①姉妹・友好都市及び政策提携都市との交流");
    rejected.mutable_record()->set_department("政策企画局外務部");
    rejected.mutable_record()->set_fiscal_year(2030);
    ASSERT_TRUE(writer->Write(rejected));
    ASSERT_TRUE(writer->WritesDone());
    grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(ingested.created_count(), 2);
    ASSERT_EQ(ingested.rejected_count(), 1);
  }

  const std::map<std::string, std::string> list = {
      {"grpc_service", "kouryu.v1.QueryService"},
      {"grpc_method", "ListRecords"},
      {"grpc_type", "unary"}};
  auto with = [](std::map<std::string, std::string> labels, const char* key,
                 const char* value) {
    labels[key] = value;
    return labels;
  };
  std::vector<Sample> query = Scrape(query_metrics_);
  EXPECT_EQ(Value(query, "grpc_server_started_total", list), 5);
  EXPECT_EQ(Value(query, "grpc_server_handled_total", with(list, "grpc_code", "OK")), 3);
  EXPECT_EQ(Value(query, "grpc_server_handled_total",
                  with(list, "grpc_code", "InvalidArgument")),
            2);
  EXPECT_EQ(Value(query, "grpc_server_handling_seconds_count", list), 5);
  EXPECT_EQ(Value(query, "grpc_server_handling_seconds_bucket", with(list, "le", "+Inf")), 5);
  EXPECT_EQ(Value(query, "grpc_server_msg_received_total", list), 5);
  EXPECT_EQ(Value(query, "grpc_server_msg_sent_total", list), 3);
  EXPECT_GE(Value(query, "kouryu_replica_applied_sequence").value_or(0), head);
  EXPECT_EQ(Value(query, "kouryu_replica_connected"), 1);
  EXPECT_EQ(Value(query, "kouryu_replica_stalled"), 0);
  EXPECT_GT(Value(query, "kouryu_rocksdb_estimate_num_keys", {{"db", "replica"}}).value_or(0), 0);
  EXPECT_TRUE(Value(query, "kouryu_rocksdb_block_cache_pinned_usage_bytes", {{"db", "replica"}}));
  EXPECT_TRUE(Value(query, "kouryu_rocksdb_estimate_table_readers_mem_bytes", {{"db", "replica"}}));
  EXPECT_GT(Value(query, "process_resident_memory_bytes").value_or(0), 0);
  EXPECT_GT(Value(query, "process_open_fds").value_or(0), 0);

  std::vector<Sample> ingest = Scrape(ingest_metrics_);
  const std::map<std::string, std::string> stream = {
      {"grpc_service", "kouryu.v1.IngestService"},
      {"grpc_method", "IngestRecords"},
      {"grpc_type", "client_stream"}};
  EXPECT_EQ(Value(ingest, "grpc_server_started_total", stream), 1);
  EXPECT_EQ(Value(ingest, "grpc_server_handled_total", with(stream, "grpc_code", "OK")), 1);
  EXPECT_EQ(Value(ingest, "grpc_server_msg_received_total", stream), 3);
  EXPECT_EQ(Value(ingest, "grpc_server_msg_sent_total", stream), 1);
  const std::map<std::string, std::string> import = {
      {"grpc_service", "kouryu.v1.IngestService"},
      {"grpc_method", "ImportTable"},
      {"grpc_type", "unary"}};
  EXPECT_EQ(Value(ingest, "grpc_server_handled_total", with(import, "grpc_code", "OK")), 1);
  EXPECT_EQ(Value(ingest, "kouryu_records_written_total", {{"outcome", "created"}}),
            kPublishedRecords + 2);
  EXPECT_EQ(Value(ingest, "kouryu_import_bytes_total"), PublishedTable().size());
  EXPECT_EQ(Value(ingest, "kouryu_rows_rejected_total", {{"method", "IngestRecords"}}), 1);
  EXPECT_EQ(Value(ingest, "kouryu_rows_rejected_total", {{"method", "ImportTable"}}), 0);
  EXPECT_EQ(Value(ingest, "kouryu_changelog_head_sequence"), head + 2);
  EXPECT_EQ(Value(ingest, "kouryu_changelog_first_retained_sequence"), 1);
  EXPECT_GE(Value(ingest, "kouryu_store_group_commit_changes_sum"), head + 2);
  EXPECT_GE(Value(ingest, "kouryu_store_write_seconds_count").value_or(0), 2);
  EXPECT_EQ(Value(ingest, "kouryu_store_writes_refused_for_space_total"), 0);
  EXPECT_GT(Value(ingest, "kouryu_disk_free_bytes").value_or(0), 0);
  EXPECT_EQ(Value(ingest, "kouryu_rocksdb_background_errors", {{"db", "ingest"}}), 0);
  EXPECT_EQ(Value(ingest, "kouryu_rocksdb_is_write_stopped", {{"db", "ingest"}}), 0);
  EXPECT_GT(Value(ingest, "kouryu_rocksdb_block_cache_capacity_bytes", {{"db", "ingest"}})
                .value_or(0),
            0);
  // The replica's Subscribe stream is open: started, not yet handled.
  EXPECT_EQ(Value(ingest, "grpc_server_started_total",
                  {{"grpc_method", "Subscribe"}, {"grpc_type", "server_stream"}}),
            1);
}

TEST_F(ObservabilityTest, LagMovesWhileIngestIsDownWithWritesPending) {
  StartIngest();
  HoldingFeed feed;
  feed.SetUpstream(ingest_->address());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&feed);
  std::unique_ptr<grpc::Server> between = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  StartQuery(absl::StrCat("127.0.0.1:", port));

  const uint64_t first = Import();
  auto at = [](uint64_t applied, uint64_t head) {
    return [=](const std::vector<Sample>& s) {
      return Value(s, "kouryu_replica_applied_sequence") == applied &&
             Value(s, "kouryu_replica_head_sequence") == head;
    };
  };
  std::vector<Sample> s = ScrapeUntil(query_metrics_, at(first, first));
  ASSERT_EQ(Value(s, "kouryu_replica_applied_sequence"), first);
  EXPECT_EQ(Value(s, "kouryu_replica_lag_sequences"), 0);
  EXPECT_EQ(Value(s, "kouryu_replica_lag_seconds"), 0);

  // The feed tells the replica the new head and holds the changes back.
  feed.Hold(true);
  const uint64_t second = Import(/*fiscal_year=*/2020);
  ASSERT_EQ(second, 2 * first);
  s = ScrapeUntil(query_metrics_, at(first, second));
  ASSERT_EQ(Value(s, "kouryu_replica_head_sequence"), second);
  EXPECT_EQ(Value(s, "kouryu_replica_lag_sequences"), second - first);
  const double lag_then = Value(s, "kouryu_replica_lag_seconds").value_or(0);
  EXPECT_GT(lag_then, 0);

  // Ingest stops with the writes still pending for the replica: the
  // replica disconnects, and its lag stays and grows.
  ingest_stub_.reset();
  ASSERT_EQ(ingest_->Terminate(), 0);
  s = ScrapeUntil(query_metrics_, [](const std::vector<Sample>& s) {
    return Value(s, "kouryu_replica_connected") == 0;
  });
  EXPECT_EQ(Value(s, "kouryu_replica_connected"), 0);
  EXPECT_EQ(Value(s, "kouryu_replica_lag_sequences"), second - first);
  EXPECT_GT(Value(s, "kouryu_replica_lag_seconds").value_or(0), lag_then);

  // Ingest back (on its data), nothing held: the replica catches up.
  feed.Hold(false);
  StartIngest();
  feed.SetUpstream(ingest_->address());
  s = ScrapeUntil(query_metrics_, at(second, second));
  EXPECT_EQ(Value(s, "kouryu_replica_applied_sequence"), second);
  EXPECT_EQ(Value(s, "kouryu_replica_lag_sequences"), 0);
  EXPECT_EQ(Value(s, "kouryu_replica_lag_seconds"), 0);
  EXPECT_EQ(Value(s, "kouryu_replica_connected"), 1);

  // Ingest first: its end ends the feed's upstream streams.
  query_.reset();
  ingest_.reset();
  between->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

TEST_F(ObservabilityTest, EveryLogLineIsJsonAndCarriesTheRequestId) {
  StartIngest();
  StartQuery(ingest_->address());
  const uint64_t head = Import();

  // The client's request id comes back in the initial metadata, on success
  // and on error alike.
  auto sent_back = [](const grpc::ClientContext& context) {
    auto it = context.GetServerInitialMetadata().find("x-request-id");
    return it == context.GetServerInitialMetadata().end()
               ? std::string()
               : std::string(it->second.data(), it->second.size());
  };
  {
    auto context = Deadline();
    context->AddMetadata("x-request-id", "obs-test-ok-1");
    ASSERT_TRUE(ListRecords("", head, *context).ok());
    EXPECT_EQ(sent_back(*context), "obs-test-ok-1");
  }
  {
    auto context = Deadline();
    context->AddMetadata("x-request-id", "obs-test-bad-2");
    EXPECT_EQ(ListRecords("fiscal_year = = 1", head, *context).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(sent_back(*context), "obs-test-bad-2");
  }
  // Without one the server makes one up, and sends it back.
  std::string generated;
  {
    auto context = Deadline();
    ASSERT_TRUE(ListRecords("", head, *context).ok());
    generated = sent_back(*context);
    EXPECT_THAT(generated, ::testing::MatchesRegex("[0-9a-f]{32}"));
  }
  query_stub_.reset();
  ingest_stub_.reset();
  ASSERT_EQ(query_->Terminate(), 0);
  ASSERT_EQ(ingest_->Terminate(), 0);

  std::map<std::string, nlohmann::json> by_request;
  std::map<std::string, std::set<std::string>> events;  // logger -> msgs
  for (const char* file : {"/ingest.log", "/query.log"}) {
    const std::string log = ReadFile(root_ + file);
    ASSERT_FALSE(log.empty()) << file;
    // Record bodies are never logged (every published record's results
    // text talks of 交流).
    EXPECT_THAT(log, ::testing::Not(HasSubstr("交流")));
    for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
      nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      ASSERT_FALSE(json.is_discarded()) << file << ": not JSON: " << line;
      ASSERT_TRUE(json.is_object()) << line;
      for (const char* key : {"time", "level", "logger", "msg"}) {
        ASSERT_TRUE(json.contains(key) && json[key].is_string()) << key << " in " << line;
      }
      events[json["logger"].get<std::string>()].insert(json["msg"].get<std::string>());
      if (json["msg"] == "rpc") {
        for (const char* key : {"service", "method", "code", "peer", "principal", "request_id"}) {
          ASSERT_TRUE(json.contains(key) && json[key].is_string()) << key << " in " << line;
        }
        ASSERT_TRUE(json["duration_ms"].is_number()) << line;
        by_request[json["request_id"].get<std::string>()] = json;
      }
    }
  }
  ASSERT_TRUE(by_request.count("obs-test-ok-1"));
  EXPECT_EQ(by_request["obs-test-ok-1"]["service"], "kouryu.v1.QueryService");
  EXPECT_EQ(by_request["obs-test-ok-1"]["method"], "ListRecords");
  EXPECT_EQ(by_request["obs-test-ok-1"]["code"], "OK");
  EXPECT_THAT(by_request["obs-test-ok-1"]["peer"].get<std::string>(), HasSubstr("127.0.0.1"));
  EXPECT_EQ(by_request["obs-test-ok-1"]["principal"], "");  // No TLS here.
  ASSERT_TRUE(by_request.count("obs-test-bad-2"));
  EXPECT_EQ(by_request["obs-test-bad-2"]["code"], "INVALID_ARGUMENT");
  ASSERT_TRUE(by_request.count(generated));
  EXPECT_EQ(by_request[generated]["method"], "ListRecords");
  for (const char* msg : {"startup", "listening", "shutdown", "stopped", "rpc"}) {
    EXPECT_TRUE(events["kouryu-ingest"].count(msg)) << "kouryu-ingest " << msg;
    EXPECT_TRUE(events["kouryu-query"].count(msg)) << "kouryu-query " << msg;
  }
  EXPECT_TRUE(events["kouryu-query"].count("caught_up"));
}

TEST_F(ObservabilityTest, ChannelzAnswersThroughReflection) {
  StartIngest();
  StartQuery(ingest_->address());
  for (const std::string& address : {ingest_->address(), query_->address()}) {
    auto listed = RunCommand({KOURYU_CLI_BIN, address, "list"});
    ASSERT_EQ(listed.exit_code, 0);
    EXPECT_THAT(listed.out, HasSubstr("grpc.channelz.v1.Channelz"));
    auto servers = RunCommand(
        {KOURYU_CLI_BIN, address, "grpc.channelz.v1.Channelz/GetServers"});
    ASSERT_EQ(servers.exit_code, 0) << servers.out;
    nlohmann::json json = nlohmann::json::parse(servers.out, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << servers.out;
    ASSERT_FALSE(json["server"].empty()) << servers.out;
    // The cli's own calls (reflection) are counted by the time it answers.
    EXPECT_TRUE(json["server"][0]["data"].contains("callsStarted")) << servers.out;
  }
  // The replica's channel to ingest is a top channel of the query server.
  auto channels = RunCommand({KOURYU_CLI_BIN, query_->address(),
                              "grpc.channelz.v1.Channelz/GetTopChannels"});
  ASSERT_EQ(channels.exit_code, 0) << channels.out;
  EXPECT_THAT(channels.out, HasSubstr(ingest_->address()));
}

}  // namespace
}  // namespace kouryu
