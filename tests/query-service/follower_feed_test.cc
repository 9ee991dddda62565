// The follower against a scripted change feed: a small real ChangeFeed
// gRPC service on 127.0.0.1 port 0 whose streams the test writes response
// by response, and ends with the status it wants. What the follower asks
// for (after_sequence, history_id) is checked on each Subscribe it makes;
// what it reports (status, readiness) is checked at points the test waits
// for: a sequence applied, a readiness change, the next Subscribe.

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kouryu/v1/change_feed.grpc.pb.h"
#include "query-service/follower.h"
#include "query-service/replica.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kWait = absl::Seconds(30);

// A ChangeFeed whose every stream sends what the test queues with Send,
// until the test ends it with End (or closes the feed).
class ScriptedFeed final : public v1::ChangeFeed::Service {
 public:
  grpc::Status Subscribe(
      grpc::ServerContext* context, const v1::SubscribeRequest* request,
      grpc::ServerWriter<v1::SubscribeResponse>* writer) override {
    {
      absl::MutexLock lock(&mutex_);
      requests_.push_back(*request);
    }
    while (true) {
      Step step;
      {
        absl::MutexLock lock(&mutex_);
        mutex_.Await(absl::Condition(this, &ScriptedFeed::HasStep));
        if (closed_)
          return grpc::Status(grpc::StatusCode::UNAVAILABLE, "closed");
        step = std::move(steps_.front());
        steps_.pop_front();
      }
      if (step.end.has_value()) return *step.end;
      if (!writer->Write(step.response)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      }
    }
  }

  // The stream open now (or the next one) sends `response`.
  void Send(v1::SubscribeResponse response) {
    absl::MutexLock lock(&mutex_);
    steps_.push_back({std::move(response), std::nullopt});
  }
  // The stream open now (or the next one) ends with `status`.
  void End(grpc::StatusCode code, const std::string& message) {
    absl::MutexLock lock(&mutex_);
    steps_.push_back({{}, grpc::Status(code, message)});
  }
  // Waits for the `n`th Subscribe (from 1); its request.
  v1::SubscribeRequest AwaitSubscribe(size_t n) {
    absl::MutexLock lock(&mutex_);
    auto arrived = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return requests_.size() >= n;
    };
    if (!mutex_.AwaitWithTimeout(absl::Condition(&arrived), kWait)) {
      ADD_FAILURE() << "no Subscribe number " << n;
      return {};
    }
    return requests_[n - 1];
  }
  size_t subscribes() {
    absl::MutexLock lock(&mutex_);
    return requests_.size();
  }
  // Ends every stream, now and later.
  void Close() {
    absl::MutexLock lock(&mutex_);
    closed_ = true;
  }

 private:
  struct Step {
    v1::SubscribeResponse response;
    std::optional<grpc::Status> end;
  };

  bool HasStep() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return closed_ || !steps_.empty();
  }

  absl::Mutex mutex_;
  std::vector<v1::SubscribeRequest> requests_ ABSL_GUARDED_BY(mutex_);
  std::deque<Step> steps_ ABSL_GUARDED_BY(mutex_);
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
};

