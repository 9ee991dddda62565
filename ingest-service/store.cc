#include "ingest-service/store.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>
#include <google/protobuf/wire_format_lite.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/backup_engine.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <limits>
#include <memory>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/digest.h"
#include "common/hash.h"
#include "common/keys.h"
#include "common/quote.h"
#include "common/slice.h"
#include "common/status.h"

namespace kouryu::ingest {
namespace {

using google::protobuf::util::TimeUtil;

constexpr const char* kRecordsFamily = "records";
constexpr const char* kRecordIdsFamily = "record_ids";
constexpr const char* kChangelogFamily = "changelog";
// In the default column family: the latest sequence written, which the
// changelog alone cannot tell once it has been trimmed empty.
constexpr char kHeadKey[] = "head_sequence";
// In the default column family: the store's history (store.h).
constexpr char kHistoryKey[] = "history_id";
constexpr char kParentHistoryKey[] = "parent_history_id";
constexpr char kParentSequenceKey[] = "parent_history_sequence";
// A written batch up to this size is kept for the next group write (see
// Store::spare_batch_); larger ones, from big imports, are freed.
constexpr size_t kMaxSpareBatchBytes = 8 << 20;

// The operations of one write, collected before any reaches the shared
// open batch, so a write that fails halfway adds nothing.
class Ops {
 public:
  void Put(rocksdb::ColumnFamilyHandle* cf, std::string key, std::string value) {
    ops_.push_back({cf, std::move(key), std::move(value), false});
  }
  void Delete(rocksdb::ColumnFamilyHandle* cf, std::string key) {
    ops_.push_back({cf, std::move(key), "", true});
  }
  bool empty() const { return ops_.empty(); }
  absl::Status AppendTo(rocksdb::WriteBatch& batch) const {
    for (const Op& op : ops_) {
      rocksdb::Status s = op.is_delete ? batch.Delete(op.cf, op.key)
                                       : batch.Put(op.cf, op.key, op.value);
      if (!s.ok()) return FromRocksDb(s, "preparing a write");
    }
    return absl::OkStatus();
  }

 private:
  struct Op {
    rocksdb::ColumnFamilyHandle* cf;
    std::string key;
    std::string value;
    bool is_delete;
  };
  std::vector<Op> ops_;
};

absl::Status Corrupted(absl::string_view what, absl::string_view key) {
  return WithReason(absl::InternalError(absl::StrCat(
                        "cannot parse stored ", what, " at key \"",
                        absl::CEscape(key), "\"")),
                    "STORAGE_CORRUPTED");
}

struct WaitArgs {
  uint64_t after;
  const uint64_t* head;
  const bool* stopped;
};

bool HasChangesOrStopped(WaitArgs* args) {
  return *args->head > args->after || *args->stopped;
}

// The bytes ContentEtag hashes: `record` serialized without its
// name-independent metadata (source, timestamps, create_sequence, etag).
// The metadata is moved out for the serialization and back afterwards, so
// the record is unchanged on return and nothing large is copied.
std::string ContentBytes(v1::Record& record) {
  std::unique_ptr<v1::SourceRef> source(
      record.has_source() ? record.release_source() : nullptr);
  std::unique_ptr<google::protobuf::Timestamp> create_time(
      record.has_create_time() ? record.release_create_time() : nullptr);
  std::unique_ptr<google::protobuf::Timestamp> update_time(
      record.has_update_time() ? record.release_update_time() : nullptr);
  const uint64_t create_sequence = record.create_sequence();
  record.clear_create_sequence();
  std::string etag = std::move(*record.mutable_etag());
  record.clear_etag();

  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    record.SerializeToCodedStream(&out);
  }

