#include "query-service/replica.h"

#include <rocksdb/db.h>
#include <rocksdb/metadata.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/keys.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "query-service/search_index.h"
#include "query-service/search_text.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

using ::kouryu::testing::ScopedTempDir;

v1::Change Upsert(uint64_t sequence, const RecordName& name,
                  const std::string& title = "交流") {
  v1::Change change;
  change.set_sequence(sequence);
  change.set_kind(v1::CHANGE_KIND_UPSERT);
  change.set_name(FormatRecordName(name));
  v1::Record* record = change.mutable_record();
  record->set_name(change.name());
  record->mutable_city()->set_id(name.city);
  record->mutable_bureau()->set_id(name.bureau);
  record->set_title(title);
  record->set_fiscal_year(2019);
  return change;
}

v1::Change Delete(uint64_t sequence, const RecordName& name) {
  v1::Change change;
  change.set_sequence(sequence);
  change.set_kind(v1::CHANGE_KIND_DELETE);
  change.set_name(FormatRecordName(name));
  return change;
}

// Records spread over cities whose IDs are prefixes of each other and over
// two bureaus.
std::vector<RecordName> Dataset() {
  std::vector<RecordName> names;
  for (const char* city : {"a", "a-b", "ab", "b", "seoul"}) {
    for (const char* bureau : {"education", "environment"}) {
      for (const char* record : {"r1", "r2", "r10"}) {
        names.push_back({city, bureau, record});
      }
    }
  }
  return names;
}

// Files of the replica's families, by family and level.
std::map<std::string, std::map<int, int>> FilesByLevel(rocksdb::DB& db) {
  std::vector<rocksdb::LiveFileMetaData> files;
  db.GetLiveFilesMetaData(&files);
  std::map<std::string, std::map<int, int>> out;
  for (const rocksdb::LiveFileMetaData& file : files) {
    ++out[file.column_family_name][file.level];
  }
  return out;
}

uint64_t MemtableEntries(rocksdb::DB& db) {
  uint64_t active = 0, immutable = 0;
  EXPECT_TRUE(db.GetAggregatedIntProperty(
      "rocksdb.num-entries-active-mem-table", &active));
  EXPECT_TRUE(db.GetAggregatedIntProperty(
      "rocksdb.num-entries-imm-mem-tables", &immutable));
  return active + immutable;
}

// A title of about 2 KB, different for each sequence.
std::string Title(uint64_t sequence) {
  std::string title = absl::StrCat("交流 ", sequence);
  for (int i = 0; title.size() < 2000; ++i) {
    absl::StrAppend(&title, " 派遣", (sequence * 31 + i) % 997);
  }
  return title;
}

TEST(ReplicaSettleTest, APauseAfterEnoughWritesFlushesAndCompactsEveryFamily) {
  ScopedTempDir dir;
  ReplicaOptions options;
  options.settle_after_bytes = 1;  // Any batch.
  options.settle_quiet = absl::Milliseconds(1);
  // Memtables of 64 KiB: the batches below fill several, so each family
  // has level-0 files (and maybe more levels) before it settles.
  options.write_buffer_bytes = 256 << 10;
  absl::StatusOr<std::unique_ptr<Replica>> opened =
      Replica::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Replica& replica = **opened;
  rocksdb::DB& db = *replica.rocksdb();
  const std::vector<RecordName> names = Dataset();
  uint64_t sequence = 0;
  for (int settle = 0; settle < 2; ++settle) {
    SCOPED_TRACE(settle);
    for (int batch = 0; batch < 8; ++batch) {
      std::vector<v1::Change> changes;
      for (const RecordName& name : names) {
        ++sequence;
        changes.push_back(Upsert(sequence, name, Title(sequence)));
      }
      ASSERT_TRUE(replica.Apply(changes).ok());
    }
    ASSERT_TRUE(replica.AwaitSettled(absl::Now() + absl::Seconds(60)));
    EXPECT_EQ(MemtableEntries(db), 0u);
    const std::map<std::string, std::map<int, int>> files = FilesByLevel(db);
    for (const std::string& family : ReplicaFamilies::Names()) {
      SCOPED_TRACE(family);
      ASSERT_TRUE(files.count(family));
      const std::map<int, int>& levels = files.at(family);
      // One level per family, below level 0.
      EXPECT_EQ(levels.size(), 1u);
      EXPECT_EQ(levels.count(0), 0u);
    }
    // Nothing lost: every record reads back as last written.
    const uint64_t first_of_last_batch = sequence - names.size() + 1;
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StatusOr<std::string> bytes = replica.GetBytes(RecordKey(names[i]));
      ASSERT_TRUE(bytes.ok()) << bytes.status();
      v1::Record record;
      ASSERT_TRUE(record.ParseFromString(*bytes));
      EXPECT_EQ(record.title(), Title(first_of_last_batch + i));
    }
    EXPECT_EQ(replica.applied_sequence(), sequence);
  }
}

