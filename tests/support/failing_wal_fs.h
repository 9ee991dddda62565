#ifndef KOURYU_TESTS_SUPPORT_FAILING_WAL_FS_H_
#define KOURYU_TESTS_SUPPORT_FAILING_WAL_FS_H_

// A RocksDB file system for tests of a disk that fails: once told to, it
// fails every append to a write-ahead log file.

#include <rocksdb/file_system.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"

namespace kouryu::testing {

// A file system whose write-ahead log files fail every append once
// FailWalAppends() is called, as a disk that has gone bad does.
class FailingWalFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FailingWalFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  static const char* kClassName() { return "FailingWalFileSystem"; }
  const char* Name() const override { return kClassName(); }

  void FailWalAppends() { failing_ = true; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& fname, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* result,
      rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(fname, options, result, dbg);
    if (s.ok() && absl::EndsWith(fname, ".log")) {
      *result = std::make_unique<WalFile>(std::move(*result), failing_);
    }
    return s;
  }

 private:
  class WalFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    WalFile(std::unique_ptr<rocksdb::FSWritableFile> target,
            const std::atomic<bool>& failing)
        : FSWritableFileOwnerWrapper(std::move(target)), failing_(failing) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (failing_) return rocksdb::IOStatus::IOError("injected: WAL append");
      return target()->Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data,
                             const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo&,
                             rocksdb::IODebugContext* dbg) override {
      return Append(data, options, dbg);
    }

   private:
    const std::atomic<bool>& failing_;
  };

  std::atomic<bool> failing_{false};
};

}  // namespace kouryu::testing

#endif  // KOURYU_TESTS_SUPPORT_FAILING_WAL_FS_H_
