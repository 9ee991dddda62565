#include "query-service/replica_layout.h"

#include <rocksdb/db.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"

namespace kouryu::query {

std::string BureauIndexKey(const RecordName& name) {
  std::string key;
  AppendKeyComponent(key, name.bureau);
  AppendKeyComponent(key, name.city);
  AppendKeyComponent(key, name.record);
  return key;
}

std::string BureauIndexPrefix(absl::string_view bureau) {
  std::string key;
  AppendKeyComponent(key, bureau);
  return key;
}

const std::vector<std::string>& ReplicaFamilies::Names() {
  static const auto* names = new std::vector<std::string>{
      "records", "by_bureau", kGramsName, "counts", "search_text"};
  return *names;
}

ReplicaFamilies ReplicaFamilies::From(
    const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  return ReplicaFamilies{.meta = handles[0],
                         .records = handles[1],
                         .by_bureau = handles[2],
                         .grams = handles[3],
                         .counts = handles[4],
                         .search_text = handles[5]};
}

std::vector<rocksdb::ColumnFamilyHandle*> ReplicaFamilies::Data() const {
  return {records, by_bureau, grams, counts, search_text};
}

const std::string& EndOfKeys() {
  static const std::string* key = new std::string(9, '\xff');
  return *key;
}

absl::StatusOr<std::optional<std::string>> FindRecordBytes(
    rocksdb::DB& db, const ReplicaFamilies& families,
    const rocksdb::ReadOptions& options, const std::string& key) {
  std::string value;
  rocksdb::Status s = db.Get(options, families.records, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksDb(s, "reading a record");
  return std::optional<std::string>(std::move(value));
}

absl::StatusOr<std::string> ReadRecordBytes(rocksdb::DB& db,
                                            const ReplicaFamilies& families,
                                            const rocksdb::ReadOptions& options,
                                            const std::string& key) {
  absl::StatusOr<std::optional<std::string>> found =
      FindRecordBytes(db, families, options, key);
  if (!found.ok()) return found.status();
  if (!*found) {
    std::optional<RecordName> name = DecodeRecordKey(key);
    const std::string formatted = name ? FormatRecordName(*name) : "?";
    return WithReason(absl::NotFoundError(absl::StrCat("no record ", formatted)),
                      "RECORD_NOT_FOUND", {{"name", formatted}});
  }
  return **std::move(found);
}

absl::StatusOr<v1::Record> ReadRecord(rocksdb::DB& db,
                                      const ReplicaFamilies& families,
                                      const rocksdb::ReadOptions& options,
                                      const std::string& key) {
  absl::StatusOr<std::string> value = ReadRecordBytes(db, families, options, key);
  if (!value.ok()) return value.status();
  v1::Record record;
  if (!record.ParseFromString(*value)) return StorageCorrupted("record");
  return record;
}

}  // namespace kouryu::query
