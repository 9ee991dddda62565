#include "tests/support/power_loss_fs.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace kouryu::testing {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSDirectory;
using rocksdb::FSRandomRWFile;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string Normalize(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : Normalize(path.substr(0, slash));
}

std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file written through the power-loss file system: reports what it wrote
// and what it synced while the power was on.
class TrackedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(std::unique_ptr<FSWritableFile> target, PowerLossFileSystem* fs,
              std::string name, uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        name_(std::move(name)),
        size_(size) {}

  IOStatus Append(const Slice& data, const IOOptions& options,
                  IODebugContext* dbg) override {
    IOStatus s = target()->Append(data, options, dbg);
    if (s.ok()) fs_->Appended(name_, size_ += data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo&, IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) {
      size_ = std::max(size_, offset + data.size());
      fs_->Appended(name_, size_);
    }
    return s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                            const IOOptions& options,
                            const rocksdb::DataVerificationInfo&,
                            IODebugContext* dbg) override {
    return PositionedAppend(data, offset, options, dbg);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options,
                    IODebugContext* dbg) override {
    IOStatus s = target()->Truncate(size, options, dbg);
    if (s.ok()) fs_->TruncatedTo(name_, size_ = size);
    return s;
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = target()->Sync(options, dbg);
    if (s.ok() && !fs_->power_off()) fs_->Synced(name_);
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = target()->Fsync(options, dbg);
    if (s.ok() && !fs_->power_off()) fs_->Synced(name_);
    return s;
  }

 private:
  PowerLossFileSystem* fs_;
  std::string name_;
  uint64_t size_;
};

class TrackedDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDirectory(std::unique_ptr<FSDirectory> target, PowerLossFileSystem* fs,
                   std::string name)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), name_(std::move(name)) {}

  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    IOStatus s = FSDirectoryWrapper::Fsync(options, dbg);
    if (s.ok() && !fs_->power_off()) fs_->DirSynced(name_);
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& dir_options) override {
    IOStatus s = FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options);
    if (s.ok() && !fs_->power_off()) fs_->DirSynced(name_);
    return s;
  }

 private:
  PowerLossFileSystem* fs_;
  std::string name_;
};

}  // namespace

PowerLossFileSystem::PowerLossFileSystem()
    : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

void PowerLossFileSystem::CutPower() { off_.store(true); }

void PowerLossFileSystem::NewEntry(const std::string& fname) {
  if (pending_.contains(fname)) return;
  PendingEntry entry;
  if (std::optional<std::string> content = ReadWhole(fname)) {
    if (auto it = files_.find(fname); it != files_.end()) {
      content->resize(std::min<uint64_t>(content->size(), it->second.synced));
    }
    entry.previous = std::move(content);
  }
  pending_.emplace(fname, std::move(entry));
}

IOStatus PowerLossFileSystem::Track(const std::string& name, bool truncate,
                                    std::unique_ptr<FSWritableFile>* result) {
  std::string fname = Normalize(name);
  uint64_t size = 0;
  {
    absl::MutexLock lock(&mu_);
    if (truncate) {
      files_[fname] = FileState{};
    } else {
      std::error_code error;
      uintmax_t on_disk = std::filesystem::file_size(fname, error);
      size = error ? 0 : on_disk;
      auto [it, inserted] = files_.try_emplace(fname, FileState{size, size});
      it->second.size = size;
    }
  }
  *result = std::make_unique<TrackedFile>(std::move(*result), this, fname, size);
  return IOStatus::OK();
}

IOStatus PowerLossFileSystem::NewWritableFile(const std::string& fname,
                                              const FileOptions& options,
                                              std::unique_ptr<FSWritableFile>* result,
                                              IODebugContext* dbg) {
  {
    absl::MutexLock lock(&mu_);
    NewEntry(Normalize(fname));
  }
  IOStatus s = target()->NewWritableFile(fname, options, result, dbg);
  if (!s.ok()) return s;
  return Track(fname, /*truncate=*/true, result);
}

IOStatus PowerLossFileSystem::ReopenWritableFile(
    const std::string& fname, const FileOptions& options,
    std::unique_ptr<FSWritableFile>* result, IODebugContext* dbg) {
  {
    absl::MutexLock lock(&mu_);
    if (!std::filesystem::exists(Normalize(fname))) NewEntry(Normalize(fname));
  }
  IOStatus s = target()->ReopenWritableFile(fname, options, result, dbg);
  if (!s.ok()) return s;
  return Track(fname, /*truncate=*/false, result);
}

IOStatus PowerLossFileSystem::ReuseWritableFile(const std::string&, const std::string&,
                                                const FileOptions&,
                                                std::unique_ptr<FSWritableFile>*,
                                                IODebugContext*) {
  return IOStatus::NotSupported("PowerLossFileSystem: ReuseWritableFile");
}

IOStatus PowerLossFileSystem::NewRandomRWFile(const std::string&, const FileOptions&,
                                              std::unique_ptr<FSRandomRWFile>*,
                                              IODebugContext*) {
  return IOStatus::NotSupported("PowerLossFileSystem: NewRandomRWFile");
}

IOStatus PowerLossFileSystem::NewDirectory(const std::string& name,
                                           const IOOptions& options,
                                           std::unique_ptr<FSDirectory>* result,
                                           IODebugContext* dbg) {
  IOStatus s = target()->NewDirectory(name, options, result, dbg);
  if (!s.ok()) return s;
  *result = std::make_unique<TrackedDirectory>(std::move(*result), this,
                                               Normalize(name));
  return s;
}

