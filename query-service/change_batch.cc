#include "query-service/change_batch.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
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

void ChangeBatch::PrepareRecord(const v1::Record& record, Prepared& out) {
  out.fields = FoldedFields(record);
  out.grams = IndexedGrams(out.fields);
  out.record_bytes = record.SerializeAsString();
  out.has_record = true;
}

void ChangeBatch::ReadStored(const v1::Change& change, Prepared& out) const {
  absl::StatusOr<RecordName> name = ParseRecordName(change.name());
  if (!name.ok()) return;
  absl::StatusOr<std::optional<Placed>> stored = Stored(RecordKey(*name));
  if (!stored.ok()) return;
  if (*stored) {
    absl::StatusOr<std::optional<SearchFields>> text =
        ReadIndexedFields(db_, families_, (*stored)->index_id);
    if (!text.ok()) return;
    if (*text) out.stored_grams = IndexedGrams(**text);
  }
  out.stored = *std::move(stored);
  out.has_stored = true;
}

absl::Status ChangeBatch::Add(const v1::Change& change, Prepared* prepared) {
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
  absl::StatusOr<std::optional<Placed>> old = Current(key, prepared);
  if (!old.ok()) return old.status();
  if (*old) {
    if (absl::Status s = Unplace(**old, prepared); !s.ok()) return s;
  }
  return change.kind() == v1::CHANGE_KIND_UPSERT
             ? PutRecord(*name, key, change.record(), prepared)
             : DeleteRecord(*name, key);
}

absl::StatusOr<std::optional<ChangeBatch::Placed>> ChangeBatch::Stored(
    const std::string& key) const {
  absl::StatusOr<std::optional<std::string>> stored =
      FindRecordBytes(db_, families_, rocksdb::ReadOptions(), key);
  if (!stored.ok()) return stored.status();
  if (!*stored) return std::optional<Placed>();
  v1::Record placement;
  if (!ParsePlacement(**stored, placement)) return StorageCorrupted("record");
  return std::optional<Placed>(PlacedOf(placement));
}

absl::StatusOr<std::optional<ChangeBatch::Placed>> ChangeBatch::Current(
    const std::string& key, const Prepared* prepared) {
  if (auto it = touched_.find(key); it != touched_.end()) return it->second;
  if (prepared != nullptr && prepared->has_stored) return prepared->stored;
  return Stored(key);
}

absl::Status ChangeBatch::Unplace(const Placed& old, Prepared* prepared) {
  counts_.Add(old.city, old.bureau, -1);
  if (auto it = texts_.find(old.index_id); it != texts_.end()) {
    if (it->second) index_.Change(*it->second, old.index_id, -1);
  } else if (prepared != nullptr && prepared->has_stored && prepared->stored &&
             prepared->stored->index_id == old.index_id) {
    // Neither the name nor the index ID was touched earlier in the batch:
    // the stored text is what was read ahead.
    if (prepared->stored_grams) {
      index_.Change(*prepared->stored_grams, old.index_id, -1);
    }
  } else {
    absl::StatusOr<std::optional<SearchFields>> text =
        ReadIndexedFields(db_, families_, old.index_id);
    if (!text.ok()) return text.status();
    if (*text) index_.Change(**text, old.index_id, -1);
  }
  texts_[old.index_id] = std::nullopt;
  return FromRocksDb(batch_->Delete(families_.search_text, SearchTextKey(old.index_id)),
                     "preparing changes");
}

