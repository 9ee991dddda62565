// Group commit under concurrency and failure: first with a write function
// of the test's own, which sees every group and can hold one back or fail
// it; then the real Store on a file system whose write-ahead log stops
// taking writes, as a disk that fails does.

#include "ingest-service/group_commit.h"

#include <rocksdb/file_system.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest-service/store.h"
#include "tests/support/failing_wal_fs.h"
#include "tests/support/temp_dir.h"

namespace kouryu::ingest {
namespace {

using ::testing::ElementsAre;

// One call of the write function.
struct Written {
  uint64_t first = 0;
  uint64_t last = 0;
  int operations = 0;
  bool ok = true;

  friend bool operator==(const Written&, const Written&) = default;
};

// A write function that records every group, can hold the first group's
// write until a number of writes have been prepared, and fails the groups
// `fail` says to.
class Writes {
 public:
  GroupCommit::WriteFunction Function() {
    return [this](rocksdb::WriteBatch& batch, uint64_t first, uint64_t last) {
      absl::MutexLock lock(&mu_);
      const bool first_call = groups_.empty();
      groups_.push_back({first, last, static_cast<int>(batch.Count()), true});
      if (first_call) {
        in_first_write_ = true;
        mu_.Await(absl::Condition(this, &Writes::FirstWriteMayReturn));
      }
      const bool ok = !fail_ || !fail_(groups_.size());
      groups_.back().ok = ok;
      return ok ? absl::OkStatus() : absl::UnavailableError("injected failure");
    };
  }

  bool FirstWriteMayReturn() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return prepared_ >= hold_first_until_;
  }

  // The first group's write returns only once `n` writes are prepared.
  void HoldFirstWriteUntilPrepared(int n) {
    absl::MutexLock lock(&mu_);
    hold_first_until_ = n;
  }
  // Group `n` (from 1) fails when fail(n).
  void FailWhen(std::function<bool(size_t)> fail) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(fail);
  }
  void Prepared() {
    absl::MutexLock lock(&mu_);
    ++prepared_;
  }
  void AwaitFirstWrite() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&in_first_write_));
  }
  std::vector<Written> groups() {
    absl::MutexLock lock(&mu_);
    return groups_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Written> groups_ ABSL_GUARDED_BY(mu_);
  int prepared_ ABSL_GUARDED_BY(mu_) = 0;
  int hold_first_until_ ABSL_GUARDED_BY(mu_) = 0;
  bool in_first_write_ ABSL_GUARDED_BY(mu_) = false;
  std::function<bool(size_t)> fail_ ABSL_GUARDED_BY(mu_);
};

// What one writer learned.
struct Outcome {
  uint64_t sequence = 0;
  absl::Status status;
};

// Prepares one write of one operation under the next sequence, leaving
// `value` under `key`; tells `writes` once it is prepared.
absl::StatusOr<GroupCommit::Ticket> PrepareOne(GroupCommit& commit,
                                               Writes& writes,
                                               const std::string& key,
                                               const std::string& value) {
  absl::StatusOr<GroupCommit::Ticket> ticket =
      commit.Prepare([&](GroupCommit::Pending& pending) {
        WriteOps ops;
        ops.Put(nullptr, key, value);
        return pending.Add(ops, pending.assigned() + 1,
                           {{key, std::make_shared<const std::string>(value)}});
      });
  writes.Prepared();
  return ticket;
}

Outcome WriteOne(GroupCommit& commit, Writes& writes, const std::string& key) {
  absl::StatusOr<GroupCommit::Ticket> ticket =
      PrepareOne(commit, writes, key, "v");
  if (!ticket.ok()) return {0, ticket.status()};
  return {ticket->sequence(), commit.Wait(*ticket)};
}

