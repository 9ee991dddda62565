// The follower against a real ingest ChangeFeed server on port 0: a change
// the replica cannot receive stalls it, and it says so (status, health),
// instead of serving stale data as if nothing were wrong.

#include "query-service/follower.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "ingest-service/change_feed.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/query_service.h"
#include "query-service/replica.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;
using ::testing::HasSubstr;

// Readiness as the follower reports it, waited for without sleeping.
class Readiness {
 public:
  void Set(bool serving) {
    absl::MutexLock lock(&mutex_);
    history_.push_back(serving);
  }
  // True once the follower has reported `serving` as its latest readiness.
  bool AwaitLatest(bool serving, absl::Duration timeout) {
    absl::MutexLock lock(&mutex_);
    auto latest = [this, serving]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return !history_.empty() && history_.back() == serving;
    };
    return mutex_.AwaitWithTimeout(absl::Condition(&latest), timeout);
  }
  std::vector<bool> history() {
    absl::MutexLock lock(&mutex_);
    return history_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<bool> history_ ABSL_GUARDED_BY(mutex_);
};

class FollowerTest : public ::testing::Test {
 protected:
  virtual ingest::StoreOptions StoreOptions() const { return {}; }
  virtual ingest::ChangeFeedOptions FeedOptions() const { return {}; }