  record.set_allocated_source(source.release());
  record.set_allocated_create_time(create_time.release());
  record.set_allocated_update_time(update_time.release());
  record.set_create_sequence(create_sequence);
  *record.mutable_etag() = std::move(etag);
  return bytes;
}

std::string EtagOf(absl::string_view content_bytes) {
  return Hex64(Fnv1a64(content_bytes));
}

// `record` serialized, given its ContentBytes. The metadata fields have the
// highest field numbers, and a message without unknown fields serializes
// its fields in field-number order, so the whole is the content followed by
// the metadata: the content is not serialized a second time.
std::string RecordBytes(const v1::Record& record, std::string content_bytes) {
  if (!record.GetReflection()->GetUnknownFields(record).empty()) {
    return record.SerializeAsString();
  }
  v1::Record metadata;
  if (record.has_source()) *metadata.mutable_source() = record.source();
  if (record.has_create_time()) {
    *metadata.mutable_create_time() = record.create_time();
  }
  if (record.has_update_time()) {
    *metadata.mutable_update_time() = record.update_time();
  }
  metadata.set_etag(record.etag());
  metadata.set_create_sequence(record.create_sequence());
  std::string bytes = std::move(content_bytes);
  metadata.AppendToString(&bytes);
  return bytes;
}

// A serialized v1::Change whose record (when not null) is already
// serialized: the same bytes as setting the fields and serializing, since
// fields serialize in field-number order and an embedded message as its
// tag, its length and its own bytes.
std::string ChangeBytes(uint64_t sequence, v1::ChangeKind kind,
                        const std::string& name, const std::string* record,
                        const google::protobuf::Timestamp& commit_time) {
  static_assert(v1::Change::kNameFieldNumber < v1::Change::kRecordFieldNumber &&
                v1::Change::kRecordFieldNumber <
                    v1::Change::kCommitTimeFieldNumber);
  v1::Change head;
  head.set_sequence(sequence);
  head.set_kind(kind);
  head.set_name(name);
  std::string bytes = head.SerializeAsString();
  if (record != nullptr) {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.WriteTag(google::protobuf::internal::WireFormatLite::MakeTag(
        v1::Change::kRecordFieldNumber,
        google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
    out.WriteVarint32(static_cast<uint32_t>(record->size()));
    out.WriteRaw(record->data(), static_cast<int>(record->size()));
  }
  v1::Change tail;
  *tail.mutable_commit_time() = commit_time;
  tail.AppendToString(&bytes);
  return bytes;
}

// A record this process serialized for a pending write.
absl::StatusOr<v1::Record> ParsePending(const std::string& bytes) {
  v1::Record record;
  if (!record.ParseFromString(bytes)) {
    return absl::InternalError("cannot parse a record of a pending write");
  }
  return record;
}

// 128 random bits, as 32 hex digits.
std::string NewHistoryId() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    absl::StrAppend(&id, absl::Hex(random(), absl::kZeroPad8));
  }
  return id;
}

// Reads the history keys; creates the history of a store that has none
// (new, or written before histories existed).
absl::StatusOr<StoreHistory> LoadHistory(rocksdb::DB& db,
                                         rocksdb::ColumnFamilyHandle* meta) {
  StoreHistory history;
  rocksdb::Status s =
      db.Get(rocksdb::ReadOptions(), meta, kHistoryKey, &history.id);
  if (s.IsNotFound()) {
    history.id = NewHistoryId();
    rocksdb::WriteOptions sync;
    sync.sync = true;
    absl::Status written = FromRocksDb(
        db.Put(sync, meta, kHistoryKey, history.id), "writing the history ID");
    if (!written.ok()) return written;
    return history;
  }
  if (!s.ok()) return FromRocksDb(s, "reading the history ID");
  s = db.Get(rocksdb::ReadOptions(), meta, kParentHistoryKey,
             &history.parent_id);
  if (s.IsNotFound()) return history;
  if (!s.ok()) return FromRocksDb(s, "reading the parent history ID");
  std::string value;
  s = db.Get(rocksdb::ReadOptions(), meta, kParentSequenceKey, &value);
  if (!s.ok()) return FromRocksDb(s, "reading the parent history sequence");
  std::optional<uint64_t> sequence = DecodeSequenceKey(value);
  if (!sequence) return Corrupted("parent history sequence", kParentSequenceKey);
  history.parent_sequence = *sequence;
  return history;
}

}  // namespace

std::string ContentEtag(const v1::Record& record) {
  v1::Record copy = record;
  return EtagOf(ContentBytes(copy));
}

