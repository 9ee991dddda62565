#include "query-service/replica.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <map>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/digest.h"
#include "common/keys.h"
#include "common/slice.h"
#include "common/status.h"
#include "query-service/postings.h"
#include "query-service/search_text.h"

namespace kouryu::query {
namespace {

constexpr char kAppliedSequenceKey[] = "applied_sequence";
constexpr char kHistoryKey[] = "history_id";
constexpr int kMeta = 0, kRecords = 1, kByBureau = 2, kGrams = 3, kCounts = 4,
              kSearchText = 5;

// Counter keys in the counts column family.
std::string CounterKey(std::initializer_list<absl::string_view> parts) {
  std::string key;
  for (absl::string_view p : parts) AppendKeyComponent(key, p);
  return key;
}
const std::string& AllKey() {
  static const std::string* key = new std::string(CounterKey({"all"}));
  return *key;
}

// The layout of the replica's column families; see replica.h. Version 3
// indexes and stores the names of a record's cities and bureau
// (search_text.h).
constexpr char kFormatKey[] = "format";
constexpr char kFormat[] = "3";

// An end key above every key of every family: record, index and count keys
// are ASCII, gram keys start with 'c' or 'p', search_text keys are 8 bytes.
const std::string& EndOfKeys() {
  static const std::string* key = new std::string(9, '\xff');
  return *key;
}

// search_text values: the record key's length (2 bytes, big-endian), the
// record key, then EncodeSearchFields.
std::string EncodeEntry(absl::string_view key, const SearchFields& fields) {
  std::string out;
  out.push_back(static_cast<char>(key.size() >> 8));
  out.push_back(static_cast<char>(key.size() & 0xff));
  out.append(key.data(), key.size());
  out += EncodeSearchFields(fields);
  return out;
}

std::optional<Replica::SearchReader::Entry> DecodeEntry(absl::string_view value) {
  if (value.size() < 2) return std::nullopt;
  const size_t length = (static_cast<uint8_t>(value[0]) << 8) |
                        static_cast<uint8_t>(value[1]);
  if (value.size() < 2 + length) return std::nullopt;
  std::optional<SearchFields> fields = DecodeSearchFields(value.substr(2 + length));
  if (!fields) return std::nullopt;
  return Replica::SearchReader::Entry{std::string(value.substr(2, length)),
                                      *std::move(fields)};
}

// Index changes of one batch: posting key -> index ID -> net +1 or -1, and
// gram -> net change of its record count.
// The index changes of one batch, gathered per (gram, level) and written
// as one Merge per posting list chunk and count that changed.
class IndexDelta {
 public:
  // Adds (+1) or removes (-1) the record `id` with text `fields`.
  void Change(const SearchFields& fields, uint64_t id, int sign) {
    for (const IndexedGram& g : IndexedGrams(fields)) {
      // Looked up by a reused buffer: no allocation unless the pair is new.
      scratch_.assign(g.gram);
      scratch_.push_back(static_cast<char>(g.level));
      auto [it, inserted] = positions_.try_emplace(scratch_, grams_.size());
      if (inserted) grams_.push_back({g.gram, g.level, 0, {}});
      GramChanges& changes = grams_[it->second];
      changes.count += sign;
      changes.ids.emplace_back(id, sign);
    }
  }

  rocksdb::Status WriteTo(rocksdb::WriteBatch& batch,
                          rocksdb::ColumnFamilyHandle* grams) {
    rocksdb::Status s;
    std::vector<uint64_t> add, remove;
    for (GramChanges& changes : grams_) {
      std::sort(changes.ids.begin(), changes.ids.end());
      // IDs in order, so chunk by chunk; each ID's changes are adjacent.
      auto& ids = changes.ids;
      for (size_t i = 0; i < ids.size() && s.ok();) {
        const uint64_t chunk = ids[i].first >> kChunkBits;
        add.clear();
        remove.clear();
        while (i < ids.size() && ids[i].first >> kChunkBits == chunk) {
          const uint64_t id = ids[i].first;
          int net = 0;
          for (; i < ids.size() && ids[i].first == id; ++i) net += ids[i].second;
          if (net > 0) add.push_back(id);
          if (net < 0) remove.push_back(id);
        }
        if (add.empty() && remove.empty()) continue;
        s = batch.Merge(grams, PostingKey(changes.gram, changes.level, chunk),
                        PostingDelta(add, remove));
      }
      if (changes.count != 0 && s.ok()) {
        s = batch.Merge(grams, GramCountKey(changes.gram, changes.level),
                        CountDelta(changes.count));
      }
    }
    return s;
  }

