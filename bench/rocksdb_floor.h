#ifndef KOURYU_BENCH_ROCKSDB_FLOOR_H_
#define KOURYU_BENCH_ROCKSDB_FLOOR_H_

// The floor beneath the ingest store and the replica's point reads:
// RocksDB's own write and read rates through the RocksDB API, in-process,
// for the keys and values kouryu stores.
//
// The database is opened with the store's options (StoreColumnFamilyOptions
// and StoreColumnFamilies in ingest-service/store.h: default DBOptions, LZ4,
// Bloom filters, the records, record_ids and changelog column families,
// through common/db.h) and written as the store writes a new
// record: its key and serialized Record, its ID and name, and its changelog
// entry (a Change holding the record), in one WriteBatch with the head
// sequence. The records are generated rows normalized by kouryu's own
// normalizer, so key and value sizes are the servers'. What the floor
// leaves out is everything else the store does per write: reading the
// record's previous version, normalizing, the etag, group commit.

#include <rocksdb/db.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/measure.h"
#include "tests/support/generator.h"

namespace kouryu::bench {

class RocksDbFloor {
 public:
  // Creates a database in `dir` (which must not hold one) whose writes and
  // reads go to `records` keys, those of generated rows [0, records); with
  // `fill`, writes every one of them first.
  static absl::StatusOr<std::unique_ptr<RocksDbFloor>> Create(
      const std::string& dir, const testing::TableGenerator& generator,
      int64_t records, bool fill);
  ~RocksDbFloor();

  RocksDbFloor(const RocksDbFloor&) = delete;
  RocksDbFloor& operator=(const RocksDbFloor&) = delete;

  // Records written per second on options.concurrency threads, each
  // WriteBatch holding `records_per_batch` records, the WAL fsynced before
  // each write returns when `sync` (RocksDB groups concurrent writers into
  // one write and one fsync). An operation is a record; latency is timed
  // per write when a write holds one record.
  Figures Write(const std::string& name, int records_per_batch, bool sync,
                LoadOptions options);

  // Point reads (DB::Get) of uniformly random records, on
  // options.concurrency threads.
  Figures Read(const std::string& name, const LoadOptions& options);

 private:
  // A record as the store writes it; values shared by many keys.
  struct Stored {
    std::string record;  // serialized v1::Record
    std::string change;  // serialized v1::Change holding it
  };
  struct Key {
    std::string key;   // RecordKey
    std::string id;    // record ID
    std::string name;  // resource name
    size_t value = 0;  // index into values_
  };

  RocksDbFloor(std::unique_ptr<rocksdb::DB> db,
               std::vector<rocksdb::ColumnFamilyHandle*> families,
               std::vector<Stored> values, std::vector<Key> keys);

  // Appends record `index` (modulo the keys) to `batch` with changelog
  // sequence `sequence`.
  void AddRecord(rocksdb::WriteBatch& batch, uint64_t index, uint64_t sequence);

  std::unique_ptr<rocksdb::DB> db_;
  // Default, records, record_ids, changelog.
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::vector<Stored> values_;
  std::vector<Key> keys_;
  std::atomic<uint64_t> next_index_{0};
  std::atomic<uint64_t> next_sequence_{1};
};

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_ROCKSDB_FLOOR_H_