rocksdb::ColumnFamilyOptions StoreColumnFamilyOptions() {
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.compression = rocksdb::kLZ4Compression;
  // Every write reads the record's previous version, which a new record
  // does not have: a Bloom filter answers that without reading the files.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  return cf_options;
}

std::vector<std::string> StoreColumnFamilies() {
  return {kRecordsFamily, kRecordIdsFamily, kChangelogFamily};
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  std::unique_ptr<rocksdb::Env> env;
  if (options.file_system != nullptr) {
    env = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = env.get();
  }
  absl::StatusOr<OpenedDb> opened =
      OpenDb(dir, db_options, StoreColumnFamilyOptions(), StoreColumnFamilies());
  if (!opened.ok()) return opened.status();
  std::unique_ptr<rocksdb::DB> db = std::move(opened->db);
  std::vector<rocksdb::ColumnFamilyHandle*> handles = std::move(opened->families);

  // The head is the last changelog entry; the meta key keeps it when the
  // changelog has been trimmed empty.
  uint64_t head = 0, first = 0;
  {
    std::string value;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), handles[0], kHeadKey, &value);
    if (s.ok()) {
      std::optional<uint64_t> stored = DecodeSequenceKey(value);
      if (!stored) return Corrupted("head sequence", kHeadKey);
      head = *stored;
    } else if (!s.IsNotFound()) {
      return FromRocksDb(s, "reading the head sequence");
    }
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), handles[3]));
    it->SeekToLast();
    if (it->Valid()) {
      std::optional<uint64_t> seq = DecodeSequenceKey(View(it->key()));
      if (!seq) return Corrupted("changelog key", View(it->key()));
      head = std::max(head, *seq);
    }
    it->SeekToFirst();
    if (it->Valid()) {
      std::optional<uint64_t> seq = DecodeSequenceKey(View(it->key()));
      if (!seq) return Corrupted("changelog key", View(it->key()));
      first = *seq;
    } else {
      first = head + 1;
    }
    absl::Status scanned = FromRocksDb(it->status(), "reading the changelog");
    if (!scanned.ok()) return scanned;
  }
  absl::StatusOr<StoreHistory> history = LoadHistory(*db, handles[0]);
  if (!history.ok()) return history.status();
  return std::unique_ptr<Store>(new Store(dir, std::move(env), std::move(db),
                                          std::move(handles), options, head,
                                          first, *std::move(history)));
}

Store::Store(std::string dir, std::unique_ptr<rocksdb::Env> env,
             std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles,
             const StoreOptions& options, uint64_t head, uint64_t first_retained,
             StoreHistory history)
    : dir_(std::move(dir)),
      env_(std::move(env)),
      db_(std::move(db)),
      records_(handles[1]),
      record_ids_(handles[2]),
      changelog_(handles[3]),
      handles_(std::move(handles)),
      options_(options),
      history_(std::move(history)),
      assigned_(head),
      head_(head),
      first_retained_(first_retained) {}

Store::~Store() {
  StopWaiting();
  CloseDb(*db_, handles_);
}

absl::StatusOr<std::optional<v1::Record>> Store::ReadRecord(
    const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), records_, key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "reading a record");
  v1::Record record;
  if (!record.ParseFromString(value)) return Corrupted("record", key);
  return record;
}

absl::StatusOr<std::optional<v1::Record>> Store::CurrentById(
    const std::string& id) {
  if (auto it = overlay_.find(id); it != overlay_.end()) {
    if (it->second.record == nullptr) return std::nullopt;
    absl::StatusOr<v1::Record> pending = ParsePending(*it->second.record);
    if (!pending.ok()) return pending.status();
    return *std::move(pending);
  }
  std::string name;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), record_ids_, id, &name);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "reading a record ID");
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  if (!parsed.ok()) return Corrupted("record ID entry", id);
  return ReadRecord(RecordKey(*parsed));
}