TEST(ReplicaSettleTest, ClosingDuringASettleLosesNothing) {
  ScopedTempDir dir;
  ReplicaOptions options;
  options.settle_after_bytes = 1;
  options.settle_quiet = absl::ZeroDuration();
  const std::vector<RecordName> names = Dataset();
  uint64_t sequence = 0;
  for (int round = 0; round < 5; ++round) {
    absl::StatusOr<std::unique_ptr<Replica>> opened =
        Replica::Open(dir.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ((*opened)->applied_sequence(), sequence);
    std::vector<v1::Change> changes;
    for (const RecordName& name : names) changes.push_back(Upsert(++sequence, name));
    ASSERT_TRUE((*opened)->Apply(changes).ok());
    // Closed at once: the settle is waiting, flushing or compacting.
  }
  absl::StatusOr<std::unique_ptr<Replica>> opened =
      Replica::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ((*opened)->applied_sequence(), sequence);
  absl::StatusOr<int64_t> count = (*opened)->Count(*ParseParent("cities/-"));
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, static_cast<int64_t>(names.size()));
}

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }

  void Reopen() {
    replica_.reset();
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        Replica::Open(dir_.path(), ReplicaOptions());
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
  }

  // Applies the dataset as changes 1..n, in an order other than key order.
  void ApplyDataset() {
    std::vector<RecordName> names = Dataset();
    std::reverse(names.begin(), names.end());
    std::vector<v1::Change> changes;
    for (const RecordName& name : names) {
      changes.push_back(Upsert(changes.size() + 1, name));
    }
    ASSERT_TRUE(replica_->Apply(changes).ok());
  }

  // The record stored under `name`, through GetBytes.
  absl::StatusOr<v1::Record> Get(const RecordName& name) {
    absl::StatusOr<std::string> bytes = replica_->GetBytes(RecordKey(name));
    if (!bytes.ok()) return bytes.status();
    v1::Record record;
    if (!record.ParseFromString(*bytes)) {
      return absl::InternalError("the stored record does not parse");
    }
    return record;
  }

  // One page of a scan, as the query service pages ForEach.
  struct Page {
    std::vector<v1::Record> records;
    // Key of the last record returned; empty when the scan is complete.
    std::string next_after_key;
  };
  absl::StatusOr<Page> Scan(const Parent& parent, const std::string& after,
                            size_t limit) {
    Page page;
    std::string last_key;
    absl::Status status = replica_->ForEach(
        parent, after, [&](const std::string& key, v1::Record& record) {
          if (page.records.size() == limit) {
            page.next_after_key = last_key;
            return false;
          }
          page.records.push_back(std::move(record));
          last_key = key;
          return true;
        });
    if (!status.ok()) return status;
    return page;
  }

  // Every record under `parent`, page by page.
  std::vector<std::string> ScanAll(const std::string& parent, size_t limit) {
    absl::StatusOr<Parent> parsed = ParseParent(parent);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) return {};
    std::vector<std::string> names;
    std::string after;
    for (int pages = 0; pages < 1000; ++pages) {
      absl::StatusOr<Page> page = Scan(*parsed, after, limit);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      EXPECT_LE(page->records.size(), limit);
      for (const v1::Record& r : page->records) names.push_back(r.name());
      if (page->next_after_key.empty()) return names;
      EXPECT_EQ(page->records.size(), limit) << "a short page that is not last";
      after = page->next_after_key;
    }
    ADD_FAILURE() << "the scan of " << parent << " does not end";
    return names;
  }

  int64_t MustCount(const std::string& parent) {
    absl::StatusOr<Parent> parsed = ParseParent(parent);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (!parsed.ok()) return -1;
    absl::StatusOr<int64_t> count = replica_->Count(*parsed);
    EXPECT_TRUE(count.ok()) << count.status();
    return count.ok() ? *count : -1;
  }

  ScopedTempDir dir_;
  std::unique_ptr<Replica> replica_;
};

const RecordName kSeoul{"seoul", "policy-planning", "r1"};
const RecordName kBeijing{"beijing", "policy-planning", "r2"};

TEST_F(ReplicaTest, EmptyReplica) {
  EXPECT_EQ(replica_->applied_sequence(), 0u);
  EXPECT_EQ(Get(kSeoul).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MustCount("cities/-"), 0);
  EXPECT_THAT(ScanAll("cities/-", 10), IsEmpty());
}

TEST_F(ReplicaTest, ApplyUpsertsAndDeletes) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul, "ソウル"), Upsert(2, kBeijing)})
                  .ok());
  EXPECT_EQ(replica_->applied_sequence(), 2u);
  absl::StatusOr<v1::Record> seoul = Get(kSeoul);
  ASSERT_TRUE(seoul.ok()) << seoul.status();
  EXPECT_EQ(seoul->title(), "ソウル");
  EXPECT_EQ(seoul->name(), FormatRecordName(kSeoul));

  ASSERT_TRUE(
      replica_->Apply({Upsert(3, kSeoul, "ソウル特別市"), Delete(4, kBeijing)})
          .ok());
  EXPECT_EQ(replica_->applied_sequence(), 4u);
  seoul = Get(kSeoul);
  ASSERT_TRUE(seoul.ok());
  EXPECT_EQ(seoul->title(), "ソウル特別市");
  EXPECT_EQ(Get(kBeijing).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MustCount("cities/-"), 1);
  EXPECT_EQ(MustCount("cities/-/bureaus/policy-planning"), 1);
  EXPECT_THAT(ScanAll("cities/-/bureaus/policy-planning", 10),
              ElementsAre(FormatRecordName(kSeoul)));
}

