#ifndef KOURYU_QUERY_SERVICE_REPLICA_H_
#define KOURYU_QUERY_SERVICE_REPLICA_H_

// A query replica: the records as the change feed describes them, kept in
// the replica's own RocksDB with a by-bureau index, record counts, a search
// index and the applied sequence (the layout: replica_layout.h).
//
// A Replica owns its database. Changes arrive through one applier (the
// Follower): Apply, ApplySnapshotPart and SetHistoryId. Each batch of
// changes is written with its index entries, counts and the new applied
// sequence in one WriteBatch (change_batch.h), so a crash never leaves
// changes half applied and a restart resumes at the next change exactly
// once. Readers see either all of a batch or none of it.
//
// Settling: without writes RocksDB never flushes a memtable or compacts
// level 0, so after a bulk load (a catch-up, a snapshot, an import) an idle
// replica would answer every read from full memtables and several level-0
// files for as long as it stays idle. Once the writes pause (settle_quiet)
// after at least settle_after_bytes of them, a background thread flushes
// the memtables and compacts every family's level 0 into level 1, so that
// a point read probes one file per level (of which there are a few) instead
// of full memtables and several level-0 files. Writes go on meanwhile; a
// write resumed during a settle only makes it do more. The destructor
// cancels a settle that is running.
//
// Thread-safety: every method may be called from any thread. The writes
// are single-applier: while one of them runs on a thread, another one
// called on any thread fails with FAILED_PRECONDITION and changes nothing
// (they are never meant to overlap; the check makes a second applier an
// error instead of corrupt counts). Reads do not wait for a running batch.
//
// Errors: a read of a record that does not exist is NOT_FOUND with reason
// RECORD_NOT_FOUND; stored data that does not parse is INTERNAL with reason
// STORAGE_CORRUPTED; a full disk is RESOURCE_EXHAUSTED with reason
// STORAGE_FULL; other RocksDB failures keep their code (common/status.h).
//
// Example:
//   absl::StatusOr<std::unique_ptr<Replica>> replica = Replica::Open(dir, {});
//   absl::Status applied = (*replica)->Apply(changes);
//   absl::StatusOr<std::string> record = (*replica)->GetBytes(RecordKey(name));

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/digest.h"
#include "common/keys.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/record.pb.h"
#include "query-service/record_counts.h"
#include "query-service/replica_layout.h"
#include "query-service/search_index.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class FileSystem;
class Status;
}  // namespace rocksdb

namespace kouryu::query {

class ChangeBatch;

// Memory is set here, not by the data: the block cache holds data, index
// and filter blocks in block_cache_bytes, and the memtables of every column
// family, up to write_buffer_bytes, are charged to the same cache on top of
// that (its capacity is the sum), so memtables never take the blocks' room.
struct ReplicaOptions {
  // RocksDB block cache shared by all column families. Default 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // Memtables of all column families together. Default 64 MiB.
  size_t write_buffer_bytes = 64 << 20;
  // Settling: once this many bytes of batches have been written since the
  // last settle and no batch has come for settle_quiet, the replica flushes
  // its memtables and compacts each family's level 0 into level 1, in the
  // background (Replica's comment). 0 never settles. Default 16 MiB, one
  // family's memtable at the default write_buffer_bytes.
  size_t settle_after_bytes = 16 << 20;
  absl::Duration settle_quiet = absl::Milliseconds(500);
  // The file system RocksDB writes through; null (the default) is
  // RocksDB's default, the operating system's. Tests pass one that
  // simulates power loss.
  std::shared_ptr<rocksdb::FileSystem> file_system = nullptr;
};

class Replica {
 public:
  // Opens (creating if missing) the replica in `dir`. A replica written in
  // another layout version is emptied and follows the feed from sequence
  // 0. An error when RocksDB cannot open the database or what it holds
  // does not parse.
  static absl::StatusOr<std::unique_ptr<Replica>> Open(
      const std::string& dir, const ReplicaOptions& options);
  // Calls StopWaiting(), then closes the database. No call may be running
  // and no SearchReader may be left.
  ~Replica();

  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // ---- The replica's position in the change feed.