 private:
  struct GramChanges {
    std::string gram;
    int level;
    int64_t count = 0;                          // net records added
    std::vector<std::pair<uint64_t, int>> ids;  // (ID, +1 or -1)
  };
  // Gram and level byte -> position in grams_.
  absl::flat_hash_map<std::string, size_t> positions_;
  std::vector<GramChanges> grams_;
  std::string scratch_;
};

struct WaitArgs {
  uint64_t sequence;
  const uint64_t* applied;
  const bool* stopped;
};

bool CaughtUpOrStopped(WaitArgs* args) {
  return *args->applied >= args->sequence || *args->stopped;
}

// The scan's column family prefix for `parent`.
std::string ScanPrefix(const Parent& parent) {
  if (parent.city == kWildcardId) {
    return parent.bureau.empty() ? "" : BureauIndexPrefix(parent.bureau);
  }
  return parent.bureau.empty() ? CityPrefix(parent.city)
                               : CityBureauPrefix(parent.city, parent.bureau);
}

bool UsesBureauIndex(const Parent& parent) {
  return parent.city == kWildcardId && !parent.bureau.empty();
}

// The least key greater than every key that begins with `prefix`; nullopt
// when there is none ("" or only 0xFF bytes).
std::optional<std::string> PrefixSuccessor(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) {
    end.pop_back();
  }
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

std::string EncodeCount(int64_t n) { return SequenceKey(static_cast<uint64_t>(n)); }

}  // namespace

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(
    const std::string& dir, const ReplicaOptions& options) {
  rocksdb::DBOptions db_options;
  std::unique_ptr<rocksdb::Env> env;
  if (options.file_system != nullptr) {
    env = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = env.get();
  }
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(
      options.write_buffer_bytes, cache);
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  table_options.cache_index_and_filter_blocks = true;
  table_options.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned index and Bloom filters: a point read loads a small index
  // partition instead of a file's whole index (hundreds of KiB at 64 MiB
  // files), which a cache smaller than the data evicts again and again,
  // and skips the files that do not hold the key.
  table_options.index_type =
      rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table_options.partition_filters = true;
  table_options.pin_top_level_index_and_filter = true;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  // Uncompressed: searches and listings read blocks that the block cache
  // does not hold, and decompressing them cost more than reading them (the
  // operating system's page cache holds the files either way).
  cf_options.compression = rocksdb::kNoCompression;
  // Only the grams family is written with Merge.
  cf_options.merge_operator = PostingsMergeOperator();
  cf_options.write_buffer_size = options.write_buffer_bytes / 4;
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  absl::StatusOr<OpenedDb> opened =
      OpenDb(dir, db_options, cf_options,
             {"records", "by_bureau", "grams", "counts", "search_text"});
  if (!opened.ok()) return opened.status();
  std::unique_ptr<rocksdb::DB> db = std::move(opened->db);
  std::vector<rocksdb::ColumnFamilyHandle*> handles = std::move(opened->families);

  std::string value;
  uint64_t applied = 0;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), handles[kMeta],
                              kAppliedSequenceKey, &value);
  if (s.ok()) {
    std::optional<uint64_t> decoded = DecodeSequenceKey(value);
    if (!decoded) return StorageCorrupted("applied sequence");
    applied = *decoded;
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, "reading the applied sequence");
  }
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), handles[kMeta], kFormatKey, &format);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocksDb(s, "reading the replica format");
  }
  const bool other_format = s.IsNotFound() || format != kFormat;
  auto replica = std::unique_ptr<Replica>(
      new Replica(std::move(env), std::move(db), std::move(handles), applied));
  if (other_format) {
    // Written by another version (or new): start over from the feed.
    absl::Status reset = replica->Reset();
    if (!reset.ok()) return reset;
    s = replica->db_->Put(rocksdb::WriteOptions(), replica->meta_, kFormatKey,
                          kFormat);
    if (!s.ok()) return FromRocksDb(s, "writing the replica format");
  }
  std::string history;
  s = replica->db_->Get(rocksdb::ReadOptions(), replica->meta_, kHistoryKey,
                        &history);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocksDb(s, "reading the replica's history ID");
  }
  {
    absl::MutexLock lock(&replica->mutex_);
    replica->history_id_ = std::move(history);
  }
  absl::Status loaded = replica->LoadCounts();
  if (!loaded.ok()) return loaded;
  return replica;
}