absl::Status ChangeBatch::PutRecord(const RecordName& name, const std::string& key,
                                    const v1::Record& record, Prepared* prepared) {
  Prepared local;
  if (prepared == nullptr || !prepared->has_record) {
    PrepareRecord(record, local);
    prepared = &local;
  }
  Placed now = PlacedOf(record);
  counts_.Add(now.city, now.bureau, +1);
  counts_.SawNames(record.city(), record.bureau());
  rocksdb::Status s = batch_->Put(families_.records, key, prepared->record_bytes);
  if (s.ok()) s = batch_->Put(families_.by_bureau, BureauIndexKey(name), key);
  if (s.ok()) {
    s = batch_->Put(families_.search_text, SearchTextKey(now.index_id),
                    EncodeSearchEntry(key, prepared->fields));
  }
  index_.Change(prepared->grams, now.index_id, +1);
  texts_[now.index_id] = std::move(prepared->fields);
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

namespace kouryu::query {

PreparedChanges::PreparedChanges(const std::vector<v1::Change>& changes,
                                 const ChangeBatch* batch)
    : changes_(changes), batch_(batch) {
  const size_t chunks = (changes.size() + kChunk - 1) / kChunk;
  if (chunks < 2 || std::thread::hardware_concurrency() < 2) return;
  prepared_.resize(changes.size());
  {
    absl::MutexLock lock(&mutex_);
    states_.assign(chunks, State::kFree);
    free_chunks_ = chunks;
  }
  helper_ = std::thread([this] { Help(); });
}

PreparedChanges::~PreparedChanges() {
  if (!helper_.joinable()) return;
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  helper_.join();
}

void PreparedChanges::PrepareChunk(size_t chunk) {
  const size_t end = std::min(changes_.size(), (chunk + 1) * kChunk);
  for (size_t i = chunk * kChunk; i < end; ++i) {
    ChangeBatch::Prepared& out = prepared_[i].emplace();
    if (changes_[i].kind() == v1::CHANGE_KIND_UPSERT) {
      ChangeBatch::PrepareRecord(changes_[i].record(), out);
    }
    if (batch_ != nullptr) batch_->ReadStored(changes_[i], out);
  }
}

size_t PreparedChanges::FreeChunkInReach() const {
  const size_t end = std::min(states_.size(), current_ + kAhead + 1);
  for (size_t c = current_; c < end; ++c) {
    if (states_[c] == State::kFree) return c;
  }
  return states_.size();
}

bool PreparedChanges::HelperMayGoOn() const {
  return stop_ || free_chunks_ == 0 || FreeChunkInReach() < states_.size();
}

void PreparedChanges::Help() {
  while (true) {
    size_t chunk = 0;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(this, &PreparedChanges::HelperMayGoOn));
      if (stop_ || free_chunks_ == 0) return;
      chunk = FreeChunkInReach();
      states_[chunk] = State::kClaimed;
      --free_chunks_;
    }
    PrepareChunk(chunk);
    absl::MutexLock lock(&mutex_);
    states_[chunk] = State::kDone;
  }
}

ChangeBatch::Prepared* PreparedChanges::Take(size_t i) {
  if (!helper_.joinable()) return nullptr;
  const size_t chunk = i / kChunk;
  if (chunk != ready_chunk_) {
    absl::MutexLock lock(&mutex_);
    current_ = chunk;
    // Until the chunk is prepared, prepare it or (while the helper does)
    // the next free one: whichever thread is slower sets the pace.
    while (states_[chunk] != State::kDone) {
      const size_t free = FreeChunkInReach();
      if (free == states_.size()) {
        struct Done {
          const std::vector<State>* states;
          size_t chunk;
          bool Check() const { return (*states)[chunk] == State::kDone; }
        } done{&states_, chunk};
        mutex_.Await(absl::Condition(&done, &Done::Check));
        break;
      }
      states_[free] = State::kClaimed;
      --free_chunks_;
      mutex_.Unlock();
      PrepareChunk(free);
      mutex_.Lock();
      states_[free] = State::kDone;
    }
    // The caller is done with the chunk before: what is left of it goes.
    if (ready_chunk_ != SIZE_MAX) {
      const size_t begin = ready_chunk_ * kChunk;
      const size_t end = std::min(prepared_.size(), begin + kChunk);
      for (size_t j = begin; j < end; ++j) prepared_[j].reset();
    }
    ready_chunk_ = chunk;
  }
  return prepared_[i] ? &*prepared_[i] : nullptr;
}

}  // namespace kouryu::query
