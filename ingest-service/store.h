#ifndef KOURYU_INGEST_SERVICE_STORE_H_
#define KOURYU_INGEST_SERVICE_STORE_H_

// The system of record: normalized records in RocksDB, keyed by city, bureau
// and record (common/keys.h), and the changelog that replicas follow. Each
// write puts the records and their changelog entries in one WriteBatch, so a
// change is in the changelog if and only if it is in the records.
//
// Column families:
//   records    RecordKey(name)   -> v1::Record
//   record_ids record ID         -> resource name (finds a record whose city
//                                   or bureau changed)
//   changelog  SequenceKey(seq)  -> v1::Change
//   default    "head_sequence" -> the latest sequence written (in every
//              write's batch); "history_id", "parent_history_id",
//              "parent_history_sequence" -> the store's history (below)
//
// History: the store takes a random history ID when it is created. A store
// restored from a backup taken at sequence S takes a new one and remembers
// the one it was backed up from with S: up to S both histories hold the
// same changes, beyond S they may differ. The change feed sends the ID so
// that a replica notices when the same sequence stands for other changes.
//
// Thread-safe. Writes are serialized (single writer); reads run concurrently.

#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "common/keys.h"
#include "ingest-service/changelog.h"
#include "ingest-service/group_commit.h"
#include "ingest-service/record_codec.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/ingest_service.pb.h"
#include "kouryu/v1/record.pb.h"

namespace rocksdb {
class BackupEngine;
class ColumnFamilyHandle;
class DB;
class Env;
class FileSystem;
}  // namespace rocksdb

namespace kouryu::ingest {

// How the store opens RocksDB: the options of every column family, and the
// families in order. The benchmark's RocksDB floor opens its database so
// too.
rocksdb::ColumnFamilyOptions StoreColumnFamilyOptions();
std::vector<std::string> StoreColumnFamilies();

// What the store reports as it writes, for metrics
// (ingest-service/ingest_metrics.h). Called on writers' threads, outside
// the store's locks: thread-safe and quick.
class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  // A group commit made `changes` changes durable (`changes` > 0); its
  // RocksDB write took `write_time`, the WAL's fsync included with `sync`.
  virtual void GroupCommitted(uint64_t changes, absl::Duration write_time) = 0;
  // A durable Upsert's outcomes, or a Delete (`deleted` = 1).
  virtual void RecordsWritten(int created, int updated, int unchanged,
                              int deleted) = 0;
  // A write failed because the disk was nearly full (min_free_bytes).
  virtual void WriteRefusedForSpace() = 0;
};

struct StoreOptions {
  // fsync the WAL before a write is acknowledged (survives power loss).
  // Without it a write survives a crash of the process, not of the machine.
  // Concurrent writers share one fsync (group commit) either way.
  bool sync = false;
  // The changelog keeps at least the latest `retain_changes` changes and
  // every change younger than `retain_age`; TrimChangelog drops the rest.
  uint64_t retain_changes = 1'000'000;
  absl::Duration retain_age = absl::Hours(24 * 7);
  // Writes fail with RESOURCE_EXHAUSTED, before RocksDB sees them, while the
  // data directory's file system has less than this much free space (plus
  // twice the write's size) — RocksDB itself does not survive running out
  // of space mid-write (this Debian build aborts on an assertion).
  uint64_t min_free_bytes = 256ull << 20;
  // Told about writes when set; must outlive the store.
  StoreObserver* observer = nullptr;
  // The file system RocksDB writes through; null is RocksDB's default (the
  // operating system's). Tests pass one that simulates power loss.
  std::shared_ptr<rocksdb::FileSystem> file_system = nullptr;
};

struct UpsertResult {
  // The record as stored (or as it would be, for validate_only).
  v1::Record record;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
};

// What an Upsert did (for a dry run, would do).
struct UpsertBatchResult {
  // One per record given, in the same order.
  std::vector<UpsertResult> records;
  // The sequence a reader must have applied to see these outcomes (what a
  // query's min_sequence asks for): the last change the call wrote, or,
  // when it wrote none (every record unchanged, or a dry run), the latest
  // change written before it, on which its outcomes may rest.
  uint64_t sequence = 0;
};

// A consistent, read-only view of every record at one sequence.
class StoreSnapshot {
 public:
  virtual ~StoreSnapshot() = default;
  // The sequence the view is at: every change up to it, none after.
  virtual uint64_t sequence() const = 0;
  // Visits the records in key order until `visit` returns false.
  virtual absl::Status ForEach(
      const std::function<bool(absl::string_view key, v1::Record& record)>&
          visit) const = 0;
};

// Which history the store's changes belong to (see the top of this file).
struct StoreHistory {
  // 32 hex digits, random.
  std::string id;
  // The history this one continues up to parent_sequence; empty for a
  // store that was never restored.
  std::string parent_id;
  uint64_t parent_sequence = 0;
};

class Store {
 public:
  // Opens or creates the database in `dir`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     const StoreOptions& options);
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes `records` (normalized, named) in one atomic batch: all or none.
  // A record whose content equals the stored one is UNCHANGED and writes
  // nothing; one whose natural key is stored under another name (its city or
  // bureau changed) is moved. With `dry_run`, computes outcomes only.
  // Returns once the write is durable (and every write before it). Writers
  // that call at the same time share one RocksDB write (group commit,
  // group_commit.h). When a group write fails, every write of the group
  // fails and nothing of it is kept.
  absl::StatusOr<UpsertBatchResult> Upsert(std::vector<v1::Record> records,
                                           bool dry_run);
  // The same, with each record's content bytes and etag computed by the
  // caller (WithContent, record_codec.h), on threads of its own.
  absl::StatusOr<UpsertBatchResult> Upsert(std::vector<ContentRecord> records,
                                           bool dry_run);

