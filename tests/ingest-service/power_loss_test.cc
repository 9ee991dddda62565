// Simulated power loss under the real Store: several writers upsert through
// group commit, the power is cut at a random moment, everything the disk had
// not been told to keep (tests/support/power_loss_fs.h) is dropped, and the
// store is reopened. With StoreOptions::sync every acknowledged write must be
// there with its acknowledged content and the changelog must have no gap;
// without it, the harness must catch writes being lost (so the check can
// fail).

#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/keys.h"
#include "gtest/gtest.h"
#include "ingest-service/store.h"
#include "tests/support/power_loss_fs.h"
#include "tests/support/temp_dir.h"

namespace kouryu::ingest {
namespace {

using ::kouryu::testing::PowerLossFileSystem;
using ::kouryu::testing::ScopedTempDir;

constexpr int kWriters = 4;
constexpr int kKeys = 64;

v1::Record MakeRecord(int key, const std::string& title) {
  v1::Record record;
  std::string id = absl::StrCat("r", key);
  std::string city = key % 2 == 0 ? "seoul" : "paris";
  record.set_name(FormatRecordName({city, "seikatsu-bunka", id}));
  record.set_fiscal_year(2019);
  record.set_category(v1::CATEGORY_SISTER_CITY_EXCHANGE);
  record.mutable_city()->set_id(city);
  record.mutable_bureau()->set_id("seikatsu-bunka");
  record.set_department("外務部");
  record.set_title(title);
  record.set_results_text(std::string(200 + key * 7, 'x'));
  return record;
}

// What a writer was told: the write at `sequence` stored `name` with `etag`.
struct Ack {
  std::string name;
  std::string etag;
};

struct CycleResult {
  int acknowledged = 0;  // acknowledged before the cut, this cycle
  PowerLossFileSystem::Dropped dropped;
};

class PowerLossTest : public ::testing::Test {
 protected:
  StoreOptions Options(bool sync) {
    StoreOptions options;
    options.sync = sync;
    options.min_free_bytes = 0;
    options.file_system = fs_;
    return options;
  }

  // Opens the store, writes from kWriters threads until `cut_after` writes
  // were acknowledged, cuts the power, closes the store, restores power.
  CycleResult RunCycle(bool sync, int cut_after, uint32_t seed) {
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(dir_.path(), Options(sync));
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return {};
    std::unique_ptr<Store> store = *std::move(opened);

    absl::Mutex mu;
    int acknowledged = 0, finished = 0;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        std::mt19937 rng(seed * kWriters + w);
        for (int n = 0; !fs_->power_off(); ++n) {
          int key = static_cast<int>(rng() % kKeys);
          std::vector<v1::Record> batch = {
              MakeRecord(key, absl::StrCat("w", w, " n", n, " seed", seed))};
          absl::StatusOr<UpsertBatchResult> results =
              store->Upsert(std::move(batch), /*dry_run=*/false);
          // Only what was acknowledged while the power was on is promised:
          // a write whose sync ran after the cut did not reach the disk.
          if (!results.ok() || fs_->power_off()) break;
          absl::MutexLock lock(&mu);
          acks_[results->sequence] = Ack{results->records[0].record.name(),
                                         results->records[0].record.etag()};
          ++acknowledged;
        }
        absl::MutexLock lock(&mu);
        ++finished;
      });
    }
    {
      struct Until {
        int* acknowledged;
        int* finished;
        int cut_after;
      } until{&acknowledged, &finished, cut_after};
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](Until* u) { return *u->acknowledged >= u->cut_after || *u->finished == kWriters; },
          &until));
    }
    fs_->CutPower();
    for (std::thread& t : writers) t.join();
    store.reset();
    CycleResult result;
    {
      absl::MutexLock lock(&mu);
      result.acknowledged = acknowledged;
    }
    result.dropped = fs_->RestorePower();
    return result;
  }

  // Reopens and counts the acknowledged writes that are missing or differ;
  // checks the changelog has no gap and the records match its last changes.
  int CountLost() {
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(dir_.path(), Options(false));
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return -1;
    std::unique_ptr<Store> store = *std::move(opened);
    absl::StatusOr<std::vector<v1::Change>> changes =
        store->ReadChanges(0, std::numeric_limits<size_t>::max());
    EXPECT_TRUE(changes.ok()) << changes.status();
    if (!changes.ok()) return -1;
    std::map<uint64_t, const v1::Change*> by_sequence;
    std::map<std::string, const v1::Change*> last_by_name;
    uint64_t expected = 1;
    for (const v1::Change& change : *changes) {
      EXPECT_EQ(change.sequence(), expected) << "a gap in the changelog";
      expected = change.sequence() + 1;
      by_sequence[change.sequence()] = &change;
      last_by_name[change.name()] = &change;
    }
    EXPECT_EQ(store->HeadSequence(), expected - 1);
    for (const auto& [name, change] : last_by_name) {
      absl::StatusOr<v1::Record> record = store->Get(name);
      EXPECT_TRUE(record.ok()) << name << ": " << record.status();
      if (record.ok()) {
        EXPECT_EQ(record->etag(), change->record().etag()) << name;
      }
    }
    int lost = 0;
    for (const auto& [sequence, ack] : acks_) {
      auto it = by_sequence.find(sequence);
      if (it == by_sequence.end() || it->second->name() != ack.name ||
          it->second->record().etag() != ack.etag) {
        ++lost;
      }
    }
    return lost;
  }

  ScopedTempDir dir_;
  std::shared_ptr<PowerLossFileSystem> fs_ = std::make_shared<PowerLossFileSystem>();
  // Every write acknowledged before a cut, across all cycles, by sequence.
  std::map<uint64_t, Ack> acks_;
};

TEST_F(PowerLossTest, WithSyncEveryAcknowledgedWriteSurvives) {
  constexpr int kCycles = 200;
  std::mt19937 rng(20191201);
  int acknowledged = 0, files_dropped = 0;
  uint64_t bytes_dropped = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    CycleResult result = RunCycle(/*sync=*/true, 1 + rng() % 40, cycle);
    acknowledged += result.acknowledged;
    bytes_dropped += result.dropped.bytes;
    files_dropped += result.dropped.files;
    int lost = CountLost();
    ASSERT_EQ(lost, 0) << "cycle " << cycle << ": " << lost << " of " << acks_.size()
                       << " acknowledged writes lost";
  }
  // The harness did drop data: otherwise it proves nothing.
  EXPECT_GT(bytes_dropped + files_dropped, 0u);
  std::printf("%d power losses, %d writes acknowledged and found after them; "
              "dropped %llu unsynced bytes and %d files\n",
              kCycles, acknowledged, static_cast<unsigned long long>(bytes_dropped),
              files_dropped);
}

TEST_F(PowerLossTest, WithoutSyncAcknowledgedWritesAreLost) {
  int lost = 0, cycles = 0;
  for (; cycles < 20 && lost == 0; ++cycles) {
    RunCycle(/*sync=*/false, 20, cycles);
    lost = CountLost();
    ASSERT_GE(lost, 0);
  }
  EXPECT_GT(lost, 0) << "without sync, a power loss should lose acknowledged writes";
  std::printf("without sync: %d of %zu acknowledged writes lost after %d power losses\n",
              lost, acks_.size(), cycles);
}

}  // namespace
}  // namespace kouryu::ingest