Replica::Replica(std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles,
                 uint64_t applied)
    : env_(std::move(env)),
      db_(std::move(db)),
      handles_(std::move(handles)),
      meta_(handles_[kMeta]),
      records_(handles_[kRecords]),
      by_bureau_(handles_[kByBureau]),
      grams_(handles_[kGrams]),
      counts_cf_(handles_[kCounts]),
      search_text_(handles_[kSearchText]),
      applied_(applied) {}

Replica::~Replica() {
  StopWaiting();
  CloseDb(*db_, handles_);
}

absl::Status Replica::LoadCounts() {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), counts_cf_));
  absl::MutexLock lock(&mutex_);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<std::vector<std::string>> parts =
        DecodeKeyComponents(View(it->key()));
    if (!parts || parts->empty()) return StorageCorrupted("count key");
    const std::string& kind = parts->front();
    if (kind == "cn" && parts->size() == 2) {
      if (!city_names_[(*parts)[1]].ParseFromArray(it->value().data(),
                                                   it->value().size())) {
        return StorageCorrupted("city");
      }
    } else if (kind == "bn" && parts->size() == 2) {
      if (!bureau_names_[(*parts)[1]].ParseFromArray(it->value().data(),
                                                     it->value().size())) {
        return StorageCorrupted("bureau");
      }
    } else {
      std::optional<uint64_t> n = DecodeSequenceKey(View(it->value()));
      if (!n) return StorageCorrupted("count");
      counts_[it->key().ToString()] = static_cast<int64_t>(*n);
    }
  }
  return FromRocksDb(it->status(), "reading counts");
}

uint64_t Replica::applied_sequence() const {
  absl::MutexLock lock(&mutex_);
  return applied_;
}

absl::Status Replica::Apply(const std::vector<v1::Change>& changes) {
  return ApplyChanges(changes, std::nullopt);
}

std::string Replica::history_id() const {
  absl::MutexLock lock(&mutex_);
  return history_id_;
}

absl::Status Replica::SetHistoryId(const std::string& id) {
  absl::Status written =
      FromRocksDb(db_->Put(rocksdb::WriteOptions(), meta_, kHistoryKey, id),
                  "writing the replica's history ID");
  if (!written.ok()) return written;
  absl::MutexLock lock(&mutex_);
  history_id_ = id;
  return absl::OkStatus();
}

absl::Status Replica::Reset(const std::string& history_id) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (rocksdb::ColumnFamilyHandle* cf :
       {records_, by_bureau_, grams_, counts_cf_, search_text_}) {
    if (s.ok()) s = batch.DeleteRange(cf, "", EndOfKeys());
  }
  if (s.ok()) s = batch.Put(meta_, kAppliedSequenceKey, SequenceKey(0));
  if (s.ok() && !history_id.empty()) s = batch.Put(meta_, kHistoryKey, history_id);
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  absl::Status written = FromRocksDb(s, "emptying the replica");
  if (!written.ok()) return written;
  absl::MutexLock lock(&mutex_);
  if (!history_id.empty()) history_id_ = history_id;
  counts_.clear();
  city_names_.clear();
  bureau_names_.clear();
  applied_ = 0;
  return absl::OkStatus();
}

absl::Status Replica::ApplySnapshotPart(v1::SnapshotPart& part,
                                        const std::string& history_id) {
  if (part.first()) {
    absl::Status reset = Reset(history_id);
    if (!reset.ok()) return reset;
  }
  std::vector<v1::Change> changes;
  changes.reserve(part.records_size());
  for (v1::Record& record : *part.mutable_records()) {
    v1::Change& change = changes.emplace_back();
    change.set_kind(v1::CHANGE_KIND_UPSERT);
    change.set_name(record.name());
    *change.mutable_record() = std::move(record);
  }
  return ApplyChanges(changes, part.last() ? part.sequence() : 0);
}

