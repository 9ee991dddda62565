#include "query-service/replica.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
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
#include "query-service/search_text.h"

namespace kouryu::query {
namespace {

constexpr char kAppliedSequenceKey[] = "applied_sequence";
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

std::string GramKey(absl::string_view gram, absl::string_view record_key) {
  std::string key;
  AppendKeyComponent(key, gram);
  key.append(record_key.data(), record_key.size());
  return key;
}

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

absl::Status Corrupted(absl::string_view what) {
  return WithReason(
      absl::InternalError(absl::StrCat("cannot parse stored ", what)),
      "STORAGE_CORRUPTED");
}

std::string EncodeCount(int64_t n) { return SequenceKey(static_cast<uint64_t>(n)); }

}  // namespace

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(
    const std::string& dir, const ReplicaOptions& options) {
  rocksdb::DBOptions db_options;
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(
      options.write_buffer_bytes, cache);
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  table_options.cache_index_and_filter_blocks = true;
  table_options.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.compression = rocksdb::kLZ4Compression;
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
    if (!decoded) return Corrupted("applied sequence");
    applied = *decoded;
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, "reading the applied sequence");
  }
  auto replica = std::unique_ptr<Replica>(
      new Replica(std::move(db), std::move(handles), applied));
  absl::Status loaded = replica->LoadCounts();
  if (!loaded.ok()) return loaded;
  return replica;
}

Replica::Replica(std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles,
                 uint64_t applied)
    : db_(std::move(db)),
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
    if (!parts || parts->empty()) return Corrupted("count key");
    const std::string& kind = parts->front();
    if (kind == "cn" && parts->size() == 2) {
      if (!city_names_[(*parts)[1]].ParseFromArray(it->value().data(),
                                                   it->value().size())) {
        return Corrupted("city");
      }
    } else if (kind == "bn" && parts->size() == 2) {
      if (!bureau_names_[(*parts)[1]].ParseFromArray(it->value().data(),
                                                     it->value().size())) {
        return Corrupted("bureau");
      }
    } else {
      std::optional<uint64_t> n = DecodeSequenceKey(View(it->value()));
      if (!n) return Corrupted("count");
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

absl::Status Replica::Reset() {
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  // Every key of these families sorts below "\xff": record and count keys
  // are ASCII, gram keys start with a UTF-8 lead byte.
  for (rocksdb::ColumnFamilyHandle* cf :
       {records_, by_bureau_, grams_, counts_cf_, search_text_}) {
    if (s.ok()) s = batch.DeleteRange(cf, "", "\xff");
  }
  if (s.ok()) s = batch.Put(meta_, kAppliedSequenceKey, SequenceKey(0));
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  absl::Status written = FromRocksDb(s, "emptying the replica");
  if (!written.ok()) return written;
  absl::MutexLock lock(&mutex_);
  counts_.clear();
  city_names_.clear();
  bureau_names_.clear();
  applied_ = 0;
  return absl::OkStatus();
}

absl::Status Replica::ApplySnapshotPart(v1::SnapshotPart& part) {
  if (part.first()) {
    absl::Status reset = Reset();
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
    if (!applied) status = Corrupted("applied sequence");
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
        status = Corrupted("record");
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
  // The state of each record touched by this batch, as of the batch so far.
  absl::flat_hash_map<std::string, std::optional<v1::Record>> touched;
  absl::flat_hash_map<std::string, int64_t> delta;
  absl::flat_hash_map<std::string, v1::City> cities;
  absl::flat_hash_map<std::string, v1::Bureau> bureaus;

  auto count = [&delta](const v1::Record& r, int64_t d) {
    delta[AllKey()] += d;
    delta[CounterKey({"c", r.city().id()})] += d;
    delta[CounterKey({"b", r.bureau().id()})] += d;
    delta[CounterKey({"cb", r.city().id(), r.bureau().id()})] += d;
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
    std::optional<v1::Record> old;
    if (auto it = touched.find(key); it != touched.end()) {
      old = it->second;
    } else {
      absl::StatusOr<v1::Record> stored = GetByKey(key);
      if (stored.ok()) {
        old = *std::move(stored);
      } else if (!absl::IsNotFound(stored.status())) {
        return stored.status();
      }
    }
    rocksdb::Status s;
    if (old) {
      count(*old, -1);
      for (const IndexedGram& g : IndexedGrams(FoldedFields(*old))) {
        if (s.ok()) s = batch.Delete(grams_, GramKey(g.gram, key));
      }
    }
    if (change.kind() == v1::CHANGE_KIND_UPSERT) {
      const v1::Record& record = change.record();
      count(record, +1);
      cities[record.city().id()] = record.city();
      bureaus[record.bureau().id()] = record.bureau();
      if (s.ok()) s = batch.Put(records_, key, record.SerializeAsString());
      if (s.ok()) s = batch.Put(by_bureau_, BureauIndexKey(*name), key);
      const SearchFields fields = FoldedFields(record);
      if (s.ok()) s = batch.Put(search_text_, key, EncodeSearchFields(fields));
      for (const IndexedGram& g : IndexedGrams(fields)) {
        if (s.ok()) {
          s = batch.Put(grams_, GramKey(g.gram, key),
                        rocksdb::Slice(g.in_title ? "\x01" : "\x00", 1));
        }
      }
      touched[key] = record;
    } else {
      if (s.ok()) s = batch.Delete(records_, key);
      if (s.ok()) s = batch.Delete(by_bureau_, BureauIndexKey(*name));
      if (s.ok()) s = batch.Delete(search_text_, key);
      touched[key] = std::nullopt;
    }
    if (!s.ok()) return FromRocksDb(s, "preparing changes");
    if (!set_applied) last = change.sequence();
  }
  if (set_applied) last = *set_applied;
  if (last == applied && (!set_applied || changes.empty())) {
    return absl::OkStatus();
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
  return absl::OkStatus();
}

absl::Status Replica::WaitForSequence(uint64_t sequence,
                                      absl::Time deadline) const {
  absl::MutexLock lock(&mutex_);
  WaitArgs args{sequence, &applied_, &stopped_};
  mutex_.AwaitWithDeadline(absl::Condition(&CaughtUpOrStopped, &args),
                           deadline);
  if (applied_ >= sequence) return absl::OkStatus();
  std::string message =
      absl::StrCat("the replica has applied sequence ", applied_,
                   "; min_sequence ", sequence, " was not reached");
  if (stopped_) {
    return WithReason(absl::UnavailableError(message), "REPLICA_STOPPING");
  }
  return WithReason(absl::DeadlineExceededError(message), "REPLICA_BEHIND");
}

void Replica::StopWaiting() {
  absl::MutexLock lock(&mutex_);
  stopped_ = true;
}

absl::StatusOr<v1::Record> Replica::GetByKey(const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), records_, key, &value);
  if (s.IsNotFound()) {
    std::optional<RecordName> name = DecodeRecordKey(key);
    return WithReason(
        absl::NotFoundError(absl::StrCat(
            "no record ", name ? FormatRecordName(*name) : std::string("?"))),
        "RECORD_NOT_FOUND");
  }
  if (!s.ok()) return FromRocksDb(s, "reading a record");
  v1::Record record;
  if (!record.ParseFromString(value)) return Corrupted("record");
  return record;
}

absl::StatusOr<SearchFields> Replica::GetSearchFields(
    const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), search_text_, key, &value);
  if (s.IsNotFound()) {
    return WithReason(absl::NotFoundError("no record"), "RECORD_NOT_FOUND");
  }
  if (!s.ok()) return FromRocksDb(s, "reading search text");
  std::optional<SearchFields> fields = DecodeSearchFields(value);
  if (!fields) return Corrupted("search text");
  return *std::move(fields);
}