TEST_F(ReplicaTest, SkipsChangesAlreadyApplied) {
  const std::vector<v1::Change> batch = {Upsert(1, kSeoul, "一"),
                                         Upsert(2, kBeijing, "二")};
  ASSERT_TRUE(replica_->Apply(batch).ok());
  ASSERT_TRUE(replica_->Apply(batch).ok());
  EXPECT_EQ(replica_->applied_sequence(), 2u);
  EXPECT_EQ(MustCount("cities/-"), 2);
  EXPECT_EQ(ScanAll("cities/-", 10).size(), 2u);

  // A change at or below the applied sequence is skipped even when its
  // content differs.
  ASSERT_TRUE(replica_->Apply({Upsert(2, kSeoul, "古い"), Delete(1, kBeijing),
                               Upsert(3, kSeoul, "三")})
                  .ok());
  EXPECT_EQ(replica_->applied_sequence(), 3u);
  absl::StatusOr<v1::Record> seoul = Get(kSeoul);
  ASSERT_TRUE(seoul.ok());
  EXPECT_EQ(seoul->title(), "三");
  EXPECT_TRUE(Get(kBeijing).ok());
}

TEST_F(ReplicaTest, EmptyBatchChangesNothing) {
  ASSERT_TRUE(replica_->Apply({}).ok());
  EXPECT_EQ(replica_->applied_sequence(), 0u);
}

TEST_F(ReplicaTest, BadChangeAppliesNothing) {
  v1::Change bad_name = Upsert(2, kBeijing);
  bad_name.set_name("cities/Beijing");
  v1::Change no_kind = Upsert(2, kBeijing);
  no_kind.set_kind(v1::CHANGE_KIND_UNSPECIFIED);
  for (const v1::Change& bad : {bad_name, no_kind}) {
    absl::Status status = replica_->Apply({Upsert(1, kSeoul), bad});
    EXPECT_FALSE(status.ok()) << bad.DebugString();
    EXPECT_EQ(replica_->applied_sequence(), 0u);
    EXPECT_EQ(Get(kSeoul).status().code(),
              absl::StatusCode::kNotFound);
  }
}

TEST_F(ReplicaTest, AppliedSequencePersistsAcrossReopen) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul), Upsert(2, kBeijing),
                               Delete(3, kBeijing)})
                  .ok());
  Reopen();
  ASSERT_NE(replica_, nullptr);
  EXPECT_EQ(replica_->applied_sequence(), 3u);
  EXPECT_TRUE(Get(kSeoul).ok());
  EXPECT_EQ(Get(kBeijing).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(MustCount("cities/-"), 1);

  // Resuming after a restart skips what was applied before it.
  ASSERT_TRUE(replica_->Apply({Upsert(3, kBeijing), Upsert(4, kBeijing)}).ok());
  EXPECT_EQ(replica_->applied_sequence(), 4u);
  EXPECT_EQ(MustCount("cities/-"), 2);
}

TEST_F(ReplicaTest, HistoryIdIsKeptAndReplacedByASnapshot) {
  EXPECT_EQ(replica_->history_id(), "");
  ASSERT_TRUE(replica_->SetHistoryId("old").ok());
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul), Upsert(2, kBeijing)}).ok());
  Reopen();
  EXPECT_EQ(replica_->history_id(), "old");

  // A snapshot of another history: the first part empties the replica and
  // records the new history with it.
  v1::SnapshotPart part;
  part.set_sequence(1);
  part.set_first(true);
  part.set_last(true);
  *part.add_records() = Upsert(1, kSeoul).record();
  ASSERT_TRUE(replica_->ApplySnapshotPart(part, "new").ok());
  EXPECT_EQ(replica_->history_id(), "new");
  EXPECT_EQ(replica_->applied_sequence(), 1u);
  EXPECT_EQ(Get(kBeijing).status().code(),
            absl::StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(replica_->history_id(), "new");
  EXPECT_EQ(MustCount("cities/-"), 1);
}

TEST_F(ReplicaTest, ScanAllCitiesPageByPage) {
  ApplyDataset();
  std::vector<RecordName> names = Dataset();
  std::sort(names.begin(), names.end(),
            [](const RecordName& a, const RecordName& b) {
              return RecordKey(a) < RecordKey(b);
            });
  std::vector<std::string> expected;
  for (const RecordName& n : names) expected.push_back(FormatRecordName(n));
  // Key order puts city "a" before "a-b" before "ab", and record "r1" before
  // "r10" before "r2".
  ASSERT_EQ(expected.front(), "cities/a/bureaus/education/records/r1");
  ASSERT_EQ(expected[1], "cities/a/bureaus/education/records/r10");
  ASSERT_EQ(expected[6], "cities/a-b/bureaus/education/records/r1");

  for (size_t limit : {1, 2, 3, 7, 29, 30, 31, 100}) {
    EXPECT_THAT(ScanAll("cities/-", limit), ElementsAreArray(expected))
        << "limit " << limit;
  }
  EXPECT_EQ(MustCount("cities/-"), static_cast<int64_t>(expected.size()));
}

