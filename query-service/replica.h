#ifndef KOURYU_QUERY_SERVICE_REPLICA_H_
#define KOURYU_QUERY_SERVICE_REPLICA_H_

// A query replica: the records as the change feed describes them, in the
// replica's own RocksDB, with a by-bureau index and the applied sequence.
// Apply() writes a batch of changes, their index entries and the new applied
// sequence in one WriteBatch, so a crash never leaves changes half applied
// and a restart resumes at the next change exactly once.
//
// Column families:
//   default    "applied_sequence" -> 8 big-endian bytes; "format" -> the
//              layout version (a replica of another layout empties itself
//              and follows the feed from the start); "history_id" -> the
//              change feed's history the applied changes belong to
//   records    RecordKey(name)        -> v1::Record
//   by_bureau  BureauIndexKey(name)   -> RecordKey(name)
//   grams      the search index: gram counts and posting lists of index
//              IDs, merged per batch (postings.h)
//   search_text SequenceKey(index ID) -> the record's key and its folded
//              searched fields: title, results and names (search_text.h),
//              so a search checks candidates without reading and folding
//              whole records
//   counts     "all", "c" city, "b" bureau, "cb" city bureau (escaped
//              components) -> 8-byte count; "cn" city / "bn" bureau ->
//              the latest v1::City / v1::Bureau seen, for their names
//
// Thread-safe: one thread applies, any number read.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/keys.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/record.pb.h"
#include "query-service/search_text.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
class FileSystem;
class Snapshot;
struct ReadOptions;
}  // namespace rocksdb

namespace kouryu::query {

// Memory is set here, not by the data: the block cache holds data, index
// and filter blocks, and the memtables of every column family are charged
// to it too, up to write_buffer_bytes.
struct ReplicaOptions {
  // RocksDB block cache shared by all column families.
  size_t block_cache_bytes = 64 << 20;
  // Memtables of all column families together.
  size_t write_buffer_bytes = 64 << 20;
  // The file system RocksDB writes through; null is RocksDB's default (the
  // operating system's). Tests pass one that simulates power loss.
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

// A city or bureau with its record count.
struct CityCount {
  v1::City city;
  int64_t records = 0;
};
struct BureauCount {
  v1::Bureau bureau;
  int64_t records = 0;
};

// One page of a scan in key order.
struct ScanPage {
  std::vector<v1::Record> records;
  // Key of the last record returned; empty when the scan is complete.
  std::string next_after_key;
};

class Replica {
 public:
  static absl::StatusOr<std::unique_ptr<Replica>> Open(
      const std::string& dir, const ReplicaOptions& options);
  ~Replica();

  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  uint64_t applied_sequence() const;
  // The change feed's history (SubscribeResponse.history_id) the replica's
  // changes belong to; "" before the first is known.
  std::string history_id() const;
  // Records that the applied changes belong to history `id` too (the feed
  // sent changes for them without a snapshot, so the histories agree up
  // to the applied sequence).
  absl::Status SetHistoryId(const std::string& id);

  // The database, for its properties (metrics); owned by the replica.
  rocksdb::DB* rocksdb() const { return db_.get(); }

  // Applies `changes` (ascending); changes at or below the applied sequence
  // are skipped. All or nothing.
  absl::Status Apply(const std::vector<v1::Change>& changes);

  // Applies one part of a snapshot (ChangeFeed, when the changelog no longer
  // holds what the replica needs). The first part empties the replica and
  // sets its applied sequence to 0 (a crash while loading makes it start
  // over); the last part sets it to the snapshot's sequence. The first part
  // also records `history_id` (unless empty) in the same batch.
  absl::Status ApplySnapshotPart(v1::SnapshotPart& part,
                                 const std::string& history_id = "");

  // A digest of the records at the applied sequence (common/digest.h).
  struct ReplicaDigest {
    uint64_t sequence = 0;
    uint64_t record_count = 0;
    std::string digest;
  };
  absl::StatusOr<ReplicaDigest> Digest() const;

  // Returns once the applied sequence is at least `sequence`.
  // DEADLINE_EXCEEDED when `deadline` passes first; UNAVAILABLE after
  // StopWaiting().
  absl::Status WaitForSequence(uint64_t sequence, absl::Time deadline) const;
  void StopWaiting();
  // The error of a wait for `sequence` that ended with `applied` reached
  // (REPLICA_BEHIND, or REPLICA_STOPPING once `stopped`).
  static absl::Status SequenceNotReached(uint64_t sequence, uint64_t applied,
                                         bool stopped);

  // Calls `listener(applied, stopped)` after every batch that advances the
  // applied sequence and on StopWaiting(), on the thread that did it, with
  // no lock of the replica held. It must be quick. Returns an ID for
  // RemoveProgressListener, which returns once no call to it is running.
  using ProgressListener = std::function<void(uint64_t applied, bool stopped)>;
  int AddProgressListener(ProgressListener listener) const;
  void RemoveProgressListener(int id) const;