absl::StatusOr<Replica::ReplicaDigest> Replica::Digest() const {
  rocksdb::ReadOptions read_options;
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  read_options.snapshot = snapshot;
  ReplicaDigest out;
  absl::Status status;
  // The applied sequence is written in the same batch as the changes, so
  // the snapshot holds the records of exactly that sequence.
  std::string value;
  rocksdb::Status s = db_->Get(read_options, meta_, kAppliedSequenceKey, &value);
  if (s.ok()) {
    std::optional<uint64_t> applied = DecodeSequenceKey(value);
    if (!applied) status = StorageCorrupted("applied sequence");
    out.sequence = applied.value_or(0);
  } else if (!s.IsNotFound()) {
    status = FromRocksDb(s, "reading the applied sequence");
  }
  DigestBuilder digest;
  if (status.ok()) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, records_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::Record record;
      if (!record.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
        status = StorageCorrupted("record");
        break;
      }
      digest.Add(View(it->key()), record.etag());
    }
    if (status.ok()) status = FromRocksDb(it->status(), "digesting");
  }
  db_->ReleaseSnapshot(snapshot);
  if (!status.ok()) return status;
  out.record_count = digest.count();
  out.digest = digest.hex();
  return out;
}

absl::Status Replica::ApplyChanges(const std::vector<v1::Change>& changes,
                                   std::optional<uint64_t> set_applied) {
  uint64_t applied = applied_sequence();
  uint64_t last = applied;
  rocksdb::WriteBatch batch;
  // What the batch needs of a stored record: where it is counted and its
  // index ID.
  struct Placed {
    std::string city;
    std::string bureau;
    uint64_t index_id;
  };
  auto placed = [](const v1::Record& r) {
    return Placed{r.city().id(), r.bureau().id(), RecordIndexId(r)};
  };
  // Each record touched by this batch, as of the batch so far.
  absl::flat_hash_map<std::string, std::optional<Placed>> touched;
  // The folded text of each index ID touched, as of the batch so far.
  absl::flat_hash_map<uint64_t, std::optional<SearchFields>> texts;
  IndexDelta index;
  absl::flat_hash_map<std::string, int64_t> delta;
  absl::flat_hash_map<std::string, v1::City> cities;
  absl::flat_hash_map<std::string, v1::Bureau> bureaus;

  auto count = [&delta](const Placed& r, int64_t d) {
    delta[AllKey()] += d;
    delta[CounterKey({"c", r.city})] += d;
    delta[CounterKey({"b", r.bureau})] += d;
    delta[CounterKey({"cb", r.city, r.bureau})] += d;
  };
  // The folded text indexed for `id`: this batch's, else the stored one.
  auto indexed_text = [&](uint64_t id) -> absl::StatusOr<std::optional<SearchFields>> {
    if (auto it = texts.find(id); it != texts.end()) return it->second;
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), search_text_, SequenceKey(id), &value);
    if (s.IsNotFound()) return std::optional<SearchFields>();
    if (!s.ok()) return FromRocksDb(s, "reading search text");
    std::optional<SearchReader::Entry> entry = DecodeEntry(value);
    if (!entry) return StorageCorrupted("search text");
    return std::optional<SearchFields>(std::move(entry->fields));
  };

  for (const v1::Change& change : changes) {
    if (!set_applied && change.sequence() <= last) continue;
    absl::StatusOr<RecordName> name = ParseRecordName(change.name());
    if (!name.ok()) {
      return absl::DataLossError(absl::StrCat(
          "change ", change.sequence(), ": ", name.status().message()));
    }
    if (change.kind() != v1::CHANGE_KIND_UPSERT &&
        change.kind() != v1::CHANGE_KIND_DELETE) {
      return absl::DataLossError(
          absl::StrCat("change ", change.sequence(), " has no kind"));
    }
    const std::string key = RecordKey(*name);
    std::optional<Placed> old;
    if (auto it = touched.find(key); it != touched.end()) {
      old = it->second;
    } else {
      absl::StatusOr<v1::Record> stored = GetByKey(key);
      if (stored.ok()) {
        old = placed(*stored);
      } else if (!absl::IsNotFound(stored.status())) {
        return stored.status();
      }
    }
    rocksdb::Status s;
    if (old) {
      count(*old, -1);
      const uint64_t old_id = old->index_id;
      absl::StatusOr<std::optional<SearchFields>> text = indexed_text(old_id);
      if (!text.ok()) return text.status();
      if (*text) index.Change(**text, old_id, -1);
      if (s.ok()) s = batch.Delete(search_text_, SequenceKey(old_id));
      texts[old_id] = std::nullopt;
    }
    if (change.kind() == v1::CHANGE_KIND_UPSERT) {
      const v1::Record& record = change.record();
      Placed now = placed(record);
      count(now, +1);
      cities[record.city().id()] = record.city();
      bureaus[record.bureau().id()] = record.bureau();
      if (s.ok()) s = batch.Put(records_, key, record.SerializeAsString());
      if (s.ok()) s = batch.Put(by_bureau_, BureauIndexKey(*name), key);
      const uint64_t id = now.index_id;
      SearchFields fields = FoldedFields(record);
      if (s.ok()) s = batch.Put(search_text_, SequenceKey(id), EncodeEntry(key, fields));
      index.Change(fields, id, +1);
      texts[id] = std::move(fields);
      touched[key] = std::move(now);
    } else {
      if (s.ok()) s = batch.Delete(records_, key);
      if (s.ok()) s = batch.Delete(by_bureau_, BureauIndexKey(*name));
      touched[key] = std::nullopt;
    }
    if (!s.ok()) return FromRocksDb(s, "preparing changes");
    if (!set_applied) last = change.sequence();
  }
  if (set_applied) last = *set_applied;
  if (last == applied && (!set_applied || changes.empty())) {
    return absl::OkStatus();
  }
  if (rocksdb::Status s = index.WriteTo(batch, grams_); !s.ok()) {
    return FromRocksDb(s, "preparing index changes");
  }

  // New counter values, from the mirror (only this thread changes it).
  absl::flat_hash_map<std::string, int64_t> updated;
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      auto it = counts_.find(k);
      updated[k] = (it == counts_.end() ? 0 : it->second) + d;
    }
  }
  rocksdb::Status s;
  for (const auto& [k, n] : updated) {
    if (s.ok()) s = n > 0 ? batch.Put(counts_cf_, k, EncodeCount(n)) : batch.Delete(counts_cf_, k);
  }
  for (const auto& [id, city] : cities) {
    if (s.ok()) s = batch.Put(counts_cf_, CounterKey({"cn", id}), city.SerializeAsString());
  }
  for (const auto& [id, bureau] : bureaus) {
    if (s.ok()) s = batch.Put(counts_cf_, CounterKey({"bn", id}), bureau.SerializeAsString());
  }
  if (s.ok()) s = batch.Put(meta_, kAppliedSequenceKey, SequenceKey(last));
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  absl::Status written = FromRocksDb(s, "applying changes");
  if (!written.ok()) return written;

  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [k, n] : updated) {
      if (n > 0) {
        counts_[k] = n;
      } else {
        counts_.erase(k);
      }
    }
    for (auto& [id, city] : cities) city_names_[id] = std::move(city);
    for (auto& [id, bureau] : bureaus) bureau_names_[id] = std::move(bureau);
    applied_ = last;
  }
  NotifyProgress(last, /*stopped=*/false);
  return absl::OkStatus();
}