  void SetUp() override {
    auto store = ingest::Store::Open(ingest_dir_.path() + "/db", StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    feed_ = std::make_unique<ingest::ChangeFeedImpl>(*store_, FeedOptions());
    auto ingest = Server::Start({.name = "follower_test-ingest"}, {feed_.get()});
    ASSERT_TRUE(ingest.ok()) << ingest.status();
    ingest_ = *std::move(ingest);
    auto replica = Replica::Open(replica_dir_.path() + "/db", {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
  }

  void TearDown() override {
    if (follower_ != nullptr) follower_->Stop();
    if (query_server_ != nullptr) query_server_->Shutdown();
    ingest_->Shutdown([this] { store_->StopWaiting(); });
  }

  // A follower whose channel accepts messages of up to `receive_limit`,
  // and a query server whose health follows it, as kouryu-query wires them.
  void StartFollower(int receive_limit) {
    follower_ = std::make_unique<Follower>(
        *replica_, ConnectToIngest(ingest_->address(), receive_limit),
        FollowerOptions{.initial_backoff = absl::Milliseconds(10),
                        .max_backoff = absl::Milliseconds(50)},
        [this](bool serving) {
          if (query_server_ != nullptr) query_server_->SetServing(serving);
          readiness_.Set(serving);
        });
    query_ = std::make_unique<QueryServiceImpl>(*replica_, QueryServiceOptions{},
                                                follower_.get());
    auto server = Server::Start(
        {.name = "follower_test-query", .serving_at_start = false},
        {query_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    query_server_ = *std::move(server);
    auto channel = grpc::CreateChannel(query_server_->address(),
                                       grpc::InsecureChannelCredentials());
    query_stub_ = v1::QueryService::NewStub(channel);
    health_stub_ = grpc::health::v1::Health::NewStub(channel);
    follower_->Start();
  }

  // Writes one row whose results are `results`; returns its sequence.
  // `pad_results_text` bytes are appended to the normalized record's
  // results text, to make a change larger than a row may produce.
  uint64_t Write(const std::string& title, const std::string& results,
                 size_t pad_results_text = 0) {
    ingest::Normalizer normalizer(Gazetteer::Builtin());
    v1::RawRecord raw;
    raw.set_category("①姉妹・友好都市及び政策提携都市との交流");
    raw.set_department("政策企画局外務部");
    raw.set_title(title);
    raw.set_results(results);
    raw.set_fiscal_year(2019);
    auto normalized = normalizer.Normalize(raw, v1::SourceRef(), {"rows[0]."});
    EXPECT_TRUE(normalized.ok()) << normalized.status();
    if (!normalized.ok()) return 0;
    std::vector<v1::Record> records = {normalized->record};
    records[0].mutable_results_text()->append(pad_results_text, 'x');
    auto written = store_->Upsert(std::move(records), false);
    EXPECT_TRUE(written.ok()) << written.status();
    return written.ok() ? written->sequence : 0;
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health() {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health_stub_->Check(
        &context, grpc::health::v1::HealthCheckRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  v1::ReplicaStatus ReplicaStatus() {
    grpc::ClientContext context;
    v1::ReplicaStatus response;
    grpc::Status status = query_stub_->GetReplicaStatus(
        &context, v1::GetReplicaStatusRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  ScopedTempDir ingest_dir_;
  ScopedTempDir replica_dir_;
  std::unique_ptr<ingest::Store> store_;
  std::unique_ptr<ingest::ChangeFeedImpl> feed_;
  std::unique_ptr<Server> ingest_;
  std::unique_ptr<Replica> replica_;
  Readiness readiness_;
  std::unique_ptr<Follower> follower_;
  std::unique_ptr<QueryServiceImpl> query_;
  std::unique_ptr<Server> query_server_;
  std::unique_ptr<v1::QueryService::Stub> query_stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_stub_;
};

// 20,000 characters of results: a record of well over 100 KB (results
// text, source HTML and sections each hold the text).
std::string LargeResults() {
  std::string text;
  while (text.size() < 60'000) text += "交流事業を実施した。";
  return "<p>" + text + "</p>";
}

TEST_F(FollowerTest, ChangeItCannotReceiveStallsTheReplicaVisibly) {
  constexpr int kReceiveLimit = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(StartFollower(kReceiveLimit));
  const uint64_t small = Write("大韓民国ソウル特別市", "<p>視察団4名を受入</p>");
  ASSERT_TRUE(readiness_.AwaitLatest(true, absl::Seconds(30)));
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(replica_->applied_sequence(), small);
  EXPECT_FALSE(ReplicaStatus().stalled());

  const uint64_t large = Write("中華人民共和国北京市", LargeResults());
  ASSERT_GT(large, small);
  ASSERT_TRUE(readiness_.AwaitLatest(false, absl::Seconds(30)))
      << "the replica never reported that it cannot make progress";
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(readiness_.history(), (std::vector<bool>{true, false}));
  FollowerStatus status = follower_->status();
  EXPECT_TRUE(status.stalled);
  EXPECT_EQ(status.applied_sequence, small);
  v1::ReplicaStatus reported = ReplicaStatus();
  EXPECT_TRUE(reported.stalled());
  EXPECT_THAT(reported.last_error(), HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_EQ(reported.applied_sequence(), small);
  EXPECT_EQ(reported.head_sequence(), large);
  EXPECT_EQ(reported.lag_sequences(), large - small);
}

// A change larger than gRPC's default 4 MiB message (and than the feed's
// byte cap per reply) goes alone and reaches a replica with the default
// receive limit, kMaxMessageBytes.
TEST_F(FollowerTest, ChangeLargerThanTheReplyCapStillArrives) {
  // Written before the replica follows, so that the feed reads them
  // together: the changes around it would share its reply.
  Write("大韓民国ソウル特別市", "<p>視察団4名を受入</p>");
  const uint64_t huge = Write("中華人民共和国北京市", "<p>視察団を受入</p>",
                              /*pad_results_text=*/size_t{5} << 20);
  Write("フランス共和国パリ市", LargeResults());
  const uint64_t last = Write("イギリス ロンドン市", "<p>会議に出席</p>");
  ASSERT_GT(last, huge);
  ASSERT_NO_FATAL_FAILURE(StartFollower(kMaxMessageBytes));
  ASSERT_TRUE(readiness_.AwaitLatest(true, absl::Seconds(30)));
  ASSERT_TRUE(
      replica_->WaitForSequence(last, absl::Now() + absl::Seconds(30)).ok())
      << "applied " << replica_->applied_sequence();
  v1::ReplicaStatus reported = ReplicaStatus();
  EXPECT_FALSE(reported.stalled());
  EXPECT_EQ(reported.last_error(), "");
  EXPECT_EQ(reported.applied_sequence(), last);
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(readiness_.history(), (std::vector<bool>{true}));
}

// A changelog that keeps only the latest change.
// An ingest server that takes one Subscribe at a time.
class OneSubscriberFollowerTest : public FollowerTest {
 protected:
  ingest::ChangeFeedOptions FeedOptions() const override {
    return {.max_subscribers = 1};
  }
};

// Refused streams (here TOO_MANY_SUBSCRIBERS) stall the replica; once a
// stream gets through and finds it at the head, it serves again, though
// nothing was written in between.
TEST_F(OneSubscriberFollowerTest, StallThatClearsWithoutWritesServesAgain) {
  const uint64_t head = Write("大韓民国ソウル特別市", "<p>交流</p>");
  ASSERT_GT(head, 0u);
  // The replica already holds the head (as after a restart), so no stream
  // will bring it a change.
  auto changes = store_->ReadChanges(0, 10);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_TRUE(replica_->Apply(*changes).ok());
  ASSERT_EQ(replica_->applied_sequence(), head);
  // Another subscriber holds the only slot.
  auto feed_stub = v1::ChangeFeed::NewStub(
      grpc::CreateChannel(ingest_->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext holder;
  v1::SubscribeRequest request;
  request.set_after_sequence(head);
  auto stream = feed_stub->Subscribe(&holder, request);
  v1::SubscribeResponse hello;
  ASSERT_TRUE(stream->Read(&hello));  // The slot is taken.

  ASSERT_NO_FATAL_FAILURE(StartFollower(kMaxMessageBytes));
  // Three refused streams, 10-50 ms apart: polled, as the status has no watch.
  v1::ReplicaStatus stalled;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!(stalled = ReplicaStatus()).stalled() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(stalled.stalled());
  EXPECT_TRUE(readiness_.history().empty() || !readiness_.history().back());
  EXPECT_THAT(stalled.last_error(), HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);

  // The slot frees; no write follows.
  holder.TryCancel();
  while (stream->Read(&hello)) {
  }
  stream->Finish().ok();
  ASSERT_TRUE(readiness_.AwaitLatest(true, absl::Seconds(30)))
      << "the replica at the head stayed NOT_SERVING";
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  v1::ReplicaStatus status = ReplicaStatus();
  EXPECT_FALSE(status.stalled());
  EXPECT_EQ(status.applied_sequence(), head);
  EXPECT_EQ(store_->HeadSequence(), head);
}

class TrimmedFollowerTest : public FollowerTest {
  ingest::StoreOptions StoreOptions() const override {
    return {.retain_changes = 1, .retain_age = absl::ZeroDuration()};
  }
};

// A snapshot of records larger together than gRPC's default 4 MiB comes
// in parts small enough for a replica to receive.
TEST_F(TrimmedFollowerTest, LargeSnapshotArrivesInParts) {
  constexpr int kRecords = 40;  // About 180 KB each.
  uint64_t last = 0;
  for (int i = 0; i < kRecords; ++i) {
    last = Write(absl::StrCat("大韓民国ソウル特別市 第", i, "回"), LargeResults());
  }
  auto trimmed = store_->TrimChangelog(absl::Now());
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  ASSERT_EQ(*trimmed, static_cast<uint64_t>(kRecords - 1));
  ASSERT_NO_FATAL_FAILURE(StartFollower(kMaxMessageBytes));
  ASSERT_TRUE(readiness_.AwaitLatest(true, absl::Seconds(30)));
  EXPECT_EQ(replica_->applied_sequence(), last);
  auto digest = replica_->Digest();
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->record_count, static_cast<uint64_t>(kRecords));
  EXPECT_FALSE(ReplicaStatus().stalled());
}

}  // namespace
}  // namespace kouryu::query
