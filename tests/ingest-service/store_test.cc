#include "ingest-service/store.h"

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/keys.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace kouryu::ingest {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

using ::kouryu::testing::ScopedTempDir;

v1::Record MakeRecord(const std::string& city, const std::string& bureau,
                      const std::string& id, const std::string& title) {
  v1::Record record;
  record.set_name(FormatRecordName({city, bureau, id}));
  record.set_fiscal_year(2019);
  record.set_category(v1::CATEGORY_SISTER_CITY_EXCHANGE);
  record.set_category_label("①姉妹・友好都市及び政策提携都市との交流");
  record.mutable_city()->set_id(city);
  record.mutable_bureau()->set_id(bureau);
  record.set_department("外務部");
  record.set_title(title);
  record.set_results_text("実績");
  record.mutable_source()->set_file_name("tokyo-exchange-r1.tsv");
  record.mutable_source()->set_row(4);
  return record;
}

std::vector<uint64_t> Sequences(const std::vector<v1::Change>& changes) {
  std::vector<uint64_t> out;
  for (const v1::Change& c : changes) out.push_back(c.sequence());
  return out;
}

std::vector<v1::Outcome> Outcomes(const std::vector<UpsertResult>& results) {
  std::vector<v1::Outcome> out;
  for (const UpsertResult& r : results) out.push_back(r.outcome);
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(dir_.path(), StoreOptions());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Upserts and returns the results; `*sequence` receives the sequence.
  std::vector<UpsertResult> MustUpsert(std::vector<v1::Record> records,
                                       uint64_t* sequence,
                                       bool dry_run = false) {
    absl::StatusOr<UpsertBatchResult> results =
        store_->Upsert(std::move(records), dry_run);
    EXPECT_TRUE(results.ok()) << results.status();
    if (!results.ok()) return {};
    *sequence = results->sequence;
    return std::move(results->records);
  }

  std::vector<v1::Change> MustReadChanges(uint64_t after,
                                          size_t max_count = 100) {
    absl::StatusOr<std::vector<v1::Change>> changes =
        store_->ReadChanges(after, max_count);
    EXPECT_TRUE(changes.ok()) << changes.status();
    return changes.ok() ? *std::move(changes) : std::vector<v1::Change>();
  }

  ScopedTempDir dir_;
  std::unique_ptr<Store> store_;
};

v1::Record Seoul() {
  return MakeRecord("seoul", "policy-planning", "r1", "大韓民国ソウル特別市");
}
v1::Record Beijing() {
  return MakeRecord("beijing", "policy-planning", "r2", "中華人民共和国北京市");
}
v1::Record Paris() {
  return MakeRecord("paris", "environment", "r3", "フランス共和国パリ市");
}

TEST_F(StoreTest, EmptyStore) {
  EXPECT_EQ(store_->HeadSequence(), 0u);
  EXPECT_THAT(MustReadChanges(0), IsEmpty());
  EXPECT_EQ(store_->Get(Seoul().name()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->stopping());
}

TEST_F(StoreTest, UpsertCreates) {
  uint64_t sequence = 0;
  std::vector<UpsertResult> results =
      MustUpsert({Seoul(), Beijing(), Paris()}, &sequence);
  EXPECT_THAT(Outcomes(results),
              ElementsAre(v1::OUTCOME_CREATED, v1::OUTCOME_CREATED,
                          v1::OUTCOME_CREATED));
  EXPECT_EQ(sequence, 3u);
  EXPECT_EQ(store_->HeadSequence(), 3u);

  for (const v1::Record& input : {Seoul(), Beijing(), Paris()}) {
    absl::StatusOr<v1::Record> stored = store_->Get(input.name());
    ASSERT_TRUE(stored.ok()) << input.name() << ": " << stored.status();
    EXPECT_EQ(stored->title(), input.title());
    EXPECT_FALSE(stored->etag().empty());
    EXPECT_EQ(stored->etag(), ContentEtag(input));
    EXPECT_TRUE(stored->has_create_time());
    EXPECT_TRUE(stored->has_update_time());
  }
  EXPECT_EQ(results[0].record.name(), Seoul().name());
  EXPECT_EQ(results[0].record.etag(), ContentEtag(Seoul()));

  std::vector<v1::Change> changes = MustReadChanges(0);
  EXPECT_THAT(Sequences(changes), ElementsAre(1, 2, 3));
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].kind(), v1::CHANGE_KIND_UPSERT);
  EXPECT_EQ(changes[0].name(), Seoul().name());
  EXPECT_EQ(changes[0].record().title(), Seoul().title());
  EXPECT_EQ(changes[1].name(), Beijing().name());
  EXPECT_EQ(changes[2].name(), Paris().name());
}

