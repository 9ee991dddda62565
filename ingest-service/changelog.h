#ifndef KOURYU_INGEST_SERVICE_CHANGELOG_H_
#define KOURYU_INGEST_SERVICE_CHANGELOG_H_

// The store's changelog column family (store.h): SequenceKey(sequence) ->
// v1::Change, written by the store in the same batch as the records, read
// in order by the change feed, and trimmed by retention. Sequences of
// failed writes are never used, so the changelog may have gaps.
//
// Thread-safe: reads run concurrently with each other, with writes and
// with a trim; one trim runs at a time.

#include <rocksdb/db.h>

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kouryu/v1/change_feed.pb.h"

namespace kouryu::ingest {

struct ChangelogRetention {
  // At least the latest `changes` changes are kept, and every change
  // younger than `age`.
  uint64_t changes = 1'000'000;
  absl::Duration age = absl::Hours(24 * 7);
};

class Changelog {
 public:
  // What a database's changelog holds when it is opened.
  struct Bounds {
    // The latest sequence written: the last entry's, or the value under
    // `head_key` in `meta` when that is later (the changelog trimmed empty).
    uint64_t head = 0;
    // The first entry's sequence; head + 1 when there is none.
    uint64_t first = 1;
  };
  static absl::StatusOr<Bounds> ReadBounds(rocksdb::DB& db,
                                           rocksdb::ColumnFamilyHandle* meta,
                                           absl::string_view head_key,
                                           rocksdb::ColumnFamilyHandle* changelog);

  // `db` and `changelog` must outlive this; `first_retained` is
  // Bounds::first.
  Changelog(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* changelog,
            const ChangelogRetention& retention, uint64_t first_retained);

  // The oldest sequence still held when the latest is `head`: head + 1 when
  // none is.
  uint64_t FirstRetained(uint64_t head) const;

  // Up to `max_count` changes with sequence > `after`, in order.
  absl::StatusOr<std::vector<v1::Change>> Read(uint64_t after,
                                               size_t max_count) const;

  // Drops the changes beyond the retention limits when the latest sequence
  // is `head`: of the changes older than the latest retention.changes,
  // those committed before `now` - retention.age. Returns how many it
  // dropped. FirstRetained moves before the entries go, so a reader that
  // finds a gap knows why.
  absl::StatusOr<uint64_t> Trim(uint64_t head, absl::Time now)
      ABSL_LOCKS_EXCLUDED(trim_mutex_, mutex_);

 private:
  rocksdb::DB& db_;
  rocksdb::ColumnFamilyHandle* const changelog_;
  const ChangelogRetention retention_;
  absl::Mutex trim_mutex_ ABSL_ACQUIRED_BEFORE(mutex_);
  mutable absl::Mutex mutex_;
  uint64_t first_retained_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_CHANGELOG_H_