// One writer leads the first group and holds its write until every other
// writer has prepared: those form the second group, which one of them
// writes for all.
std::vector<Outcome> LeaderThenTheRest(GroupCommit& commit, Writes& writes,
                                       int writers) {
  writes.HoldFirstWriteUntilPrepared(writers);
  std::vector<Outcome> outcomes(writers);
  std::vector<std::thread> threads;
  threads.emplace_back(
      [&] { outcomes[0] = WriteOne(commit, writes, "leader"); });
  writes.AwaitFirstWrite();
  for (int i = 1; i < writers; ++i) {
    threads.emplace_back([&, i] {
      outcomes[i] = WriteOne(commit, writes, absl::StrCat("k", i));
    });
  }
  for (std::thread& t : threads) t.join();
  return outcomes;
}

TEST(GroupCommitTest, WritersThatPrepareDuringAWriteShareTheNextOne) {
  constexpr int kWriters = 16;
  Writes writes;
  GroupCommit commit(/*head=*/0, writes.Function());
  std::vector<Outcome> outcomes = LeaderThenTheRest(commit, writes, kWriters);

  EXPECT_THAT(writes.groups(),
              ElementsAre(Written{1, 1, 1, true},
                          Written{2, kWriters, kWriters - 1, true}));
  std::set<uint64_t> sequences;
  for (const Outcome& outcome : outcomes) {
    EXPECT_TRUE(outcome.status.ok()) << outcome.status;
    sequences.insert(outcome.sequence);
  }
  // Each writer has its own sequence.
  EXPECT_EQ(sequences.size(), static_cast<size_t>(kWriters));
  EXPECT_EQ(*sequences.begin(), 1u);
  EXPECT_EQ(*sequences.rbegin(), static_cast<uint64_t>(kWriters));
  EXPECT_EQ(outcomes[0].sequence, 1u);
  EXPECT_EQ(commit.head(), static_cast<uint64_t>(kWriters));
}

TEST(GroupCommitTest, PendingValuesAreSeenUntilDurable) {
  Writes writes;
  GroupCommit commit(/*head=*/5, writes.Function());
  absl::StatusOr<GroupCommit::Ticket> ticket =
      PrepareOne(commit, writes, "a", "one");
  ASSERT_TRUE(ticket.ok());
  EXPECT_EQ(ticket->sequence(), 6u);
  auto find = [&commit](const std::string& key) {
    std::optional<GroupCommit::Value> found;
    EXPECT_TRUE(commit
                    .Prepare([&](GroupCommit::Pending& pending) {
                      found = pending.Find(key);
                      return absl::OkStatus();
                    })
                    .ok());
    return found;
  };
  std::optional<GroupCommit::Value> pending = find("a");
  ASSERT_TRUE(pending.has_value());
  ASSERT_NE(*pending, nullptr);
  EXPECT_EQ(**pending, "one");
  EXPECT_EQ(find("b"), std::nullopt);
  EXPECT_EQ(commit.head(), 5u);

  ASSERT_TRUE(commit.Wait(*ticket).ok());
  EXPECT_EQ(commit.head(), 6u);
  EXPECT_EQ(find("a"), std::nullopt) << "durable: read from the database";
  EXPECT_THAT(writes.groups(), ElementsAre(Written{6, 6, 1, true}));
}