  // The sequence of the last change applied; 0 before any.
  uint64_t applied_sequence() const;
  // The change feed's history (SubscribeResponse.history_id) the replica's
  // changes belong to; "" before the first is known.
  std::string history_id() const;

  // ---- Writes: the single applier.

  // Applies `changes` (ascending); changes at or below the applied
  // sequence are skipped. All or nothing: on an error nothing is written.
  // DATA_LOSS when a change's name does not parse or it has no kind;
  // FAILED_PRECONDITION while another write runs.
  absl::Status Apply(const std::vector<v1::Change>& changes);

  // Applies one part of a snapshot (ChangeFeed, when the changelog no longer
  // holds what the replica needs); its records are taken from `part`. The
  // first part empties the replica and sets its applied sequence to 0 (a
  // crash while loading makes it start over); the last part sets it to the
  // snapshot's sequence. The first part also records `history_id` (unless
  // empty) in the same batch. Errors as Apply.
  absl::Status ApplySnapshotPart(v1::SnapshotPart& part,
                                 const std::string& history_id = "");

  // Records that the applied changes belong to history `id` too (the feed
  // sent changes for them without a snapshot, so the histories agree up
  // to the applied sequence). FAILED_PRECONDITION while another write runs.
  absl::Status SetHistoryId(const std::string& id);

  // ---- Waiting for the applier.

  // Returns once the applied sequence is at least `sequence`: OK, or the
  // error of SequenceNotReached when `deadline` passes first
  // (DEADLINE_EXCEEDED) or after StopWaiting() (UNAVAILABLE).
  absl::Status WaitForSequence(uint64_t sequence, absl::Time deadline) const;
  // Ends every wait, now and later, and tells the progress listeners.
  void StopWaiting();
  // The error of a wait for `sequence` that ended with `applied` reached:
  // DEADLINE_EXCEEDED with reason REPLICA_BEHIND, or UNAVAILABLE with
  // reason REPLICA_STOPPING once `stopped`; metadata minSequence and
  // appliedSequence.
  static absl::Status SequenceNotReached(uint64_t sequence, uint64_t applied,
                                         bool stopped);

  // Calls `listener(applied, stopped)` after every batch that advances the
  // applied sequence (on the applier's thread, in the order of the
  // batches, while it still holds the applier's role: a listener that
  // writes gets FAILED_PRECONDITION) and on StopWaiting() (on its caller's
  // thread). No lock a read takes is held, so a listener may read; it must
  // be quick and must not add or remove listeners. Returns an ID for
  // RemoveProgressListener, which returns once no call to the listener is
  // running.
  using ProgressListener = std::function<void(uint64_t applied, bool stopped)>;
  int AddProgressListener(ProgressListener listener);
  void RemoveProgressListener(int id);

  // ---- Reads. Each sees the state after some whole batch.

  // The record stored under RecordKey `key`, serialized (a v1::Record as
  // the ingest service wrote it). NOT_FOUND (RECORD_NOT_FOUND, metadata
  // "name") when absent.
  absl::StatusOr<std::string> GetBytes(const std::string& key) const;

  // Visits the records under `parent` in scan order whose scan key is
  // greater than `after_key` ("" for all), until `visit` returns false. The
  // scan order and key: RecordKey order (by city, bureau, record), or for
  // "cities/-/bureaus/{b}" BureauIndexKey order (by bureau, city, record).
  // One consistent snapshot for the whole visit. INTERNAL
  // (STORAGE_CORRUPTED) when a record does not parse.
  absl::Status ForEach(
      const Parent& parent, const std::string& after_key,
      const std::function<bool(const std::string& key, v1::Record& record)>&
          visit) const;
  // As ForEach, with each record serialized as stored.
  absl::Status ForEachBytes(
      const Parent& parent, const std::string& after_key,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
          visit) const;
  // As ForEachBytes, in reverse scan order: the records whose scan key is
  // less than `before_key` (every record under `parent` when it is empty),
  // the last first.
  absl::Status ForEachBytesReverse(
      const Parent& parent, const std::string& before_key,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
          visit) const;

  // Number of records under `parent`, from the maintained counts (never a
  // scan). Always OK today; a StatusOr so that counts may come from disk.
  absl::StatusOr<int64_t> Count(const Parent& parent) const;
  // Every city / bureau with at least one record, by ID, with the latest
  // names a record gave it.
  std::vector<CityCount> Cities() const;
  std::vector<BureauCount> Bureaus() const;

