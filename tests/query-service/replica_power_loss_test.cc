// Simulated power loss under a replica applying changes
// (tests/support/power_loss_fs.h): after every loss, the replica's applied
// sequence never claims a change it does not hold — its digest and counts
// are those of a reference replica that applied exactly the changes up to
// that sequence — and it catches up to the end with the reference's digest.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "gtest/gtest.h"
#include "query-service/replica.h"
#include "tests/support/power_loss_fs.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::PowerLossFileSystem;
using ::kouryu::testing::ScopedTempDir;

constexpr uint64_t kChanges = 3000;

// Changes 1..kChanges: upserts over 150 names in five cities, with text
// for the search index, and a delete every seventh change.
std::vector<v1::Change> MakeChanges() {
  std::mt19937 rng(7);
  const char* cities[] = {"seoul", "paris", "beijing", "moscow", "new-south-wales"};
  std::vector<v1::Change> changes;
  for (uint64_t seq = 1; seq <= kChanges; ++seq) {
    int n = static_cast<int>(rng() % 150);
    RecordName name{cities[n % 5], n % 2 == 0 ? "seikatsu-bunka" : "kankyo",
                    absl::StrCat("r", n)};
    v1::Change change;
    change.set_sequence(seq);
    change.set_name(FormatRecordName(name));
    if (seq % 7 == 0) {
      change.set_kind(v1::CHANGE_KIND_DELETE);
    } else {
      change.set_kind(v1::CHANGE_KIND_UPSERT);
      v1::Record* record = change.mutable_record();
      record->set_name(change.name());
      record->mutable_city()->set_id(name.city);
      record->mutable_bureau()->set_id(name.bureau);
      record->set_fiscal_year(2019);
      record->set_title(absl::StrCat("青少年交流 exchange ", seq));
      record->set_results_text(absl::StrCat("派遣 ", std::string(100 + n * 13, 'x')));
      record->set_etag(absl::StrCat(seq));
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

std::string CountsOf(const Replica& replica) {
  std::string out;
  for (const CityCount& c : replica.Cities()) absl::StrAppend(&out, c.city.id(), "=", c.records, " ");
  for (const BureauCount& b : replica.Bureaus()) absl::StrAppend(&out, b.bureau.id(), "=", b.records, " ");
  return out;
}

TEST(ReplicaPowerLossTest, AppliedSequenceNeverClaimsAChangeItLost) {
  const std::vector<v1::Change> changes = MakeChanges();

  // The reference: a replica on the ordinary file system that applies one
  // change at a time and records its digest and counts at each sequence.
  std::vector<std::string> digests(kChanges + 1), counts(kChanges + 1);
  {
    ScopedTempDir dir;
    absl::StatusOr<std::unique_ptr<Replica>> reference =
        Replica::Open(dir.path(), ReplicaOptions());
    ASSERT_TRUE(reference.ok()) << reference.status();
    for (uint64_t seq = 0; seq <= kChanges; ++seq) {
      if (seq > 0) {
        ASSERT_TRUE((*reference)->Apply({changes[seq - 1]}).ok());
      }
      absl::StatusOr<ContentDigest> digest = (*reference)->Digest();
      ASSERT_TRUE(digest.ok()) << digest.status();
      digests[seq] = digest->digest;
      counts[seq] = CountsOf(**reference);
    }
  }

  ScopedTempDir dir;
  auto fs = std::make_shared<PowerLossFileSystem>();
  ReplicaOptions options;
  options.file_system = fs;
  // Small memtables: flushes (and their WAL syncs) happen between losses.
  options.write_buffer_bytes = 512 << 10;
  std::mt19937 rng(20191201);
  int losses = 0, went_back = 0;
  // What the replica had applied when the power went.
  std::atomic<uint64_t> applied_at_cut{0};
  uint64_t bytes_dropped = 0;
  for (uint64_t applied = 0; applied < kChanges; ++losses) {
    absl::StatusOr<std::unique_ptr<Replica>> opened = Replica::Open(dir.path(), options);
    ASSERT_TRUE(opened.ok()) << "after loss " << losses << ": " << opened.status();
    std::unique_ptr<Replica> replica = *std::move(opened);
    uint64_t reopened_at = replica->applied_sequence();
    ASSERT_LE(reopened_at, kChanges);
    if (reopened_at < applied_at_cut.load()) ++went_back;
    absl::StatusOr<ContentDigest> digest = replica->Digest();
    ASSERT_TRUE(digest.ok()) << digest.status();
    ASSERT_EQ(digest->sequence, reopened_at);
    ASSERT_EQ(digest->digest, digests[reopened_at])
        << "after loss " << losses << " the replica claims sequence " << reopened_at
        << " but holds other records";
    ASSERT_EQ(CountsOf(*replica), counts[reopened_at]) << "after loss " << losses;
    applied = reopened_at;
    if (applied == kChanges) break;

    // Apply batches of 1..64 changes on a thread; cut the power after a
    // random number of batches, while one may be in flight.
    const int cut_after = 1 + static_cast<int>(rng() % 12);
    std::atomic<int> batches{0};
    std::atomic<bool> done{false}, reached_end{false};
    std::thread applier([&, from = applied] {
      std::mt19937 batch_rng(static_cast<uint32_t>(from));
      for (uint64_t next = from; next < kChanges && !fs->power_off();) {
        uint64_t n = std::min<uint64_t>(1 + batch_rng() % 64, kChanges - next);
        std::vector<v1::Change> batch(changes.begin() + next, changes.begin() + next + n);
        if (!replica->Apply(batch).ok()) break;
        next += n;
        applied_at_cut = next;
        ++batches;
        if (next == kChanges) reached_end = true;
      }
      done = true;
    });
    while (batches.load() < cut_after && !done.load()) std::this_thread::yield();
    if (done.load() && reached_end.load()) {
      // Caught up before the cut: this time the power stays on.
      applier.join();
      continue;
    }
    fs->CutPower();
    applier.join();
    replica.reset();
    bytes_dropped += fs->RestorePower().bytes;
    if (losses > 400) FAIL() << "the replica does not get to the end";
  }
  std::printf("%d power losses under a replica applying %llu changes; applied sequence "
              "went back %d times, never past what it held; %llu unsynced bytes dropped\n",
              losses, static_cast<unsigned long long>(kChanges), went_back,
              static_cast<unsigned long long>(bytes_dropped));
  EXPECT_GT(went_back, 0) << "no loss cost the replica anything: the harness proves nothing";
}

}  // namespace
}  // namespace kouryu::query
