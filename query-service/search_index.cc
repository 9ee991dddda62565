#include "query-service/search_index.h"

#include <rocksdb/db.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "common/coding.h"
#include "common/keys.h"
#include "common/slice.h"
#include "common/status.h"
#include "query-service/postings.h"

namespace kouryu::query {

std::string SearchTextKey(uint64_t id) { return EncodeFixed64BigEndian(id); }

std::string EncodeSearchEntry(absl::string_view key, const SearchFields& fields) {
  std::string out;
  PutFixed16BigEndian(out, static_cast<uint16_t>(key.size()));
  out.append(key.data(), key.size());
  out += EncodeSearchFields(fields);
  return out;
}

std::optional<SearchEntry> DecodeSearchEntry(absl::string_view value) {
  uint16_t length = 0;
  if (!GetFixed16BigEndian(value, length) || value.size() < length) return std::nullopt;
  std::optional<SearchFields> fields = DecodeSearchFields(value.substr(length));
  if (!fields) return std::nullopt;
  return SearchEntry{std::string(value.substr(0, length)), *std::move(fields)};
}

absl::StatusOr<std::optional<SearchFields>> ReadIndexedFields(
    rocksdb::DB& db, const ReplicaFamilies& families, uint64_t id) {
  std::string value;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), families.search_text,
                             SearchTextKey(id), &value);
  if (s.IsNotFound()) return std::optional<SearchFields>();
  if (!s.ok()) return FromRocksDb(s, "reading search text");
  std::optional<SearchEntry> entry = DecodeSearchEntry(value);
  if (!entry) return StorageCorrupted("search text");
  return std::optional<SearchFields>(std::move(entry->fields));
}

void IndexDelta::Change(const SearchFields& fields, uint64_t id, int sign) {
  Change(IndexedGrams(fields), id, sign);
}

void IndexDelta::Change(const std::vector<IndexedGram>& grams, uint64_t id,
                        int sign) {
  for (const IndexedGram& g : grams) {
    auto [it, inserted] = positions_.try_emplace(
        GramLevel{g.gram, static_cast<uint8_t>(g.level)}, grams_.size());
    if (inserted) grams_.push_back({g.gram, g.level, 0, {}, {}});
    GramChanges& changes = grams_[it->second];
    changes.count += sign;
    (sign > 0 ? changes.added : changes.removed).push_back(id);
  }
}

absl::Status IndexDelta::WriteTo(rocksdb::WriteBatch& batch,
                                 const ReplicaFamilies& families) {
  rocksdb::Status s;
  std::vector<uint64_t> add, remove;
  for (GramChanges& changes : grams_) {
    // Usually sorted already: index IDs are create sequences, and a batch
    // holds changes in sequence order.
    for (std::vector<uint64_t>* ids : {&changes.added, &changes.removed}) {
      if (!std::is_sorted(ids->begin(), ids->end())) {
        std::sort(ids->begin(), ids->end());
      }
    }
    // Both lists in ID order, so chunk by chunk: an ID's net change is how
    // often it was added less how often it was removed.
    const std::vector<uint64_t>& added = changes.added;
    const std::vector<uint64_t>& removed = changes.removed;
    size_t a = 0, r = 0;
    auto next = [&] {
      if (a == added.size()) return removed[r];
      if (r == removed.size()) return added[a];
      return std::min(added[a], removed[r]);
    };
    while ((a < added.size() || r < removed.size()) && s.ok()) {
      const uint64_t chunk = next() >> kChunkBits;
      add.clear();
      remove.clear();
      while ((a < added.size() || r < removed.size()) && next() >> kChunkBits == chunk) {
        const uint64_t id = next();
        int net = 0;
        for (; a < added.size() && added[a] == id; ++a) ++net;
        for (; r < removed.size() && removed[r] == id; ++r) --net;
        if (net > 0) add.push_back(id);
        if (net < 0) remove.push_back(id);
      }
      if (add.empty() && remove.empty()) continue;
      s = batch.Merge(families.grams,
                      PostingKey(changes.gram.view(), changes.level, chunk),
                      PostingDelta(add, remove));
    }
    if (changes.count != 0 && s.ok()) {
      s = batch.Merge(families.grams, GramCountKey(changes.gram.view(), changes.level),
                      CountDelta(changes.count));
    }
  }
  return FromRocksDb(s, "preparing index changes");
}

SearchReader::SearchReader(rocksdb::DB& db, const ReplicaFamilies& families)
    : db_(db),
      families_(families),
      snapshot_(std::make_unique<rocksdb::ManagedSnapshot>(&db)) {}

SearchReader::~SearchReader() = default;

rocksdb::ReadOptions SearchReader::Options() const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_->snapshot();
  return options;
}