TEST_F(ReplicaTest, ScanByParent) {
  ApplyDataset();
  struct Case {
    std::string parent;
    std::vector<std::string> names;
  };
  const std::vector<Case> cases = {
      {"cities/a",
       {"cities/a/bureaus/education/records/r1",
        "cities/a/bureaus/education/records/r10",
        "cities/a/bureaus/education/records/r2",
        "cities/a/bureaus/environment/records/r1",
        "cities/a/bureaus/environment/records/r10",
        "cities/a/bureaus/environment/records/r2"}},
      {"cities/a-b/bureaus/environment",
       {"cities/a-b/bureaus/environment/records/r1",
        "cities/a-b/bureaus/environment/records/r10",
        "cities/a-b/bureaus/environment/records/r2"}},
      {"cities/seoul/bureaus/education",
       {"cities/seoul/bureaus/education/records/r1",
        "cities/seoul/bureaus/education/records/r10",
        "cities/seoul/bureaus/education/records/r2"}},
      {"cities/-/bureaus/environment",
       {"cities/a/bureaus/environment/records/r1",
        "cities/a/bureaus/environment/records/r10",
        "cities/a/bureaus/environment/records/r2",
        "cities/a-b/bureaus/environment/records/r1",
        "cities/a-b/bureaus/environment/records/r10",
        "cities/a-b/bureaus/environment/records/r2",
        "cities/ab/bureaus/environment/records/r1",
        "cities/ab/bureaus/environment/records/r10",
        "cities/ab/bureaus/environment/records/r2",
        "cities/b/bureaus/environment/records/r1",
        "cities/b/bureaus/environment/records/r10",
        "cities/b/bureaus/environment/records/r2",
        "cities/seoul/bureaus/environment/records/r1",
        "cities/seoul/bureaus/environment/records/r10",
        "cities/seoul/bureaus/environment/records/r2"}},
      {"cities/tokyo", {}},
      {"cities/a/bureaus/police", {}},
      {"cities/-/bureaus/police", {}},
      {"cities/-/bureaus/educatio", {}},
  };
  for (const Case& c : cases) {
    for (size_t limit : {1, 2, 4, 100}) {
      EXPECT_THAT(ScanAll(c.parent, limit), ElementsAreArray(c.names))
          << c.parent << " limit " << limit;
    }
    EXPECT_EQ(MustCount(c.parent), static_cast<int64_t>(c.names.size()))
        << c.parent;
  }
}

// ForEachBytesReverse visits what ForEachBytes visits, last first, and
// starts before the key it is given; cities whose IDs are prefixes of each
// other ("a", "a-b", "ab") end where they should.
TEST_F(ReplicaTest, ReverseScanIsTheForwardScanReversed) {
  ApplyDataset();
  for (const std::string parent :
       {"cities/-", "cities/a", "cities/a-b", "cities/ab/bureaus/education",
        "cities/seoul", "cities/-/bureaus/environment", "cities/tokyo",
        "cities/-/bureaus/police"}) {
    SCOPED_TRACE(parent);
    absl::StatusOr<Parent> parsed = ParseParent(parent);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    std::vector<std::string> forward_keys;
    std::vector<std::string> forward;
    ASSERT_TRUE(
        replica_
            ->ForEachBytes(*parsed, "",
                           [&](absl::string_view key, absl::string_view bytes) {
                             v1::Record r;
                             EXPECT_TRUE(r.ParseFromArray(
                                 bytes.data(), static_cast<int>(bytes.size())));
                             forward_keys.emplace_back(key);
                             forward.push_back(r.name());
                             return true;
                           })
            .ok());
    auto reverse_from = [&](const std::string& before) {
      std::vector<std::string> names;
      absl::Status s = replica_->ForEachBytesReverse(
          *parsed, before, [&](absl::string_view, absl::string_view bytes) {
            v1::Record r;
            EXPECT_TRUE(
                r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
            names.push_back(r.name());
            return true;
          });
      EXPECT_TRUE(s.ok()) << s;
      return names;
    };
    EXPECT_THAT(reverse_from(""),
                ElementsAreArray(forward.rbegin(), forward.rend()));
    for (size_t i = 0; i < forward_keys.size(); ++i) {
      // Before the i-th key: the first i records, last first.
      EXPECT_THAT(reverse_from(forward_keys[i]),
                  ElementsAreArray(forward.rend() - i, forward.rend()))
          << "before key " << i;
    }
  }
}

TEST_F(ReplicaTest, ScanSeesDeletesAndMoves) {
  ApplyDataset();
  const uint64_t next = replica_->applied_sequence() + 1;
  const RecordName old_name{"a", "education", "r1"};
  const RecordName moved_old{"ab", "environment", "r2"};
  const RecordName moved_new{"zz", "environment", "r2"};
  ASSERT_TRUE(replica_->Apply({Delete(next, old_name),
                               Delete(next + 1, moved_old),
                               Upsert(next + 2, moved_new)})
                  .ok());
  std::vector<std::string> env = ScanAll("cities/-/bureaus/environment", 4);
  EXPECT_EQ(env.size(), 15u);
  EXPECT_EQ(env.back(), FormatRecordName(moved_new));
  EXPECT_EQ(std::count(env.begin(), env.end(), FormatRecordName(moved_old)),
            0);
  std::vector<std::string> edu = ScanAll("cities/-/bureaus/education", 4);
  EXPECT_EQ(edu.size(), 14u);
  EXPECT_EQ(std::count(edu.begin(), edu.end(), FormatRecordName(old_name)), 0);
  EXPECT_EQ(MustCount("cities/-/bureaus/education"), 14);
  EXPECT_EQ(MustCount("cities/-"), 29);
  EXPECT_EQ(MustCount("cities/zz"), 1);
}

TEST_F(ReplicaTest, ScanPageRecordsCarryContent) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul, "ソウル")}).ok());
  absl::StatusOr<Page> page = Scan(Parent{"seoul", ""}, "", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].title(), "ソウル");
  EXPECT_EQ(page->next_after_key, "");
}

