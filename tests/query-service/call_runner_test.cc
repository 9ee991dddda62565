#include "query-service/call_runner.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/keys.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;

// One upsert per sequence of a record in seoul/education.
std::vector<v1::Change> Upserts(uint64_t first, uint64_t last) {
  std::vector<v1::Change> changes;
  for (uint64_t sequence = first; sequence <= last; ++sequence) {
    v1::Change change;
    change.set_sequence(sequence);
    change.set_kind(v1::CHANGE_KIND_UPSERT);
    change.set_name(FormatRecordName({"seoul", "education", "r"}));
    v1::Record* record = change.mutable_record();
    record->set_name(change.name());
    record->mutable_city()->set_id("seoul");
    record->mutable_bureau()->set_id("education");
    record->set_title("交流");
    changes.push_back(change);
  }
  return changes;
}

// What a piece of work saw when it ran.
struct Outcome {
  absl::Notification done;
  absl::Status status;
  uint64_t applied = 0;
};

class CallRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        Replica::Open(dir_.path() + "/db", {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    runner_ = std::make_unique<CallRunner>(*replica_, 2);
  }

  // Work for RunAt that records its outcome.
  absl::AnyInvocable<void(absl::Status) &&> Record(Outcome& outcome) {
    return [this, &outcome](absl::Status status) {
      outcome.status = std::move(status);
      outcome.applied = replica_->applied_sequence();
      outcome.done.Notify();
    };
  }

  ScopedTempDir dir_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<CallRunner> runner_;
};

TEST_F(CallRunnerTest, RunsWork) {
  absl::Notification ran;
  runner_->Run([&ran] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(60)));
}

TEST_F(CallRunnerTest, RunsAtOnceWhenTheSequenceIsApplied) {
  ASSERT_TRUE(replica_->Apply(Upserts(1, 3)).ok());
  Outcome outcome;
  runner_->RunAt(3, absl::InfiniteFuture(), Record(outcome));
  ASSERT_TRUE(outcome.done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(runner_->waiting(), 0u);
}

TEST_F(CallRunnerTest, WaitsForTheSequenceWithoutAThread) {
  // More waiting calls than threads: none of them holds one.
  constexpr int kCalls = 8;
  std::vector<Outcome> outcomes(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    runner_->RunAt(5 + i % 2, absl::InfiniteFuture(), Record(outcomes[i]));
  }
  EXPECT_EQ(runner_->waiting(), static_cast<size_t>(kCalls));
  absl::Notification other;
  runner_->Run([&other] { other.Notify(); });
  EXPECT_TRUE(other.WaitForNotificationWithTimeout(absl::Seconds(60)));

  ASSERT_TRUE(replica_->Apply(Upserts(1, 5)).ok());
  for (int i = 0; i < kCalls; i += 2) {
    ASSERT_TRUE(outcomes[i].done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    EXPECT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_GE(outcomes[i].applied, 5u);
  }
  EXPECT_EQ(runner_->waiting(), static_cast<size_t>(kCalls / 2));
  ASSERT_TRUE(replica_->Apply(Upserts(6, 6)).ok());
  for (int i = 1; i < kCalls; i += 2) {
    ASSERT_TRUE(outcomes[i].done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    EXPECT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_GE(outcomes[i].applied, 6u);
  }
}

TEST_F(CallRunnerTest, FailsAtTheDeadline) {
  Outcome late;
  Outcome never;
  runner_->RunAt(10, absl::InfiniteFuture(), Record(never));
  // Registered after a call without a deadline: the workers wake for it.
  const absl::Time deadline = absl::Now() + absl::Milliseconds(50);
  runner_->RunAt(10, deadline, Record(late));
  ASSERT_TRUE(late.done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_GE(absl::Now(), deadline);
  EXPECT_EQ(late.status.code(), absl::StatusCode::kDeadlineExceeded) << late.status;
  EXPECT_EQ(ReasonOf(late.status), "REPLICA_BEHIND");
  EXPECT_NE(late.status.message().find("min_sequence 10"), std::string::npos)
      << late.status;
  EXPECT_FALSE(never.done.HasBeenNotified());
  EXPECT_EQ(runner_->waiting(), 1u);
  runner_.reset();  // finishes `never` while it exists
  EXPECT_TRUE(never.done.HasBeenNotified());
}

TEST_F(CallRunnerTest, StopWaitingFailsWaitingCalls) {
  Outcome outcome;
  runner_->RunAt(10, absl::InfiniteFuture(), Record(outcome));
  replica_->StopWaiting();
  ASSERT_TRUE(outcome.done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable) << outcome.status;
  EXPECT_EQ(ReasonOf(outcome.status), "REPLICA_STOPPING");
}

TEST_F(CallRunnerTest, DestroyingTheRunnerFinishesWaitingCalls) {
  Outcome outcome;
  runner_->RunAt(10, absl::InfiniteFuture(), Record(outcome));
  runner_.reset();
  EXPECT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable) << outcome.status;
}

}  // namespace
}  // namespace kouryu::query