absl::StatusOr<std::map<int, int64_t>> SearchReader::LevelCounts(
    absl::string_view gram) const {
  const std::string prefix = GramCountPrefix(gram);
  std::unique_ptr<rocksdb::Iterator> it(
      db_.NewIterator(Options(), families_.grams));
  std::map<int, int64_t> out;
  for (it->Seek(prefix); it->Valid() && absl::StartsWith(View(it->key()), prefix);
       it->Next()) {
    std::optional<int64_t> n = DecodeCount(View(it->value()));
    if (it->key().size() != prefix.size() + 1 || !n) return StorageCorrupted("gram count");
    if (*n > 0) out[255 - static_cast<uint8_t>(it->key()[prefix.size()])] = *n;
  }
  if (absl::Status s = FromRocksDb(it->status(), "reading gram counts"); !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<std::vector<uint64_t>> SearchReader::SamplePostings(
    absl::string_view gram, int level, int n) const {
  const size_t gram_prefix_size = PostingPrefix(gram).size();
  const std::string prefix = PostingLevelPrefix(gram, level);
  std::unique_ptr<rocksdb::Iterator> it(
      db_.NewIterator(Options(), families_.grams));
  // The level and chunk of the iterator's key.
  auto parts_here = [&]() {
    return ParsePostingKeySuffix(View(it->key()).substr(gram_prefix_size));
  };
  // The chunks of the level span [first, last].
  it->SeekForPrev(PostingKey(gram, level, ~0ULL));
  if (!it->Valid() || !absl::StartsWith(View(it->key()), prefix)) {
    absl::Status s = FromRocksDb(it->status(), "sampling posting lists");
    if (!s.ok()) return s;
    return std::vector<uint64_t>();
  }
  std::optional<PostingKeyParts> last = parts_here();
  it->Seek(prefix);
  std::optional<PostingKeyParts> first =
      it->Valid() ? parts_here() : std::nullopt;
  if (!first || !last) return StorageCorrupted("posting list");
  // Chunks to visit, spread over the span, and IDs to take from each,
  // spread over the chunk.
  const uint64_t span = last->chunk - first->chunk + 1;
  const int picks = static_cast<int>(std::min<uint64_t>(n, span));
  const int per_chunk = (n + picks - 1) / picks;
  std::vector<uint64_t> out;
  uint64_t previous_chunk = ~0ULL;
  for (int i = 0; i < picks && static_cast<int>(out.size()) < n; ++i) {
    const uint64_t chunk = first->chunk + span * static_cast<uint64_t>(i) /
                                              static_cast<uint64_t>(picks);
    it->Seek(PostingKey(gram, level, chunk));
    if (!it->Valid() || !absl::StartsWith(View(it->key()), prefix)) break;
    std::optional<PostingKeyParts> parts = parts_here();
    std::optional<std::vector<uint64_t>> ids = DecodeIds(View(it->value()));
    if (!parts || !ids) return StorageCorrupted("posting list");
    if (parts->chunk == previous_chunk) continue;
    previous_chunk = parts->chunk;
    const size_t take = std::min<size_t>(per_chunk, ids->size());
    for (size_t j = 0; j < take && static_cast<int>(out.size()) < n; ++j) {
      out.push_back((*ids)[(2 * j + 1) * ids->size() / (2 * take)]);
    }
  }
  if (absl::Status s = FromRocksDb(it->status(), "sampling posting lists"); !s.ok()) {
    return s;
  }
  return out;
}

absl::Status SearchReader::ForEachPosting(
    absl::string_view gram,
    const std::function<bool(int level, uint64_t id)>& visit) const {
  const std::string prefix = PostingPrefix(gram);
  std::unique_ptr<rocksdb::Iterator> it(
      db_.NewIterator(Options(), families_.grams));
  for (it->Seek(prefix); it->Valid() && absl::StartsWith(View(it->key()), prefix);
       it->Next()) {
    std::optional<PostingKeyParts> parts =
        ParsePostingKeySuffix(View(it->key()).substr(prefix.size()));
    std::optional<std::vector<uint64_t>> ids = DecodeIds(View(it->value()));
    if (!parts || !ids) return StorageCorrupted("posting list");
    for (uint64_t id : *ids) {
      if (!visit(parts->level, id)) return absl::OkStatus();
    }
  }
  return FromRocksDb(it->status(), "reading posting lists");
}

absl::StatusOr<SearchReader::Entry> SearchReader::GetEntry(uint64_t id) const {
  std::string value;
  rocksdb::Status s =
      db_.Get(Options(), families_.search_text, SearchTextKey(id), &value);
  if (s.IsNotFound()) {
    return WithReason(absl::NotFoundError("no record"), "RECORD_NOT_FOUND");
  }
  if (!s.ok()) return FromRocksDb(s, "reading search text");
  std::optional<Entry> entry = DecodeSearchEntry(value);
  if (!entry) return StorageCorrupted("search text");
  return *std::move(entry);
}

absl::StatusOr<v1::Record> SearchReader::GetByKey(const std::string& key) const {
  return ReadRecord(db_, families_, Options(), key);
}

}  // namespace kouryu::query
