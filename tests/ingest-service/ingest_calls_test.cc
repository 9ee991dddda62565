// IngestRecords and ImportTable through a real gRPC server on loopback, over
// a real store in a temporary directory: answers stay within the reply limit
// however many rows a call has, a write that succeeded is never answered
// with an error, and a stream message that does not parse is reported, not
// dropped.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest-service/ingest_service.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "tests/support/failing_wal_fs.h"

namespace kouryu::ingest {
namespace {

using ::testing::HasSubstr;

constexpr int kReplyLimit = 1 << 20;

// A table of `rows` small rows whose items name a city the gazetteer does
// not know, so each row's result carries a warning: the per-row results
// take more bytes than the rows themselves.
std::string WarnedTable(int rows) {
  std::string table = "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n";
  for (int i = 1; i <= rows; ++i) {
    absl::StrAppend(&table, "②姉妹港交流\t港湾局港湾経営部\tイタリア共和国ミラノ市(第", i,
                    "号)\t<p>", i, "</p>\n");
  }
  return table;
}

v1::RawRecord Row(int i) {
  v1::RawRecord raw;
  raw.set_category("②姉妹港交流");
  raw.set_department("港湾局港湾経営部");
  raw.set_title(absl::StrCat("イタリア共和国ミラノ市(第", i, "号)"));
  raw.set_results(absl::StrCat("<p>", i, "</p>"));
  raw.set_fiscal_year(2019);
  return raw;
}

// Sends `messages` (serialized requests, as raw bytes) on one IngestRecords
// stream through a generic stub; with `writes_done` false the client then
// sends nothing more and waits for the server to end the stream.
struct RawStreamResult {
  grpc::Status status;
  bool all_sent = false;  // Every message was written to the stream.
  bool got_reply = false;
  v1::IngestRecordsResponse response;
};
RawStreamResult SendRaw(const std::shared_ptr<grpc::Channel>& channel,
                        const std::vector<std::string>& messages,
                        bool writes_done) {
  RawStreamResult result;
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto call = generic.PrepareCall(&context, "/kouryu.v1.IngestService/IngestRecords", &cq);
  auto next = [&cq](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(got), tag);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  bool open = next(1);
  for (size_t i = 0; open && i < messages.size(); ++i) {
    grpc::Slice slice(messages[i]);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(2));
    open = next(2);
  }
  result.all_sent = open;
  grpc::ByteBuffer reply;
  if (open && writes_done) {
    call->WritesDone(reinterpret_cast<void*>(3));
    next(3);
    call->Read(&reply, reinterpret_cast<void*>(4));
    result.got_reply = next(4);
  }
  call->Finish(&result.status, reinterpret_cast<void*>(5));
  EXPECT_TRUE(next(5));
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  if (result.got_reply) {
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (reply.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) bytes.append(s.begin(), s.end());
    }
    EXPECT_TRUE(result.response.ParseFromString(bytes));
  }
  return result;
}

class IngestCallsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "ingest-calls-XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    auto store = Store::Open(dir_, {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ingest_ = std::make_unique<IngestServiceImpl>(
        normalizer_, *store_,
        IngestServiceOptions{.max_results_bytes = kReplyLimit / 2});
    auto server = Server::Start({.listen = "127.0.0.1:0",
                                 .name = "test",
                                 .max_message_bytes = kReplyLimit},
                                {ingest_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::IngestService::NewStub(channel_);
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown([this] { store_->StopWaiting(); });
    server_.reset();
    ingest_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    return context;
  }

  std::string dir_;
  Normalizer normalizer_{Gazetteer::Builtin()};
  std::unique_ptr<Store> store_;
  std::unique_ptr<IngestServiceImpl> ingest_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
};