TEST_F(ReplicaTest, GetMissingIsNotFound) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul)}).ok());
  for (const RecordName& missing :
       {RecordName{"seoul", "policy-planning", "r2"},
        RecordName{"seoul", "education", "r1"},
        RecordName{"seoul-x", "policy-planning", "r1"}}) {
    EXPECT_EQ(Get(missing).status().code(),
              absl::StatusCode::kNotFound)
        << FormatRecordName(missing);
  }
}

TEST_F(ReplicaTest, WaitForSequenceReached) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul), Upsert(2, kBeijing)}).ok());
  EXPECT_TRUE(replica_->WaitForSequence(0, absl::Now()).ok());
  EXPECT_TRUE(replica_->WaitForSequence(2, absl::Now()).ok());
  EXPECT_TRUE(replica_->WaitForSequence(1, absl::InfiniteFuture()).ok());
}

TEST_F(ReplicaTest, WaitForSequenceDeadlinePassed) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul)}).ok());
  EXPECT_EQ(replica_->WaitForSequence(2, absl::Now()).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(replica_->WaitForSequence(2, absl::InfinitePast()).code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ReplicaTest, SequenceNotReachedSaysHowFarTheReplicaGot) {
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul)}).ok());
  absl::Status behind = replica_->WaitForSequence(5, absl::Now());
  EXPECT_EQ(ReasonOf(behind), "REPLICA_BEHIND");
  EXPECT_EQ(MetadataOf(behind), (ErrorMetadata{{"minSequence", "5"},
                                               {"appliedSequence", "1"}}));
  replica_->StopWaiting();
  absl::Status stopping = replica_->WaitForSequence(7, absl::InfiniteFuture());
  EXPECT_EQ(ReasonOf(stopping), "REPLICA_STOPPING");
  EXPECT_EQ(MetadataOf(stopping), (ErrorMetadata{{"minSequence", "7"},
                                                 {"appliedSequence", "1"}}));
}

TEST_F(ReplicaTest, WaitForSequenceAfterStopWaiting) {
  replica_->StopWaiting();
  EXPECT_EQ(replica_->WaitForSequence(1, absl::InfiniteFuture()).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ReplicaTest, StopWaitingFromAnotherThread) {
  std::thread stopper([this] { replica_->StopWaiting(); });
  EXPECT_EQ(replica_->WaitForSequence(1, absl::InfiniteFuture()).code(),
            absl::StatusCode::kUnavailable);
  stopper.join();
}

TEST_F(ReplicaTest, WaitWakesWhenApplied) {
  std::thread applier([this] {
    EXPECT_TRUE(replica_->Apply({Upsert(1, kSeoul), Upsert(2, kBeijing)}).ok());
  });
  EXPECT_TRUE(replica_->WaitForSequence(2, absl::InfiniteFuture()).ok());
  applier.join();
}

// The replica has one applier: a write while another runs is refused and
// changes nothing. A progress listener runs while the applier still holds
// its role, so writes from it meet a running write deterministically.
TEST_F(ReplicaTest, SecondApplierIsRefused) {
  std::vector<absl::Status> refused;
  std::vector<uint64_t> seen;
  const int listener = replica_->AddProgressListener(
      [&](uint64_t applied, bool stopped) {
        if (stopped) return;
        seen.push_back(applied);
        refused.push_back(replica_->Apply({Upsert(applied + 1, kBeijing)}));
        v1::SnapshotPart part;
        part.set_first(true);
        part.set_last(true);
        part.set_sequence(applied + 1);
        refused.push_back(replica_->ApplySnapshotPart(part, "other"));
        refused.push_back(replica_->SetHistoryId("other"));
        // Reads do not wait for the applier.
        EXPECT_TRUE(Get(kSeoul).ok());
        EXPECT_EQ(MustCount("cities/-"), 1);
      });
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul)}).ok());
  replica_->RemoveProgressListener(listener);
  EXPECT_THAT(seen, ElementsAre(1u));
  ASSERT_EQ(refused.size(), 3u);
  for (const absl::Status& status : refused) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  }
  EXPECT_EQ(replica_->applied_sequence(), 1u);
  EXPECT_EQ(replica_->history_id(), "");
  EXPECT_EQ(Get(kBeijing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MustCount("cities/-"), 1);

  // Once the first write has returned, the next one applies.
  ASSERT_TRUE(replica_->Apply({Upsert(2, kBeijing)}).ok());
  EXPECT_EQ(replica_->applied_sequence(), 2u);
  EXPECT_EQ(MustCount("cities/-"), 2);
}