IOStatus PowerLossFileSystem::DeleteFile(const std::string& name,
                                         const IOOptions& options,
                                         IODebugContext* dbg) {
  // A deletion after the cut never reached the disk: the file stays (the
  // database, which thinks it gone, is about to lose the power anyway).
  if (power_off()) return IOStatus::OK();
  std::string fname = Normalize(name);
  IOStatus s = target()->DeleteFile(fname, options, dbg);
  if (!s.ok()) return s;
  // A deletion is taken as durable at once, as RocksDB's own fault
  // injection does: a deleted file that came back would only be ignored.
  absl::MutexLock lock(&mu_);
  files_.erase(fname);
  if (auto it = pending_.find(fname);
      it != pending_.end() && !it->second.previous && !it->second.renamed_from) {
    pending_.erase(it);
  }
  return s;
}

IOStatus PowerLossFileSystem::RenameFile(const std::string& src_name,
                                         const std::string& target_name,
                                         const IOOptions& options,
                                         IODebugContext* dbg) {
  std::string src = Normalize(src_name), tgt = Normalize(target_name);
  absl::MutexLock lock(&mu_);
  NewEntry(tgt);
  PendingEntry& entry = pending_[tgt];
  if (auto it = pending_.find(src); it != pending_.end()) {
    // The source's own entry was not durable: the target's is not either,
    // and it came from wherever the source came from.
    entry.renamed_from = it->second.renamed_from;
    if (!it->second.previous && !it->second.renamed_from) pending_.erase(it);
  } else {
    entry.renamed_from = src;
  }
  IOStatus s = target()->RenameFile(src, tgt, options, dbg);
  if (!s.ok()) return s;
  if (auto it = files_.find(src); it != files_.end()) {
    files_[tgt] = it->second;
    files_.erase(it);
  } else {
    files_.erase(tgt);
  }
  return s;
}

IOStatus PowerLossFileSystem::LinkFile(const std::string& src, const std::string& tgt,
                                       const IOOptions& options, IODebugContext* dbg) {
  {
    absl::MutexLock lock(&mu_);
    NewEntry(Normalize(tgt));
  }
  return target()->LinkFile(src, tgt, options, dbg);
}

IOStatus PowerLossFileSystem::Truncate(const std::string& fname, size_t size,
                                       const IOOptions& options, IODebugContext* dbg) {
  IOStatus s = target()->Truncate(fname, size, options, dbg);
  if (s.ok()) TruncatedTo(Normalize(fname), size);
  return s;
}

IOStatus PowerLossFileSystem::CreateDir(const std::string& dirname,
                                        const IOOptions& options, IODebugContext* dbg) {
  return target()->CreateDir(dirname, options, dbg);
}

IOStatus PowerLossFileSystem::CreateDirIfMissing(const std::string& dirname,
                                                 const IOOptions& options,
                                                 IODebugContext* dbg) {
  return target()->CreateDirIfMissing(dirname, options, dbg);
}

IOStatus PowerLossFileSystem::DeleteDir(const std::string& dirname,
                                        const IOOptions& options, IODebugContext* dbg) {
  if (power_off()) return IOStatus::OK();
  return target()->DeleteDir(dirname, options, dbg);
}

void PowerLossFileSystem::Appended(const std::string& fname, uint64_t size) {
  absl::MutexLock lock(&mu_);
  files_[fname].size = size;
}

void PowerLossFileSystem::Synced(const std::string& fname) {
  absl::MutexLock lock(&mu_);
  FileState& state = files_[fname];
  state.synced = state.size;
}

void PowerLossFileSystem::TruncatedTo(const std::string& fname, uint64_t size) {
  absl::MutexLock lock(&mu_);
  FileState& state = files_[fname];
  state.size = size;
  state.synced = std::min(state.synced, size);
}

void PowerLossFileSystem::DirSynced(const std::string& dirname) {
  absl::MutexLock lock(&mu_);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (ParentOf(it->first) == dirname) {
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

PowerLossFileSystem::Dropped PowerLossFileSystem::RestorePower() {
  absl::MutexLock lock(&mu_);
  Dropped dropped;
  std::error_code error;
  // Directory entries no Fsync made durable: undo them.
  for (auto& [name, entry] : pending_) {
    if (std::filesystem::exists(name, error)) {
      if (entry.renamed_from) {
        std::filesystem::rename(name, *entry.renamed_from, error);
        if (auto it = files_.find(name); it != files_.end()) {
          files_[*entry.renamed_from] = it->second;
          files_.erase(name);
        }
      } else {
        dropped.bytes += std::filesystem::file_size(name, error);
        std::filesystem::remove(name, error);
        files_.erase(name);
        ++dropped.files;
      }
    }
    if (entry.previous) {
      std::ofstream(name, std::ios::binary | std::ios::trunc) << *entry.previous;
      files_.erase(name);
    }
  }
  pending_.clear();
  // File contents: only what was synced.
  for (const auto& [name, state] : files_) {
    uintmax_t size = std::filesystem::file_size(name, error);
    if (error || size <= state.synced) continue;
    dropped.bytes += size - state.synced;
    std::filesystem::resize_file(name, state.synced, error);
  }
  files_.clear();
  off_.store(false);
  return dropped;
}

}  // namespace kouryu::testing
