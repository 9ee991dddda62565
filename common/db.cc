#include "common/db.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kouryu {

absl::StatusOr<OpenedDb> OpenDb(const std::string& dir,
                                rocksdb::DBOptions db_options,
                                const rocksdb::ColumnFamilyOptions& cf_options,
                                const std::vector<std::string>& families) {
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options}};
  for (const std::string& name : families) descriptors.push_back({name, cf_options});
  OpenedDb opened;
  rocksdb::DB* raw_db = nullptr;
  absl::Status status = FromRocksDb(
      rocksdb::DB::Open(db_options, dir, descriptors, &opened.families, &raw_db),
      absl::StrCat("opening ", dir));
  if (!status.ok()) return status;
  opened.db.reset(raw_db);
  return opened;
}

void CloseDb(rocksdb::DB& db,
             const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
  for (rocksdb::ColumnFamilyHandle* h : families) db.DestroyColumnFamilyHandle(h);
  db.Close();
}

}  // namespace kouryu
