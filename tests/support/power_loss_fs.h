#ifndef KOURYU_TESTS_SUPPORT_POWER_LOSS_FS_H_
#define KOURYU_TESTS_SUPPORT_POWER_LOSS_FS_H_

// A RocksDB file system that can lose power, in the manner of RocksDB's
// FaultInjectionTestFS: it remembers what the disk is sure to hold — each
// file's bytes up to its last Sync/Fsync, and which directory entries
// (created, renamed) a directory Fsync made durable — and on a simulated
// power loss drops everything else.
//
// Usage:
//   auto fs = std::make_shared<PowerLossFileSystem>();
//   open a database with it (StoreOptions::file_system), write ...
//   fs->CutPower();          // from now on nothing becomes durable
//   close the database       // nor what it does on close
//   fs->RestorePower();      // the disk as a power loss leaves it
//   reopen and check what survived.
//
// After the cut the database goes on as if nothing happened — its writes,
// syncs and renames succeed, so it meets no errors — but none of it is
// durable: RestorePower undoes it all. Deletions after the cut are skipped
// (they would be lost too). Thread-safe. Test-only.

#include <rocksdb/file_system.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace kouryu::testing {

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  PowerLossFileSystem();

  static const char* kClassName() { return "PowerLossFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // Nothing written after this survives RestorePower. Returns at once.
  void CutPower();
  // True between CutPower and RestorePower.
  bool power_off() const { return off_.load(); }
  // Brings the disk to what survives the loss (files truncated to their
  // synced size, entries not made durable removed, renames not made durable
  // undone) and turns the power back on. Call with every file closed (the
  // database gone). Returns how many bytes and files were dropped.
  struct Dropped {
    uint64_t bytes = 0;
    int files = 0;
  };
  Dropped RestorePower();

  rocksdb::IOStatus NewWritableFile(const std::string& fname,
                                    const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(
      const std::string& fname, const std::string& old_fname,
      const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& fname,
                                    const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name,
                                 const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dirname,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& dirname,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;

  // Called by the files and directories this file system hands out.
  void Appended(const std::string& fname, uint64_t size);
  void Synced(const std::string& fname);
  void TruncatedTo(const std::string& fname, uint64_t size);
  void DirSynced(const std::string& dirname);

 private:
  // What the disk is sure to hold of a file written since the last power
  // loss. Files not tracked are durable whole.
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
  };
  // A name whose directory entry no directory Fsync has made durable yet.
  // `previous` is what the name held before (nullopt: nothing), restored
  // on a power loss; `renamed_from` the durable name it came from.
  struct PendingEntry {
    std::optional<std::string> previous;
    std::optional<std::string> renamed_from;
  };

  rocksdb::IOStatus Track(const std::string& fname, bool truncate,
                          std::unique_ptr<rocksdb::FSWritableFile>* result)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Records that `fname` is a new directory entry (before it is written).
  void NewEntry(const std::string& fname) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::atomic<bool> off_{false};
  absl::Mutex mu_;
  std::map<std::string, FileState> files_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, PendingEntry> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kouryu::testing

#endif  // KOURYU_TESTS_SUPPORT_POWER_LOSS_FS_H_
