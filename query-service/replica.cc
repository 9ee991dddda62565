#include "query-service/replica.h"

#include <rocksdb/cache.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/digest.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/sequence_wait.h"
#include "common/slice.h"
#include "common/status.h"
#include "query-service/change_batch.h"
#include "query-service/replica_layout.h"
#include "query-service/postings.h"

namespace kouryu::query {
namespace {

constexpr char kAppliedSequenceKey[] = "applied_sequence";
constexpr char kHistoryKey[] = "history_id";

// The layout of the replica's column families; see replica_layout.h.
// Version 3 indexes and stores the names of a record's cities and bureau
// (search_text.h).
constexpr char kFormatKey[] = "format";
constexpr char kFormat[] = "3";

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

// Positions `it` at the first key a scan visits: after `start_key`
// ascending, or before it descending; "" starts at the prefix's end.
void SeekScanStart(rocksdb::Iterator& it, const std::string& prefix,
                   const std::string& start_key, bool reverse) {
  if (!reverse) {
    if (start_key.empty()) {
      it.Seek(prefix);
    } else {
      it.Seek(start_key);
      if (it.Valid() && View(it.key()) == start_key) it.Next();
    }
  } else if (!start_key.empty()) {
    it.SeekForPrev(start_key);
    if (it.Valid() && View(it.key()) == start_key) it.Prev();
  } else if (std::optional<std::string> end = PrefixSuccessor(prefix)) {
    // The last key with the prefix is the one before the prefix's end.
    it.SeekForPrev(*end);
    if (it.Valid() && View(it.key()) == *end) it.Prev();
  } else {
    it.SeekToLast();
  }
}

// The applied sequence stored in the meta family; 0 when none is.
absl::StatusOr<uint64_t> ReadAppliedSequence(rocksdb::DB& db,
                                             const rocksdb::ReadOptions& options,
                                             rocksdb::ColumnFamilyHandle* meta) {
  std::string value;
  rocksdb::Status s = db.Get(options, meta, kAppliedSequenceKey, &value);
  if (s.IsNotFound()) return 0;
  if (!s.ok()) return FromRocksDb(s, "reading the applied sequence");
  std::optional<uint64_t> decoded = DecodeSequenceKey(value);
  if (!decoded) return StorageCorrupted("applied sequence");
  return *decoded;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(
    const std::string& dir, const ReplicaOptions& options) {
  rocksdb::DBOptions db_options;
  std::unique_ptr<rocksdb::Env> env;
  if (options.file_system != nullptr) {
    env = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = env.get();
  }
  // The memtables are charged to the cache (so that one figure bounds the
  // memory), and the cache has room for them beyond block_cache_bytes: a
  // bulk load that fills the memtables must not evict the blocks that
  // reads use (every Get of a hot key would read its data and filter
  // blocks from disk again).
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes + options.write_buffer_bytes);
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
  // Every batch adds a merge operand to the posting list and the count of
  // each of its records' grams, mostly to keys that already have operands
  // in the memtable: the memtable keeps, per key, where it last inserted
  // one and starts the next insert there instead of at the top of its skip
  // list. That costs a map entry per distinct key in the memtable, on the
  // heap and not charged to the write buffer (bounded by the memtable's
  // entries: at most a few tens of bytes per entry), so only the grams
  // family has it.
  auto adjust = [](const std::string& family, rocksdb::ColumnFamilyOptions& o) {
    if (family == ReplicaFamilies::kGramsName) {
      o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewNoopTransform());
    }
  };
  absl::StatusOr<OpenedDb> opened =
      OpenDb(dir, db_options, cf_options, ReplicaFamilies::Names(), adjust);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<rocksdb::DB> db = std::move(opened->db);
  std::vector<rocksdb::ColumnFamilyHandle*> handles = std::move(opened->families);
  const ReplicaFamilies families = ReplicaFamilies::From(handles);

  absl::StatusOr<uint64_t> applied =
      ReadAppliedSequence(*db, rocksdb::ReadOptions(), families.meta);
  if (!applied.ok()) return applied.status();
  std::string format;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), families.meta, kFormatKey, &format);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocksDb(s, "reading the replica format");
  }
  const bool other_format = s.IsNotFound() || format != kFormat;
  auto replica = std::unique_ptr<Replica>(new Replica(
      std::move(env), std::move(db), std::move(handles), *applied, options));
  if (other_format) {
    // Written by another version (or new): start over from the feed.
    absl::MutexLock applier(&replica->apply_mutex_);
    absl::Status reset = replica->Reset();
    if (!reset.ok()) return reset;
    s = replica->db_->Put(rocksdb::WriteOptions(), families.meta, kFormatKey,
                          kFormat);
    if (!s.ok()) return FromRocksDb(s, "writing the replica format");
  }
  std::string history;
  s = replica->db_->Get(rocksdb::ReadOptions(), families.meta, kHistoryKey,
                        &history);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocksDb(s, "reading the replica's history ID");
  }
  {
    absl::MutexLock lock(&replica->mutex_);
    replica->history_id_ = std::move(history);
  }
  absl::Status loaded = replica->counts_.Load(*replica->db_);
  if (!loaded.ok()) return loaded;
  return replica;
}

