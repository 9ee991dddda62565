// PreparedChanges: each upsert of a list is prepared exactly as
// ChangeBatch::PrepareRecord prepares it, deletes get no record, and a
// caller that stops early (an Add failed) does not wait for the helper.
// (What is read of the stored state ahead is checked by replica_test's
// replacements, which go through it.)

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "gtest/gtest.h"
#include "query-service/change_batch.h"

namespace kouryu::query {
namespace {

std::vector<v1::Change> Changes(int n) {
  std::vector<v1::Change> changes(n);
  for (int i = 0; i < n; ++i) {
    v1::Change& change = changes[i];
    change.set_sequence(i + 1);
    const RecordName name{"seoul", "seisakukikaku",
                          absl::StrCat("r", i % 50)};
    change.set_name(FormatRecordName(name));
    if (i % 7 == 3) {
      change.set_kind(v1::CHANGE_KIND_DELETE);
      continue;
    }
    change.set_kind(v1::CHANGE_KIND_UPSERT);
    v1::Record* record = change.mutable_record();
    record->set_name(change.name());
    record->set_title(absl::StrCat("ソウル特別市との交流 第", i, "回"));
    record->set_results_text(absl::StrCat("Visit ", i, " 代表団の派遣"));
  }
  return changes;
}

TEST(PreparedChangesTest, EachUpsertIsPreparedAsPrepareDoes) {
  for (int n : {0, 1, 63, 64, 65, 1000}) {
    const std::vector<v1::Change> changes = Changes(n);
    PreparedChanges prepared(changes, nullptr);
    for (int i = 0; i < n; ++i) {
      // Null only when there is no helper (a short list or one core):
      // then Add prepares the change itself.
      ChangeBatch::Prepared* got = prepared.Take(i);
      if (n >= 128 && std::thread::hardware_concurrency() > 1) {
        ASSERT_NE(got, nullptr) << "a list of " << n << " has a helper";
      }
      if (got == nullptr) continue;
      EXPECT_FALSE(got->has_stored) << i;
      if (changes[i].kind() == v1::CHANGE_KIND_DELETE) {
        EXPECT_FALSE(got->has_record) << i;
        continue;
      }
      ASSERT_TRUE(got->has_record) << i;
      ChangeBatch::Prepared want;
      ChangeBatch::PrepareRecord(changes[i].record(), want);
      EXPECT_EQ(got->record_bytes, want.record_bytes) << i;
      EXPECT_EQ(got->fields.title, want.fields.title) << i;
      EXPECT_EQ(got->fields.results, want.fields.results) << i;
      EXPECT_EQ(got->grams.size(), want.grams.size()) << i;
    }
  }
}

TEST(PreparedChangesTest, ACallerThatStopsEarlyDoesNotWait) {
  const std::vector<v1::Change> changes = Changes(5000);
  for (int stop_at : {0, 1, 200, 4999}) {
    PreparedChanges prepared(changes, nullptr);
    for (int i = 0; i < stop_at; ++i) prepared.Take(i);
  }  // Each destructor stops its helper, which may be waiting or working.
}

}  // namespace
}  // namespace kouryu::query