TEST(GroupCommitTest, AFailedGroupFailsItsWritersAndEveryWritePreparedSince) {
  constexpr int kWriters = 8;
  Writes writes;
  writes.FailWhen([](size_t group) { return group == 1; });
  GroupCommit commit(/*head=*/0, writes.Function());
  std::vector<Outcome> outcomes = LeaderThenTheRest(commit, writes, kWriters);

  // The first group failed while the others were prepared on top of it:
  // every writer learns the error, and the second group is never written.
  EXPECT_THAT(writes.groups(), ElementsAre(Written{1, 1, 1, false}));
  for (const Outcome& outcome : outcomes) {
    EXPECT_EQ(outcome.status, absl::UnavailableError("injected failure"))
        << "sequence " << outcome.sequence;
  }
  EXPECT_EQ(commit.head(), 0u);

  // What they left is forgotten. A write that adds nothing rests on the
  // failed ones and fails too, until a later write succeeds.
  absl::StatusOr<GroupCommit::Ticket> nothing =
      commit.Prepare([](GroupCommit::Pending& pending) {
        EXPECT_EQ(pending.Find("leader"), std::nullopt);
        EXPECT_EQ(pending.Find("k1"), std::nullopt);
        return absl::OkStatus();
      });
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->sequence(), static_cast<uint64_t>(kWriters));
  EXPECT_EQ(commit.Wait(*nothing), absl::UnavailableError("injected failure"));

  // Later writes go on after the failed sequences.
  Outcome next = WriteOne(commit, writes, "next");
  EXPECT_TRUE(next.status.ok()) << next.status;
  EXPECT_EQ(next.sequence, kWriters + 1u);
  EXPECT_THAT(writes.groups(),
              ElementsAre(Written{1, 1, 1, false},
                          Written{kWriters + 1, kWriters + 1, 1, true}));
  EXPECT_EQ(commit.head(), kWriters + 1u);
  nothing = commit.Prepare([](GroupCommit::Pending&) { return absl::OkStatus(); });
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(commit.Wait(*nothing).ok());
}

TEST(GroupCommitTest, APrepareThatFailsAddsNothing) {
  Writes writes;
  GroupCommit commit(/*head=*/0, writes.Function());
  absl::StatusOr<GroupCommit::Ticket> ticket =
      commit.Prepare([](GroupCommit::Pending&) {
        return absl::InvalidArgumentError("bad row");
      });
  EXPECT_EQ(ticket.status(), absl::InvalidArgumentError("bad row"));
  Outcome next = WriteOne(commit, writes, "a");
  EXPECT_TRUE(next.status.ok());
  EXPECT_EQ(next.sequence, 1u);
  EXPECT_THAT(writes.groups(), ElementsAre(Written{1, 1, 1, true}));
}

// Many writers, some groups failing: each writer's answer is the answer
// of the group that carried its write.
TEST(GroupCommitTest, EveryWriterLearnsTheResultOfItsOwnGroup) {
  constexpr int kWriters = 8;
  constexpr int kWritesEach = 200;
  Writes writes;
  writes.FailWhen([](size_t group) { return group % 7 == 3; });
  GroupCommit commit(/*head=*/0, writes.Function());
  std::vector<std::vector<Outcome>> outcomes(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kWritesEach; ++i) {
        outcomes[w].push_back(
            WriteOne(commit, writes, absl::StrCat("w", w, "-", i)));
      }
    });
  }
  for (std::thread& t : threads) t.join();

  // Sequences are taken in order and groups written in order, each from
  // where the last one taken ended.
  std::map<uint64_t, bool> written;  // sequence -> its group succeeded
  uint64_t last = 0, last_ok = 0;
  int failed_groups = 0;
  for (const Written& group : writes.groups()) {
    EXPECT_GT(group.first, last);
    EXPECT_GE(group.last, group.first);
    EXPECT_EQ(group.operations, static_cast<int>(group.last - group.first + 1));
    for (uint64_t s = group.first; s <= group.last; ++s) written[s] = group.ok;
    last = group.last;
    if (group.ok) last_ok = group.last;
    failed_groups += group.ok ? 0 : 1;
  }
  EXPECT_GT(failed_groups, 0);
  std::set<uint64_t> seen;
  int ok = 0, failed = 0;
  for (const std::vector<Outcome>& mine : outcomes) {
    for (const Outcome& outcome : mine) {
      EXPECT_TRUE(seen.insert(outcome.sequence).second)
          << "sequence " << outcome.sequence << " answered twice";
      auto it = written.find(outcome.sequence);
      if (outcome.status.ok()) {
        ++ok;
        // Acknowledged: written by a group that succeeded.
        ASSERT_NE(it, written.end()) << outcome.sequence;
        EXPECT_TRUE(it->second) << outcome.sequence;
      } else {
        ++failed;
        EXPECT_EQ(outcome.status, absl::UnavailableError("injected failure"));
        // Failed: in a failed group, or prepared on top of one and dropped.
        EXPECT_TRUE(it == written.end() || !it->second) << outcome.sequence;
      }
    }
  }
  EXPECT_EQ(ok + failed, kWriters * kWritesEach);
  EXPECT_GT(ok, 0);
  EXPECT_EQ(commit.head(), last_ok);
}