absl::StatusOr<v1::Record> Replica::Get(const RecordName& name) const {
  return GetByKey(RecordKey(name));
}

absl::Status Replica::ForEach(
    const Parent& parent, const std::string& after_key,
    const std::function<bool(const std::string& key, v1::Record& record)>&
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
  if (after_key.empty()) {
    it->Seek(prefix);
  } else {
    it->Seek(after_key);
    if (it->Valid() && View(it->key()) == after_key) it->Next();
  }
  std::string value;
  for (; it->Valid() && absl::StartsWith(View(it->key()), prefix); it->Next()) {
    rocksdb::Slice record_bytes = it->value();
    if (indexed) {
      rocksdb::Status s = db_->Get(read_options, records_, it->value(), &value);
      if (!s.ok()) {
        status = FromRocksDb(s, "reading an indexed record");
        break;
      }
      record_bytes = value;
    }
    v1::Record record;
    if (!record.ParseFromArray(record_bytes.data(),
                               static_cast<int>(record_bytes.size()))) {
      status = Corrupted("record");
      break;
    }
    if (!visit(it->key().ToString(), record)) break;
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

absl::StatusOr<std::vector<std::string>> Replica::SearchCandidates(
    absl::string_view folded_query,
    const std::function<bool()>& cancelled) const {
  std::vector<std::string> grams = Bigrams(folded_query);
  if (grams.empty()) {
    return absl::InvalidArgumentError("a search needs at least two characters");
  }
  rocksdb::ReadOptions read_options;
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  read_options.snapshot = snapshot;
  std::vector<std::string> prefixes;
  std::vector<std::unique_ptr<rocksdb::Iterator>> its;
  for (const std::string& g : grams) {
    std::string prefix;
    AppendKeyComponent(prefix, g);
    prefixes.push_back(std::move(prefix));
    its.emplace_back(db_->NewIterator(read_options, grams_));
  }
  // Leapfrog join: every posting list is sorted by record key; seek each to
  // the largest key seen until all agree.
  std::vector<std::string> out;
  std::string target;
  absl::Status status;
  for (uint64_t round = 0;; ++round) {
    if ((round & 1023) == 0 && cancelled && cancelled()) {
      status = absl::CancelledError("the search was cancelled");
      break;
    }
    std::string highest;
    bool agree = true, done = false;
    for (size_t i = 0; i < its.size(); ++i) {
      its[i]->Seek(prefixes[i] + target);
      if (!its[i]->Valid() || !absl::StartsWith(View(its[i]->key()), prefixes[i])) {
        done = true;
        break;
      }
      absl::string_view record_key = View(its[i]->key()).substr(prefixes[i].size());
      if (i == 0) {
        highest = std::string(record_key);
      } else if (record_key != highest) {
        agree = false;
        if (record_key > highest) highest = std::string(record_key);
      }
    }
    if (done) break;
    if (agree) {
      out.push_back(highest);
      target = highest;
      target.push_back('\0');  // The smallest key after `highest`.
    } else {
      target = highest;
    }
  }
  for (auto& it : its) {
    if (status.ok()) status = FromRocksDb(it->status(), "searching");
  }
  its.clear();
  db_->ReleaseSnapshot(snapshot);
  if (!status.ok()) return status;
  return out;
}

}  // namespace kouryu::query