  // A consistent view of the search index and the records (search_index.h),
  // for one search; it must not outlive the replica.
  using SearchReader = query::SearchReader;
  std::unique_ptr<SearchReader> NewSearchReader() const;

  // A digest of the records at the applied sequence (common/digest.h), for
  // comparing replicas and the system of record.
  absl::StatusOr<ContentDigest> Digest() const;

  // The database, for its properties (metrics); owned by the replica.
  rocksdb::DB* rocksdb() const { return db_.get(); }

  // Waits until what has been written is settled: no settle running and
  // less than settle_after_bytes written since the last one began; false
  // if `deadline` passes first. For tests.
  bool AwaitSettled(absl::Time deadline) const;

 private:
  Replica(std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles, uint64_t applied,
          const ReplicaOptions& options);

  // The settle thread's loop (the class comment), and one settle.
  void SettleLoop();
  void Settle();
  rocksdb::Status CompactLevel0(rocksdb::ColumnFamilyHandle* cf);

  // FAILED_PRECONDITION: a write called while another runs.
  static absl::Status AnotherApplier();
  // Applies `changes`; with `set_applied`, applies all of them (no skipping
  // by sequence) and sets the applied sequence to it.
  absl::Status ApplyChanges(const std::vector<v1::Change>& changes,
                            std::optional<uint64_t> set_applied)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mutex_);
  // Writes `batch` with the applied sequence `applied`, then publishes its
  // counts and the sequence and tells the listeners.
  absl::Status Commit(ChangeBatch& batch, uint64_t applied)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mutex_);
  // Empties every column family but the applied sequence, which becomes 0,
  // and records `history_id` unless it is empty.
  absl::Status Reset(const std::string& history_id = "")
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(apply_mutex_);
  // ForEachBytes (keys after `start_key`, ascending) or, with `reverse`,
  // ForEachBytesReverse (keys before it, descending).
  absl::Status ScanBytes(
      const Parent& parent, const std::string& start_key, bool reverse,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
          visit) const;
  // Calls the progress listeners (no lock of mutex_ held).
  void NotifyProgress(uint64_t applied, bool stopped)
      ABSL_LOCKS_EXCLUDED(mutex_, listeners_mutex_);

  // The Env over options.file_system (null for the default); outlives db_.
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  const ReplicaFamilies families_;
  // The counts family's mirror; staged and published by the applier.
  RecordCounts counts_;

  // Held by the one write that runs (Apply, ApplySnapshotPart,
  // SetHistoryId): the applier's role. Taken with TryLock, never waited
  // for.
  absl::Mutex apply_mutex_;

  mutable absl::Mutex mutex_ ABSL_ACQUIRED_AFTER(apply_mutex_);
  uint64_t applied_ ABSL_GUARDED_BY(mutex_);
  std::string history_id_ ABSL_GUARDED_BY(mutex_);
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;

  // Held while listeners are called, so that removing one waits for its
  // running call.
  absl::Mutex listeners_mutex_ ABSL_ACQUIRED_AFTER(apply_mutex_, mutex_);
  std::map<int, ProgressListener> listeners_ ABSL_GUARDED_BY(listeners_mutex_);
  int next_listener_ ABSL_GUARDED_BY(listeners_mutex_) = 0;

  // Settling (the class comment). Commit counts what it wrote, and each
  // batch's start and end are counted (odd while one is being applied); the
  // settle thread waits for enough bytes and then for a pause in batches.
  const size_t settle_after_bytes_;
  const absl::Duration settle_quiet_;
  mutable absl::Mutex settle_mutex_ ABSL_ACQUIRED_AFTER(apply_mutex_);
  size_t unsettled_bytes_ ABSL_GUARDED_BY(settle_mutex_) = 0;
  uint64_t batch_events_ ABSL_GUARDED_BY(settle_mutex_) = 0;
  bool settling_ ABSL_GUARDED_BY(settle_mutex_) = false;
  bool settle_stopping_ ABSL_GUARDED_BY(settle_mutex_) = false;
  std::thread settler_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_REPLICA_H_
