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

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

  // Adds `change` to the batch. DATA_LOSS when its name does not parse or
  // it has no kind; another error when reading the stored state fails.
  // After an error the batch must not be written.
  absl::Status Add(const v1::Change& change);

  // Puts the index postings and the counts into the batch (new counts
  // from `counts`, see RecordCounts::Stage) and returns it for the replica
  // to add its applied sequence and write. Call once, after the last Add.
  absl::StatusOr<rocksdb::WriteBatch*> Finish(const RecordCounts& counts);

  // The counts to publish once the batch is written.
  RecordCounts::Batch& counts() { return counts_; }

 private:
  // What the batch needs of a stored record: where it is counted and its
  // index ID.
  struct Placed {
    std::string city;
    std::string bureau;
    uint64_t index_id;
  };
  static Placed PlacedOf(const v1::Record& record);

  // The record under `key` as of the batch so far; nullopt when none.
  absl::StatusOr<std::optional<Placed>> Current(const std::string& key);
  // The folded text indexed for `id` as of the batch so far.
  absl::StatusOr<std::optional<SearchFields>> IndexedText(uint64_t id);

  // The steps of a change: uncount and unindex what the batch replaces,
  // then put the record or delete it.
  absl::Status Unplace(const Placed& old);
  absl::Status PutRecord(const RecordName& name, const std::string& key,
                         const v1::Record& record);
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

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_CHANGE_BATCH_H_
