#ifndef KOURYU_COMMON_DB_H_
#define KOURYU_COMMON_DB_H_

// Opening and closing a RocksDB database with named column families, the
// same way for the system of record and for replicas.

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kouryu {

struct OpenedDb {
  std::unique_ptr<rocksdb::DB> db;
  // One per name given to OpenDb, in that order.
  std::vector<rocksdb::ColumnFamilyHandle*> families;
};

// Creates `dir` and any of its parents that are missing, through `env`'s
// file system (so a test's file system sees them too). An error names the
// directory that could not be made.
absl::Status CreateDirectories(rocksdb::Env& env, const std::string& dir);

// Opens (creating it and its parents if missing) the database in `dir`
// with the default column family followed by `families`, all with
// `cf_options`, each as `adjust` (when given) changes it for that family.
// families[0] of the result is the default column family.
absl::StatusOr<OpenedDb> OpenDb(
    const std::string& dir, rocksdb::DBOptions db_options,
    const rocksdb::ColumnFamilyOptions& cf_options,
    const std::vector<std::string>& families,
    const std::function<void(const std::string& family,
                             rocksdb::ColumnFamilyOptions& options)>& adjust = nullptr);

// Destroys the handles, then closes the database.
void CloseDb(rocksdb::DB& db,
             const std::vector<rocksdb::ColumnFamilyHandle*>& families);

}  // namespace kouryu

#endif  // KOURYU_COMMON_DB_H_
