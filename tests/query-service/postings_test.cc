#include "query-service/postings.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::Optional;

TEST(PostingsTest, IdsRoundTrip) {
  const std::vector<uint64_t> ids = {0, 1, 127, 128, 16383, 16384, 1ULL << 40,
                                     (1ULL << 63) | 5};
  EXPECT_THAT(DecodeIds(EncodeIds(ids)), Optional(ids));
  EXPECT_THAT(DecodeIds(""), Optional(std::vector<uint64_t>{}));
  EXPECT_EQ(DecodeIds("\x80"), std::nullopt);      // Truncated varint.
  EXPECT_EQ(DecodeIds(std::string("\x05\x00", 2)), std::nullopt);  // Not ascending.
  EXPECT_THAT(DecodeCount(CountDelta(-3)), Optional(-3));
  EXPECT_EQ(DecodeCount("1234567"), std::nullopt);
}

TEST(PostingsTest, KeysSortByLevelDescendingThenChunk) {
  std::vector<std::string> keys = {
      PostingKey("交流", 1, 0), PostingKey("交流", 1, 7),
      PostingKey("交流", 3, 2), PostingKey("交流", 255, 9)};
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_THAT(sorted, ElementsAre(keys[3], keys[2], keys[0], keys[1]));
  for (const std::string& key : keys) {
    EXPECT_TRUE(key.starts_with(PostingPrefix("交流")));
    EXPECT_FALSE(key.starts_with(PostingPrefix("交")));
    EXPECT_FALSE(key.starts_with(GramCountPrefix("交流")));
  }
  std::optional<PostingKeyParts> parts = ParsePostingKeySuffix(
      PostingKey("交流", 3, 2).substr(PostingPrefix("交流").size()));
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->level, 3);
  EXPECT_EQ(parts->chunk, 2u);
  EXPECT_EQ(ParsePostingKeySuffix(""), std::nullopt);
}

TEST(PostingsTest, RecordIndexIdIsTheCreateSequence) {
  v1::Record record;
  record.set_name("cities/seoul/bureaus/education/records/a");
  record.set_create_sequence(42);
  EXPECT_EQ(RecordIndexId(record), 42u);
  record.clear_create_sequence();
  EXPECT_GE(RecordIndexId(record), 1ULL << 63);
}

// Random adds and removes through Merge on a real RocksDB, read back while
// operands are stacked in the memtable, after a flush and after a full
// compaction (which uses partial merges), against a model.
TEST(PostingsTest, MergeMatchesAModel) {
  ScopedTempDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.merge_operator = PostingsMergeOperator();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.path() + "/db", &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);

  std::mt19937_64 rng(5);
  const std::vector<std::string> keys = {PostingKey("派遣", 1, 0),
                                         PostingKey("派遣", 2, 0)};
  std::map<std::string, std::set<uint64_t>> model;
  std::map<std::string, int64_t> counts;
  ASSERT_TRUE(db->Put({}, keys[1], EncodeIds({3, 9, 12})).ok());
  model[keys[1]] = {3, 9, 12};

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    for (const std::string& key : keys) {
      std::string value;
      rocksdb::Status s = db->Get({}, key, &value);
      ASSERT_TRUE(s.ok()) << s.ToString();
      std::vector<uint64_t> want(model[key].begin(), model[key].end());
      EXPECT_THAT(DecodeIds(value), Optional(want));
    }
    std::string value;
    ASSERT_TRUE(db->Get({}, GramCountKey("派遣", 1), &value).ok());
    EXPECT_THAT(DecodeCount(value), Optional(counts["派遣"]));
  };

  for (int round = 0; round < 300; ++round) {
    const std::string& key = keys[rng() % keys.size()];
    std::set<uint64_t> add, remove;
    for (int i = 0; i < 20; ++i) {
      const uint64_t id = rng() % 64;
      if (rng() % 2) {
        if (!remove.count(id)) add.insert(id);
      } else if (!add.count(id)) {
        remove.insert(id);
      }
    }
    for (uint64_t id : remove) model[key].erase(id);
    for (uint64_t id : add) model[key].insert(id);
    ASSERT_TRUE(db->Merge({}, key,
                          PostingDelta({add.begin(), add.end()},
                                       {remove.begin(), remove.end()}))
                    .ok());
    const int64_t delta = static_cast<int64_t>(rng() % 7) - 3;
    counts["派遣"] += delta;
    ASSERT_TRUE(db->Merge({}, GramCountKey("派遣", 1), CountDelta(delta)).ok());
    if (round == 100) check("operands in the memtable");
    if (round == 150) {
      ASSERT_TRUE(db->Flush({}).ok());
      check("after a flush");
    }
  }
  check("operands over a flushed value");
  ASSERT_TRUE(db->Flush({}).ok());
  ASSERT_TRUE(db->CompactRange({}, nullptr, nullptr).ok());
  check("after a full compaction");
  ASSERT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace kouryu::query
