#ifndef KOURYU_QUERY_SERVICE_SEARCH_INDEX_H_
#define KOURYU_QUERY_SERVICE_SEARCH_INDEX_H_

// The replica's search index (replica_layout.h): posting lists and gram
// counts in the grams family (postings.h), and each record's folded
// searched fields in the search_text family. The apply path writes it
// through IndexDelta and the entry codec below; searches (search.h) read it
// through a SearchReader.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"
#include "query-service/replica_layout.h"
#include "query-service/search_text.h"

namespace rocksdb {
class DB;
class ManagedSnapshot;
class WriteBatch;
struct ReadOptions;
}  // namespace rocksdb

namespace kouryu::query {

// A search_text value: the record's key and its folded searched fields.
struct SearchEntry {
  std::string key;  // RecordKey
  SearchFields fields;
};
// The search_text key of index ID `id`: 8 big-endian bytes.
std::string SearchTextKey(uint64_t id);

// The record key's length (2 bytes, big-endian), the record key, then
// EncodeSearchFields.
std::string EncodeSearchEntry(absl::string_view key, const SearchFields& fields);
// nullopt when malformed.
std::optional<SearchEntry> DecodeSearchEntry(absl::string_view value);

// The folded fields the latest written state indexes for index ID `id`;
// nullopt when it indexes none. INTERNAL (STORAGE_CORRUPTED) for a
// malformed entry, another error when RocksDB fails.
absl::StatusOr<std::optional<SearchFields>> ReadIndexedFields(
    rocksdb::DB& db, const ReplicaFamilies& families, uint64_t id);

// The index changes of one batch, gathered per (gram, level) and written
// as one Merge per posting list chunk and count that changed. Not
// thread-safe.
class IndexDelta {
 public:
  // Adds (+1) or removes (-1) the record `id` with text `fields`.
  void Change(const SearchFields& fields, uint64_t id, int sign);
  // The same, given the text's IndexedGrams.
  void Change(const std::vector<IndexedGram>& grams, uint64_t id, int sign);
  // Puts the gathered changes into `batch` as Merges on the grams family.
  // An error only when the batch refuses them.
  absl::Status WriteTo(rocksdb::WriteBatch& batch,
                       const ReplicaFamilies& families);

 private:
  struct GramChanges {
    Gram gram;
    int level;
    int64_t count = 0;              // net records added
    std::vector<uint64_t> added;    // IDs, once per +1
    std::vector<uint64_t> removed;  // IDs, once per -1
  };
  struct GramLevel {
    Gram gram;
    uint8_t level;
    friend bool operator==(const GramLevel& a, const GramLevel& b) {
      return a.gram == b.gram && a.level == b.level;
    }
    template <typename H>
    friend H AbslHashValue(H h, const GramLevel& g) {
      return H::combine(std::move(h), g.gram, g.level);
    }
  };
  // (gram, level) -> position in grams_.
  absl::flat_hash_map<GramLevel, uint32_t> positions_;
  std::vector<GramChanges> grams_;
};

// A consistent view of the search index and the records, taken when it is
// constructed, for one search. It must not outlive the database. Safe to
// use from one thread at a time; readers do not block the applier.
//
// Errors of every method: INTERNAL (reason STORAGE_CORRUPTED) when what is
// stored does not parse, another code when RocksDB fails.
class SearchReader {
 public:
  SearchReader(rocksdb::DB& db, const ReplicaFamilies& families);
  ~SearchReader();
  SearchReader(const SearchReader&) = delete;
  SearchReader& operator=(const SearchReader&) = delete;

  using Entry = SearchEntry;

  // Level -> number of records in which `gram` has that level (those
  // whose folded searched fields hold it).
  absl::StatusOr<std::map<int, int64_t>> LevelCounts(
      absl::string_view gram) const;
  // Up to `n` index IDs of records holding `gram` at `level`, spread over
  // the level's posting list (over its chunks, and within each chunk).
  absl::StatusOr<std::vector<uint64_t>> SamplePostings(absl::string_view gram,
                                                       int level, int n) const;
  // Visits the index IDs of the records holding `gram` with their level
  // (search_text.h), by decreasing level, then increasing ID, until
  // `visit` returns false.
  absl::Status ForEachPosting(
      absl::string_view gram,
      const std::function<bool(int level, uint64_t id)>& visit) const;
  // The record key and folded fields of the record with index ID `id`;
  // NOT_FOUND (RECORD_NOT_FOUND) when there is none.
  absl::StatusOr<Entry> GetEntry(uint64_t id) const;
  // The record stored under RecordKey `key`; NOT_FOUND (RECORD_NOT_FOUND)
  // when there is none.
  absl::StatusOr<v1::Record> GetByKey(const std::string& key) const;

 private:
  rocksdb::ReadOptions Options() const;

  rocksdb::DB& db_;
  const ReplicaFamilies families_;
  const std::unique_ptr<rocksdb::ManagedSnapshot> snapshot_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_SEARCH_INDEX_H_