absl::Status Replica::WaitForSequence(uint64_t sequence,
                                      absl::Time deadline) const {
  absl::MutexLock lock(&mutex_);
  WaitArgs args{sequence, &applied_, &stopped_};
  mutex_.AwaitWithDeadline(absl::Condition(&CaughtUpOrStopped, &args),
                           deadline);
  if (applied_ >= sequence) return absl::OkStatus();
  return SequenceNotReached(sequence, applied_, stopped_);
}

absl::Status Replica::SequenceNotReached(uint64_t sequence, uint64_t applied,
                                         bool stopped) {
  std::string message =
      absl::StrCat("the replica has applied sequence ", applied,
                   "; min_sequence ", sequence, " was not reached");
  const ErrorMetadata metadata = {{"minSequence", absl::StrCat(sequence)},
                                  {"appliedSequence", absl::StrCat(applied)}};
  if (stopped) {
    return WithReason(absl::UnavailableError(message), "REPLICA_STOPPING",
                      metadata);
  }
  return WithReason(absl::DeadlineExceededError(message), "REPLICA_BEHIND",
                    metadata);
}

void Replica::StopWaiting() {
  uint64_t applied;
  {
    absl::MutexLock lock(&mutex_);
    stopped_ = true;
    applied = applied_;
  }
  NotifyProgress(applied, /*stopped=*/true);
}

