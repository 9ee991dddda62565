#include "query-service/replica.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/slice.h"
#include "common/status.h"

namespace kouryu::query {
namespace {

constexpr char kAppliedSequenceKey[] = "applied_sequence";

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

}  // namespace

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(
    const std::string& dir, const ReplicaOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"records", cf_options},
      {"by_bureau", cf_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  absl::Status opened = FromRocksDb(
      rocksdb::DB::Open(db_options, dir, families, &handles, &raw_db),
      absl::StrCat("opening ", dir));
  if (!opened.ok()) return opened;
  std::unique_ptr<rocksdb::DB> db(raw_db);

  std::string value;
  uint64_t applied = 0;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), handles[0],
                              kAppliedSequenceKey, &value);
  if (s.ok()) {
    std::optional<uint64_t> decoded = DecodeSequenceKey(value);
    if (!decoded) return Corrupted("applied sequence");
    applied = *decoded;
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, "reading the applied sequence");
  }
  return std::unique_ptr<Replica>(
      new Replica(std::move(db), std::move(handles), applied));
}

Replica::Replica(std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles,
                 uint64_t applied)
    : db_(std::move(db)),
      handles_(std::move(handles)),
      meta_(handles_[0]),
      records_(handles_[1]),
      by_bureau_(handles_[2]),
      applied_(applied) {}

Replica::~Replica() {
  StopWaiting();
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    db_->DestroyColumnFamilyHandle(h);
  }
  db_->Close();
}

uint64_t Replica::applied_sequence() const {
  absl::MutexLock lock(&mutex_);
  return applied_;
}

absl::Status Replica::Apply(const std::vector<v1::Change>& changes) {
  uint64_t applied = applied_sequence();
  uint64_t last = applied;
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (const v1::Change& change : changes) {
    if (change.sequence() <= last) continue;
    absl::StatusOr<RecordName> name = ParseRecordName(change.name());
    if (!name.ok()) {
      return absl::DataLossError(absl::StrCat(
          "change ", change.sequence(), ": ", name.status().message()));
    }
    const std::string key = RecordKey(*name);
    if (change.kind() == v1::CHANGE_KIND_UPSERT) {
      s = batch.Put(records_, key, change.record().SerializeAsString());
      if (s.ok()) s = batch.Put(by_bureau_, BureauIndexKey(*name), key);
    } else if (change.kind() == v1::CHANGE_KIND_DELETE) {
      s = batch.Delete(records_, key);
      if (s.ok()) s = batch.Delete(by_bureau_, BureauIndexKey(*name));
    } else {
      return absl::DataLossError(
          absl::StrCat("change ", change.sequence(), " has no kind"));
    }
    if (!s.ok()) return FromRocksDb(s, "preparing changes");
    last = change.sequence();
  }
  if (last == applied) return absl::OkStatus();
  s = batch.Put(meta_, kAppliedSequenceKey, SequenceKey(last));
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  absl::Status written = FromRocksDb(s, "applying changes");
  if (!written.ok()) return written;
  absl::MutexLock lock(&mutex_);
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

absl::StatusOr<v1::Record> Replica::Get(const RecordName& name) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), records_, RecordKey(name), &value);
  if (s.IsNotFound()) {
    return WithReason(absl::NotFoundError(absl::StrCat(
                          "no record ", FormatRecordName(name))),
                      "RECORD_NOT_FOUND");
  }
  if (!s.ok()) return FromRocksDb(s, "reading a record");
  v1::Record record;
  if (!record.ParseFromString(value)) return Corrupted("record");
  return record;
}

absl::StatusOr<ScanPage> Replica::Scan(const Parent& parent,
                                       const std::string& after_key,
                                       size_t limit) const {
  const std::string prefix = ScanPrefix(parent);
  const bool indexed = UsesBureauIndex(parent);
  rocksdb::ReadOptions read_options;
  // One snapshot for the index and the records it points to.
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  read_options.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, indexed ? by_bureau_ : records_));
  ScanPage page;
  absl::Status status;
  if (after_key.empty()) {
    it->Seek(prefix);
  } else {
    it->Seek(after_key);
    if (it->Valid() && View(it->key()) == after_key) it->Next();
  }
  std::string last_key;
  std::string value;
  for (; it->Valid() && absl::StartsWith(View(it->key()), prefix);
       it->Next()) {
    if (page.records.size() == limit) {
      page.next_after_key = last_key;
      break;
    }
    rocksdb::Slice record_bytes = it->value();
    if (indexed) {
      rocksdb::Status s = db_->Get(read_options, records_, it->value(), &value);
      if (!s.ok()) {
        status = FromRocksDb(s, "reading an indexed record");
        break;
      }
      record_bytes = value;
    }
    v1::Record& record = page.records.emplace_back();
    if (!record.ParseFromArray(record_bytes.data(),
                               static_cast<int>(record_bytes.size()))) {
      status = Corrupted("record");
      break;
    }
    last_key = it->key().ToString();
  }
  if (status.ok()) status = FromRocksDb(it->status(), "scanning records");
  it.reset();
  db_->ReleaseSnapshot(snapshot);
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<int64_t> Replica::Count(const Parent& parent) const {
  const std::string prefix = ScanPrefix(parent);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
      rocksdb::ReadOptions(), UsesBureauIndex(parent) ? by_bureau_ : records_));
  int64_t count = 0;
  for (it->Seek(prefix);
       it->Valid() && absl::StartsWith(View(it->key()), prefix);
       it->Next()) {
    ++count;
  }
  absl::Status status = FromRocksDb(it->status(), "counting records");
  if (!status.ok()) return status;
  return count;
}

}  // namespace kouryu::query