// Listeners hear every batch that advances the applied sequence, in order,
// and StopWaiting; a removed one hears nothing more.
TEST_F(ReplicaTest, ProgressListenersHearBatchesAndStop) {
  std::vector<std::pair<uint64_t, bool>> heard;
  const int listener = replica_->AddProgressListener(
      [&](uint64_t applied, bool stopped) { heard.emplace_back(applied, stopped); });
  ASSERT_TRUE(replica_->Apply({Upsert(1, kSeoul), Upsert(2, kBeijing)}).ok());
  ASSERT_TRUE(replica_->Apply({Upsert(2, kBeijing)}).ok());  // Nothing new.
  ASSERT_TRUE(replica_->Apply({Delete(3, kBeijing)}).ok());
  replica_->StopWaiting();
  replica_->RemoveProgressListener(listener);
  ASSERT_TRUE(replica_->Apply({Upsert(4, kBeijing)}).ok());
  EXPECT_THAT(heard, ElementsAre(std::pair(2ull, false), std::pair(3ull, false),
                                 std::pair(3ull, true)));
}

// The search index: postings by level (3 per title occurrence, 1 per
// results occurrence), then creation order; counts per gram; updates,
// moves and deletes in the same batch as the record.
class SearchIndexTest : public ReplicaTest {
 protected:
  // (level, index ID) of every posting of `gram`.
  std::vector<std::pair<int, uint64_t>> Postings(const std::string& gram) {
    std::unique_ptr<Replica::SearchReader> reader = replica_->NewSearchReader();
    std::vector<std::pair<int, uint64_t>> out;
    absl::Status s = reader->ForEachPosting(gram, [&](int level, uint64_t id) {
      out.emplace_back(level, id);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    // The counts per level agree with the postings.
    absl::StatusOr<std::map<int, int64_t>> counts = reader->LevelCounts(gram);
    EXPECT_TRUE(counts.ok()) << counts.status();
    std::map<int, int64_t> want;
    for (const auto& [level, id] : out) ++want[level];
    EXPECT_EQ(counts.value_or(std::map<int, int64_t>{}), want) << gram;
    return out;
  }

  static v1::Change Created(uint64_t sequence, const RecordName& name,
                            const std::string& title,
                            const std::string& results) {
    v1::Change change = Upsert(sequence, name, title);
    change.mutable_record()->set_results_text(results);
    change.mutable_record()->set_create_sequence(sequence);
    return change;
  }
};

TEST_F(SearchIndexTest, PostingsByLevelThenCreationOrder) {
  const RecordName a{"seoul", "education", "a"}, b{"paris", "education", "b"},
      c{"beijing", "education", "c"};
  ASSERT_TRUE(replica_
                  ->Apply({Created(1, a, "派遣", "派遣と派遣"),
                           Created(2, b, "交流", "派遣"),
                           Created(3, c, "派遣", "")})
                  .ok());
  // a: 3 + 2; c: 3; b: 1.
  EXPECT_THAT(Postings("派遣"), ElementsAre(std::pair(5, 1ull), std::pair(3, 3ull),
                                          std::pair(1, 2ull)));
  EXPECT_THAT(Postings("派"), ElementsAre(std::pair(5, 1ull), std::pair(3, 3ull),
                                        std::pair(1, 2ull)));
  EXPECT_THAT(Postings("交流"), ElementsAre(std::pair(3, 2ull)));
  EXPECT_THAT(Postings("遣と"), ElementsAre(std::pair(1, 1ull)));

  // An update moves b's postings to their new levels and drops old grams;
  // a move keeps the index ID; a delete removes every posting.
  v1::Change update = Created(4, b, "派遣派遣", "");
  update.mutable_record()->set_create_sequence(2);
  v1::Change moved = Created(6, {"moscow", "education", "c"}, "派遣", "");
  moved.mutable_record()->set_create_sequence(3);
  ASSERT_TRUE(replica_->Apply({update, Delete(5, c), moved}).ok());
  EXPECT_THAT(Postings("派遣"), ElementsAre(std::pair(6, 2ull), std::pair(5, 1ull),
                                          std::pair(3, 3ull)));
  EXPECT_THAT(Postings("交流"), ElementsAre());
  absl::StatusOr<Replica::SearchReader::Entry> entry =
      replica_->NewSearchReader()->GetEntry(3);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->key, RecordKey({"moscow", "education", "c"}));
  EXPECT_EQ(entry->fields.title, "派遣");

  ASSERT_TRUE(replica_->Apply({Delete(7, a)}).ok());
  EXPECT_THAT(Postings("遣と"), ElementsAre());
  EXPECT_THAT(Postings("派遣"), ElementsAre(std::pair(6, 2ull), std::pair(3, 3ull)));
  EXPECT_EQ(replica_->NewSearchReader()->GetEntry(1).status().code(),
            absl::StatusCode::kNotFound);

  // The index survives a reopen.
  Reopen();
  EXPECT_THAT(Postings("派遣"), ElementsAre(std::pair(6, 2ull), std::pair(3, 3ull)));
}

TEST_F(SearchIndexTest, NamesOfCitiesAndBureauAreIndexedWithTheRecord) {
  const RecordName a{"seoul", "education", "a"};
  v1::Change created = Created(1, a, "派遣", "");
  v1::Record* record = created.mutable_record();
  record->mutable_city()->set_name_ja("ソウル特別市");
  record->mutable_city()->set_name_en("Seoul");
  *record->add_mentioned_cities() = record->city();
  v1::City* paris = record->add_mentioned_cities();
  paris->set_id("paris");
  paris->set_name_en("Paris");
  record->mutable_bureau()->set_name_en("Board of Education");
  ASSERT_TRUE(replica_->Apply({created}).ok());
  // Each name once (Seoul is the city and a mentioned city), folded.
  EXPECT_THAT(Postings("eo"), ElementsAre(std::pair(1, 1ull)));
  EXPECT_THAT(Postings("pa"), ElementsAre(std::pair(1, 1ull)));
  EXPECT_THAT(Postings("ソウ"), ElementsAre(std::pair(1, 1ull)));
  // seoul 1, board of education 3.
  EXPECT_THAT(Postings("o"), ElementsAre(std::pair(4, 1ull)));
  EXPECT_THAT(Postings("lp"), ElementsAre());  // Not across two names.
  absl::StatusOr<Replica::SearchReader::Entry> entry =
      replica_->NewSearchReader()->GetEntry(1);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_THAT(entry->fields.names,
              ElementsAre("ソウル特別市", "seoul", "paris", "board of education"));

  // A record whose names change loses the old ones' postings.
  v1::Change renamed = Created(2, a, "派遣", "");
  renamed.mutable_record()->set_create_sequence(1);
  renamed.mutable_record()->mutable_bureau()->set_name_en("Bureau of Education");
  ASSERT_TRUE(replica_->Apply({renamed}).ok());
  EXPECT_THAT(Postings("eo"), ElementsAre());
  EXPECT_THAT(Postings("bu"), ElementsAre(std::pair(1, 1ull)));
  ASSERT_TRUE(replica_->Apply({Delete(3, a)}).ok());
  EXPECT_THAT(Postings("bu"), ElementsAre());
  EXPECT_THAT(Postings("o"), ElementsAre());
}

TEST_F(SearchIndexTest, AnotherLayoutStartsOver) {
  // 2 is the layout before the names of cities and bureaus were searched.
  for (const char* other : {"1", "2"}) {
    SCOPED_TRACE(other);
    ASSERT_TRUE(replica_->Apply({Created(1, kSeoul, "派遣", "")}).ok());
    replica_.reset();
    {
      // Mark the data as written by another layout version.
      std::vector<std::string> names;
      ASSERT_TRUE(rocksdb::DB::ListColumnFamilies({}, dir_.path(), &names).ok());
      std::vector<rocksdb::ColumnFamilyDescriptor> families;
      for (const std::string& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      rocksdb::DB* raw = nullptr;
      ASSERT_TRUE(rocksdb::DB::Open({}, dir_.path(), families, &handles, &raw).ok());
      ASSERT_TRUE(raw->Put({}, "format", other).ok());
      for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
      delete raw;
    }
    Reopen();
    EXPECT_EQ(replica_->applied_sequence(), 0u);
    EXPECT_EQ(MustCount("cities/-"), 0);
    EXPECT_THAT(Postings("派遣"), ElementsAre());
  }
}

}  // namespace
}  // namespace kouryu::query

