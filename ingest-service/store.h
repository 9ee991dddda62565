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
//
// Thread-safe. Writes are serialized (single writer); reads run concurrently.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/ingest_service.pb.h"
#include "kouryu/v1/record.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace kouryu::ingest {

struct StoreOptions {
  // fsync the WAL before a write is acknowledged (survives power loss).
  // Without it a write survives a crash of the process, not of the machine.
  bool sync = false;
};

struct UpsertResult {
  // The record as stored (or as it would be, for validate_only).
  v1::Record record;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
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
  // Returns the results in input order; `*sequence` receives the last
  // sequence written (or the current head, when nothing was written).
  absl::StatusOr<std::vector<UpsertResult>> Upsert(
      std::vector<v1::Record> records, bool dry_run, uint64_t* sequence);

  // Deletes the record named `name`. NotFound when absent; Aborted when
  // `etag` is non-empty and differs. Returns the change's sequence.
  absl::StatusOr<uint64_t> Delete(const std::string& name,
                                  const std::string& etag);

  // NotFound when absent.
  absl::StatusOr<v1::Record> Get(const std::string& name) const;

  // The sequence of the latest change (0 for an empty changelog).
  uint64_t HeadSequence() const;

  // Up to `max_count` changes with sequence > `after`, in order.
  absl::StatusOr<std::vector<v1::Change>> ReadChanges(uint64_t after,
                                                      size_t max_count) const;

  // Blocks until HeadSequence() > `after`, `deadline` passes or
  // StopWaiting() is called. Returns whether there are changes after `after`.
  bool WaitForChangesAfter(uint64_t after, absl::Time deadline) const;
  // Wakes every waiter now and makes later waits return at once.
  void StopWaiting();
  // True once StopWaiting() was called.
  bool stopping() const;

 private:
  Store(std::unique_ptr<rocksdb::DB> db,
        std::vector<rocksdb::ColumnFamilyHandle*> handles,
        const StoreOptions& options, uint64_t head);

  absl::StatusOr<std::optional<v1::Record>> ReadRecord(
      const std::string& key) const;
  absl::StatusOr<std::optional<std::string>> ReadNameOfId(
      const std::string& id) const;

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* records_;
  rocksdb::ColumnFamilyHandle* record_ids_;
  rocksdb::ColumnFamilyHandle* changelog_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  StoreOptions options_;

  // Held for the whole of a write: sequences are assigned in commit order.
  absl::Mutex write_mutex_;
  mutable absl::Mutex head_mutex_;
  uint64_t head_ ABSL_GUARDED_BY(head_mutex_);
  bool stopped_ ABSL_GUARDED_BY(head_mutex_) = false;
};

// The etag of a record's content: everything but name-independent metadata
// (source, timestamps, etag). Equal content, equal etag.
std::string ContentEtag(const v1::Record& record);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_STORE_H_