TEST_F(StoreTest, IdenticalUpsertIsUnchanged) {
  uint64_t sequence = 0;
  MustUpsert({Seoul(), Beijing()}, &sequence);
  ASSERT_EQ(sequence, 2u);
  absl::StatusOr<v1::Record> before = store_->Get(Seoul().name());
  ASSERT_TRUE(before.ok());

  // The source row is not content: a re-import from another file changes
  // nothing.
  v1::Record moved_row = Seoul();
  moved_row.mutable_source()->set_row(99);
  std::vector<UpsertResult> results =
      MustUpsert({moved_row, Beijing()}, &sequence);
  EXPECT_THAT(Outcomes(results),
              ElementsAre(v1::OUTCOME_UNCHANGED, v1::OUTCOME_UNCHANGED));
  EXPECT_EQ(sequence, 2u);
  EXPECT_EQ(store_->HeadSequence(), 2u);
  EXPECT_THAT(MustReadChanges(2), IsEmpty());

  absl::StatusOr<v1::Record> after = store_->Get(Seoul().name());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*before, *after));
  EXPECT_EQ(results[0].record.etag(), before->etag());
}

TEST_F(StoreTest, ContentChangeIsUpdated) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  absl::StatusOr<v1::Record> before = store_->Get(Seoul().name());
  ASSERT_TRUE(before.ok());

  v1::Record changed = Seoul();
  changed.set_results_text("新しい実績");
  std::vector<UpsertResult> results = MustUpsert({changed}, &sequence);
  EXPECT_THAT(Outcomes(results), ElementsAre(v1::OUTCOME_UPDATED));
  EXPECT_EQ(sequence, 2u);

  absl::StatusOr<v1::Record> after = store_->Get(Seoul().name());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->results_text(), "新しい実績");
  EXPECT_NE(after->etag(), before->etag());
  EXPECT_EQ(after->etag(), ContentEtag(changed));
  EXPECT_TRUE(MessageDifferencer::Equals(after->create_time(),
                                         before->create_time()));
  EXPECT_GE(after->update_time().seconds(), before->update_time().seconds());

  std::vector<v1::Change> changes = MustReadChanges(1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].sequence(), 2u);
  EXPECT_EQ(changes[0].kind(), v1::CHANGE_KIND_UPSERT);
  EXPECT_EQ(changes[0].record().results_text(), "新しい実績");
}

TEST_F(StoreTest, SameRecordTwiceInOneBatch) {
  uint64_t sequence = 0;
  v1::Record changed = Seoul();
  changed.set_title("二度目");
  std::vector<UpsertResult> results =
      MustUpsert({Seoul(), Seoul(), changed}, &sequence);
  EXPECT_THAT(Outcomes(results),
              ElementsAre(v1::OUTCOME_CREATED, v1::OUTCOME_UNCHANGED,
                          v1::OUTCOME_UPDATED));
  EXPECT_EQ(sequence, 2u);
  absl::StatusOr<v1::Record> stored = store_->Get(Seoul().name());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->title(), "二度目");
}