int Replica::AddProgressListener(ProgressListener listener) const {
  absl::MutexLock lock(&listeners_mutex_);
  const int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Replica::RemoveProgressListener(int id) const {
  absl::MutexLock lock(&listeners_mutex_);
  listeners_.erase(id);
}

void Replica::NotifyProgress(uint64_t applied, bool stopped) const {
  absl::MutexLock lock(&listeners_mutex_);
  for (const auto& [id, listener] : listeners_) listener(applied, stopped);
}

absl::StatusOr<std::string> Replica::ReadRecordBytes(
    const rocksdb::ReadOptions& options, const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(options, records_, key, &value);
  if (s.IsNotFound()) {
    std::optional<RecordName> name = DecodeRecordKey(key);
    const std::string formatted = name ? FormatRecordName(*name) : "?";
    return WithReason(absl::NotFoundError(absl::StrCat("no record ", formatted)),
                      "RECORD_NOT_FOUND", {{"name", formatted}});
  }
  if (!s.ok()) return FromRocksDb(s, "reading a record");
  return value;
}

absl::StatusOr<v1::Record> Replica::ReadRecord(
    const rocksdb::ReadOptions& options, const std::string& key) const {
  absl::StatusOr<std::string> value = ReadRecordBytes(options, key);
  if (!value.ok()) return value.status();
  v1::Record record;
  if (!record.ParseFromString(*value)) return StorageCorrupted("record");
  return record;
}

absl::StatusOr<std::string> Replica::GetBytes(const std::string& key) const {
  return ReadRecordBytes(rocksdb::ReadOptions(), key);
}

absl::StatusOr<v1::Record> Replica::GetByKey(const std::string& key) const {
  return ReadRecord(rocksdb::ReadOptions(), key);
}

absl::StatusOr<v1::Record> Replica::Get(const RecordName& name) const {
  return GetByKey(RecordKey(name));
}

absl::Status Replica::ForEach(
    const Parent& parent, const std::string& after_key,
    const std::function<bool(const std::string& key, v1::Record& record)>&
        visit) const {
  absl::Status status;
  absl::Status scanned = ForEachBytes(
      parent, after_key, [&](absl::string_view key, absl::string_view bytes) {
        v1::Record record;
        if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          status = StorageCorrupted("record");
          return false;
        }
        return visit(std::string(key), record);
      });
  return status.ok() ? scanned : status;
}

absl::Status Replica::ForEachBytes(
    const Parent& parent, const std::string& after_key,
    absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
        visit) const {
  return ScanBytes(parent, after_key, /*reverse=*/false, visit);
}

absl::Status Replica::ForEachBytesReverse(
    const Parent& parent, const std::string& before_key,
    absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
        visit) const {
  return ScanBytes(parent, before_key, /*reverse=*/true, visit);
}

absl::Status Replica::ScanBytes(
    const Parent& parent, const std::string& start_key, bool reverse,
    absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
        visit) const {
  const std::string prefix = ScanPrefix(parent);
  const bool indexed = UsesBureauIndex(parent);
  rocksdb::ReadOptions read_options;
  // One snapshot for the index and the records it points to.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  read_options.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, indexed ? by_bureau_ : records_));
  absl::Status status;
  if (!reverse) {
    if (start_key.empty()) {
      it->Seek(prefix);
    } else {
      it->Seek(start_key);
      if (it->Valid() && View(it->key()) == start_key) it->Next();
    }
  } else if (!start_key.empty()) {
    it->SeekForPrev(start_key);
    if (it->Valid() && View(it->key()) == start_key) it->Prev();
  } else if (std::optional<std::string> end = PrefixSuccessor(prefix)) {
    // The last key with the prefix is the one before the prefix's end.
    it->SeekForPrev(*end);
    if (it->Valid() && View(it->key()) == *end) it->Prev();
  } else {
    it->SeekToLast();
  }
  std::string value;
  for (; it->Valid() && absl::StartsWith(View(it->key()), prefix);
       reverse ? it->Prev() : it->Next()) {
    rocksdb::Slice record_bytes = it->value();
    if (indexed) {
      rocksdb::Status s = db_->Get(read_options, records_, it->value(), &value);
      if (!s.ok()) {
        status = FromRocksDb(s, "reading an indexed record");
        break;
      }
      record_bytes = value;
    }
    if (!visit(View(it->key()), View(record_bytes))) break;
  }
  if (status.ok()) status = FromRocksDb(it->status(), "scanning records");
  it.reset();
  db_->ReleaseSnapshot(snapshot);
  return status;
}