absl::StatusOr<std::vector<UpsertResult>> Store::Upsert(
    std::vector<v1::Record> records, bool dry_run, uint64_t* sequence) {
  const google::protobuf::Timestamp now = TimeUtil::GetCurrentTime();
  std::vector<UpsertResult> results;
  results.reserve(records.size());
  uint64_t wait_for = 0;
  {
    absl::MutexLock write_lock(&write_mutex_);
    uint64_t seq = assigned_;
    Ops ops;
    // Records written earlier in this call, serialized, by record ID.
    absl::flat_hash_map<std::string, std::shared_ptr<const std::string>>
        pending;
    auto log = [&](v1::ChangeKind kind, const std::string& name,
                   const std::string* record) {
      ++seq;
      ops.Put(changelog_, SequenceKey(seq),
              ChangeBytes(seq, kind, name, record, now));
    };

    for (v1::Record& record : records) {
      absl::StatusOr<RecordName> name = ParseRecordName(record.name());
      if (!name.ok()) return name.status();
      std::optional<v1::Record> existing;
      if (auto it = pending.find(name->record); it != pending.end()) {
        absl::StatusOr<v1::Record> earlier = ParsePending(*it->second);
        if (!earlier.ok()) return earlier.status();
        existing = *std::move(earlier);
      } else {
        absl::StatusOr<std::optional<v1::Record>> current =
            CurrentById(name->record);
        if (!current.ok()) return current.status();
        existing = *std::move(current);
      }
      std::string content = ContentBytes(record);
      std::string etag = EtagOf(content);
      if (existing && existing->name() == record.name() &&
          existing->etag() == etag) {
        results.push_back({*std::move(existing), v1::OUTCOME_UNCHANGED});
        continue;
      }
      record.set_etag(etag);
      *record.mutable_create_time() = existing ? existing->create_time() : now;
      *record.mutable_update_time() = now;
      if (existing && existing->name() != record.name()) {
        absl::StatusOr<RecordName> old = ParseRecordName(existing->name());
        if (!old.ok()) return old.status();
        ops.Delete(records_, RecordKey(*old));
        log(v1::CHANGE_KIND_DELETE, existing->name(), nullptr);
      }
      // The sequence of the change that is about to be logged, unless the
      // record was created earlier.
      record.set_create_sequence(existing && existing->create_sequence() != 0
                                     ? existing->create_sequence()
                                     : seq + 1);
      auto bytes = std::make_shared<const std::string>(
          RecordBytes(record, std::move(content)));
      ops.Put(records_, RecordKey(*name), *bytes);
      ops.Put(record_ids_, name->record, record.name());
      log(v1::CHANGE_KIND_UPSERT, record.name(), bytes.get());
      pending[name->record] = std::move(bytes);
      results.push_back({std::move(record), existing ? v1::OUTCOME_UPDATED
                                                     : v1::OUTCOME_CREATED});
    }
    if (dry_run) {
      *sequence = assigned_;
      return results;
    }
    if (!ops.empty()) {
      absl::Status added = ops.AppendTo(*open_batch_);
      if (!added.ok()) return added;
      for (auto& [id, bytes] : pending) overlay_[id] = {std::move(bytes), seq};
      assigned_ = seq;
    }
    // Outcomes may rest on writes not yet durable: wait for all of them.
    wait_for = assigned_;
  }
  absl::Status durable = WaitDurable(wait_for);
  if (!durable.ok()) return durable;
  *sequence = wait_for;
  if (options_.observer != nullptr) {
    int counts[3] = {0, 0, 0};  // created, updated, unchanged
    for (const UpsertResult& result : results) {
      if (result.outcome == v1::OUTCOME_CREATED) ++counts[0];
      if (result.outcome == v1::OUTCOME_UPDATED) ++counts[1];
      if (result.outcome == v1::OUTCOME_UNCHANGED) ++counts[2];
    }
    options_.observer->RecordsWritten(counts[0], counts[1], counts[2], 0);
  }
  return results;
}