Replica::Replica(std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db,
                 std::vector<rocksdb::ColumnFamilyHandle*> handles,
                 uint64_t applied, const ReplicaOptions& options)
    : env_(std::move(env)),
      db_(std::move(db)),
      handles_(std::move(handles)),
      families_(ReplicaFamilies::From(handles_)),
      counts_(families_.counts),
      applied_(applied),
      settle_after_bytes_(options.settle_after_bytes),
      settle_quiet_(options.settle_quiet) {
  if (settle_after_bytes_ > 0) settler_ = std::thread([this] { SettleLoop(); });
}

Replica::~Replica() {
  StopWaiting();
  {
    absl::MutexLock lock(&settle_mutex_);
    settle_stopping_ = true;
  }
  // A compaction that is running stops (Incomplete), and none starts.
  db_->DisableManualCompaction();
  if (settler_.joinable()) settler_.join();
  CloseDb(*db_, handles_);
}

void Replica::SettleLoop() {
  struct State {
    Replica* replica;
    uint64_t seen_batches;
  } state{this, 0};
  // Enough written since the last settle (or stopping).
  auto due = +[](State* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return s->replica->settle_stopping_ ||
           s->replica->unsettled_bytes_ >= s->replica->settle_after_bytes_;
  };
  // No batch is being applied (or stopping).
  auto idle = +[](State* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return s->replica->settle_stopping_ || s->replica->batch_events_ % 2 == 0;
  };
  // A batch began since seen_batches, an even count (or stopping): not a
  // pause. A large batch may take longer than settle_quiet on a busy
  // machine; the time it takes is not a pause in the writes.
  auto wrote = +[](State* s) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return s->replica->settle_stopping_ ||
           s->replica->batch_events_ != s->seen_batches;
  };
  settle_mutex_.Lock();
  while (true) {
    settle_mutex_.Await(absl::Condition(due, &state));
    // Not while a batch is being applied (waiting for its end, not asking
    // again and again).
    settle_mutex_.Await(absl::Condition(idle, &state));
    if (settle_stopping_) break;
    state.seen_batches = batch_events_;
    if (settle_mutex_.AwaitWithTimeout(absl::Condition(wrote, &state),
                                       settle_quiet_)) {
      continue;
    }
    unsettled_bytes_ = 0;
    settling_ = true;
    settle_mutex_.Unlock();
    Settle();
    settle_mutex_.Lock();
    settling_ = false;
  }
  settle_mutex_.Unlock();
}

void Replica::Settle() {
  const absl::Time start = absl::Now();
  uint64_t memtable_bytes = 0;
  db_->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables",
                                &memtable_bytes);
  uint64_t level0_files = 0;
  for (rocksdb::ColumnFamilyHandle* cf : families_.Data()) {
    rocksdb::ColumnFamilyMetaData meta;
    db_->GetColumnFamilyMetaData(cf, &meta);
    level0_files += meta.levels.empty() ? 0 : meta.levels[0].files.size();
  }
  rocksdb::FlushOptions flush;
  flush.allow_write_stall = true;
  rocksdb::Status s = db_->Flush(flush, handles_);
  for (rocksdb::ColumnFamilyHandle* cf : families_.Data()) {
    if (s.ok()) s = CompactLevel0(cf);
  }
  if (s.IsIncomplete()) return;  // Stopping (the destructor).
  LogFields fields = {{"memtable_bytes", memtable_bytes},
                      {"level0_files", level0_files},
                      {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}};
  if (s.ok()) {
    LogInfo("settled", fields);
  } else {
    // Nothing is lost: reads are only slower until RocksDB compacts.
    fields["error"] = s.ToString();
    LogWarn("settle_failed", fields);
  }
}