namespace kouryu::query {
namespace {

// A batch large enough to be prepared on a helper thread (PreparedChanges,
// with the stored state read ahead) writes what the same changes write
// applied one at a time, where nothing is read ahead: replacements of
// stored records, a name touched twice in one batch, records moved to
// another name under the same index ID, deletes, and names deleted and
// created again.
TEST(ReplicaPreparedTest, ABigBatchWritesWhatTheSameChangesOneByOneWrite) {
  auto upsert = [](uint64_t sequence, const RecordName& name,
                   uint64_t create_sequence, uint64_t text) {
    std::string title = absl::StrCat("交流 ", text);
    for (int i = 0; i < 12; ++i) absl::StrAppend(&title, " 派遣", (text * 31 + i) % 97);
    v1::Change change = Upsert(sequence, name, title);
    v1::Record* record = change.mutable_record();
    record->set_create_sequence(create_sequence);
    record->set_results_text(absl::StrCat("実績 ", text, " visit ", text % 13));
    record->set_etag(absl::StrCat("e", sequence));
    return change;
  };
  auto name_of = [](int i) {
    const char* cities[] = {"a", "b", "seoul"};
    const char* bureaus[] = {"education", "environment"};
    return RecordName{cities[i % 3], bureaus[(i / 3) % 2], absl::StrCat("r", i)};
  };
  constexpr int kRecords = 300;
  std::vector<std::vector<v1::Change>> batches(2);
  uint64_t sequence = 0;
  for (int i = 0; i < kRecords; ++i) {
    ++sequence;
    batches[0].push_back(upsert(sequence, name_of(i), sequence, sequence));
  }
  for (int i = 0; i < kRecords; ++i) {
    const uint64_t created = static_cast<uint64_t>(i) + 1;
    switch (i % 6) {
      case 0:  // Replaced with another text.
        ++sequence;
        batches[1].push_back(upsert(sequence, name_of(i), created, sequence * 7));
        break;
      case 1:  // Replaced twice in the batch.
        for (int twice = 0; twice < 2; ++twice) {
          ++sequence;
          batches[1].push_back(upsert(sequence, name_of(i), created, sequence * 11));
        }
        break;
      case 2: {  // Moved: the old name deleted, a new one, same index ID.
        RecordName moved = name_of(i);
        moved.city = "moved";
        batches[1].push_back(Delete(++sequence, name_of(i)));
        ++sequence;
        batches[1].push_back(upsert(sequence, moved, created, created));
        break;
      }
      case 3:  // Deleted.
        batches[1].push_back(Delete(++sequence, name_of(i)));
        break;
      case 4:  // Deleted, then created again: a new index ID.
        batches[1].push_back(Delete(++sequence, name_of(i)));
        ++sequence;
        batches[1].push_back(upsert(sequence, name_of(i), sequence, sequence * 3));
        break;
      default:  // Left as it is.
        break;
    }
  }

  ScopedTempDir batched_dir, single_dir;
  absl::StatusOr<std::unique_ptr<Replica>> batched =
      Replica::Open(batched_dir.path(), {});
  absl::StatusOr<std::unique_ptr<Replica>> single =
      Replica::Open(single_dir.path(), {});
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_TRUE(single.ok()) << single.status();
  for (const std::vector<v1::Change>& batch : batches) {
    ASSERT_GE(batch.size(), 200u);
    ASSERT_TRUE((*batched)->Apply(batch).ok());
    for (const v1::Change& change : batch) {
      ASSERT_TRUE((*single)->Apply({change}).ok());
    }
  }

  absl::StatusOr<ContentDigest> a = (*batched)->Digest();
  absl::StatusOr<ContentDigest> b = (*single)->Digest();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->sequence, b->sequence);
  EXPECT_EQ(a->record_count, b->record_count);
  EXPECT_EQ(a->digest, b->digest);
  auto cities = [](const Replica& replica) {
    std::map<std::string, int64_t> out;
    for (const CityCount& c : replica.Cities()) out[c.city.id()] = c.records;
    return out;
  };
  EXPECT_EQ(cities(**batched), cities(**single));

