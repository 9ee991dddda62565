#include "ingest-service/store.h"

#include <google/protobuf/util/time_util.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/keys.h"
#include "common/slice.h"
#include "common/status.h"

namespace kouryu::ingest {
namespace {

using google::protobuf::util::TimeUtil;

constexpr const char* kRecordsFamily = "records";
constexpr const char* kRecordIdsFamily = "record_ids";
constexpr const char* kChangelogFamily = "changelog";

absl::StatusOr<RecordName> NameOf(const v1::Record& record) {
  return ParseRecordName(record.name());
}

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

}  // namespace

std::string ContentEtag(const v1::Record& record) {
  v1::Record content = record;
  content.clear_source();
  content.clear_create_time();
  content.clear_update_time();
  content.clear_etag();
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  {
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    content.SerializeToCodedStream(&out);
  }
  return Hex64(Fnv1a64(bytes));
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.compression = rocksdb::kLZ4Compression;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {kRecordsFamily, cf_options},
      {kRecordIdsFamily, cf_options},
      {kChangelogFamily, cf_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  absl::Status opened = FromRocksDb(
      rocksdb::DB::Open(db_options, dir, families, &handles, &raw_db),
      absl::StrCat("opening ", dir));
  if (!opened.ok()) return opened;
  std::unique_ptr<rocksdb::DB> db(raw_db);

  uint64_t head = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), handles[3]));
    it->SeekToLast();
    if (it->Valid()) {
      std::optional<uint64_t> seq = DecodeSequenceKey(View(it->key()));
      if (!seq) return Corrupted("changelog key", View(it->key()));
      head = *seq;
    }
    absl::Status scanned = FromRocksDb(it->status(), "reading the changelog");
    if (!scanned.ok()) return scanned;
  }
  return std::unique_ptr<Store>(
      new Store(std::move(db), std::move(handles), options, head));
}

Store::Store(std::unique_ptr<rocksdb::DB> db,
             std::vector<rocksdb::ColumnFamilyHandle*> handles,
             const StoreOptions& options, uint64_t head)
    : db_(std::move(db)),
      records_(handles[1]),
      record_ids_(handles[2]),
      changelog_(handles[3]),
      handles_(std::move(handles)),
      options_(options),
      head_(head) {}

Store::~Store() {
  StopWaiting();
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    db_->DestroyColumnFamilyHandle(h);
  }
  db_->Close();
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

absl::StatusOr<std::optional<std::string>> Store::ReadNameOfId(
    const std::string& id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), record_ids_, id, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "reading a record ID");
  return value;
}