  // Deletes the record named `name`. NotFound when absent; Aborted when
  // `etag` is non-empty and differs. Returns the change's sequence.
  absl::StatusOr<uint64_t> Delete(const std::string& name,
                                  const std::string& etag);

  // NotFound when absent.
  absl::StatusOr<v1::Record> Get(const std::string& name) const;

  // The sequence of the latest durable change (0 for an empty changelog).
  uint64_t HeadSequence() const;
  // The oldest sequence the changelog still holds (HeadSequence() + 1 when
  // it holds none). A reader after a sequence below FirstRetained() - 1
  // needs a snapshot.
  uint64_t FirstRetained() const;

  // Up to `max_count` changes with sequence > `after`, in order.
  absl::StatusOr<std::vector<v1::Change>> ReadChanges(uint64_t after,
                                                      size_t max_count) const;

  // Drops changes beyond the retention limits (see StoreOptions) whose
  // commit time is before `now` - retain_age. Returns how many it dropped.
  absl::StatusOr<uint64_t> TrimChangelog(absl::Time now);

  absl::StatusOr<std::unique_ptr<StoreSnapshot>> OpenSnapshot() const;

  // The database, for its properties (metrics); owned by the store.
  rocksdb::DB* rocksdb() const { return db_.get(); }
  // The data directory.
  const std::string& dir() const { return dir_; }
  absl::StatusOr<ContentDigest> Digest() const;

  const StoreHistory& history() const { return history_; }
  // Whether a reader that holds the changes up to `sequence` of history
  // `history_id` holds what this store holds up to there: the store's own
  // history (or an unnamed one, "") up to its head, or the history it was
  // restored from up to the backup's sequence.
  bool Continues(absl::string_view history_id, uint64_t sequence) const;

  // Writes an openable copy of the database, as of one moment, into `dir`
  // (which must not exist): RocksDB's checkpoint, its table files
  // hard-linked when `dir` is on the same file system, the write-ahead log
  // copied. Writes go on meanwhile; every write's batch holds the head
  // sequence, so the copy's HeadSequence() is exactly what it holds.
  absl::Status Checkpoint(const std::string& dir) const;
  // Adds a backup of the database to `engine` with `app_metadata`, memtables
  // flushed first; returns its ID. For a store nobody writes to (a
  // checkpoint opened for the backup): the backup then holds exactly the
  // changes up to HeadSequence().
  absl::StatusOr<uint32_t> BackUpTo(rocksdb::BackupEngine& engine,
                                    const std::string& app_metadata);
  // Starts a new history that continues the current one up to the head (a
  // store just restored from a backup). Call before any write.
  absl::Status StartNewHistory();

  // Blocks until HeadSequence() > `after`, `deadline` passes or
  // StopWaiting() is called. Returns whether there are changes after `after`.
  bool WaitForChangesAfter(uint64_t after, absl::Time deadline) const;
  // Wakes every waiter now and makes later waits return at once.
  void StopWaiting();
  // True once StopWaiting() was called.
  bool stopping() const;

 private:
  Store(std::string dir, std::unique_ptr<rocksdb::Env> env,
        std::unique_ptr<rocksdb::DB> db,
        std::vector<rocksdb::ColumnFamilyHandle*> handles,
        const StoreOptions& options, const Changelog::Bounds& bounds,
        StoreHistory history);

  // RESOURCE_EXHAUSTED unless the disk has room for `bytes` more.
  absl::Status CheckFreeSpace(uint64_t bytes) const;

  absl::StatusOr<std::optional<v1::Record>> ReadRecord(
      const std::string& key) const;
  // The record stored under `id` now, pending writes included.
  absl::StatusOr<std::optional<v1::Record>> CurrentById(
      const GroupCommit::Pending& pending, const std::string& id) const;
  // Upsert's and Delete's part under the group commit's preparing lock:
  // outcomes computed, and (unless `dry_run`) the operations added.
  absl::StatusOr<std::vector<UpsertResult>> PrepareUpsert(
      GroupCommit::Pending& pending, std::vector<ContentRecord>& records,
      const google::protobuf::Timestamp& now, bool dry_run) const;
  absl::Status PrepareDelete(GroupCommit::Pending& pending,
                             const std::string& name, const RecordName& parsed,
                             const std::string& etag) const;
  // The group commit's write: sequences `first` to `last` in `batch`.
  absl::Status WriteGroup(rocksdb::WriteBatch& batch, uint64_t first,
                          uint64_t last) const;

  std::string dir_;
  // The Env over options.file_system (null for the default); outlives db_.
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  // The column families by name; handles_ holds them all, for CloseDb.
  rocksdb::ColumnFamilyHandle* meta_;  // the default family
  rocksdb::ColumnFamilyHandle* records_;
  rocksdb::ColumnFamilyHandle* record_ids_;
  rocksdb::ColumnFamilyHandle* changelog_family_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  StoreOptions options_;
  // Set at Open (and by StartNewHistory, before any write).
  StoreHistory history_;
  Changelog changelog_;
  GroupCommit commit_;
};

// The etag of a record's content: everything but name-independent metadata
// (source, timestamps, etag). Equal content, equal etag.
std::string ContentEtag(const v1::Record& record);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_STORE_H_
