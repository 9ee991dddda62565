#ifndef KOURYU_QUERY_SERVICE_REPLICA_LAYOUT_H_
#define KOURYU_QUERY_SERVICE_REPLICA_LAYOUT_H_

// How a replica (replica.h) lays out its RocksDB, for the parts of the
// replica that read and write it: the apply path (change_batch.h), the
// counts (record_counts.h) and the search index (search_index.h).
//
// Column families:
//   default     "applied_sequence" -> 8 big-endian bytes; "format" -> the
//               layout version (a replica of another layout empties itself
//               and follows the feed from the start); "history_id" -> the
//               change feed's history the applied changes belong to
//   records     RecordKey(name)        -> v1::Record, serialized as the
//               ingest service wrote it
//   by_bureau   BureauIndexKey(name)   -> RecordKey(name)
//   grams       the search index: gram counts and posting lists of index
//               IDs, merged per batch (postings.h)
//   search_text SequenceKey(index ID) -> the record's key and its folded
//               searched fields: title, results and names (search_text.h),
//               so a search checks candidates without reading and folding
//               whole records (search_index.h)
//   counts      record counts and the names of cities and bureaus
//               (record_counts.h)
//
// A batch of changes writes all of these, and the applied sequence, in one
// WriteBatch.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/keys.h"
#include "kouryu/v1/record.pb.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
struct ReadOptions;
}  // namespace rocksdb

namespace kouryu::query {

// The replica's column families, by name; the handles belong to the
// replica.
struct ReplicaFamilies {
  rocksdb::ColumnFamilyHandle* meta = nullptr;  // the default family
  rocksdb::ColumnFamilyHandle* records = nullptr;
  rocksdb::ColumnFamilyHandle* by_bureau = nullptr;
  rocksdb::ColumnFamilyHandle* grams = nullptr;
  rocksdb::ColumnFamilyHandle* counts = nullptr;
  rocksdb::ColumnFamilyHandle* search_text = nullptr;

  // The names of the families after the default one, in the order OpenDb
  // (common/db.h) returns their handles.
  static const std::vector<std::string>& Names();
  // The name of the grams family (one of Names()).
  static constexpr char kGramsName[] = "grams";
  // `handles` as OpenDb returned them for Names().
  static ReplicaFamilies From(
      const std::vector<rocksdb::ColumnFamilyHandle*>& handles);
  // Every family but the default one.
  std::vector<rocksdb::ColumnFamilyHandle*> Data() const;
};

// Key of a record in the by_bureau family: bureau, city, record, each as
// AppendKeyComponent writes it (common/keys.h), so keys sort by bureau,
// then city, then record.
std::string BureauIndexKey(const RecordName& name);
// Prefix of the by_bureau keys of one bureau.
std::string BureauIndexPrefix(absl::string_view bureau);

// An end key above every key of every family: record, index and count keys
// are ASCII, gram keys start with 'c' or 'p', search_text keys are 8 bytes.
const std::string& EndOfKeys();

// The record stored under RecordKey `key`, serialized; nullopt when there
// is none. An error when RocksDB fails.
absl::StatusOr<std::optional<std::string>> FindRecordBytes(
    rocksdb::DB& db, const ReplicaFamilies& families,
    const rocksdb::ReadOptions& options, const std::string& key);
// The record stored under RecordKey `key`, serialized. NOT_FOUND (reason
// RECORD_NOT_FOUND, metadata "name") when there is none; another error when
// RocksDB fails.
absl::StatusOr<std::string> ReadRecordBytes(rocksdb::DB& db,
                                            const ReplicaFamilies& families,
                                            const rocksdb::ReadOptions& options,
                                            const std::string& key);
// As ReadRecordBytes, parsed; INTERNAL (reason STORAGE_CORRUPTED) when the
// stored bytes do not parse.
absl::StatusOr<v1::Record> ReadRecord(rocksdb::DB& db,
                                      const ReplicaFamilies& families,
                                      const rocksdb::ReadOptions& options,
                                      const std::string& key);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_REPLICA_LAYOUT_H_