absl::StatusOr<uint64_t> Store::Delete(const std::string& name,
                                       const std::string& etag) {
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  if (!parsed.ok()) return parsed.status();
  uint64_t seq = 0;
  {
    absl::MutexLock write_lock(&write_mutex_);
    absl::StatusOr<std::optional<v1::Record>> existing =
        CurrentById(parsed->record);
    if (!existing.ok()) return existing.status();
    if (!*existing || (*existing)->name() != name) {
      return WithReason(absl::NotFoundError(absl::StrCat("no record ", name)),
                        "RECORD_NOT_FOUND", {{"name", std::string(name)}});
    }
    if (!etag.empty() && (*existing)->etag() != etag) {
      return WithReason(
          absl::AbortedError(absl::StrCat("etag ", QuoteValue(etag),
                                          " is stale; ", name, " is at \"",
                                          (*existing)->etag(), "\"")),
          "ETAG_MISMATCH",
          {{"name", std::string(name)},
           {"etag", std::string(etag)},
           {"currentEtag", (*existing)->etag()}});
    }
    seq = assigned_ + 1;
    v1::Change change;
    change.set_sequence(seq);
    change.set_kind(v1::CHANGE_KIND_DELETE);
    change.set_name(name);
    *change.mutable_commit_time() = TimeUtil::GetCurrentTime();
    Ops ops;
    ops.Delete(records_, RecordKey(*parsed));
    ops.Delete(record_ids_, parsed->record);
    ops.Put(changelog_, SequenceKey(seq), change.SerializeAsString());
    absl::Status added = ops.AppendTo(*open_batch_);
    if (!added.ok()) return added;
    overlay_[parsed->record] = {nullptr, seq};
    assigned_ = seq;
  }
  absl::Status durable = WaitDurable(seq);
  if (!durable.ok()) return durable;
  if (options_.observer != nullptr) options_.observer->RecordsWritten(0, 0, 0, 1);
  return seq;
}

absl::Status Store::CheckFreeSpace(uint64_t bytes) const {
  struct statvfs fs;
  if (statvfs(dir_.c_str(), &fs) != 0) return absl::OkStatus();
  const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  const uint64_t needed = options_.min_free_bytes + 2 * bytes;
  if (free_bytes >= needed) return absl::OkStatus();
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "the disk of ", dir_, " is nearly full: ", free_bytes >> 20,
          " MiB free, a write needs ", needed >> 20, " MiB; nothing written")),
      "STORAGE_FULL");
}

bool Store::Failed(uint64_t sequence) const {
  for (const auto& [first, last] : failed_) {
    if (sequence > first && sequence <= last) return true;
  }
  return false;
}

absl::Status Store::WaitDurable(uint64_t sequence) {
  absl::MutexLock lock(&commit_mutex_);
  while (true) {
    if (Failed(sequence)) return last_failure_;
    if (head_ >= sequence) return absl::OkStatus();
    if (!writing_) {
      writing_ = true;
      commit_mutex_.Unlock();
      WriteGroup();
      commit_mutex_.Lock();
      continue;
    }
    // Another writer leads the group in flight; wait for it to finish.
    commit_mutex_.Await(absl::Condition(
        +[](bool* writing) { return !*writing; }, &writing_));
  }
}

void Store::WriteGroup() {
  std::unique_ptr<rocksdb::WriteBatch> batch;
  uint64_t last = 0;
  {
    absl::MutexLock lock(&write_mutex_);
    batch = std::exchange(open_batch_,
                          spare_batch_ != nullptr
                              ? std::move(spare_batch_)
                              : std::make_unique<rocksdb::WriteBatch>());
    last = assigned_;
  }
  absl::Status status;
  if (batch->Count() > 0) {
    rocksdb::WriteOptions write_options;
    write_options.sync = options_.sync;
    status = CheckFreeSpace(batch->GetDataSize());
    if (!status.ok() && options_.observer != nullptr) {
      options_.observer->WriteRefusedForSpace();
    }
    if (status.ok()) {
      status = FromRocksDb(batch->Put(handles_[0], kHeadKey, SequenceKey(last)),
                           "preparing a write");
    }
    if (status.ok()) {
      const absl::Time start = absl::Now();
      status = FromRocksDb(db_->Write(write_options, batch.get()), "writing records");
      if (status.ok() && options_.observer != nullptr) {
        uint64_t before = 0;
        {
          absl::MutexLock lock(&commit_mutex_);
          before = head_;
        }
        options_.observer->GroupCommitted(last - before, absl::Now() - start);
      }
    }
  }
  const bool keep_batch = batch->GetDataSize() <= kMaxSpareBatchBytes;
  if (keep_batch) batch->Clear();
  absl::MutexLock write_lock(&write_mutex_);
  if (keep_batch) spare_batch_ = std::move(batch);
  // Forget what this group made durable, or, when it failed, everything
  // prepared so far: later writes were prepared on top of it.
  if (status.ok()) {
    for (auto it = overlay_.begin(); it != overlay_.end();) {
      auto next = std::next(it);
      if (it->second.sequence <= last) overlay_.erase(it);
      it = next;
    }
  } else {
    overlay_.clear();
    open_batch_->Clear();
  }
  absl::MutexLock lock(&commit_mutex_);
  if (status.ok()) {
    head_ = std::max(head_, last);
  } else {
    failed_.emplace_back(head_, assigned_);
    last_failure_ = status;
  }
  writing_ = false;
}

