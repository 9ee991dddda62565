#include "bench/rocksdb_floor.h"

#include <google/protobuf/util/time_util.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/gazetteer.h"
#include "common/hash.h"
#include "common/keys.h"
#include "common/status.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/change_feed.pb.h"

namespace kouryu::bench {
namespace {

using google::protobuf::util::TimeUtil;

// Distinct values normalized; keys beyond them reuse their values. Enough
// that the values do not compress against each other more than real ones.
constexpr int64_t kDistinctValues = 2000;
// The store's meta key for the head sequence, written with every batch.
constexpr char kHeadKey[] = "head_sequence";

// splitmix64, for the readers' random keys.
uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbFloor>> RocksDbFloor::Create(
    const std::string& dir, const testing::TableGenerator& generator,
    int64_t records, bool fill) {
  records = std::max<int64_t>(records, 1);
  // Values: generated rows normalized and stamped as the store stamps them.
  ingest::Normalizer normalizer(Gazetteer::Builtin());
  const google::protobuf::Timestamp now = TimeUtil::GetCurrentTime();
  std::vector<Stored> values;
  std::vector<RecordName> names;
  for (int64_t i = 0; i < std::min(records, kDistinctValues); ++i) {
    absl::StatusOr<ingest::NormalizedRecord> normalized = normalizer.Normalize(
        generator.Row(static_cast<uint64_t>(i)), v1::SourceRef(), {});
    if (!normalized.ok()) return normalized.status();
    v1::Record& record = normalized->record;
    record.set_etag(ingest::ContentEtag(record));
    *record.mutable_create_time() = now;
    *record.mutable_update_time() = now;
    absl::StatusOr<RecordName> name = ParseRecordName(record.name());
    if (!name.ok()) return name.status();
    names.push_back(*std::move(name));
    v1::Change change;
    change.set_sequence(static_cast<uint64_t>(i) + 1);
    change.set_kind(v1::CHANGE_KIND_UPSERT);
    change.set_name(record.name());
    *change.mutable_record() = record;
    *change.mutable_commit_time() = now;
    values.push_back({record.SerializeAsString(), change.SerializeAsString()});
  }
  // Keys: the normalized names, then names of the same shape (city and
  // bureau of the value, a record ID of the same length) for the rest.
  std::vector<Key> keys;
  keys.reserve(static_cast<size_t>(records));
  for (int64_t i = 0; i < records; ++i) {
    const size_t v = static_cast<size_t>(i) % values.size();
    RecordName name = names[v];
    if (i >= static_cast<int64_t>(values.size())) {
      name.record =
          absl::StrCat(name.record.substr(0, name.record.find('-') + 1),
                       Hex64(Fnv1a64(absl::StrCat("row ", i))));
    }
    keys.push_back({RecordKey(name), name.record, FormatRecordName(name), v});
  }

  absl::StatusOr<OpenedDb> opened =
      OpenDb(dir, rocksdb::DBOptions(), ingest::StoreColumnFamilyOptions(),
             ingest::StoreColumnFamilies());
  if (!opened.ok()) return opened.status();
  std::unique_ptr<RocksDbFloor> floor(
      new RocksDbFloor(std::move(opened->db), std::move(opened->families),
                       std::move(values), std::move(keys)));
  // Every key once, so that reads find what the servers would.
  constexpr int kFillBatch = 512;
  for (int64_t begin = 0; fill && begin < records; begin += kFillBatch) {
    rocksdb::WriteBatch batch;
    for (int64_t i = begin; i < std::min(records, begin + kFillBatch); ++i) {
      floor->AddRecord(batch, floor->next_index_++, floor->next_sequence_++);
    }
    absl::Status written = FromRocksDb(
        floor->db_->Write(rocksdb::WriteOptions(), &batch), "filling");
    if (!written.ok()) return written;
  }
  return floor;
}

RocksDbFloor::RocksDbFloor(std::unique_ptr<rocksdb::DB> db,
                           std::vector<rocksdb::ColumnFamilyHandle*> families,
                           std::vector<Stored> values, std::vector<Key> keys)
    : db_(std::move(db)),
      families_(std::move(families)),
      values_(std::move(values)),
      keys_(std::move(keys)) {}

RocksDbFloor::~RocksDbFloor() { CloseDb(*db_, families_); }

void RocksDbFloor::AddRecord(rocksdb::WriteBatch& batch, uint64_t index,
                             uint64_t sequence) {
  const Key& key = keys_[index % keys_.size()];
  const Stored& value = values_[key.value];
  batch.Put(families_[1], key.key, value.record);
  batch.Put(families_[2], key.id, key.name);
  batch.Put(families_[3], SequenceKey(sequence), value.change);
}

Figures RocksDbFloor::Write(const std::string& name, int records_per_batch,
                            bool sync, LoadOptions options) {
  options.timed = records_per_batch == 1;
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  return RunThreads(name, options, records_per_batch, [&](int thread) {
    rocksdb::WriteBatch batch;
    const uint64_t first_sequence = next_sequence_.fetch_add(records_per_batch);
    for (int k = 0; k < records_per_batch; ++k) {
      AddRecord(batch, next_index_++, first_sequence + k);
    }
    batch.Put(families_[0], kHeadKey,
              SequenceKey(first_sequence + records_per_batch - 1));
    return FromRocksDb(db_->Write(write_options, &batch), "writing");
  });
}

Figures RocksDbFloor::Read(const std::string& name,
                           const LoadOptions& options) {
  std::vector<uint64_t> draws(options.concurrency);
  for (int t = 0; t < options.concurrency; ++t) draws[t] = Mix(t + 1);
  return RunThreads(name, options, 1, [&](int thread) {
    uint64_t& state = draws[thread];
    state = Mix(state);
    const Key& key = keys_[state % keys_.size()];
    std::string value;
    rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), families_[1], key.key, &value);
    if (s.IsNotFound()) return absl::NotFoundError("a written key is missing");
    return FromRocksDb(s, "reading");
  });
}

}  // namespace kouryu::bench
