// The whole path, for real: kouryu-ingest and kouryu-query started as
// processes on port 0 with temporary directories, the published table
// imported through ImportTable, and the replica read with min_sequence
// (never a sleep).

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
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
using ::kouryu::testing::kUnassignedRecords;
using ::kouryu::testing::PublishedTable;
using ::kouryu::testing::ServerProcess;
using ::testing::HasSubstr;

std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 60) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(seconds));
  return context;
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir();
    ASSERT_FALSE(root_.empty());
    StartIngest("127.0.0.1:0");
    StartQuery();
  }

  void TearDown() override {
    query_.reset();
    ingest_.reset();
    std::filesystem::remove_all(root_);
  }

  void StartIngest(const std::string& listen) {
    auto p = ServerProcess::Start({KOURYU_INGEST_BIN, "--listen=" + listen,
                                   "--data_dir=" + root_ + "/ingest"});
    ASSERT_TRUE(p.ok()) << p.status();
    ingest_ = *std::move(p);
    auto channel = grpc::CreateChannel(ingest_->address(),
                                       grpc::InsecureChannelCredentials());
    ingest_stub_ = v1::IngestService::NewStub(channel);
    feed_stub_ = v1::ChangeFeed::NewStub(channel);
  }

  void StartQuery() {
    auto p = ServerProcess::Start({KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
                                   "--data_dir=" + root_ + "/query",
                                   "--ingest=" + ingest_->address()});
    ASSERT_TRUE(p.ok()) << p.status();
    query_ = *std::move(p);
    query_stub_ = v1::QueryService::NewStub(grpc::CreateChannel(
        query_->address(), grpc::InsecureChannelCredentials()));
  }

  // SIGTERM to ingest; returns its exit code. The test's own channel is
  // closed first: the server drains idle connections only when their client
  // reads the GOAWAY, and a sync client with no call in flight does not.
  int TerminateIngest() {
    ingest_stub_.reset();
    feed_stub_.reset();
    return ingest_->Terminate();
  }

  v1::ImportTableResponse Import(const std::string& content) {
    v1::ImportTableRequest request;
    request.set_content(content);
    request.set_file_name("tokyo-exchange-r1.tsv");
    v1::ImportTableResponse response;
    grpc::Status status =
        ingest_stub_->ImportTable(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // All records under `parent`, paging with `page_size`, read at
  // `min_sequence`.
  std::vector<v1::Record> ListAll(const std::string& parent,
                                  uint64_t min_sequence, int page_size = 7) {
    std::vector<v1::Record> out;
    v1::ListRecordsRequest request;
    request.set_parent(parent);
    request.set_page_size(page_size);
    request.set_min_sequence(min_sequence);
    request.set_view(v1::RECORD_VIEW_FULL);
    do {
      v1::ListRecordsResponse response;
      grpc::Status status =
          query_stub_->ListRecords(Deadline().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::Record& r : response.records()) out.push_back(r);
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return out;
  }

  int32_t TotalSize(const std::string& parent, uint64_t min_sequence) {
    v1::ListRecordsRequest request;
    request.set_parent(parent);
    request.set_page_size(1);
    request.set_min_sequence(min_sequence);
    v1::ListRecordsResponse response;
    grpc::Status status =
        query_stub_->ListRecords(Deadline().get(), request, &response);
    EXPECT_TRUE(status.ok()) << parent << ": " << status.error_message();
    return response.total_size();
  }

  std::string root_;
  std::unique_ptr<ServerProcess> ingest_;
  std::unique_ptr<ServerProcess> query_;
  std::unique_ptr<v1::IngestService::Stub> ingest_stub_;
  std::unique_ptr<v1::ChangeFeed::Stub> feed_stub_;
  std::unique_ptr<v1::QueryService::Stub> query_stub_;
};

TEST_F(EndToEndTest, ImportsThePublishedTableAndServesIt) {
  v1::ImportTableResponse imported = Import(PublishedTable());
  EXPECT_EQ(imported.created_count(), kPublishedRecords);
  EXPECT_EQ(imported.rejected_count(), 0);
  EXPECT_EQ(imported.fiscal_year(), 2019);
  ASSERT_EQ(imported.sequence(), static_cast<uint64_t>(kPublishedRecords));
  const uint64_t seq = imported.sequence();

  std::vector<v1::Record> all = ListAll("cities/-", seq);
  EXPECT_EQ(all.size(), static_cast<size_t>(kPublishedRecords));
  std::set<std::string> names;
  for (const v1::Record& r : all) names.insert(r.name());
  EXPECT_EQ(names.size(), all.size()) << "paging returned a record twice";

  EXPECT_EQ(TotalSize("cities/-", seq), kPublishedRecords);
  EXPECT_EQ(TotalSize("cities/seoul", seq), kSeoulRecords);
  EXPECT_EQ(TotalSize("cities/beijing", seq), kBeijingRecords);
  EXPECT_EQ(TotalSize("cities/paris", seq), kParisRecords);
  EXPECT_EQ(TotalSize("cities/unassigned", seq), kUnassignedRecords);
  EXPECT_EQ(TotalSize("cities/-/bureaus/olympic-paralympic", seq),
            kOlympicBureauRecords);
  EXPECT_EQ(TotalSize("cities/-/bureaus/education", seq),
            kEducationBureauRecords);
  EXPECT_EQ(ListAll("cities/seoul", seq).size(),
            static_cast<size_t>(kSeoulRecords));
  EXPECT_EQ(ListAll("cities/-/bureaus/olympic-paralympic", seq, 3).size(),
            static_cast<size_t>(kOlympicBureauRecords));
  // 環境局 has one Beijing item (line 31).
  EXPECT_EQ(TotalSize("cities/beijing/bureaus/environment", seq), 1);

  // Line 4: 政策企画局外務部, 大韓民国ソウル特別市.
  auto line4 = std::find_if(all.begin(), all.end(), [](const v1::Record& r) {
    return r.source().row() == 4;
  });
  ASSERT_NE(line4, all.end());
  EXPECT_EQ(line4->city().id(), "seoul");
  EXPECT_EQ(line4->bureau().id(), "policy-planning");
  EXPECT_EQ(line4->department(), "外務部");
  EXPECT_EQ(line4->title(), "大韓民国ソウル特別市");
  EXPECT_EQ(line4->category(), v1::CATEGORY_SISTER_CITY_EXCHANGE);

  v1::GetRecordRequest get;
  get.set_name(line4->name());
  get.set_min_sequence(seq);
  v1::Record fetched;
  ASSERT_TRUE(query_stub_->GetRecord(Deadline().get(), get, &fetched).ok());
  EXPECT_EQ(fetched.etag(), line4->etag());
}

TEST_F(EndToEndTest, ImportingTheSameTableAgainChangesNothing) {
  const uint64_t first = Import(PublishedTable()).sequence();
  v1::ImportTableResponse again = Import(PublishedTable());
  EXPECT_EQ(again.unchanged_count(), kPublishedRecords);
  EXPECT_EQ(again.created_count() + again.updated_count(), 0);
  EXPECT_EQ(again.sequence(), first) << "an unchanged import wrote changes";
  EXPECT_EQ(TotalSize("cities/-", again.sequence()), kPublishedRecords);
}

TEST_F(EndToEndTest, RestartedReplicaResumesWithoutLossOrDuplicates) {
  const uint64_t imported = Import(PublishedTable()).sequence();
  std::vector<v1::Record> before = ListAll("cities/-", imported);
  ASSERT_EQ(before.size(), static_cast<size_t>(kPublishedRecords));

  // Kill the replica without warning, then write while it is down.
  query_->Kill();
  v1::UpsertRecordRequest upsert;
  upsert.mutable_record()->set_category("②姉妹港交流");
  upsert.mutable_record()->set_department("港湾局港湾経営部");
  upsert.mutable_record()->set_title("フランス共和国パリ市との港湾交流");
  upsert.mutable_record()->set_results("<p>10月3日及び4日、視察団4名を受入</p>");
  upsert.mutable_record()->set_fiscal_year(2019);
  v1::UpsertRecordResponse upserted;
  ASSERT_TRUE(
      ingest_stub_->UpsertRecord(Deadline().get(), upsert, &upserted).ok());
  EXPECT_EQ(upserted.outcome(), v1::OUTCOME_CREATED);
  EXPECT_EQ(upserted.record().city().id(), "paris");
  v1::DeleteRecordRequest del;
  del.set_name(before.front().name());
  del.set_etag(before.front().etag());
  v1::DeleteRecordResponse deleted;
  ASSERT_TRUE(ingest_stub_->DeleteRecord(Deadline().get(), del, &deleted).ok());
  EXPECT_EQ(deleted.sequence(), imported + 2);

  StartQuery();
  std::vector<v1::Record> after = ListAll("cities/-", deleted.sequence());
  std::map<std::string, std::string> etags;
  for (const v1::Record& r : after) {
    EXPECT_TRUE(etags.emplace(r.name(), r.etag()).second)
        << "duplicate " << r.name();
  }
  EXPECT_EQ(after.size(), static_cast<size_t>(kPublishedRecords));
  EXPECT_EQ(etags.count(before.front().name()), 0u);
  EXPECT_EQ(etags[upserted.record().name()], upserted.record().etag());
  for (size_t i = 1; i < before.size(); ++i) {
    EXPECT_EQ(etags[before[i].name()], before[i].etag()) << before[i].name();
  }
  EXPECT_EQ(TotalSize("cities/paris", deleted.sequence()), kParisRecords + 1);
}

TEST_F(EndToEndTest, ReplicaReconnectsWhenIngestRestarts) {
  const uint64_t imported = Import(PublishedTable()).sequence();
  ASSERT_EQ(TotalSize("cities/-", imported), kPublishedRecords);
  const std::string address = ingest_->address();
  EXPECT_EQ(TerminateIngest(), 0);
  // Reads go on while ingest is down.
  EXPECT_EQ(TotalSize("cities/seoul", imported), kSeoulRecords);

  StartIngest(address);
  v1::UpsertRecordRequest upsert;
  upsert.mutable_record()->set_category("①姉妹・友好都市及び政策提携都市との交流");
  upsert.mutable_record()->set_department("政策企画局外務部");
  upsert.mutable_record()->set_title("イタリア共和国ローマ市");
  upsert.mutable_record()->set_fiscal_year(2020);
  v1::UpsertRecordResponse upserted;
  ASSERT_TRUE(
      ingest_stub_->UpsertRecord(Deadline().get(), upsert, &upserted).ok());
  EXPECT_EQ(upserted.sequence(), imported + 1);
  EXPECT_EQ(TotalSize("cities/rome", upserted.sequence()), 1);
}

TEST_F(EndToEndTest, MinSequenceAheadOfTheReplicaTimesOut) {
  v1::GetRecordRequest get;
  get.set_name("cities/seoul/bureaus/policy-planning/records/fy2019-0");
  get.set_min_sequence(1000);
  v1::Record record;
  grpc::Status status =
      query_stub_->GetRecord(Deadline(1).get(), get, &record);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(EndToEndTest, BadInputGetsFieldViolationsAndWritesNothing) {
  std::string table = PublishedTable();
  // Corrupt the department of the row on line 5 to a bureau nobody knows.
  size_t at = table.find("政策企画局外務部\t中華人民共和国北京市");
  ASSERT_NE(at, std::string::npos);
  table.replace(at, std::string("政策企画局").size(), "架空局");
  v1::ImportTableRequest request;
  request.set_content(table);
  request.set_atomic(true);
  v1::ImportTableResponse response;
  grpc::Status status =
      ingest_stub_->ImportTable(Deadline().get(), request, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("rows[5].department"));

  // Non-atomic: the other 35 rows go in, line 5 is reported.
  request.set_atomic(false);
  status = ingest_stub_->ImportTable(Deadline().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.created_count(), kPublishedRecords - 1);
  EXPECT_EQ(response.rejected_count(), 1);
  for (const v1::RowResult& row : response.results()) {
    if (row.outcome() != v1::OUTCOME_REJECTED) continue;
    EXPECT_EQ(row.row(), 5);
    ASSERT_EQ(row.violations_size(), 1);
    EXPECT_EQ(row.violations(0).field(), "rows[5].department");
    EXPECT_THAT(row.violations(0).description(), HasSubstr("架空局外務部"));
  }
  EXPECT_EQ(TotalSize("cities/-", response.sequence()), kPublishedRecords - 1);
}

TEST_F(EndToEndTest, SubscribeUntilHeadStreamsTheChangelog) {
  const uint64_t imported = Import(PublishedTable()).sequence();
  v1::SubscribeRequest request;
  request.set_after_sequence(30);
  request.set_until_head(true);
  auto context = Deadline();
  auto reader = feed_stub_->Subscribe(context.get(), request);
  v1::SubscribeResponse response;
  std::vector<uint64_t> sequences;
  while (reader->Read(&response)) {
    for (const v1::Change& c : response.changes()) sequences.push_back(c.sequence());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(sequences, (std::vector<uint64_t>{31, 32, 33, 34, 35, 36}));
  EXPECT_EQ(imported, 36u);
}

// 600 rows with 1,000 characters of results each (realistic for the
// published table's longer cells), written in one IngestRecords stream: the
// changelog batch is larger than gRPC's default 4 MiB message, which a feed
// reply capped by count alone carried in one message that the replica could
// never receive. The replica catches up, and says nothing is wrong.
TEST_F(EndToEndTest, ReplicaCatchesUpAfterAStreamOfLargeRows) {
  constexpr int kRows = 600;
  std::string results;
  while (results.size() < 3000) {  // 1,000 characters of 3 bytes each.
    results += "文化交流と経済交流を推進し、相互理解を深めた。";
  }
  results = "<p>" + results.substr(0, 3000) + "</p>";
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  v1::IngestRecordsResponse ingested;
  const auto stream_start = std::chrono::steady_clock::now();
  auto writer = ingest_stub_->IngestRecords(&context, &ingested);
  for (int i = 0; i < kRows; ++i) {
    v1::IngestRecordsRequest request;
    v1::RawRecord* record = request.mutable_record();
    record->set_category("①姉妹・友好都市及び政策提携都市との交流");
    record->set_department("政策企画局外務部");
    record->set_title(absl::StrCat("大韓民国ソウル特別市との交流 第", i + 1, "回"));
    record->set_results(results);
    record->set_fiscal_year(2019);
    ASSERT_TRUE(writer->Write(request));
  }
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(ingested.created_count(), kRows);
  const uint64_t last = ingested.sequence();
  ASSERT_EQ(last, static_cast<uint64_t>(kRows));

  const auto start = std::chrono::steady_clock::now();
  v1::GetDigestRequest at_last;
  at_last.set_min_sequence(last);
  v1::Digest replica_digest;
  status = query_stub_->GetDigest(Deadline(30).get(), at_last, &replica_digest);
  const double seconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  ASSERT_TRUE(status.ok()) << "the replica did not reach sequence " << last
                           << ": " << status.error_message();
  std::fprintf(stderr,
               "stream of %d rows took %.3f s; replica at sequence %llu "
               "%.3f s after it\n",
               kRows,
               std::chrono::duration<double>(start - stream_start).count(),
               static_cast<unsigned long long>(replica_digest.sequence()),
               seconds);
  // The premise: the changes of the stream's first batch of 512 rows
  // together are more than gRPC's default 4 MiB. Every reply of the feed
  // fits in what a replica accepts.
  {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    auto feed = v1::ChangeFeed::NewStub(grpc::CreateCustomChannel(
        ingest_->address(), grpc::InsecureChannelCredentials(), args));
    v1::SubscribeRequest request;
    request.set_until_head(true);
    auto feed_context = Deadline();
    auto reader = feed->Subscribe(feed_context.get(), request);
    v1::SubscribeResponse response;
    size_t first_batch_bytes = 0;
    uint64_t received = 0;
    while (reader->Read(&response)) {
      EXPECT_LE(response.ByteSizeLong(), size_t{4} << 20);
      for (const v1::Change& change : response.changes()) {
        if (change.sequence() <= 512) first_batch_bytes += change.ByteSizeLong();
        received = change.sequence();
      }
    }
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(received, last);
    EXPECT_GT(first_batch_bytes, size_t{4} << 20);
  }

  v1::Digest primary_digest;
  ASSERT_TRUE(feed_stub_
                  ->GetDigest(Deadline().get(), v1::GetDigestRequest(),
                              &primary_digest)
                  .ok());
  EXPECT_EQ(replica_digest.digest(), primary_digest.digest());
  EXPECT_EQ(replica_digest.record_count(), static_cast<uint64_t>(kRows));

  v1::ReplicaStatus replica_status;
  ASSERT_TRUE(query_stub_
                  ->GetReplicaStatus(Deadline().get(),
                                     v1::GetReplicaStatusRequest(),
                                     &replica_status)
                  .ok());
  EXPECT_EQ(replica_status.applied_sequence(), last);
  EXPECT_EQ(replica_status.lag_sequences(), 0u);
  EXPECT_FALSE(replica_status.stalled());
  EXPECT_EQ(replica_status.last_error(), "");
}

// SIGTERM: health turns NOT_SERVING first (a Watch sees it), then the
// server drains: a stream of rows in flight when the signal came is still
// read to its end and answered, and the process exits 0.
TEST_F(EndToEndTest, GracefulShutdownDrainsCallsInFlight) {
  const uint64_t imported = Import(PublishedTable()).sequence();
  ASSERT_EQ(TotalSize("cities/-", imported), kPublishedRecords);
  auto channel = grpc::CreateChannel(ingest_->address(),
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest watch_request;
  watch_request.set_service("kouryu.v1.IngestService");
  auto watch_context = Deadline();
  auto watch = health->Watch(watch_context.get(), watch_request);
  grpc::health::v1::HealthCheckResponse seen;
  ASSERT_TRUE(watch->Read(&seen));
  ASSERT_EQ(seen.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // A stream of rows in flight: two written before the signal, two after.
  auto row = [](int i) {
    v1::IngestRecordsRequest request;
    v1::RawRecord* record = request.mutable_record();
    record->set_category("②姉妹港交流");
    record->set_department("港湾局港湾経営部");
    record->set_title(
        absl::StrCat("フランス共和国パリ市との港湾交流 第", i, "回"));
    record->set_fiscal_year(2020);
    return request;
  };
  auto ingest_context = Deadline();
  v1::IngestRecordsResponse ingested;
  auto writer = v1::IngestService::NewStub(channel)->IngestRecords(
      ingest_context.get(), &ingested);
  ASSERT_TRUE(writer->Write(row(1)));
  ASSERT_TRUE(writer->Write(row(2)));
  // A Write returns once its message is sent, not once the server has the
  // call; a call the server has not seen when the signal comes is refused.
  // The server reads one connection's frames in order, so once a call
  // opened after the stream on the same channel is answered, the server
  // holds the stream.
  grpc::health::v1::HealthCheckResponse checked;
  ASSERT_TRUE(health->Check(Deadline().get(), watch_request, &checked).ok());

  // The fixture's channels are closed first (see TerminateIngest).
  ingest_stub_.reset();
  feed_stub_.reset();
  query_stub_.reset();
  ASSERT_EQ(kill(ingest_->pid(), SIGTERM), 0);
  ASSERT_TRUE(watch->Read(&seen));
  EXPECT_EQ(seen.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  watch_context->TryCancel();
  watch->Finish();

  // NOT_SERVING came before the drain: the call in flight goes on.
  ASSERT_TRUE(writer->Write(row(3)));
  ASSERT_TRUE(writer->Write(row(4)));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ingested.created_count(), 4);
  EXPECT_EQ(ingested.sequence(), imported + 4);

  writer.reset();
  watch.reset();
  health.reset();
  channel.reset();
  const std::string address = ingest_->address();
  EXPECT_EQ(ingest_->Wait(), 0);

  // What the drained call wrote was kept: ingest, started again, feeds it
  // to the replica.
  StartIngest(address);
  query_stub_ = v1::QueryService::NewStub(grpc::CreateChannel(
      query_->address(), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(TotalSize("cities/paris", imported + 4), kParisRecords + 4);
  query_stub_.reset();

  // The replica too goes NOT_SERVING before it stops.
  auto query_channel = grpc::CreateChannel(query_->address(),
                                           grpc::InsecureChannelCredentials());
  auto query_watch_context = Deadline();
  grpc::health::v1::HealthCheckRequest query_request;
  query_request.set_service("kouryu.v1.QueryService");
  auto query_watch = grpc::health::v1::Health::NewStub(query_channel)
                         ->Watch(query_watch_context.get(), query_request);
  ASSERT_TRUE(query_watch->Read(&seen));
  ASSERT_EQ(seen.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  ASSERT_EQ(kill(query_->pid(), SIGTERM), 0);
  ASSERT_TRUE(query_watch->Read(&seen));
  EXPECT_EQ(seen.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  query_watch_context->TryCancel();
  query_watch->Finish();
  query_watch.reset();
  query_channel.reset();
  EXPECT_EQ(query_->Wait(), 0);
}

}  // namespace
}  // namespace kouryu
