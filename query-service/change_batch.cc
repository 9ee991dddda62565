#include "query-service/change_batch.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "query-service/postings.h"
#include "query-service/record_wire.h"

namespace kouryu::query {

ChangeBatch::ChangeBatch(rocksdb::DB& db, const ReplicaFamilies& families)
    : db_(db), families_(families), batch_(std::make_unique<rocksdb::WriteBatch>()) {}

ChangeBatch::~ChangeBatch() = default;

ChangeBatch::Placed ChangeBatch::PlacedOf(const v1::Record& record) {
  return Placed{record.city().id(), record.bureau().id(), RecordIndexId(record)};
}

absl::Status ChangeBatch::Add(const v1::Change& change) {
  absl::StatusOr<RecordName> name = ParseRecordName(change.name());
  if (!name.ok()) {
    return absl::DataLossError(absl::StrCat("change ", change.sequence(), ": ",
                                            name.status().message()));
  }
  if (change.kind() != v1::CHANGE_KIND_UPSERT &&
      change.kind() != v1::CHANGE_KIND_DELETE) {
    return absl::DataLossError(
        absl::StrCat("change ", change.sequence(), " has no kind"));
  }
  const std::string key = RecordKey(*name);
  absl::StatusOr<std::optional<Placed>> old = Current(key);
  if (!old.ok()) return old.status();
  if (*old) {
    if (absl::Status s = Unplace(**old); !s.ok()) return s;
  }
  return change.kind() == v1::CHANGE_KIND_UPSERT
             ? PutRecord(*name, key, change.record())
             : DeleteRecord(*name, key);
}

absl::StatusOr<std::optional<ChangeBatch::Placed>> ChangeBatch::Current(
    const std::string& key) {
  if (auto it = touched_.find(key); it != touched_.end()) return it->second;
  absl::StatusOr<std::optional<std::string>> stored =
      FindRecordBytes(db_, families_, rocksdb::ReadOptions(), key);
  if (!stored.ok()) return stored.status();
  if (!*stored) return std::optional<Placed>();
  v1::Record placement;
  if (!ParsePlacement(**stored, placement)) return StorageCorrupted("record");
  return std::optional<Placed>(PlacedOf(placement));
}

absl::StatusOr<std::optional<SearchFields>> ChangeBatch::IndexedText(uint64_t id) {
  if (auto it = texts_.find(id); it != texts_.end()) return it->second;
  return ReadIndexedFields(db_, families_, id);
}

absl::Status ChangeBatch::Unplace(const Placed& old) {
  counts_.Add(old.city, old.bureau, -1);
  absl::StatusOr<std::optional<SearchFields>> text = IndexedText(old.index_id);
  if (!text.ok()) return text.status();
  if (*text) index_.Change(**text, old.index_id, -1);
  texts_[old.index_id] = std::nullopt;
  return FromRocksDb(batch_->Delete(families_.search_text, SearchTextKey(old.index_id)),
                     "preparing changes");
}

absl::Status ChangeBatch::PutRecord(const RecordName& name, const std::string& key,
                                    const v1::Record& record) {
  Placed now = PlacedOf(record);
  counts_.Add(now.city, now.bureau, +1);
  counts_.SawNames(record.city(), record.bureau());
  SearchFields fields = FoldedFields(record);
  rocksdb::Status s = batch_->Put(families_.records, key, record.SerializeAsString());
  if (s.ok()) s = batch_->Put(families_.by_bureau, BureauIndexKey(name), key);
  if (s.ok()) {
    s = batch_->Put(families_.search_text, SearchTextKey(now.index_id),
                    EncodeSearchEntry(key, fields));
  }
  index_.Change(fields, now.index_id, +1);
  texts_[now.index_id] = std::move(fields);
  touched_[key] = std::move(now);
  return FromRocksDb(s, "preparing changes");
}

absl::Status ChangeBatch::DeleteRecord(const RecordName& name,
                                       const std::string& key) {
  rocksdb::Status s = batch_->Delete(families_.records, key);
  if (s.ok()) s = batch_->Delete(families_.by_bureau, BureauIndexKey(name));
  touched_[key] = std::nullopt;
  return FromRocksDb(s, "preparing changes");
}

absl::StatusOr<rocksdb::WriteBatch*> ChangeBatch::Finish(const RecordCounts& counts) {
  if (absl::Status s = index_.WriteTo(*batch_, families_); !s.ok()) return s;
  if (absl::Status s = counts.Stage(counts_, *batch_); !s.ok()) return s;
  return batch_.get();
}

}  // namespace kouryu::query
