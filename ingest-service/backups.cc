#include "ingest-service/backups.h"

#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/db.h"
#include "common/status.h"

namespace kouryu::ingest {
namespace {

namespace fs = std::filesystem;

// First line of a backup's app metadata; then key=value lines.
constexpr absl::string_view kMetadataHeader = "kouryu-backup 1";

std::string EncodeMetadata(const BackupInfo& info) {
  return absl::StrCat(kMetadataHeader, "\nsequence=", info.sequence,
                      "\nrecord_count=", info.record_count,
                      "\ndigest=", info.digest,
                      "\nhistory_id=", info.history_id, "\n");
}

absl::StatusOr<BackupInfo> FromEngine(const rocksdb::BackupInfo& engine_info) {
  BackupInfo info;
  info.id = engine_info.backup_id;
  info.size_bytes = engine_info.size;
  info.create_time = absl::FromUnixSeconds(engine_info.timestamp);
  std::vector<absl::string_view> lines =
      absl::StrSplit(engine_info.app_metadata, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != kMetadataHeader) {
    return WithReason(
        absl::DataLossError(absl::StrCat(
            "backup ", info.id, " was not written by kouryu-ingest (its "
            "metadata does not start with \"", kMetadataHeader, "\")")),
        "BACKUP_CORRUPTED", {{"backupId", absl::StrCat(info.id)}});
  }
  bool has_sequence = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(lines[i], absl::MaxSplits('=', 1));
    if (kv.first == "sequence") {
      has_sequence = absl::SimpleAtoi(kv.second, &info.sequence);
    } else if (kv.first == "record_count") {
      if (!absl::SimpleAtoi(kv.second, &info.record_count)) has_sequence = false;
    } else if (kv.first == "digest") {
      info.digest = std::string(kv.second);
    } else if (kv.first == "history_id") {
      info.history_id = std::string(kv.second);
    }
  }
  if (!has_sequence) {
    return WithReason(absl::DataLossError(absl::StrCat(
                          "the metadata of backup ", info.id,
                          " has no valid sequence or record count")),
                      "BACKUP_CORRUPTED", {{"backupId", absl::StrCat(info.id)}});
  }
  return info;
}

absl::Status NoSuchBackup(const std::string& dir, uint32_t id,
                          const std::vector<rocksdb::BackupInfo>& infos) {
  std::vector<uint32_t> ids;
  for (const rocksdb::BackupInfo& info : infos) ids.push_back(info.backup_id);
  return WithReason(
      absl::NotFoundError(absl::StrCat(
          "no backup ", id, " in ", dir,
          ids.empty() ? std::string(" (it holds none)")
                      : absl::StrCat(" (it holds ", absl::StrJoin(ids, ", "),
                                     ")"))),
      "BACKUP_NOT_FOUND", {{"backupId", absl::StrCat(id)}});
}

rocksdb::BackupEngineOptions EngineOptions(const std::string& dir) {
  rocksdb::BackupEngineOptions options(dir);
  // Incremental: a table file already in the directory is not copied again.
  options.share_table_files = true;
  // fsync what is written, so a backup that was answered survives a crash.
  options.sync = true;
  return options;
}

// Removes everything under `dir`, and `dir` too unless it `existed` before.
void RemoveRestored(const std::string& dir, bool existed) {
  std::error_code ignored;
  if (!existed) {
    fs::remove_all(dir, ignored);
    return;
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ignored)) {
    fs::remove_all(entry.path(), ignored);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backups>> Backups::Open(
    const std::string& backup_dir, std::string checkpoint_dir) {
  std::error_code error;
  fs::create_directories(backup_dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--backup_dir ", backup_dir, ": cannot create it: ", error.message()));
  }
  rocksdb::BackupEngine* raw = nullptr;
  absl::Status opened = FromRocksDb(
      rocksdb::BackupEngine::Open(EngineOptions(backup_dir),
                                  rocksdb::Env::Default(), &raw),
      absl::StrCat("opening the backup directory ", backup_dir));
  if (!opened.ok()) return opened;
  return std::unique_ptr<Backups>(
      new Backups(std::unique_ptr<rocksdb::BackupEngine>(raw), backup_dir,
                  std::move(checkpoint_dir)));
}

Backups::Backups(std::unique_ptr<rocksdb::BackupEngine> engine,
                 std::string dir, std::string checkpoint_dir)
    : dir_(std::move(dir)),
      checkpoint_dir_(std::move(checkpoint_dir)),
      engine_(std::move(engine)) {}

Backups::~Backups() = default;

absl::StatusOr<BackupInfo> Backups::Create(const Store& store) {
  if (!mutex_.TryLock()) {
    return WithReason(
        absl::AbortedError("another backup is being taken; try again once it "
                           "has finished"),
        "BACKUP_IN_PROGRESS");
  }
  absl::StatusOr<BackupInfo> created = CreateLocked(store);
  mutex_.Unlock();
  return created;
}

absl::StatusOr<BackupInfo> Backups::CreateLocked(const Store& store) {
  std::error_code error;
  fs::remove_all(checkpoint_dir_, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot remove the old checkpoint ",
                                            checkpoint_dir_, ": ",
                                            error.message()));
  }
  absl::Status status = store.Checkpoint(checkpoint_dir_);
  absl::StatusOr<uint32_t> id;
  if (status.ok()) {
    // The checkpoint is a database of its own that nobody writes to: what
    // it holds, its head sequence says.
    absl::StatusOr<std::unique_ptr<Store>> copy =
        Store::Open(checkpoint_dir_, StoreOptions{.min_free_bytes = 0});
    if (!copy.ok()) {
      status = copy.status();
    } else {
      absl::StatusOr<ContentDigest> digest = (*copy)->Digest();
      if (!digest.ok()) {
        status = digest.status();
      } else {
        BackupInfo info{.sequence = digest->sequence,
                        .record_count = digest->record_count,
                        .digest = digest->digest,
                        .history_id = (*copy)->history().id};
        id = (*copy)->BackUpTo(*engine_, EncodeMetadata(info));
        if (!id.ok()) status = id.status();
      }
    }
  }
  fs::remove_all(checkpoint_dir_, error);
  if (!status.ok()) return status;
  rocksdb::BackupInfo engine_info;
  status = FromRocksDb(engine_->GetBackupInfo(*id, &engine_info),
                       "reading the new backup");
  if (!status.ok()) return status;
  return FromEngine(engine_info);
}