TEST_F(StoreTest, DryRunWritesNothing) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  ASSERT_EQ(sequence, 1u);

  v1::Record changed = Seoul();
  changed.set_title("変更");
  uint64_t dry_sequence = 12345;
  std::vector<UpsertResult> results =
      MustUpsert({Beijing(), changed, Seoul()}, &dry_sequence, /*dry_run=*/true);
  EXPECT_THAT(Outcomes(results),
              ElementsAre(v1::OUTCOME_CREATED, v1::OUTCOME_UPDATED,
                          v1::OUTCOME_UPDATED));
  EXPECT_EQ(dry_sequence, 1u);
  EXPECT_EQ(store_->HeadSequence(), 1u);
  EXPECT_THAT(MustReadChanges(0), ElementsAre(::testing::_));
  EXPECT_EQ(store_->Get(Beijing().name()).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<v1::Record> stored = store_->Get(Seoul().name());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->title(), Seoul().title());

  // Nothing leaked into the next real write either.
  MustUpsert({Paris()}, &sequence);
  EXPECT_EQ(sequence, 2u);
  EXPECT_EQ(store_->Get(Beijing().name()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, InvalidNameWritesNothing) {
  v1::Record bad = Paris();
  bad.set_name("cities/Paris/bureaus/environment/records/r3");
  absl::StatusOr<UpsertBatchResult> results = store_->Upsert({Seoul(), bad}, false);
  EXPECT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->HeadSequence(), 0u);
  EXPECT_EQ(store_->Get(Seoul().name()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(MustReadChanges(0), IsEmpty());
}

TEST_F(StoreTest, ReadChangesAfterASequence) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  MustUpsert({Beijing(), Paris()}, &sequence);
  v1::Record changed = Seoul();
  changed.set_title("更新");
  MustUpsert({changed}, &sequence);
  ASSERT_EQ(sequence, 4u);

  struct Case {
    uint64_t after;
    size_t max_count;
    std::vector<uint64_t> sequences;
  };
  const std::vector<Case> cases = {
      {0, 100, {1, 2, 3, 4}}, {1, 100, {2, 3, 4}}, {2, 2, {3, 4}},
      {0, 2, {1, 2}},         {3, 100, {4}},       {4, 100, {}},
      {10, 100, {}},          {0, 0, {}},
  };
  for (const Case& c : cases) {
    std::vector<v1::Change> changes = MustReadChanges(c.after, c.max_count);
    EXPECT_EQ(Sequences(changes), c.sequences)
        << "after " << c.after << " max " << c.max_count;
    for (const v1::Change& change : changes) {
      EXPECT_EQ(change.kind(), v1::CHANGE_KIND_UPSERT);
      EXPECT_EQ(change.record().name(), change.name());
      EXPECT_TRUE(change.has_commit_time());
    }
  }
  std::vector<v1::Change> last = MustReadChanges(3);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].record().title(), "更新");
}

TEST_F(StoreTest, DeleteChecksTheEtag) {
  uint64_t sequence = 0;
  MustUpsert({Seoul(), Beijing()}, &sequence);
  absl::StatusOr<v1::Record> stored = store_->Get(Seoul().name());
  ASSERT_TRUE(stored.ok());

  absl::StatusOr<uint64_t> stale = store_->Delete(Seoul().name(), "0123");
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store_->Get(Seoul().name()).ok());
  EXPECT_EQ(store_->HeadSequence(), 2u);

  absl::StatusOr<uint64_t> deleted =
      store_->Delete(Seoul().name(), stored->etag());
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 3u);
  EXPECT_EQ(store_->HeadSequence(), 3u);
  EXPECT_EQ(store_->Get(Seoul().name()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Get(Beijing().name()).ok());

  std::vector<v1::Change> changes = MustReadChanges(2);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].sequence(), 3u);
  EXPECT_EQ(changes[0].kind(), v1::CHANGE_KIND_DELETE);
  EXPECT_EQ(changes[0].name(), Seoul().name());

  EXPECT_EQ(store_->Delete(Seoul().name(), "").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->HeadSequence(), 3u);
}

// ErrorInfo.metadata carries what a client needs to retry (AIP-193).
TEST_F(StoreTest, DeleteErrorsCarryTheirFactsInMetadata) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  absl::StatusOr<v1::Record> stored = store_->Get(Seoul().name());
  ASSERT_TRUE(stored.ok());
  absl::StatusOr<uint64_t> stale = store_->Delete(Seoul().name(), "0123");
  EXPECT_EQ(ReasonOf(stale.status()), "ETAG_MISMATCH");
  EXPECT_EQ(MetadataOf(stale.status()),
            (ErrorMetadata{{"name", Seoul().name()},
                           {"etag", "0123"},
                           {"currentEtag", stored->etag()}}));
  const std::string missing = "cities/paris/bureaus/environment/records/fy2019-0";
  absl::StatusOr<uint64_t> gone = store_->Delete(missing, "");
  EXPECT_EQ(ReasonOf(gone.status()), "RECORD_NOT_FOUND");
  EXPECT_EQ(MetadataOf(gone.status()), (ErrorMetadata{{"name", missing}}));
}