absl::StatusOr<v1::Record> Store::Get(const std::string& name) const {
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<std::optional<v1::Record>> record =
      ReadRecord(RecordKey(*parsed));
  if (!record.ok()) return record.status();
  if (!*record) {
    return WithReason(absl::NotFoundError(absl::StrCat("no record ", name)),
                      "RECORD_NOT_FOUND");
  }
  return **std::move(record);
}

uint64_t Store::HeadSequence() const {
  absl::MutexLock lock(&commit_mutex_);
  return head_;
}

uint64_t Store::FirstRetained() const {
  absl::MutexLock lock(&commit_mutex_);
  return std::min(first_retained_, head_ + 1);
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadChanges(
    uint64_t after, size_t max_count) const {
  std::vector<v1::Change> changes;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), changelog_));
  for (it->Seek(SequenceKey(after + 1));
       it->Valid() && changes.size() < max_count; it->Next()) {
    v1::Change change;
    if (!change.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return Corrupted("change", View(it->key()));
    }
    changes.push_back(std::move(change));
  }
  absl::Status status = FromRocksDb(it->status(), "reading the changelog");
  if (!status.ok()) return status;
  return changes;
}

absl::StatusOr<uint64_t> Store::TrimChangelog(absl::Time now) {
  absl::MutexLock trim_lock(&trim_mutex_);
  const uint64_t head = HeadSequence();
  const uint64_t first = FirstRetained();
  // Changes up to `by_count` are beyond the count limit; of those, the ones
  // committed before the age limit go.
  const uint64_t by_count =
      head > options_.retain_changes ? head - options_.retain_changes : 0;
  if (by_count < first) return 0;
  const absl::Time oldest_kept = now - options_.retain_age;
  uint64_t cut = first;  // Drop [first, cut).
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), changelog_));
  for (it->Seek(SequenceKey(first)); it->Valid(); it->Next()) {
    std::optional<uint64_t> seq = DecodeSequenceKey(View(it->key()));
    if (!seq) return Corrupted("changelog key", View(it->key()));
    if (*seq > by_count) break;
    v1::Change change;
    if (!change.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return Corrupted("change", View(it->key()));
    }
    if (TimeUtil::TimestampToNanoseconds(change.commit_time()) >=
        absl::ToUnixNanos(oldest_kept)) {
      break;
    }
    cut = *seq + 1;
  }
  absl::Status scanned = FromRocksDb(it->status(), "trimming the changelog");
  if (!scanned.ok()) return scanned;
  if (cut == first) return 0;
  // Readers see first_retained_ move before the entries go, so a reader
  // that finds a gap knows why.
  {
    absl::MutexLock lock(&commit_mutex_);
    first_retained_ = cut;
  }
  absl::Status dropped = FromRocksDb(
      db_->DeleteRange(rocksdb::WriteOptions(), changelog_, SequenceKey(first),
                       SequenceKey(cut)),
      "trimming the changelog");
  if (!dropped.ok()) return dropped;
  return cut - first;
}

namespace {

class SnapshotImpl : public StoreSnapshot {
 public:
  SnapshotImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* records,
               uint64_t sequence)
      : db_(db),
        records_(records),
        snapshot_(db->GetSnapshot()),
        sequence_(sequence) {}
  ~SnapshotImpl() override { db_->ReleaseSnapshot(snapshot_); }