absl::StatusOr<std::vector<BackupInfo>> Backups::List() {
  absl::MutexLock lock(&mutex_);
  std::vector<rocksdb::BackupInfo> infos;
  engine_->GetBackupInfo(&infos);
  std::sort(infos.begin(), infos.end(),
            [](const rocksdb::BackupInfo& a, const rocksdb::BackupInfo& b) {
              return a.backup_id < b.backup_id;
            });
  std::vector<BackupInfo> out;
  for (const rocksdb::BackupInfo& info : infos) {
    absl::StatusOr<BackupInfo> parsed = FromEngine(info);
    if (!parsed.ok()) return parsed.status();
    out.push_back(*std::move(parsed));
  }
  return out;
}

absl::Status Backups::Delete(uint32_t id) {
  absl::MutexLock lock(&mutex_);
  rocksdb::BackupInfo info;
  if (!engine_->GetBackupInfo(id, &info).ok()) {
    std::vector<rocksdb::BackupInfo> infos;
    engine_->GetBackupInfo(&infos);
    return NoSuchBackup(dir_, id, infos);
  }
  return FromRocksDb(engine_->DeleteBackup(id),
                     absl::StrCat("deleting backup ", id));
}

absl::StatusOr<BackupInfo> RestoreBackup(const std::string& backup_dir,
                                         std::optional<uint32_t> id,
                                         const std::string& data_dir) {
  std::error_code error;
  const bool existed = fs::exists(data_dir, error);
  if (existed && (!fs::is_directory(data_dir, error) ||
                  !fs::is_empty(data_dir, error))) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "--data_dir ", data_dir,
            " is not an empty directory; a restore writes only into an empty "
            "or missing one, so that it never mixes a backup with another "
            "database. Nothing was written")),
        "DATA_DIR_NOT_EMPTY", {{"dataDir", data_dir}});
  }
  if (!fs::is_directory(backup_dir, error)) {
    return WithReason(absl::NotFoundError(absl::StrCat(
                          "--restore_from ", backup_dir, " is not a directory")),
                      "BACKUP_NOT_FOUND");
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  absl::Status status = FromRocksDb(
      rocksdb::BackupEngineReadOnly::Open(EngineOptions(backup_dir),
                                          rocksdb::Env::Default(), &raw),
      absl::StrCat("opening the backup directory ", backup_dir));
  if (!status.ok()) return status;
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  std::sort(infos.begin(), infos.end(),
            [](const rocksdb::BackupInfo& a, const rocksdb::BackupInfo& b) {
              return a.backup_id < b.backup_id;
            });
  if (infos.empty()) {
    return WithReason(absl::NotFoundError(absl::StrCat(
                          backup_dir, " holds no backups")),
                      "BACKUP_NOT_FOUND");
  }
  auto chosen = infos.end() - 1;
  if (id) {
    chosen = std::find_if(infos.begin(), infos.end(),
                          [&](const rocksdb::BackupInfo& info) {
                            return info.backup_id == *id;
                          });
    if (chosen == infos.end()) return NoSuchBackup(backup_dir, *id, infos);
  }
  absl::StatusOr<BackupInfo> info = FromEngine(*chosen);
  if (!info.ok()) return info.status();

  // A missing --data_dir is made with its missing parents; a failure
  // removes the outermost directory made (climbing stops at what exists or
  // cannot be looked at).
  fs::path made = fs::absolute(data_dir, error);
  while (!existed && made.has_parent_path() && made.parent_path() != made &&
         !fs::exists(made.parent_path(), error) && !error) {
    made = made.parent_path();
  }
  status = CreateDirectories(*rocksdb::Env::Default(), data_dir);
  if (status.ok()) {
    status = FromRocksDb(
        engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), info->id,
                                    data_dir, data_dir),
        absl::StrCat("restoring backup ", info->id, " into ", data_dir));
  }
  if (status.ok()) {
    // Check what was restored against what the backup says it holds, then
    // start the new history.
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(data_dir, {});
    absl::StatusOr<ContentDigest> digest =
        store.ok() ? (*store)->Digest() : store.status();
    if (!digest.ok()) {
      status = digest.status();
    } else if (digest->sequence != info->sequence ||
               digest->digest != info->digest ||
               digest->record_count != info->record_count) {
      status = WithReason(
          absl::DataLossError(absl::StrCat(
              "backup ", info->id, " restored to sequence ", digest->sequence,
              " with ", digest->record_count, " records and digest ",
              digest->digest, "; its metadata says sequence ", info->sequence,
              ", ", info->record_count, " records, digest ", info->digest)),
          "BACKUP_CORRUPTED", {{"backupId", absl::StrCat(info->id)}});
    } else {
      status = (*store)->StartNewHistory();
    }
  }
  if (!status.ok()) {
    RemoveRestored(existed ? data_dir : made.string(), existed);
    return status;
  }
  return info;
}

}  // namespace kouryu::ingest