  // Every gram of every text written, and every index ID: the same
  // postings, counts and entries.
  std::set<std::string> grams;
  for (const std::vector<v1::Change>& batch : batches) {
    for (const v1::Change& change : batch) {
      if (change.kind() != v1::CHANGE_KIND_UPSERT) continue;
      for (const IndexedGram& g : IndexedGrams(FoldedFields(change.record()))) {
        grams.insert(std::string(g.gram.view()));
      }
    }
  }
  ASSERT_GT(grams.size(), 100u);
  std::unique_ptr<SearchReader> ra = (*batched)->NewSearchReader();
  std::unique_ptr<SearchReader> rb = (*single)->NewSearchReader();
  auto postings = [](const SearchReader& reader, const std::string& gram) {
    std::vector<std::pair<int, uint64_t>> out;
    EXPECT_TRUE(reader
                    .ForEachPosting(gram,
                                    [&](int level, uint64_t id) {
                                      out.push_back({level, id});
                                      return true;
                                    })
                    .ok());
    return out;
  };
  for (const std::string& gram : grams) {
    absl::StatusOr<std::map<int, int64_t>> ca = ra->LevelCounts(gram);
    absl::StatusOr<std::map<int, int64_t>> cb = rb->LevelCounts(gram);
    ASSERT_TRUE(ca.ok() && cb.ok());
    EXPECT_EQ(*ca, *cb) << gram;
    EXPECT_EQ(postings(*ra, gram), postings(*rb, gram)) << gram;
  }
  for (uint64_t id = 1; id <= sequence; ++id) {
    absl::StatusOr<SearchEntry> ea = ra->GetEntry(id);
    absl::StatusOr<SearchEntry> eb = rb->GetEntry(id);
    ASSERT_EQ(ea.ok(), eb.ok()) << id;
    if (!ea.ok()) continue;
    EXPECT_EQ(ea->key, eb->key) << id;
    EXPECT_EQ(ea->fields.title, eb->fields.title) << id;
    EXPECT_EQ(ea->fields.results, eb->fields.results) << id;
  }
}

}  // namespace
}  // namespace kouryu::query
