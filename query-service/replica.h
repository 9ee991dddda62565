#ifndef KOURYU_QUERY_SERVICE_REPLICA_H_
#define KOURYU_QUERY_SERVICE_REPLICA_H_

// A query replica: the records as the change feed describes them, in the
// replica's own RocksDB, with a by-bureau index and the applied sequence.
// Apply() writes a batch of changes, their index entries and the new applied
// sequence in one WriteBatch, so a crash never leaves changes half applied
// and a restart resumes at the next change exactly once.
//
// Column families:
//   default    "applied_sequence" -> 8 big-endian bytes
//   records    RecordKey(name)        -> v1::Record
//   by_bureau  BureauIndexKey(name)   -> RecordKey(name)
//
// Thread-safe: one thread applies, any number read.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/keys.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/record.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace kouryu::query {

struct ReplicaOptions {
  // Size of the RocksDB block cache shared by all column families.
  size_t block_cache_bytes = 64 << 20;
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

  // Applies `changes` (consecutive, ascending); changes at or below the
  // applied sequence are skipped. All or nothing.
  absl::Status Apply(const std::vector<v1::Change>& changes);

  // Returns once the applied sequence is at least `sequence`.
  // DEADLINE_EXCEEDED when `deadline` passes first; UNAVAILABLE after
  // StopWaiting().
  absl::Status WaitForSequence(uint64_t sequence, absl::Time deadline) const;
  void StopWaiting();

  // NotFound when absent.
  absl::StatusOr<v1::Record> Get(const RecordName& name) const;

  // Records under `parent` in key order (by city, bureau, record; for
  // "cities/-/bureaus/{b}" by bureau, city, record) whose scan key is
  // greater than `after_key`, at most `limit`.
  absl::StatusOr<ScanPage> Scan(const Parent& parent,
                                const std::string& after_key,
                                size_t limit) const;
  // Number of records under `parent`.
  absl::StatusOr<int64_t> Count(const Parent& parent) const;

 private:
  Replica(std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles, uint64_t applied);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_;
  rocksdb::ColumnFamilyHandle* records_;
  rocksdb::ColumnFamilyHandle* by_bureau_;

  mutable absl::Mutex mutex_;
  uint64_t applied_ ABSL_GUARDED_BY(mutex_);
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_REPLICA_H_
