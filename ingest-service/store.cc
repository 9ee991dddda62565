#include "ingest-service/store.h"

#include <google/protobuf/util/time_util.h>
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
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/digest.h"
#include "common/keys.h"
#include "common/quote.h"
#include "common/slice.h"
#include "common/status.h"
#include "ingest-service/record_codec.h"

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
  absl::StatusOr<Changelog::Bounds> bounds =
      Changelog::ReadBounds(*db, handles[0], kHeadKey, handles[3]);
  if (!bounds.ok()) return bounds.status();
  absl::StatusOr<StoreHistory> history = LoadHistory(*db, handles[0]);
  if (!history.ok()) return history.status();
  return std::unique_ptr<Store>(new Store(dir, std::move(env), std::move(db),
                                          std::move(handles), options, *bounds,
                                          *std::move(history)));
}

Store::Store(std::string dir, std::unique_ptr<rocksdb::Env> env,
             std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles,
             const StoreOptions& options, const Changelog::Bounds& bounds,
             StoreHistory history)
    : dir_(std::move(dir)),
      env_(std::move(env)),
      db_(std::move(db)),
      meta_(handles[0]),
      records_(handles[1]),
      record_ids_(handles[2]),
      changelog_family_(handles[3]),
      handles_(std::move(handles)),
      options_(options),
      history_(std::move(history)),
      changelog_(*db_, changelog_family_,
                 {.changes = options.retain_changes, .age = options.retain_age},
                 bounds.first),
      commit_(bounds.head,
              [this](rocksdb::WriteBatch& batch, uint64_t first, uint64_t last) {
                return WriteGroup(batch, first, last);
              }) {}

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
  return ParseStoredRecord(value, key);
}

absl::StatusOr<std::optional<v1::Record>> Store::CurrentById(
    const GroupCommit::Pending& pending, const std::string& id) const {
  if (std::optional<GroupCommit::Value> value = pending.Find(id)) {
    if (*value == nullptr) return std::nullopt;
    return ParsePending(**value);
  }
  std::string name;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), record_ids_, id, &name);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "reading a record ID");
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  if (!parsed.ok()) return Corrupted("record ID entry", id);
  return ReadRecord(RecordKey(*parsed));
}

absl::StatusOr<UpsertBatchResult> Store::Upsert(std::vector<v1::Record> records,
                                                bool dry_run) {
  std::vector<ContentRecord> with_content;
  with_content.reserve(records.size());
  for (v1::Record& record : records) {
    with_content.push_back(WithContent(std::move(record)));
  }
  return Upsert(std::move(with_content), dry_run);
}

absl::StatusOr<UpsertBatchResult> Store::Upsert(
    std::vector<ContentRecord> records, bool dry_run) {
  const google::protobuf::Timestamp now = TimeUtil::GetCurrentTime();
  UpsertBatchResult result;
  absl::StatusOr<GroupCommit::Ticket> ticket =
      commit_.Prepare([&](GroupCommit::Pending& pending) {
        absl::StatusOr<std::vector<UpsertResult>> prepared =
            PrepareUpsert(pending, records, now, dry_run);
        if (!prepared.ok()) return prepared.status();
        result.records = *std::move(prepared);
        return absl::OkStatus();
      });
  if (!ticket.ok()) return ticket.status();
  result.sequence = ticket->sequence();
  if (dry_run) return result;
  // Outcomes may rest on writes not yet durable: the ticket waits for all.
  absl::Status durable = commit_.Wait(*ticket);
  if (!durable.ok()) return durable;
  if (options_.observer != nullptr) {
    int counts[3] = {0, 0, 0};  // created, updated, unchanged
    for (const UpsertResult& record : result.records) {
      if (record.outcome == v1::OUTCOME_CREATED) ++counts[0];
      if (record.outcome == v1::OUTCOME_UPDATED) ++counts[1];
      if (record.outcome == v1::OUTCOME_UNCHANGED) ++counts[2];
    }
    options_.observer->RecordsWritten(counts[0], counts[1], counts[2], 0);
  }
  return result;
}

absl::StatusOr<std::vector<UpsertResult>> Store::PrepareUpsert(
    GroupCommit::Pending& pending, std::vector<ContentRecord>& records,
    const google::protobuf::Timestamp& now, bool dry_run) const {
  std::vector<UpsertResult> results;
  results.reserve(records.size());
  uint64_t seq = pending.assigned();
  WriteOps ops;
  // Records written earlier in this call, serialized, by record ID.
  absl::flat_hash_map<std::string, GroupCommit::Value> written;
  auto log = [&](v1::ChangeKind kind, const std::string& name,
                 const std::string* record) {
    ++seq;
    ops.Put(changelog_family_, SequenceKey(seq),
            ChangeBytes(seq, kind, name, record, now));
  };

  for (ContentRecord& with_content : records) {
    v1::Record& record = with_content.record;
    absl::StatusOr<RecordName> name = ParseRecordName(record.name());
    if (!name.ok()) return name.status();
    std::optional<v1::Record> existing;
    if (auto it = written.find(name->record); it != written.end()) {
      absl::StatusOr<v1::Record> earlier = ParsePending(*it->second);
      if (!earlier.ok()) return earlier.status();
      existing = *std::move(earlier);
    } else {
      absl::StatusOr<std::optional<v1::Record>> current =
          CurrentById(pending, name->record);
      if (!current.ok()) return current.status();
      existing = *std::move(current);
    }
    std::string& content = with_content.content;
    const std::string& etag = with_content.etag;
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
    written[name->record] = std::move(bytes);
    results.push_back({std::move(record), existing ? v1::OUTCOME_UPDATED
                                                   : v1::OUTCOME_CREATED});
  }
  if (dry_run || ops.empty()) return results;
  absl::Status added = pending.Add(
      ops, seq, {std::make_move_iterator(written.begin()),
                 std::make_move_iterator(written.end())});
  if (!added.ok()) return added;
  return results;
}

