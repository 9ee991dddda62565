#ifndef KOURYU_QUERY_SERVICE_RECORD_COUNTS_H_
#define KOURYU_QUERY_SERVICE_RECORD_COUNTS_H_

// The record counts a replica maintains, so that a count or a list of
// cities never scans records: in the counts column family
// (replica_layout.h), and mirrored in memory for reads.
//
// Keys of the counts family, each made of escaped components
// (AppendKeyComponent):
//   "all", "c" city, "b" bureau, "cb" city bureau -> 8-byte count
//   "cn" city / "bn" bureau -> the latest v1::City / v1::Bureau seen, for
//                              their names
//
// Thread-safe: the reads may run on any threads while the replica's one
// applier stages and publishes batches.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/keys.h"
#include "kouryu/v1/record.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace kouryu::query {

// A city or bureau with its record count.
struct CityCount {
  v1::City city;
  int64_t records = 0;
};
struct BureauCount {
  v1::Bureau bureau;
  int64_t records = 0;
};

class RecordCounts {
 public:
  // `family` is the counts column family; it must outlive this.
  explicit RecordCounts(rocksdb::ColumnFamilyHandle* family);

  RecordCounts(const RecordCounts&) = delete;
  RecordCounts& operator=(const RecordCounts&) = delete;

  // Replaces the mirror with what `db`'s counts family holds. INTERNAL
  // (STORAGE_CORRUPTED) for a malformed entry, another error when RocksDB
  // fails.
  absl::Status Load(rocksdb::DB& db);
  // Empties the mirror (after the family was emptied).
  void Clear();

  // Records under `parent`.
  int64_t Count(const Parent& parent) const;
  // Every city / bureau with at least one record, by ID.
  std::vector<CityCount> Cities() const;
  std::vector<BureauCount> Bureaus() const;

  // What one batch of changes does to the counts. Not thread-safe.
  class Batch {
   public:
    // Counts (+1) or uncounts (-1) a record of `city` and `bureau`.
    void Add(absl::string_view city, absl::string_view bureau, int sign);
    // Keeps the latest city and bureau of a record, for their names.
    void SawNames(const v1::City& city, const v1::Bureau& bureau);

   private:
    friend class RecordCounts;
    absl::flat_hash_map<std::string, int64_t> delta_;
    absl::flat_hash_map<std::string, v1::City> cities_;
    absl::flat_hash_map<std::string, v1::Bureau> bureaus_;
    // The new values of the changed counts (Stage); 0 deletes one.
    absl::flat_hash_map<std::string, int64_t> updated_;
  };

  // Puts the counts `changes` leads to into `batch`. The new values come
  // from the mirror, so only one batch may be between Stage and Publish at
  // a time (the replica's applier). An error only when the batch refuses
  // them.
  absl::Status Stage(Batch& changes, rocksdb::WriteBatch& batch) const;
  // Once the staged batch is written: the mirror takes its values.
  void Publish(Batch changes);

 private:
  rocksdb::ColumnFamilyHandle* const family_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, int64_t> counts_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, v1::City> city_names_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::string, v1::Bureau> bureau_names_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_RECORD_COUNTS_H_