rocksdb::Status Replica::CompactLevel0(rocksdb::ColumnFamilyHandle* cf) {
  // Level 0 into level 1, with the level-1 files that it overlaps (RocksDB
  // adds them): the cost is bounded by those two levels, not by the
  // family's size, so settling during a long load stays cheap. The lower
  // levels are one sorted run each already.
  while (true) {
    rocksdb::ColumnFamilyMetaData meta;
    db_->GetColumnFamilyMetaData(cf, &meta);
    std::vector<std::string> files;
    if (!meta.levels.empty()) {
      for (const rocksdb::SstFileMetaData& file : meta.levels[0].files) {
        files.push_back(file.name);
      }
    }
    if (files.empty()) return rocksdb::Status::OK();
    rocksdb::Status s =
        db_->CompactFiles(rocksdb::CompactionOptions(), cf, files, 1);
    // Aborted: RocksDB's own compaction has some of the files; ask again
    // once it may have finished.
    if (!s.IsAborted()) return s;
    absl::MutexLock lock(&settle_mutex_);
    if (settle_mutex_.AwaitWithTimeout(absl::Condition(&settle_stopping_),
                                       absl::Milliseconds(50))) {
      return rocksdb::Status::Incomplete("stopping");
    }
  }
}

bool Replica::AwaitSettled(absl::Time deadline) const {
  absl::MutexLock lock(&settle_mutex_);
  return settle_mutex_.AwaitWithDeadline(
      absl::Condition(
          +[](const Replica* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return !r->settling_ && (r->settle_after_bytes_ == 0 ||
                                     r->unsettled_bytes_ < r->settle_after_bytes_);
          },
          this),
      deadline);
}

uint64_t Replica::applied_sequence() const {
  absl::MutexLock lock(&mutex_);
  return applied_;
}

std::string Replica::history_id() const {
  absl::MutexLock lock(&mutex_);
  return history_id_;
}

absl::Status Replica::AnotherApplier() {
  return absl::FailedPreconditionError(
      "another call is applying changes to the replica; it has one applier");
}

absl::Status Replica::Apply(const std::vector<v1::Change>& changes) {
  if (!apply_mutex_.TryLock()) return AnotherApplier();
  absl::Status applied = ApplyChanges(changes, std::nullopt);
  apply_mutex_.Unlock();
  return applied;
}

absl::Status Replica::ApplySnapshotPart(v1::SnapshotPart& part,
                                        const std::string& history_id) {
  if (!apply_mutex_.TryLock()) return AnotherApplier();
  absl::Status applied = part.first() ? Reset(history_id) : absl::OkStatus();
  if (applied.ok()) {
    std::vector<v1::Change> changes;
    changes.reserve(part.records_size());
    for (v1::Record& record : *part.mutable_records()) {
      v1::Change& change = changes.emplace_back();
      change.set_kind(v1::CHANGE_KIND_UPSERT);
      change.set_name(record.name());
      *change.mutable_record() = std::move(record);
    }
    applied = ApplyChanges(changes, part.last() ? part.sequence() : 0);
  }
  apply_mutex_.Unlock();
  return applied;
}

absl::Status Replica::SetHistoryId(const std::string& id) {
  if (!apply_mutex_.TryLock()) return AnotherApplier();
  absl::Status written = FromRocksDb(
      db_->Put(rocksdb::WriteOptions(), families_.meta, kHistoryKey, id),
      "writing the replica's history ID");
  if (written.ok()) {
    absl::MutexLock lock(&mutex_);
    history_id_ = id;
  }
  apply_mutex_.Unlock();
  return written;
}

absl::Status Replica::Reset(const std::string& history_id) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (rocksdb::ColumnFamilyHandle* cf : families_.Data()) {
    if (s.ok()) s = batch.DeleteRange(cf, "", EndOfKeys());
  }
  if (s.ok()) s = batch.Put(families_.meta, kAppliedSequenceKey, SequenceKey(0));
  if (s.ok() && !history_id.empty()) {
    s = batch.Put(families_.meta, kHistoryKey, history_id);
  }
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), &batch);
  absl::Status written = FromRocksDb(s, "emptying the replica");
  if (!written.ok()) return written;
  counts_.Clear();
  absl::MutexLock lock(&mutex_);
  if (!history_id.empty()) history_id_ = history_id;
  applied_ = 0;
  return absl::OkStatus();
}