absl::StatusOr<uint64_t> Store::Delete(const std::string& name,
                                       const std::string& etag) {
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<GroupCommit::Ticket> ticket =
      commit_.Prepare([&](GroupCommit::Pending& pending) {
        return PrepareDelete(pending, name, *parsed, etag);
      });
  if (!ticket.ok()) return ticket.status();
  absl::Status durable = commit_.Wait(*ticket);
  if (!durable.ok()) return durable;
  if (options_.observer != nullptr) options_.observer->RecordsWritten(0, 0, 0, 1);
  return ticket->sequence();
}

absl::Status Store::PrepareDelete(GroupCommit::Pending& pending,
                                  const std::string& name,
                                  const RecordName& parsed,
                                  const std::string& etag) const {
  absl::StatusOr<std::optional<v1::Record>> existing =
      CurrentById(pending, parsed.record);
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
  const uint64_t seq = pending.assigned() + 1;
  v1::Change change;
  change.set_sequence(seq);
  change.set_kind(v1::CHANGE_KIND_DELETE);
  change.set_name(name);
  *change.mutable_commit_time() = TimeUtil::GetCurrentTime();
  WriteOps ops;
  ops.Delete(records_, RecordKey(parsed));
  ops.Delete(record_ids_, parsed.record);
  ops.Put(changelog_family_, SequenceKey(seq), change.SerializeAsString());
  return pending.Add(ops, seq, {{parsed.record, nullptr}});
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

absl::Status Store::WriteGroup(rocksdb::WriteBatch& batch, uint64_t first,
                               uint64_t last) const {
  absl::Status status = CheckFreeSpace(batch.GetDataSize());
  if (!status.ok()) {
    if (options_.observer != nullptr) options_.observer->WriteRefusedForSpace();
    return status;
  }
  status = FromRocksDb(batch.Put(meta_, kHeadKey, SequenceKey(last)),
                       "preparing a write");
  if (!status.ok()) return status;
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  const absl::Time start = absl::Now();
  status = FromRocksDb(db_->Write(write_options, &batch), "writing records");
  if (status.ok() && options_.observer != nullptr) {
    options_.observer->GroupCommitted(last - first + 1, absl::Now() - start);
  }
  return status;
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

uint64_t Store::HeadSequence() const { return commit_.head(); }

uint64_t Store::FirstRetained() const {
  return changelog_.FirstRetained(commit_.head());
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadChanges(
    uint64_t after, size_t max_count) const {
  return changelog_.Read(after, max_count);
}

absl::StatusOr<uint64_t> Store::TrimChangelog(absl::Time now) {
  return changelog_.Trim(commit_.head(), now);
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
      absl::StatusOr<v1::Record> record =
          ParseStoredRecord(View(it->value()), View(it->key()));
      if (!record.ok()) return record.status();
      if (!visit(View(it->key()), *record)) break;
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
  std::unique_ptr<StoreSnapshot> snapshot;
  // With no group write in flight, the database holds exactly the changes
  // up to the head.
  commit_.WhileIdle([&](uint64_t head) {
    snapshot = std::make_unique<SnapshotImpl>(db_.get(), records_, head);
  });
  return snapshot;
}

absl::StatusOr<ContentDigest> Store::Digest() const {
  absl::StatusOr<std::unique_ptr<StoreSnapshot>> snapshot = OpenSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  DigestBuilder digest;
  absl::Status status = (*snapshot)->ForEach(
      [&digest](absl::string_view key, v1::Record& record) {
        digest.Add(key, record.etag());
        return true;
      });
  if (!status.ok()) return status;
  return ContentDigest{(*snapshot)->sequence(), digest.count(), digest.hex()};
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
  rocksdb::Status s = batch.Put(meta_, kHistoryKey, next.id);
  if (s.ok()) s = batch.Put(meta_, kParentHistoryKey, next.parent_id);
  if (s.ok()) {
    s = batch.Put(meta_, kParentSequenceKey,
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
  return commit_.WaitForHeadAfter(after, deadline);
}

void Store::StopWaiting() { commit_.StopWaiting(); }

bool Store::stopping() const { return commit_.stopping(); }

}  // namespace kouryu::ingest