TEST_F(StoreTest, DeleteWithoutEtag) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  absl::StatusOr<uint64_t> deleted = store_->Delete(Seoul().name(), "");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 2u);
  EXPECT_EQ(store_->Get(Seoul().name()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, DeleteRejectsBadNames) {
  EXPECT_EQ(store_->Delete("cities/seoul", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("not a name").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, RecreateAfterDelete) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  ASSERT_TRUE(store_->Delete(Seoul().name(), "").ok());
  std::vector<UpsertResult> results = MustUpsert({Seoul()}, &sequence);
  EXPECT_THAT(Outcomes(results), ElementsAre(v1::OUTCOME_CREATED));
  EXPECT_EQ(sequence, 3u);
  EXPECT_TRUE(store_->Get(Seoul().name()).ok());
}

TEST_F(StoreTest, RecordWhoseCityChangesIsMoved) {
  const v1::Record before =
      MakeRecord("unassigned", "education", "fy2019-abc", "交流");
  uint64_t sequence = 0;
  MustUpsert({before, Paris()}, &sequence);
  ASSERT_EQ(sequence, 2u);
  absl::StatusOr<v1::Record> stored_before = store_->Get(before.name());
  ASSERT_TRUE(stored_before.ok());

  // Same record ID, another city: the gazetteer learned the city.
  const v1::Record after =
      MakeRecord("new-south-wales", "education", "fy2019-abc", "交流");
  std::vector<UpsertResult> results = MustUpsert({after}, &sequence);
  EXPECT_THAT(Outcomes(results), ElementsAre(v1::OUTCOME_UPDATED));
  EXPECT_EQ(sequence, 4u);

  EXPECT_EQ(store_->Get(before.name()).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<v1::Record> stored_after = store_->Get(after.name());
  ASSERT_TRUE(stored_after.ok()) << stored_after.status();
  EXPECT_EQ(stored_after->city().id(), "new-south-wales");
  EXPECT_TRUE(MessageDifferencer::Equals(stored_after->create_time(),
                                         stored_before->create_time()));

  std::vector<v1::Change> changes = MustReadChanges(2);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].sequence(), 3u);
  EXPECT_EQ(changes[0].kind(), v1::CHANGE_KIND_DELETE);
  EXPECT_EQ(changes[0].name(), before.name());
  EXPECT_EQ(changes[1].sequence(), 4u);
  EXPECT_EQ(changes[1].kind(), v1::CHANGE_KIND_UPSERT);
  EXPECT_EQ(changes[1].name(), after.name());

  // Upserting the moved record again changes nothing.
  results = MustUpsert({after}, &sequence);
  EXPECT_THAT(Outcomes(results), ElementsAre(v1::OUTCOME_UNCHANGED));
  EXPECT_EQ(sequence, 4u);

  // Deleting it by its new name frees the record ID.
  ASSERT_TRUE(store_->Delete(after.name(), "").ok());
  results = MustUpsert({before}, &sequence);
  EXPECT_THAT(Outcomes(results), ElementsAre(v1::OUTCOME_CREATED));
}

TEST_F(StoreTest, HeadSequencePersistsAcrossReopen) {
  uint64_t sequence = 0;
  MustUpsert({Seoul(), Beijing()}, &sequence);
  ASSERT_TRUE(store_->Delete(Beijing().name(), "").ok());
  ASSERT_EQ(store_->HeadSequence(), 3u);

  Reopen();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(store_->HeadSequence(), 3u);
  EXPECT_TRUE(store_->Get(Seoul().name()).ok());
  EXPECT_EQ(store_->Get(Beijing().name()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(Sequences(MustReadChanges(0)), ElementsAre(1, 2, 3));

  std::vector<UpsertResult> results = MustUpsert({Seoul(), Paris()}, &sequence);
  EXPECT_THAT(Outcomes(results),
              ElementsAre(v1::OUTCOME_UNCHANGED, v1::OUTCOME_CREATED));
  EXPECT_EQ(sequence, 4u);
}

TEST_F(StoreTest, WaitReturnsAtOnceWhenThereAreChanges) {
  uint64_t sequence = 0;
  MustUpsert({Seoul()}, &sequence);
  EXPECT_TRUE(store_->WaitForChangesAfter(0, absl::InfiniteFuture()));
  EXPECT_FALSE(store_->WaitForChangesAfter(1, absl::InfinitePast()));
}

TEST_F(StoreTest, WaitReturnsAfterStopWaitingCalledBefore) {
  store_->StopWaiting();
  EXPECT_TRUE(store_->stopping());
  EXPECT_FALSE(store_->WaitForChangesAfter(0, absl::InfiniteFuture()));
}

TEST_F(StoreTest, WaitReturnsAfterStopWaitingFromAnotherThread) {
  std::thread stopper([this] { store_->StopWaiting(); });
  EXPECT_FALSE(store_->WaitForChangesAfter(0, absl::InfiniteFuture()));
  stopper.join();
  EXPECT_TRUE(store_->stopping());
}

TEST_F(StoreTest, WaitWakesOnAWrite) {
  std::thread writer([this] {
    absl::StatusOr<UpsertBatchResult> results = store_->Upsert({Seoul()}, false);
    EXPECT_TRUE(results.ok()) << results.status();
  });
  EXPECT_TRUE(store_->WaitForChangesAfter(0, absl::InfiniteFuture()));
  writer.join();
  EXPECT_EQ(store_->HeadSequence(), 1u);
}

TEST(StoreOpenTest, MakesTheDataDirectoryWithItsParents) {
  ScopedTempDir root;
  const std::string dir = root.path() + "/not/yet/there";
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  EXPECT_EQ((*store)->HeadSequence(), 0u);
}

TEST(StoreOpenTest, ADataDirectoryUnderAFileNamesWhatCouldNotBeMade) {
  ScopedTempDir root;
  const std::string file = root.path() + "/plain-file";
  std::ofstream(file) << "not a directory";
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(file + "/db", StoreOptions());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(),
              ::testing::HasSubstr("creating the directory " + file));
  EXPECT_FALSE(std::filesystem::exists(file + "/db"));
}

TEST(ContentEtagTest, IgnoresMetadataOnly) {
  v1::Record a = Seoul();
  v1::Record b = Seoul();
  b.mutable_source()->set_row(77);
  b.set_etag("whatever");
  b.mutable_create_time()->set_seconds(1);
  b.mutable_update_time()->set_seconds(2);
  EXPECT_EQ(ContentEtag(a), ContentEtag(b));
  EXPECT_EQ(ContentEtag(a).size(), 16u);

  v1::Record c = Seoul();
  c.set_title("別");
  EXPECT_NE(ContentEtag(a), ContentEtag(c));
}

TEST_F(StoreTest, HistoryIsKeptAcrossReopensAndContinuedByANewOne) {
  const StoreHistory first = store_->history();
  EXPECT_EQ(first.id.size(), 32u);
  EXPECT_TRUE(first.parent_id.empty());
  uint64_t sequence = 0;
  MustUpsert({Seoul(), Beijing()}, &sequence);
  ASSERT_EQ(sequence, 2u);
  Reopen();
  EXPECT_EQ(store_->history().id, first.id);
  // Its own history (or none named) up to the head.
  EXPECT_TRUE(store_->Continues(first.id, 2));
  EXPECT_TRUE(store_->Continues("", 2));
  EXPECT_FALSE(store_->Continues(first.id, 3));
  EXPECT_FALSE(store_->Continues("another", 1));

  // As after a restore at sequence 2: a new history continuing the first
  // up to 2, kept across reopens.
  ASSERT_TRUE(store_->StartNewHistory().ok());
  Reopen();
  const StoreHistory second = store_->history();
  EXPECT_NE(second.id, first.id);
  EXPECT_EQ(second.parent_id, first.id);
  EXPECT_EQ(second.parent_sequence, 2u);
  MustUpsert({MakeRecord("paris", "policy-planning", "r3", "フランス共和国パリ市")},
             &sequence);
  ASSERT_EQ(sequence, 3u);
  EXPECT_TRUE(store_->Continues(first.id, 2));
  EXPECT_FALSE(store_->Continues(first.id, 3));
  EXPECT_TRUE(store_->Continues(second.id, 3));
}

TEST_F(StoreTest, CheckpointHoldsTheHeadItWasTakenAt) {
  uint64_t sequence = 0;
  MustUpsert({Seoul(), Beijing()}, &sequence);
  const std::string dir = dir_.path() + "/checkpoint";
  ASSERT_TRUE(store_->Checkpoint(dir).ok());
  MustUpsert({MakeRecord("paris", "policy-planning", "r3", "フランス共和国パリ市")},
             &sequence);
  absl::StatusOr<ContentDigest> live = store_->Digest();
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->sequence, 3u);
  absl::StatusOr<std::unique_ptr<Store>> copy = Store::Open(dir, StoreOptions());
  ASSERT_TRUE(copy.ok()) << copy.status();
  absl::StatusOr<ContentDigest> digest = (*copy)->Digest();
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->sequence, 2u);
  EXPECT_EQ(digest->record_count, 2u);
  EXPECT_EQ((*copy)->history().id, store_->history().id);
}

}  // namespace
}  // namespace kouryu::ingest
