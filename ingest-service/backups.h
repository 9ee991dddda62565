#ifndef KOURYU_INGEST_SERVICE_BACKUPS_H_
#define KOURYU_INGEST_SERVICE_BACKUPS_H_

// Backups of the system of record, with RocksDB's BackupEngine in one
// directory (incremental: backups share the table files they have in
// common), and the offline restore.
//
// A backup is taken online and is consistent at one changelog sequence: a
// checkpoint of the live store (Store::Checkpoint: hard links and a copy of
// the write-ahead log, writes go on) is opened as a store of its own, its
// head sequence, record count, digest and history are read from it, and it
// is backed up with them as the backup's metadata, then removed. What the
// backup holds is therefore exactly the changes up to its sequence.
//
// Thread-safe. One backup is taken at a time: Create while another Create
// runs fails with ABORTED (reason BACKUP_IN_PROGRESS); List and Delete wait
// for it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ingest-service/store.h"

namespace rocksdb {
class BackupEngine;
}  // namespace rocksdb

namespace kouryu::ingest {

struct BackupInfo {
  uint32_t id = 0;
  // Every change up to and including it, none after.
  uint64_t sequence = 0;
  // Bytes of the backup's files (shared ones included).
  uint64_t size_bytes = 0;
  absl::Time create_time = absl::UnixEpoch();
  uint64_t record_count = 0;
  // common/digest.h, as the restored store's Digest() answers.
  std::string digest;
  // The history backed up (StoreHistory::id).
  std::string history_id;
};

class Backups {
 public:
  // Opens the backup directory `backup_dir`, creating it when missing.
  // `checkpoint_dir` is where Create puts its checkpoint while it runs: on
  // the store's file system (so the checkpoint is hard links), not inside
  // `backup_dir`; whatever is there is removed first.
  static absl::StatusOr<std::unique_ptr<Backups>> Open(
      const std::string& backup_dir, std::string checkpoint_dir);
  ~Backups();

  // Takes a backup of `store` (see the top of this file).
  absl::StatusOr<BackupInfo> Create(const Store& store);
  // Every backup, oldest first.
  absl::StatusOr<std::vector<BackupInfo>> List();
  // NOT_FOUND (reason BACKUP_NOT_FOUND) when there is no backup `id`.
  absl::Status Delete(uint32_t id);

 private:
  Backups(std::unique_ptr<rocksdb::BackupEngine> engine, std::string dir,
          std::string checkpoint_dir);

  absl::StatusOr<BackupInfo> CreateLocked(const Store& store)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::string dir_;
  const std::string checkpoint_dir_;
  absl::Mutex mutex_;
  std::unique_ptr<rocksdb::BackupEngine> engine_ ABSL_GUARDED_BY(mutex_);
};

// Restores backup `id` (the latest when unset) of `backup_dir` into
// `data_dir`, which must be empty or missing (FAILED_PRECONDITION, reason
// DATA_DIR_NOT_EMPTY, otherwise), and starts a new history there
// (Store::StartNewHistory). NOT_FOUND (BACKUP_NOT_FOUND) for an unknown id
// or a directory without backups. On failure `data_dir` is left as it was
// found. Returns the backup restored.
absl::StatusOr<BackupInfo> RestoreBackup(const std::string& backup_dir,
                                         std::optional<uint32_t> id,
                                         const std::string& data_dir);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_BACKUPS_H_