// Every row is written; the answer says so, within the reply limit, with a
// note of how many results it leaves out.
TEST_F(IngestCallsTest, ImportWhoseResultsExceedTheReplyLimitSucceeds) {
  constexpr int kRows = 6000;
  v1::ImportTableRequest request;
  request.set_content(WarnedTable(kRows));
  ASSERT_LT(request.ByteSizeLong(), kReplyLimit);
  v1::ImportTableResponse response;
  grpc::Status status = stub_->ImportTable(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(store_->HeadSequence(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(response.created_count(), kRows);
  EXPECT_EQ(response.sequence(), static_cast<uint64_t>(kRows));
  EXPECT_GT(response.results_size(), 0);
  EXPECT_EQ(response.results_size() + response.omitted_result_count(), kRows);
  EXPECT_LE(response.ByteSizeLong(), static_cast<size_t>(kReplyLimit));
  int previous = 0;
  for (const v1::RowResult& r : response.results()) {
    EXPECT_GT(r.row(), previous) << "results in file order";
    previous = r.row();
    EXPECT_EQ(r.warnings_size(), 1);
  }
}

TEST_F(IngestCallsTest, StreamWhoseResultsExceedTheReplyLimitSucceeds) {
  constexpr int kRows = 6000;
  grpc::ClientContext context;
  v1::IngestRecordsResponse response;
  auto writer = stub_->IngestRecords(&context, &response);
  for (int i = 1; i <= kRows; ++i) {
    v1::IngestRecordsRequest request;
    *request.mutable_record() = Row(i);
    ASSERT_TRUE(writer->Write(request));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(store_->HeadSequence(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(response.created_count(), kRows);
  EXPECT_EQ(response.sequence(), static_cast<uint64_t>(kRows));
  EXPECT_EQ(response.results_size() + response.omitted_result_count(), kRows);
  EXPECT_LE(response.ByteSizeLong(), static_cast<size_t>(kReplyLimit));
}

// A stream cancelled while one batch is written and the next is read: the
// call ends, and what it wrote is whole batches (each is written all or
// none). Repeated, as the cancellation lands at a different point each
// time; the server takes the next stream each time.
TEST_F(IngestCallsTest, StreamCancelledWhileBatchesAreWrittenWritesWholeBatches) {
  constexpr int kRows = 1400;  // Two full batches and part of a third.
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    grpc::ClientContext context;
    v1::IngestRecordsResponse response;
    auto writer = stub_->IngestRecords(&context, &response);
    for (int i = 1; i <= kRows; ++i) {
      v1::IngestRecordsRequest request;
      *request.mutable_record() = Row(round * kRows + i);
      if (!writer->Write(request)) break;
      // Past the first batch: one is written or the next is read.
      if (i == 600 + 150 * round) context.TryCancel();
    }
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED)
        << status.error_message();
  }
  // A writer may still be writing when its client learns of the
  // cancellation; a shutdown waits for every call to end.
  server_->Shutdown([this] { store_->StopWaiting(); });
  server_.reset();

  absl::StatusOr<std::unique_ptr<StoreSnapshot>> snapshot = store_->OpenSnapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  std::vector<int> written(kRounds, 0);
  absl::Status read = (*snapshot)->ForEach([&](absl::string_view, v1::Record& record) {
    // Row(i)'s title: "イタリア共和国ミラノ市(第<i>号)".
    const std::string& title = record.title();
    const size_t digits = title.find("第") + std::string("第").size();
    ++written[(std::stoi(title.substr(digits)) - 1) / kRows];
    return true;
  });
  ASSERT_TRUE(read.ok()) << read;
  for (int round = 0; round < kRounds; ++round) {
    EXPECT_EQ(written[round] % 512, 0) << "round " << round << ": " << written[round];
    EXPECT_LE(written[round], 1024) << "round " << round;
  }
}

// Rejected rows come first: among many written rows, the few rejected ones
// are all listed.
TEST_F(IngestCallsTest, RejectedRowsAreListedEvenWhenResultsAreLeftOut) {
  constexpr int kRows = 6000;
  std::string table = WarnedTable(kRows);
  for (int row : {2, 3000, 6001}) {  // Line numbers: the header is line 1.
    std::string good = absl::StrCat("\tイタリア共和国ミラノ市(第", row - 1, "号)");
    size_t at = table.find(good);
    ASSERT_NE(at, std::string::npos);
    table.replace(at, good.size(), "\t");  // An empty item: rejected.
  }
  v1::ImportTableRequest request;
  request.set_content(table);
  v1::ImportTableResponse response;
  grpc::Status status = stub_->ImportTable(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.created_count(), kRows - 3);
  EXPECT_EQ(response.rejected_count(), 3);
  EXPECT_GT(response.omitted_result_count(), 0);
  std::vector<int> rejected;
  for (const v1::RowResult& r : response.results()) {
    if (r.outcome() == v1::OUTCOME_REJECTED) rejected.push_back(r.row());
  }
  EXPECT_EQ(rejected, (std::vector<int>{2, 3000, 6001}));
}

// A client that sends serialized messages itself, as generic stubs in any
// language do: the second holds invalid UTF-8 in a string field.
TEST_F(IngestCallsTest, StreamMessageThatDoesNotParseIsReportedNotDropped) {
  std::vector<std::string> messages;
  for (int i = 1; i <= 3; ++i) {
    v1::IngestRecordsRequest request;
    *request.mutable_record() = Row(i);
    if (i == 2) request.mutable_record()->set_title("MARK");
    messages.push_back(request.SerializeAsString());
  }
  messages[1] = absl::StrReplaceAll(messages[1], {{"MARK", "\xff\xfe\xfd\xfc"}});

  RawStreamResult sent = SendRaw(channel_, messages, /*writes_done=*/true);
  ASSERT_TRUE(sent.all_sent);

  // Either way the client learns about message 2: here it is a rejected row
  // and the rows around it are written.
  ASSERT_TRUE(sent.status.ok()) << sent.status.error_code() << " "
                                << sent.status.error_message();
  ASSERT_TRUE(sent.got_reply);
  const v1::IngestRecordsResponse& response = sent.response;
  EXPECT_EQ(response.created_count(), 2);
  EXPECT_EQ(response.rejected_count(), 1);
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).outcome(), v1::OUTCOME_CREATED);
  EXPECT_EQ(response.results(1).row(), 2);
  EXPECT_EQ(response.results(1).outcome(), v1::OUTCOME_REJECTED);
  ASSERT_EQ(response.results(1).violations_size(), 1);
  EXPECT_EQ(response.results(1).violations(0).field(), "records[2]");
  EXPECT_THAT(response.results(1).violations(0).description(), HasSubstr("UTF-8"));
  EXPECT_EQ(response.results(2).outcome(), v1::OUTCOME_CREATED);
  EXPECT_EQ(store_->HeadSequence(), 2u);
}

// A server of its own over the fixture's store, with `options`.
struct OwnServer {
  OwnServer(const Normalizer& normalizer, Store& store,
            const IngestServiceOptions& options)
      : ingest(normalizer, store, options) {
    auto started = Server::Start({.listen = "127.0.0.1:0", .name = "test"}, {&ingest});
    EXPECT_TRUE(started.ok()) << started.status();
    if (started.ok()) server = *std::move(started);
    channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
    stub = v1::IngestService::NewStub(channel);
  }
  ~OwnServer() {
    stub.reset();
    server->Shutdown();
  }
  IngestServiceImpl ingest;
  std::unique_ptr<Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::IngestService::Stub> stub;
};

// A message far larger than any row may be is a rejected row, not parsed or
// kept; the rows around it are written.
TEST_F(IngestCallsTest, OversizedStreamMessageIsARejectedRow) {
  OwnServer own(normalizer_, *store_, {});
  auto context = Context();
  v1::IngestRecordsResponse response;
  auto writer = own.stub->IngestRecords(context.get(), &response);
  for (int i = 1; i <= 3; ++i) {
    v1::IngestRecordsRequest request;
    *request.mutable_record() = Row(i);
    if (i == 2) request.mutable_record()->mutable_results()->append(2 << 20, 'x');
    ASSERT_TRUE(writer->Write(request));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(response.created_count(), 2);
  EXPECT_EQ(response.rejected_count(), 1);
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(1).outcome(), v1::OUTCOME_REJECTED);
  ASSERT_EQ(response.results(1).violations_size(), 1);
  EXPECT_EQ(response.results(1).violations(0).field(), "records[2]");
  EXPECT_THAT(response.results(1).violations(0).description(),
              HasSubstr("a row's message may have at most 1048576"));
  EXPECT_EQ(store_->HeadSequence(), 2u);
}

// A stream whose first batch the store cannot write ends with the store's
// error, whatever its reader is doing meanwhile (reading the next batch,
// or holding it): nothing is written, and the server goes on answering.
// Repeated, as the failure meets the reader at a different point each time.
TEST_F(IngestCallsTest, StreamWhoseFirstBatchFailsEndsWithTheError) {
  auto fs = std::make_shared<kouryu::testing::FailingWalFileSystem>();
  const std::string dir = dir_ + "/failing";
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(dir, {.min_free_bytes = 0, .file_system = fs});
  ASSERT_TRUE(store.ok()) << store.status();
  fs->FailWalAppends();
  OwnServer own(normalizer_, **store, {});
  for (int round = 0; round < 5; ++round) {
    auto context = Context();
    v1::IngestRecordsResponse response;
    auto writer = own.stub->IngestRecords(context.get(), &response);
    for (int i = 1; i <= 1200 + 100 * round; ++i) {
      v1::IngestRecordsRequest request;
      *request.mutable_record() = Row(round * 10000 + i);
      if (!writer->Write(request)) break;  // The server ended the call.
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_FALSE(status.ok()) << "round " << round;
    EXPECT_THAT(status.error_message(), HasSubstr("injected: WAL append"))
        << "round " << round;
    EXPECT_EQ((*store)->HeadSequence(), 0u);
  }
}

// Streams beyond max_streams are refused at once; a refused client may
// retry once a stream ends.
TEST_F(IngestCallsTest, StreamsBeyondTheLimitAreRefused) {
  OwnServer own(normalizer_, *store_, {.max_streams = 1});
  // The first stream holds the only slot: a full batch of it is written,
  // which shows the server has it open.
  auto first_context = Context();
  v1::IngestRecordsResponse first_response;
  auto first = own.stub->IngestRecords(first_context.get(), &first_response);
  for (int i = 1; i <= 512; ++i) {
    v1::IngestRecordsRequest request;
    *request.mutable_record() = Row(i);
    ASSERT_TRUE(first->Write(request));
  }
  ASSERT_TRUE(store_->WaitForChangesAfter(511, absl::Now() + absl::Seconds(60)));

  auto refused_context = Context();
  v1::IngestRecordsResponse refused_response;
  auto refused = own.stub->IngestRecords(refused_context.get(), &refused_response);
  refused->WritesDone();
  grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("IngestRecords streams"));

  first->WritesDone();
  status = first->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(first_response.created_count(), 512);

  auto again_context = Context();
  v1::IngestRecordsResponse again_response;
  auto again = own.stub->IngestRecords(again_context.get(), &again_response);
  v1::IngestRecordsRequest request;
  *request.mutable_record() = Row(600);
  ASSERT_TRUE(again->Write(request));
  again->WritesDone();
  status = again->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(again_response.created_count(), 1);
}

// An idle stream ends saying which messages were answered: a message that
// did not parse after the last written batch is among those not written.
TEST_F(IngestCallsTest, IdleStreamSaysWhichMessagesWereAnswered) {
  OwnServer own(normalizer_, *store_, {.stream_idle_timeout = absl::Seconds(1)});
  std::vector<std::string> messages;
  for (int i = 1; i <= 515; ++i) {
    v1::IngestRecordsRequest request;
    *request.mutable_record() = Row(i);
    if (i == 514) request.mutable_record()->set_title("MARK");
    messages.push_back(request.SerializeAsString());
  }
  messages[513] = absl::StrReplaceAll(messages[513], {{"MARK", "\xff\xfe"}});

  // No WritesDone: the stream goes idle and the server ends it.
  RawStreamResult sent = SendRaw(own.channel, messages, /*writes_done=*/false);
  ASSERT_TRUE(sent.all_sent);
  const grpc::Status& status = sent.status;

  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("messages 1 to 512 were answered"));
  EXPECT_THAT(status.error_message(), HasSubstr("messages 513 to 515 were not written"));
  EXPECT_EQ(store_->HeadSequence(), 512u);
}

// A dry run answers what the import would: a row whose record an earlier
// chunk of the same table wrote is UPDATED (or UNCHANGED), not CREATED.
TEST_F(IngestCallsTest, ValidateOnlyOutcomesAreTheImportsAcrossChunks) {
  std::string table = WarnedTable(600);
  // Row 10's item again in the last line (beyond the first chunks), with
  // other results; and row 20's item again with the same results.
  absl::StrAppend(&table,
                  "②姉妹港交流\t港湾局港湾経営部\tイタリア共和国ミラノ市(第10号)\t<p>改訂</p>\n",
                  "②姉妹港交流\t港湾局港湾経営部\tイタリア共和国ミラノ市(第20号)\t<p>20</p>\n");
  v1::ImportTableRequest request;
  request.set_content(table);
  request.set_validate_only(true);
  v1::ImportTableResponse dry;
  grpc::Status status = stub_->ImportTable(Context().get(), request, &dry);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(store_->HeadSequence(), 0u);

  request.set_validate_only(false);
  v1::ImportTableResponse real;
  status = stub_->ImportTable(Context().get(), request, &real);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(real.created_count(), 600);
  EXPECT_EQ(real.updated_count(), 1);
  EXPECT_EQ(real.unchanged_count(), 1);
  EXPECT_EQ(dry.created_count(), real.created_count());
  EXPECT_EQ(dry.updated_count(), real.updated_count());
  EXPECT_EQ(dry.unchanged_count(), real.unchanged_count());
}

}  // namespace
}  // namespace kouryu::ingest