// The readiness changes the follower reports, in order.
class ServingLog {
 public:
  void Add(bool serving) {
    absl::MutexLock lock(&mutex_);
    log_.push_back(serving);
  }
  // The log once it holds `n` entries (or what it holds after kWait).
  std::vector<bool> AwaitSize(size_t n) {
    absl::MutexLock lock(&mutex_);
    auto full = [this, n]()
                    ABSL_NO_THREAD_SAFETY_ANALYSIS { return log_.size() >= n; };
    mutex_.AwaitWithTimeout(absl::Condition(&full), kWait);
    return log_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<bool> log_ ABSL_GUARDED_BY(mutex_);
};

v1::Record MakeRecord(const std::string& city, const std::string& id) {
  v1::Record record;
  record.set_name(
      absl::StrCat("cities/", city, "/bureaus/education/records/", id));
  record.mutable_city()->set_id(city);
  record.mutable_bureau()->set_id("education");
  record.set_title(absl::StrCat("交流 ", id));
  record.set_fiscal_year(2019);
  return record;
}

// Upserts of the records `ids` (in seoul) at sequences first, first + 1, ...
v1::SubscribeResponse Changes(uint64_t first,
                              const std::vector<std::string>& ids,
                              uint64_t head, const std::string& history) {
  v1::SubscribeResponse response;
  uint64_t sequence = first;
  for (const std::string& id : ids) {
    v1::Change* change = response.add_changes();
    change->set_sequence(sequence);
    change->set_kind(v1::CHANGE_KIND_UPSERT);
    *change->mutable_record() = MakeRecord("seoul", id);
    change->set_name(change->record().name());
    change->mutable_commit_time()->set_seconds(1'700'000'000 + sequence);
    ++sequence;
  }
  response.set_head_sequence(head);
  response.set_history_id(history);
  return response;
}

// A reply with no changes: the feed's head, as a tailing stream sends it.
v1::SubscribeResponse Head(uint64_t head, const std::string& history) {
  return Changes(head + 1, {}, head, history);
}

class FollowerFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&feed_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    auto replica = Replica::Open(dir_.path() + "/replica", {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    follower_ = std::make_unique<Follower>(
        *replica_, ConnectToIngest(absl::StrCat("127.0.0.1:", port)),
        FollowerOptions{.initial_backoff = absl::Milliseconds(1),
                        .max_backoff = absl::Milliseconds(10)},
        [this](bool serving) { serving_.Add(serving); });
    follower_->Start();
  }

  void TearDown() override {
    feed_.Close();
    follower_->Stop();
    server_->Shutdown();
  }

  void AwaitApplied(uint64_t sequence) {
    absl::Status status =
        replica_->WaitForSequence(sequence, absl::Now() + kWait);
    ASSERT_TRUE(status.ok()) << status;
  }

  uint64_t RecordCount() {
    auto digest = replica_->Digest();
    EXPECT_TRUE(digest.ok()) << digest.status();
    return digest.ok() ? digest->record_count : 0;
  }

  ScopedTempDir dir_;
  ScriptedFeed feed_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Replica> replica_;
  ServingLog serving_;
  std::unique_ptr<Follower> follower_;
};

TEST_F(FollowerFeedTest, ReportsTheHeadAndServesOnceItReachesIt) {
  v1::SubscribeRequest first = feed_.AwaitSubscribe(1);
  EXPECT_EQ(first.after_sequence(), 0u);
  EXPECT_EQ(first.history_id(), "") << "a new replica has no history yet";
  EXPECT_FALSE(first.until_head());

  feed_.Send(Changes(1, {"r1", "r2", "r3"}, /*head=*/5, "h1"));
  AwaitApplied(3);
  FollowerStatus behind = follower_->status();
  EXPECT_EQ(behind.applied_sequence, 3u);
  EXPECT_EQ(behind.head_sequence, 5u);
  EXPECT_NE(behind.behind_since, absl::InfiniteFuture());
  EXPECT_FALSE(behind.caught_up_once);

  feed_.Send(Changes(4, {"r4", "r5"}, /*head=*/5, "h1"));
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));
  FollowerStatus at_head = follower_->status();
  EXPECT_EQ(at_head.applied_sequence, 5u);
  EXPECT_EQ(at_head.head_sequence, 5u);
  EXPECT_EQ(at_head.behind_since, absl::InfiniteFuture());
  EXPECT_TRUE(at_head.caught_up_once);
  EXPECT_TRUE(at_head.connected);
  EXPECT_FALSE(at_head.stalled);
  EXPECT_EQ(at_head.last_change_time, absl::FromUnixSeconds(1'700'000'005));
  EXPECT_EQ(replica_->history_id(), "h1");
  EXPECT_EQ(RecordCount(), 5u);

  // A later head the replica has not reached: behind again, still serving.
  feed_.Send(Head(7, "h1"));
  feed_.Send(Changes(6, {"r6"}, /*head=*/7, "h1"));
  AwaitApplied(6);
  FollowerStatus lagging = follower_->status();
  EXPECT_EQ(lagging.head_sequence, 7u);
  EXPECT_NE(lagging.behind_since, absl::InfiniteFuture());
  EXPECT_EQ(feed_.subscribes(), 1u) << "one stream is enough";
}

TEST_F(FollowerFeedTest, EmptyFeedAtItsHeadServes) {
  feed_.AwaitSubscribe(1);
  feed_.Send(Head(0, "h1"));
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));
  EXPECT_TRUE(follower_->status().caught_up_once);
  EXPECT_EQ(replica_->applied_sequence(), 0u);
}

TEST_F(FollowerFeedTest, ResubscribesAfterWhatItAppliedWithItsHistory) {
  feed_.AwaitSubscribe(1);
  feed_.Send(Changes(1, {"r1", "r2"}, /*head=*/2, "h1"));
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));

  // Ingest restarting: the stream ends UNAVAILABLE; the follower comes back
  // for what follows its applied sequence, in its history.
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restarting");
  v1::SubscribeRequest second = feed_.AwaitSubscribe(2);
  EXPECT_EQ(second.after_sequence(), 2u);
  EXPECT_EQ(second.history_id(), "h1");
  FollowerStatus down = follower_->status();
  EXPECT_THAT(down.last_error, HasSubstr("ingest restarting"));
  EXPECT_FALSE(down.stalled) << "an outage is not a stall";

  feed_.Send(Changes(3, {"r3"}, /*head=*/3, "h1"));
  AwaitApplied(3);
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restarting");
  v1::SubscribeRequest third = feed_.AwaitSubscribe(3);
  EXPECT_EQ(third.after_sequence(), 3u);
  EXPECT_EQ(third.history_id(), "h1");
  // Readiness did not change while ingest was merely down.
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));
  EXPECT_EQ(RecordCount(), 3u);
}

