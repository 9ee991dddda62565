#include "ingest-service/changelog.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "common/keys.h"
#include "common/slice.h"
#include "common/status.h"
#include "ingest-service/record_codec.h"

namespace kouryu::ingest {
namespace {

absl::StatusOr<uint64_t> SequenceAt(const rocksdb::Iterator& it) {
  std::optional<uint64_t> sequence = DecodeSequenceKey(View(it.key()));
  if (!sequence) return Corrupted("changelog key", View(it.key()));
  return *sequence;
}

}  // namespace

absl::StatusOr<Changelog::Bounds> Changelog::ReadBounds(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle* meta,
    absl::string_view head_key, rocksdb::ColumnFamilyHandle* changelog) {
  Bounds bounds;
  std::string value;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), meta,
                             rocksdb::Slice(head_key.data(), head_key.size()),
                             &value);
  if (s.ok()) {
    std::optional<uint64_t> stored = DecodeSequenceKey(value);
    if (!stored) return Corrupted("head sequence", head_key);
    bounds.head = *stored;
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, "reading the head sequence");
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db.NewIterator(rocksdb::ReadOptions(), changelog));
  it->SeekToLast();
  if (it->Valid()) {
    absl::StatusOr<uint64_t> last = SequenceAt(*it);
    if (!last.ok()) return last.status();
    bounds.head = std::max(bounds.head, *last);
  }
  it->SeekToFirst();
  if (it->Valid()) {
    absl::StatusOr<uint64_t> first = SequenceAt(*it);
    if (!first.ok()) return first.status();
    bounds.first = *first;
  } else {
    bounds.first = bounds.head + 1;
  }
  absl::Status scanned = FromRocksDb(it->status(), "reading the changelog");
  if (!scanned.ok()) return scanned;
  return bounds;
}

Changelog::Changelog(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* changelog,
                     const ChangelogRetention& retention,
                     uint64_t first_retained)
    : db_(db),
      changelog_(changelog),
      retention_(retention),
      first_retained_(first_retained) {}

uint64_t Changelog::FirstRetained(uint64_t head) const {
  absl::MutexLock lock(&mutex_);
  return std::min(first_retained_, head + 1);
}

absl::StatusOr<std::vector<v1::Change>> Changelog::Read(
    uint64_t after, size_t max_count) const {
  std::vector<v1::Change> changes;
  std::unique_ptr<rocksdb::Iterator> it(
      db_.NewIterator(rocksdb::ReadOptions(), changelog_));
  for (it->Seek(SequenceKey(after + 1));
       it->Valid() && changes.size() < max_count; it->Next()) {
    absl::StatusOr<v1::Change> change =
        ParseStoredChange(View(it->value()), View(it->key()));
    if (!change.ok()) return change.status();
    changes.push_back(*std::move(change));
  }
  absl::Status status = FromRocksDb(it->status(), "reading the changelog");
  if (!status.ok()) return status;
  return changes;
}

absl::StatusOr<uint64_t> Changelog::Trim(uint64_t head, absl::Time now) {
  absl::MutexLock trim_lock(&trim_mutex_);
  const uint64_t first = FirstRetained(head);
  // Changes up to `by_count` are beyond the count limit; of those, the ones
  // committed before the age limit go.
  const uint64_t by_count =
      head > retention_.changes ? head - retention_.changes : 0;
  if (by_count < first) return 0;
  const int64_t oldest_kept = absl::ToUnixNanos(now - retention_.age);
  uint64_t cut = first;  // Drop [first, cut).
  std::unique_ptr<rocksdb::Iterator> it(
      db_.NewIterator(rocksdb::ReadOptions(), changelog_));
  for (it->Seek(SequenceKey(first)); it->Valid(); it->Next()) {
    absl::StatusOr<uint64_t> sequence = SequenceAt(*it);
    if (!sequence.ok()) return sequence.status();
    if (*sequence > by_count) break;
    absl::StatusOr<v1::Change> change =
        ParseStoredChange(View(it->value()), View(it->key()));
    if (!change.ok()) return change.status();
    if (google::protobuf::util::TimeUtil::TimestampToNanoseconds(
            change->commit_time()) >= oldest_kept) {
      break;
    }
    cut = *sequence + 1;
  }
  absl::Status scanned = FromRocksDb(it->status(), "trimming the changelog");
  if (!scanned.ok()) return scanned;
  if (cut == first) return 0;
  {
    absl::MutexLock lock(&mutex_);
    first_retained_ = cut;
  }
  absl::Status dropped = FromRocksDb(
      db_.DeleteRange(rocksdb::WriteOptions(), changelog_, SequenceKey(first),
                      SequenceKey(cut)),
      "trimming the changelog");
  if (!dropped.ok()) return dropped;
  return cut - first;
}

}  // namespace kouryu::ingest