absl::StatusOr<std::vector<UpsertResult>> Store::Upsert(
    std::vector<v1::Record> records, bool dry_run, uint64_t* sequence) {
  absl::MutexLock write_lock(&write_mutex_);
  const google::protobuf::Timestamp now = TimeUtil::GetCurrentTime();
  uint64_t seq = HeadSequence();
  rocksdb::WriteBatch batch;
  // Records written earlier in this batch, by record ID.
  absl::flat_hash_map<std::string, v1::Record> pending;

  auto log = [&](v1::ChangeKind kind, const std::string& name,
                 const v1::Record* record) {
    v1::Change change;
    change.set_sequence(++seq);
    change.set_kind(kind);
    change.set_name(name);
    if (record != nullptr) *change.mutable_record() = *record;
    *change.mutable_commit_time() = now;
    return batch.Put(changelog_, SequenceKey(seq), change.SerializeAsString());
  };

  std::vector<UpsertResult> results;
  results.reserve(records.size());
  for (v1::Record& record : records) {
    absl::StatusOr<RecordName> name = NameOf(record);
    if (!name.ok()) return name.status();

    std::optional<v1::Record> existing;
    if (auto it = pending.find(name->record); it != pending.end()) {
      existing = it->second;
    } else {
      absl::StatusOr<std::optional<std::string>> old_name =
          ReadNameOfId(name->record);
      if (!old_name.ok()) return old_name.status();
      if (*old_name) {
        absl::StatusOr<RecordName> parsed = ParseRecordName(**old_name);
        if (!parsed.ok()) return Corrupted("record ID entry", name->record);
        absl::StatusOr<std::optional<v1::Record>> stored =
            ReadRecord(RecordKey(*parsed));
        if (!stored.ok()) return stored.status();
        existing = std::move(*stored);
      }
    }

    std::string etag = ContentEtag(record);
    if (existing && existing->name() == record.name() &&
        existing->etag() == etag) {
      results.push_back({*std::move(existing), v1::OUTCOME_UNCHANGED});
      continue;
    }
    record.set_etag(etag);
    *record.mutable_create_time() = existing ? existing->create_time() : now;
    *record.mutable_update_time() = now;
    rocksdb::Status s;
    if (existing && existing->name() != record.name()) {
      absl::StatusOr<RecordName> old = ParseRecordName(existing->name());
      if (!old.ok()) return old.status();
      s = batch.Delete(records_, RecordKey(*old));
      if (s.ok()) s = log(v1::CHANGE_KIND_DELETE, existing->name(), nullptr);
    }
    if (s.ok()) {
      s = batch.Put(records_, RecordKey(*name), record.SerializeAsString());
    }
    if (s.ok()) s = batch.Put(record_ids_, name->record, record.name());
    if (s.ok()) s = log(v1::CHANGE_KIND_UPSERT, record.name(), &record);
    if (!s.ok()) return FromRocksDb(s, "preparing a write");
    pending[name->record] = record;
    results.push_back(
        {std::move(record), existing ? v1::OUTCOME_UPDATED : v1::OUTCOME_CREATED});
  }

  if (dry_run || batch.Count() == 0) {
    *sequence = HeadSequence();
    return results;
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  absl::Status written =
      FromRocksDb(db_->Write(write_options, &batch), "writing records");
  if (!written.ok()) return written;
  {
    absl::MutexLock lock(&head_mutex_);
    head_ = seq;
  }
  *sequence = seq;
  return results;
}

absl::StatusOr<uint64_t> Store::Delete(const std::string& name,
                                       const std::string& etag) {
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  if (!parsed.ok()) return parsed.status();
  absl::MutexLock write_lock(&write_mutex_);
  absl::StatusOr<std::optional<v1::Record>> existing =
      ReadRecord(RecordKey(*parsed));
  if (!existing.ok()) return existing.status();
  if (!*existing) {
    return WithReason(absl::NotFoundError(absl::StrCat("no record ", name)),
                      "RECORD_NOT_FOUND");
  }
  if (!etag.empty() && (*existing)->etag() != etag) {
    return WithReason(
        absl::AbortedError(absl::StrCat("etag \"", etag, "\" is stale; ", name,
                                        " is at \"", (*existing)->etag(), "\"")),
        "ETAG_MISMATCH");
  }
  uint64_t seq = HeadSequence() + 1;
  v1::Change change;
  change.set_sequence(seq);
  change.set_kind(v1::CHANGE_KIND_DELETE);
  change.set_name(name);
  *change.mutable_commit_time() = TimeUtil::GetCurrentTime();
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Delete(records_, RecordKey(*parsed));
  if (s.ok()) s = batch.Delete(record_ids_, parsed->record);
  if (s.ok()) {
    s = batch.Put(changelog_, SequenceKey(seq), change.SerializeAsString());
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  if (s.ok()) s = db_->Write(write_options, &batch);
  absl::Status written = FromRocksDb(s, "deleting a record");
  if (!written.ok()) return written;
  absl::MutexLock lock(&head_mutex_);
  head_ = seq;
  return seq;
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
  absl::MutexLock lock(&head_mutex_);
  return head_;
}

absl::StatusOr<std::vector<v1::Change>> Store::ReadChanges(
    uint64_t after, size_t max_count) const {
  std::vector<v1::Change> changes;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), changelog_));
  for (it->Seek(SequenceKey(after + 1)); it->Valid() && changes.size() < max_count;
       it->Next()) {
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

bool Store::WaitForChangesAfter(uint64_t after, absl::Time deadline) const {
  absl::MutexLock lock(&head_mutex_);
  WaitArgs args{after, &head_, &stopped_};
  head_mutex_.AwaitWithDeadline(absl::Condition(&HasChangesOrStopped, &args),
                                deadline);
  return head_ > after;
}

void Store::StopWaiting() {
  absl::MutexLock lock(&head_mutex_);
  stopped_ = true;
}

bool Store::stopping() const {
  absl::MutexLock lock(&head_mutex_);
  return stopped_;
}

}  // namespace kouryu::ingest