TEST_F(FollowerFeedTest, FailedStreamsStallItUntilItProgressesAgain) {
  feed_.AwaitSubscribe(1);
  feed_.Send(Head(0, "h1"));
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));

  // Three failures in a row (stall_after_failures); UNAVAILABLE between
  // them neither counts nor clears the count.
  feed_.End(grpc::StatusCode::INTERNAL, "broken feed");
  feed_.AwaitSubscribe(2);
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restarting");
  feed_.AwaitSubscribe(3);
  feed_.End(grpc::StatusCode::INTERNAL, "broken feed");
  feed_.AwaitSubscribe(4);
  EXPECT_FALSE(follower_->status().stalled);
  feed_.End(grpc::StatusCode::INTERNAL, "broken feed");
  feed_.AwaitSubscribe(5);
  EXPECT_THAT(serving_.AwaitSize(2), ElementsAre(true, false));
  FollowerStatus stalled = follower_->status();
  EXPECT_TRUE(stalled.stalled);
  EXPECT_THAT(stalled.last_error, HasSubstr("broken feed"));

  // A change applied is progress: serving again, the error cleared.
  feed_.Send(Changes(1, {"r1"}, /*head=*/1, "h1"));
  EXPECT_THAT(serving_.AwaitSize(3), ElementsAre(true, false, true));
  FollowerStatus again = follower_->status();
  EXPECT_FALSE(again.stalled);
  EXPECT_THAT(again.last_error, IsEmpty());
  EXPECT_EQ(again.applied_sequence, 1u);
}

TEST_F(FollowerFeedTest, SnapshotOfAnotherHistoryReplacesWhatItHeld) {
  feed_.AwaitSubscribe(1);
  feed_.Send(Changes(1, {"r1", "r2", "r3"}, /*head=*/3, "h1"));
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restored");

  // The system of record was restored from a backup at sequence 2 and
  // written past it: sequence 3 is now another change, in history h2. The
  // feed sends a snapshot (in two parts), then the changes after it.
  v1::SubscribeRequest second = feed_.AwaitSubscribe(2);
  EXPECT_EQ(second.after_sequence(), 3u);
  EXPECT_EQ(second.history_id(), "h1");
  v1::SubscribeResponse part1;
  part1.set_head_sequence(3);
  part1.set_history_id("h2");
  part1.mutable_snapshot()->set_sequence(2);
  part1.mutable_snapshot()->set_first(true);
  *part1.mutable_snapshot()->add_records() = MakeRecord("paris", "p1");
  v1::SubscribeResponse part2 = part1;
  part2.mutable_snapshot()->set_first(false);
  part2.mutable_snapshot()->set_last(true);
  part2.mutable_snapshot()->clear_records();
  *part2.mutable_snapshot()->add_records() = MakeRecord("paris", "p2");
  feed_.Send(part1);
  feed_.Send(part2);
  feed_.Send(Changes(3, {"r9"}, /*head=*/3, "h2"));
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restarting");

  // Every response of a stream is applied before it subscribes again.
  v1::SubscribeRequest third = feed_.AwaitSubscribe(3);
  EXPECT_EQ(third.after_sequence(), 3u);
  EXPECT_EQ(third.history_id(), "h2");
  EXPECT_EQ(replica_->history_id(), "h2");
  // p1, p2 and r9; r1..r3 of the old history are gone.
  EXPECT_EQ(RecordCount(), 3u);
  EXPECT_EQ(follower_->status().snapshots_received, 1u);
}

TEST_F(FollowerFeedTest, ChangesOfANewHistoryThatContinuesItsOwnMoveIt) {
  feed_.AwaitSubscribe(1);
  feed_.Send(Changes(1, {"r1", "r2"}, /*head=*/2, "h1"));
  EXPECT_THAT(serving_.AwaitSize(1), ElementsAre(true));
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restored");

  // Restored from a backup at sequence 2 or later: the feed finds the
  // replica's data part of its new history and sends changes, no snapshot.
  feed_.AwaitSubscribe(2);
  feed_.Send(Changes(3, {"r3"}, /*head=*/3, "h2"));
  feed_.End(grpc::StatusCode::UNAVAILABLE, "ingest restarting");
  v1::SubscribeRequest third = feed_.AwaitSubscribe(3);
  EXPECT_EQ(third.after_sequence(), 3u);
  EXPECT_EQ(third.history_id(), "h2");
  EXPECT_EQ(RecordCount(), 3u);
  EXPECT_EQ(follower_->status().snapshots_received, 0u);
}

}  // namespace
}  // namespace kouryu::query
