#include "common/db.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kouryu {

absl::Status CreateDirectories(rocksdb::Env& env, const std::string& dir) {
  std::filesystem::path prefix;
  for (const std::filesystem::path& part : std::filesystem::path(dir)) {
    prefix /= part;
    if (part.empty() || part == prefix.root_path()) continue;
    absl::Status status = FromRocksDb(
        env.CreateDirIfMissing(prefix.string()),
        absl::StrCat("creating the directory ", prefix.string(), " for ", dir));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<OpenedDb> OpenDb(
    const std::string& dir, rocksdb::DBOptions db_options,
    const rocksdb::ColumnFamilyOptions& cf_options,
    const std::vector<std::string>& families,
    const std::function<void(const std::string& family,
                             rocksdb::ColumnFamilyOptions& options)>& adjust) {
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options}};
  for (const std::string& name : families) descriptors.push_back({name, cf_options});
  if (adjust) {
    for (rocksdb::ColumnFamilyDescriptor& d : descriptors) adjust(d.name, d.options);
  }
  absl::Status created = CreateDirectories(*db_options.env, dir);
  if (!created.ok()) return created;
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