absl::StatusOr<ScanPage> Replica::Scan(const Parent& parent,
                                       const std::string& after_key,
                                       size_t limit) const {
  ScanPage page;
  std::string last_key;
  absl::Status status = ForEach(
      parent, after_key, [&](const std::string& key, v1::Record& record) {
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

absl::StatusOr<int64_t> Replica::Count(const Parent& parent) const {
  std::string key;
  if (parent.city == kWildcardId) {
    key = parent.bureau.empty() ? AllKey() : CounterKey({"b", parent.bureau});
  } else {
    key = parent.bureau.empty() ? CounterKey({"c", parent.city})
                                : CounterKey({"cb", parent.city, parent.bureau});
  }
  absl::MutexLock lock(&mutex_);
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<CityCount> Replica::Cities() const {
  std::vector<CityCount> out;
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, city] : city_names_) {
    auto it = counts_.find(CounterKey({"c", id}));
    if (it != counts_.end()) out.push_back({city, it->second});
  }
  std::sort(out.begin(), out.end(), [](const CityCount& a, const CityCount& b) {
    return a.city.id() < b.city.id();
  });
  return out;
}

std::vector<BureauCount> Replica::Bureaus() const {
  std::vector<BureauCount> out;
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, bureau] : bureau_names_) {
    auto it = counts_.find(CounterKey({"b", id}));
    if (it != counts_.end()) out.push_back({bureau, it->second});
  }
  std::sort(out.begin(), out.end(),
            [](const BureauCount& a, const BureauCount& b) {
              return a.bureau.id() < b.bureau.id();
            });
  return out;
}

Replica::SearchReader::SearchReader(const Replica& replica)
    : replica_(replica), snapshot_(replica.db_->GetSnapshot()) {}

Replica::SearchReader::~SearchReader() {
  replica_.db_->ReleaseSnapshot(snapshot_);
}

std::unique_ptr<Replica::SearchReader> Replica::NewSearchReader() const {
  return std::unique_ptr<SearchReader>(new SearchReader(*this));
}

absl::StatusOr<std::map<int, int64_t>> Replica::SearchReader::LevelCounts(
    absl::string_view gram) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  const std::string prefix = GramCountPrefix(gram);
  std::unique_ptr<rocksdb::Iterator> it(
      replica_.db_->NewIterator(options, replica_.grams_));
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

absl::StatusOr<std::vector<uint64_t>> Replica::SearchReader::SamplePostings(
    absl::string_view gram, int level, int n) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  const size_t gram_prefix_size = PostingPrefix(gram).size();
  const std::string prefix = PostingLevelPrefix(gram, level);
  std::unique_ptr<rocksdb::Iterator> it(
      replica_.db_->NewIterator(options, replica_.grams_));
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

absl::Status Replica::SearchReader::ForEachPosting(
    absl::string_view gram,
    const std::function<bool(int level, uint64_t id)>& visit) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  const std::string prefix = PostingPrefix(gram);
  std::unique_ptr<rocksdb::Iterator> it(
      replica_.db_->NewIterator(options, replica_.grams_));
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

absl::StatusOr<Replica::SearchReader::Entry> Replica::SearchReader::GetEntry(
    uint64_t id) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s =
      replica_.db_->Get(options, replica_.search_text_, SequenceKey(id), &value);
  if (s.IsNotFound()) {
    return WithReason(absl::NotFoundError("no record"), "RECORD_NOT_FOUND");
  }
  if (!s.ok()) return FromRocksDb(s, "reading search text");
  std::optional<Entry> entry = DecodeEntry(value);
  if (!entry) return StorageCorrupted("search text");
  return *std::move(entry);
}

absl::StatusOr<v1::Record> Replica::SearchReader::GetByKey(
    const std::string& key) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  return replica_.ReadRecord(options, key);
}

}  // namespace kouryu::query