absl::Status Replica::ApplyChanges(const std::vector<v1::Change>& changes,
                                   std::optional<uint64_t> set_applied) {
  auto batch_event = [this] {
    absl::MutexLock lock(&settle_mutex_);
    ++batch_events_;
  };
  batch_event();  // Began: odd.
  absl::Cleanup ended = batch_event;  // Ended: even again.
  const uint64_t applied = applied_sequence();
  uint64_t last = applied;
  ChangeBatch batch(*db_, families_);
  PreparedChanges prepared(changes, &batch);
  for (size_t i = 0; i < changes.size(); ++i) {
    const v1::Change& change = changes[i];
    ChangeBatch::Prepared* upsert = prepared.Take(i);
    if (!set_applied && change.sequence() <= last) continue;
    if (absl::Status added = batch.Add(change, upsert); !added.ok()) return added;
    if (!set_applied) last = change.sequence();
  }
  if (set_applied) last = *set_applied;
  if (last == applied && (!set_applied || changes.empty())) {
    return absl::OkStatus();
  }
  return Commit(batch, last);
}

absl::Status Replica::Commit(ChangeBatch& batch, uint64_t applied) {
  absl::StatusOr<rocksdb::WriteBatch*> finished = batch.Finish(counts_);
  if (!finished.ok()) return finished.status();
  rocksdb::Status s =
      (*finished)->Put(families_.meta, kAppliedSequenceKey, SequenceKey(applied));
  if (s.ok()) s = db_->Write(rocksdb::WriteOptions(), *finished);
  absl::Status written = FromRocksDb(s, "applying changes");
  if (!written.ok()) return written;
  {
    absl::MutexLock lock(&settle_mutex_);
    unsettled_bytes_ += (*finished)->GetDataSize();
  }
  // Counts first: whoever sees the new applied sequence sees its counts.
  counts_.Publish(std::move(batch.counts()));
  {
    absl::MutexLock lock(&mutex_);
    applied_ = applied;
  }
  NotifyProgress(applied, /*stopped=*/false);
  return absl::OkStatus();
}

absl::StatusOr<ContentDigest> Replica::Digest() const {
  // One snapshot: the applied sequence is written in the same batch as the
  // changes, so the snapshot holds the records of exactly that sequence.
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  absl::StatusOr<uint64_t> sequence =
      ReadAppliedSequence(*db_, read_options, families_.meta);
  if (!sequence.ok()) return sequence.status();
  DigestBuilder digest;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read_options, families_.records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::Record record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return StorageCorrupted("record");
    }
    digest.Add(View(it->key()), record.etag());
  }
  if (absl::Status s = FromRocksDb(it->status(), "digesting"); !s.ok()) return s;
  return ContentDigest{.sequence = *sequence,
                       .record_count = digest.count(),
                       .digest = digest.hex()};
}

absl::Status Replica::WaitForSequence(uint64_t sequence,
                                      absl::Time deadline) const {
  absl::MutexLock lock(&mutex_);
  if (AwaitSequence(mutex_, applied_, stopped_, sequence, deadline)) {
    return absl::OkStatus();
  }
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

int Replica::AddProgressListener(ProgressListener listener) {
  absl::MutexLock lock(&listeners_mutex_);
  const int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Replica::RemoveProgressListener(int id) {
  absl::MutexLock lock(&listeners_mutex_);
  listeners_.erase(id);
}

void Replica::NotifyProgress(uint64_t applied, bool stopped) {
  absl::MutexLock lock(&listeners_mutex_);
  for (const auto& [id, listener] : listeners_) listener(applied, stopped);
}

absl::StatusOr<std::string> Replica::GetBytes(const std::string& key) const {
  return ReadRecordBytes(*db_, families_, rocksdb::ReadOptions(), key);
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
  // One snapshot for the index and the records it points to; it outlives
  // the iterator.
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
      read_options, indexed ? families_.by_bureau : families_.records));
  SeekScanStart(*it, prefix, start_key, reverse);
  std::string value;
  for (; it->Valid() && absl::StartsWith(View(it->key()), prefix);
       reverse ? it->Prev() : it->Next()) {
    rocksdb::Slice record_bytes = it->value();
    if (indexed) {
      rocksdb::Status s =
          db_->Get(read_options, families_.records, it->value(), &value);
      if (!s.ok()) return FromRocksDb(s, "reading an indexed record");
      record_bytes = value;
    }
    if (!visit(View(it->key()), View(record_bytes))) break;
  }
  return FromRocksDb(it->status(), "scanning records");
}

absl::StatusOr<int64_t> Replica::Count(const Parent& parent) const {
  return counts_.Count(parent);
}

std::vector<CityCount> Replica::Cities() const { return counts_.Cities(); }

std::vector<BureauCount> Replica::Bureaus() const { return counts_.Bureaus(); }

std::unique_ptr<Replica::SearchReader> Replica::NewSearchReader() const {
  return std::make_unique<SearchReader>(*db_, families_);
}

}  // namespace kouryu::query