  // NotFound when absent.
  absl::StatusOr<v1::Record> Get(const RecordName& name) const;
  // The stored record, serialized (a v1::Record as the ingest service
  // wrote it); NotFound when absent.
  absl::StatusOr<std::string> GetBytes(const std::string& key) const;

  // Records under `parent` in key order (by city, bureau, record; for
  // "cities/-/bureaus/{b}" by bureau, city, record) whose scan key is
  // greater than `after_key`, at most `limit`.
  absl::StatusOr<ScanPage> Scan(const Parent& parent,
                                const std::string& after_key,
                                size_t limit) const;
  // Visits the records under `parent` in scan order after `after_key`
  // (the scan key: RecordKey, or BureauIndexKey for cities/-/bureaus/{b}),
  // until `visit` returns false. One consistent snapshot.
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

  // Number of records under `parent`, from the maintained counts.
  absl::StatusOr<int64_t> Count(const Parent& parent) const;

  // Every city / bureau with at least one record, by ID.
  std::vector<CityCount> Cities() const;
  std::vector<BureauCount> Bureaus() const;

  // The record stored under a RecordKey; NotFound when absent.
  absl::StatusOr<v1::Record> GetByKey(const std::string& key) const;

  // A consistent view of the search index and records for one search. It
  // must not outlive the replica.
  class SearchReader {
   public:
    ~SearchReader();
    SearchReader(const SearchReader&) = delete;
    SearchReader& operator=(const SearchReader&) = delete;

    // Level -> number of records in which `gram` has that level (those
    // whose folded searched fields hold it).
    absl::StatusOr<std::map<int, int64_t>> LevelCounts(
        absl::string_view gram) const;
    // Up to `n` index IDs of records holding `gram` at `level`, spread over
    // the level's posting list (over its chunks, and within each chunk).
    absl::StatusOr<std::vector<uint64_t>> SamplePostings(absl::string_view gram,
                                                         int level, int n) const;
    // Visits the index IDs of the records holding `gram` with their level
    // (search_text.h), by decreasing level, then increasing ID, until
    // `visit` returns false.
    absl::Status ForEachPosting(
        absl::string_view gram,
        const std::function<bool(int level, uint64_t id)>& visit) const;
    // The record key and folded fields of the record with index ID `id`;
    // NotFound when there is none.
    struct Entry {
      std::string key;
      SearchFields fields;
    };
    absl::StatusOr<Entry> GetEntry(uint64_t id) const;
    absl::StatusOr<v1::Record> GetByKey(const std::string& key) const;

   private:
    friend class Replica;
    SearchReader(const Replica& replica);
    const Replica& replica_;
    const rocksdb::Snapshot* snapshot_;
  };
  std::unique_ptr<SearchReader> NewSearchReader() const;

 private:
  Replica(std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles, uint64_t applied);

  // ForEachBytes (keys after `start_key`, ascending) or, with `reverse`,
  // ForEachBytesReverse (keys before it, descending).
  absl::Status ScanBytes(
      const Parent& parent, const std::string& start_key, bool reverse,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view record)>
          visit) const;
  // Reads the counts column family into counts_ and names_.
  absl::Status LoadCounts();
  // Applies `changes`; with `set_applied`, applies all of them (no skipping
  // by sequence) and sets the applied sequence to it.
  absl::Status ApplyChanges(const std::vector<v1::Change>& changes,
                            std::optional<uint64_t> set_applied);
  // Empties every column family but the applied sequence, which becomes 0,
  // and records `history_id` unless it is empty.
  absl::Status Reset(const std::string& history_id = "");
  absl::StatusOr<v1::Record> ReadRecord(const rocksdb::ReadOptions& options,
                                        const std::string& key) const;
  absl::StatusOr<std::string> ReadRecordBytes(
      const rocksdb::ReadOptions& options, const std::string& key) const;
  // Calls the progress listeners (no lock of mutex_ held).
  void NotifyProgress(uint64_t applied, bool stopped) const;

  // The Env over options.file_system (null for the default); outlives db_.
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_;
  rocksdb::ColumnFamilyHandle* records_;
  rocksdb::ColumnFamilyHandle* by_bureau_;
  rocksdb::ColumnFamilyHandle* grams_;
  rocksdb::ColumnFamilyHandle* counts_cf_;
  rocksdb::ColumnFamilyHandle* search_text_;

  mutable absl::Mutex mutex_;
  uint64_t applied_ ABSL_GUARDED_BY(mutex_);
  std::string history_id_ ABSL_GUARDED_BY(mutex_);
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
  // Mirrors of the counts column family, updated after each applied batch.
  absl::flat_hash_map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, v1::City> city_names_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, v1::Bureau> bureau_names_
      ABSL_GUARDED_BY(mutex_);

  // Held while listeners are called, so that removing one waits for its
  // running call.
  mutable absl::Mutex listeners_mutex_ ABSL_ACQUIRED_AFTER(mutex_);
  mutable std::map<int, ProgressListener> listeners_
      ABSL_GUARDED_BY(listeners_mutex_);
  mutable int next_listener_ ABSL_GUARDED_BY(listeners_mutex_) = 0;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_REPLICA_H_