  uint64_t sequence() const override { return sequence_; }

  absl::Status ForEach(
      const std::function<bool(absl::string_view key, v1::Record& record)>&
          visit) const override {
    rocksdb::ReadOptions read_options;
    read_options.snapshot = snapshot_;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, records_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      v1::Record record;
      if (!record.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
        return Corrupted("record", View(it->key()));
      }
      if (!visit(View(it->key()), record)) break;
    }
    return FromRocksDb(it->status(), "reading a snapshot");
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* records_;
  const rocksdb::Snapshot* snapshot_;
  uint64_t sequence_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoreSnapshot>> Store::OpenSnapshot() const {
  // With no group write in flight, the database holds exactly the changes
  // up to head_.
  absl::MutexLock lock(&commit_mutex_);
  commit_mutex_.Await(absl::Condition(
      +[](bool* writing) { return !*writing; }, const_cast<bool*>(&writing_)));
  return std::make_unique<SnapshotImpl>(db_.get(), records_, head_);
}

absl::StatusOr<StoreDigest> Store::Digest() const {
  absl::StatusOr<std::unique_ptr<StoreSnapshot>> snapshot = OpenSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  DigestBuilder digest;
  absl::Status status = (*snapshot)->ForEach(
      [&digest](absl::string_view key, v1::Record& record) {
        digest.Add(key, record.etag());
        return true;
      });
  if (!status.ok()) return status;
  return StoreDigest{(*snapshot)->sequence(), digest.count(), digest.hex()};
}

bool Store::Continues(absl::string_view history_id, uint64_t sequence) const {
  if (history_id.empty() || history_id == history_.id) {
    return sequence <= HeadSequence();
  }
  return history_id == history_.parent_id &&
         sequence <= history_.parent_sequence;
}

absl::Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  absl::Status status =
      FromRocksDb(rocksdb::Checkpoint::Create(db_.get(), &raw),
                  "preparing a checkpoint");
  if (!status.ok()) return status;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // No flush of the live database: the write-ahead log, copied up to its
  // size at the moment the checkpoint is taken, holds what the memtables do.
  return FromRocksDb(
      checkpoint->CreateCheckpoint(dir, std::numeric_limits<uint64_t>::max()),
      absl::StrCat("writing a checkpoint into ", dir));
}

absl::StatusOr<uint32_t> Store::BackUpTo(rocksdb::BackupEngine& engine,
                                         const std::string& app_metadata) {
  rocksdb::CreateBackupOptions backup_options;
  backup_options.flush_before_backup = true;
  rocksdb::BackupID id = 0;
  absl::Status status = FromRocksDb(
      engine.CreateNewBackupWithMetadata(backup_options, db_.get(),
                                         app_metadata, &id),
      "writing a backup");
  if (!status.ok()) return status;
  return id;
}

absl::Status Store::StartNewHistory() {
  StoreHistory next{.id = NewHistoryId(),
                    .parent_id = history_.id,
                    .parent_sequence = HeadSequence()};
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Put(handles_[0], kHistoryKey, next.id);
  if (s.ok()) s = batch.Put(handles_[0], kParentHistoryKey, next.parent_id);
  if (s.ok()) {
    s = batch.Put(handles_[0], kParentSequenceKey,
                  SequenceKey(next.parent_sequence));
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  if (s.ok()) s = db_->Write(sync, &batch);
  absl::Status written = FromRocksDb(s, "writing the new history ID");
  if (!written.ok()) return written;
  history_ = std::move(next);
  return absl::OkStatus();
}

bool Store::WaitForChangesAfter(uint64_t after, absl::Time deadline) const {
  absl::MutexLock lock(&commit_mutex_);
  WaitArgs args{after, &head_, &stopped_};
  commit_mutex_.AwaitWithDeadline(absl::Condition(&HasChangesOrStopped, &args),
                                  deadline);
  return head_ > after;
}

void Store::StopWaiting() {
  absl::MutexLock lock(&commit_mutex_);
  stopped_ = true;
}

bool Store::stopping() const {
  absl::MutexLock lock(&commit_mutex_);
  return stopped_;
}

}  // namespace kouryu::ingest