v1::Record MakeRecord(int writer, int n) {
  v1::Record record;
  const std::string id = absl::StrCat("w", writer, "n", n);
  record.set_name(FormatRecordName({"seoul", "policy-planning", id}));
  record.set_fiscal_year(2019);
  record.set_category(v1::CATEGORY_SISTER_CITY_EXCHANGE);
  record.mutable_city()->set_id("seoul");
  record.mutable_bureau()->set_id("policy-planning");
  record.set_title(absl::StrCat("大韓民国ソウル特別市 ", id));
  return record;
}

// Writers upsert until the log fails under them: each learns the error,
// the store refuses writes from then on (RocksDB stops at a failed
// write-ahead log append), and after a reopen every acknowledged write is
// there and nothing else.
TEST(StoreGroupCommitTest, AFailingLogFailsEveryWaiterAndLosesNoAcknowledgedWrite) {
  constexpr int kWriters = 4;
  constexpr int kAcknowledgedBeforeFailure = 200;
  testing::ScopedTempDir dir;
  auto fs = std::make_shared<kouryu::testing::FailingWalFileSystem>();
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(dir.path(), {.min_free_bytes = 0, .file_system = fs});
  ASSERT_TRUE(store.ok()) << store.status();

  absl::Mutex mu;
  std::map<uint64_t, std::pair<std::string, std::string>> acks;  // name, etag
  std::vector<absl::Status> failures(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int n = 0;; ++n) {
        absl::StatusOr<UpsertBatchResult> written =
            (*store)->Upsert({MakeRecord(w, n)}, /*dry_run=*/false);
        absl::MutexLock lock(&mu);
        if (!written.ok()) {
          failures[w] = written.status();
          return;
        }
        acks[written->sequence] = {written->records[0].record.name(),
                                   written->records[0].record.etag()};
      }
    });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](decltype(acks)* a) {
          return a->size() >= static_cast<size_t>(kAcknowledgedBeforeFailure);
        },
        &acks));
  }
  fs->FailWalAppends();
  for (std::thread& t : threads) t.join();
  for (const absl::Status& failure : failures) {
    EXPECT_FALSE(failure.ok());
    EXPECT_THAT(failure.message(), ::testing::HasSubstr("injected"));
  }
  ASSERT_FALSE(acks.empty());
  const uint64_t last_ack = acks.rbegin()->first;
  EXPECT_EQ((*store)->HeadSequence(), last_ack);
  // RocksDB keeps refusing after a failed log append; so does the store.
  EXPECT_FALSE((*store)->Upsert({MakeRecord(99, 0)}, false).ok());
  EXPECT_EQ((*store)->HeadSequence(), last_ack);
  store->reset();

  store = Store::Open(dir.path(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->HeadSequence(), last_ack);
  absl::StatusOr<std::vector<v1::Change>> changes =
      (*store)->ReadChanges(0, acks.size() + 100);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->size(), acks.size());
  for (const v1::Change& change : *changes) {
    SCOPED_TRACE(absl::StrCat("sequence ", change.sequence()));
    auto ack = acks.find(change.sequence());
    ASSERT_NE(ack, acks.end()) << "a change nobody was told of";
    EXPECT_EQ(change.name(), ack->second.first);
    absl::StatusOr<v1::Record> stored = (*store)->Get(ack->second.first);
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(stored->etag(), ack->second.second);
  }
  // Reopened, the store writes again.
  absl::StatusOr<UpsertBatchResult> again =
      (*store)->Upsert({MakeRecord(99, 1)}, false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->sequence, last_ack + 1);
}

}  // namespace
}  // namespace kouryu::ingest
