#ifndef KOURYU_QUERY_SERVICE_CHANGE_BATCH_H_
#define KOURYU_QUERY_SERVICE_CHANGE_BATCH_H_

// The apply path of a replica (replica.h): one batch of changes turned into
// one RocksDB WriteBatch that puts or deletes the records, their by-bureau
// index entries, their search text and index postings (search_index.h) and
// their counts (record_counts.h). A change replaces what the stored state,
// or an earlier change of the same batch, holds under its name.
//
// Not thread-safe; only the replica's applier builds one, and nothing is
// written until the replica writes the finished batch.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/keys.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/record.pb.h"
#include "query-service/record_counts.h"
#include "query-service/replica_layout.h"
#include "query-service/search_index.h"
#include "query-service/search_text.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace kouryu::query {

class ChangeBatch {
 public:
  // Reads the stored state from `db`, which must outlive the batch.
  ChangeBatch(rocksdb::DB& db, const ReplicaFamilies& families);
  ~ChangeBatch();

  ChangeBatch(const ChangeBatch&) = delete;
  ChangeBatch& operator=(const ChangeBatch&) = delete;

  // What the batch needs of a stored record: where it is counted and its
  // index ID.
  struct Placed {
    std::string city;
    std::string bureau;
    uint64_t index_id;
  };

  // What a change needs that does not depend on the batch so far, so that
  // it may be computed on any thread ahead of the change's Add: an
  // upsert's record folded, its grams and its bytes (PrepareRecord), and
  // what the database held under the change's name before the batch
  // (ReadStored). Add uses the latter only when no earlier change of the
  // batch touched that name or index ID.
  struct Prepared {
    bool has_record = false;
    SearchFields fields;
    std::vector<IndexedGram> grams;
    std::string record_bytes;
    // Set when the read succeeded (when it failed, Add reads again).
    bool has_stored = false;
    std::optional<Placed> stored;
    // The grams of the stored record's indexed text, when it has one.
    std::optional<std::vector<IndexedGram>> stored_grams;
  };
  static void PrepareRecord(const v1::Record& record, Prepared& out);
  // Reads the database only: safe on another thread while Add runs.
  void ReadStored(const v1::Change& change, Prepared& out) const;

  // Adds `change` to the batch. DATA_LOSS when its name does not parse or
  // it has no kind; another error when reading the stored state fails.
  // After an error the batch must not be written. `prepared`, when not
  // null, is what PrepareRecord and ReadStored gave for the change (either
  // part may be missing); Add takes it.
  absl::Status Add(const v1::Change& change, Prepared* prepared = nullptr);

  // Puts the index postings and the counts into the batch (new counts
  // from `counts`, see RecordCounts::Stage) and returns it for the replica
  // to add its applied sequence and write. Call once, after the last Add.
  absl::StatusOr<rocksdb::WriteBatch*> Finish(const RecordCounts& counts);

  // The counts to publish once the batch is written.
  RecordCounts::Batch& counts() { return counts_; }

 private:
  static Placed PlacedOf(const v1::Record& record);

  // The record under `key` in the database; nullopt when none.
  absl::StatusOr<std::optional<Placed>> Stored(const std::string& key) const;
  // The record under `key` as of the batch so far; nullopt when none.
  absl::StatusOr<std::optional<Placed>> Current(const std::string& key,
                                                const Prepared* prepared);

  // The steps of a change: uncount and unindex what the batch replaces,
  // then put the record or delete it.
  absl::Status Unplace(const Placed& old, Prepared* prepared);
  absl::Status PutRecord(const RecordName& name, const std::string& key,
                         const v1::Record& record, Prepared* prepared);
  absl::Status DeleteRecord(const RecordName& name, const std::string& key);

  rocksdb::DB& db_;
  const ReplicaFamilies families_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  // Each record touched by this batch, as of the batch so far.
  absl::flat_hash_map<std::string, std::optional<Placed>> touched_;
  // The folded text of each index ID touched, as of the batch so far.
  absl::flat_hash_map<uint64_t, std::optional<SearchFields>> texts_;
  IndexDelta index_;
  RecordCounts::Batch counts_;
};

// The changes of a list prepared (ChangeBatch::PrepareRecord and
// ReadStored) on a helper thread, a few chunks ahead of the caller, who
// takes them in order and prepares any chunk the helper has not started
// itself. So at most a
// few chunks' worth is held at once, however long the list. Without a
// second core, or for a short list, there is no helper: Take returns null
// and Add prepares the change itself.
class PreparedChanges {
 public:
  // With `batch` (which must outlive this) null, only the records are
  // prepared, not what is stored.
  PreparedChanges(const std::vector<v1::Change>& changes,
                  const ChangeBatch* batch);
  // Stops the helper and waits for it.
  ~PreparedChanges();

  PreparedChanges(const PreparedChanges&) = delete;
  PreparedChanges& operator=(const PreparedChanges&) = delete;

  // What was prepared for changes[i], for ChangeBatch::Add to take; null
  // without a helper. Called with i in increasing order.
  ChangeBatch::Prepared* Take(size_t i);

 private:
  static constexpr size_t kChunk = 64;
  // Chunks the helper may prepare beyond the caller's.
  static constexpr size_t kAhead = 4;
  enum class State : uint8_t { kFree, kClaimed, kDone };

  void PrepareChunk(size_t chunk);
  // The first chunk not claimed within kAhead of the caller's, or
  // states_.size().
  size_t FreeChunkInReach() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool HelperMayGoOn() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Help();

  const std::vector<v1::Change>& changes_;
  const ChangeBatch* const batch_;
  std::vector<std::optional<ChangeBatch::Prepared>> prepared_;
  absl::Mutex mutex_;
  std::vector<State> states_ ABSL_GUARDED_BY(mutex_);
  size_t current_ ABSL_GUARDED_BY(mutex_) = 0;  // The caller's chunk.
  size_t free_chunks_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  // The caller's: the chunk it last found prepared.
  size_t ready_chunk_ = SIZE_MAX;
  std::thread helper_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_CHANGE_BATCH_H_
