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

ChangeBatch::Prepared ChangeBatch::Prepare(const v1::Record& record) {
  Prepared out{FoldedFields(record), {}, record.SerializeAsString()};
  out.grams = IndexedGrams(out.fields);
  return out;
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
  absl::StatusOr<std::optional<Placed>> old = Current(key);
  if (!old.ok()) return old.status();
  if (*old) {
    if (absl::Status s = Unplace(**old); !s.ok()) return s;
  }
  if (change.kind() == v1::CHANGE_KIND_DELETE) return DeleteRecord(*name, key);
  return PutRecord(*name, key, change.record(),
                   prepared != nullptr ? std::move(*prepared)
                                       : Prepare(change.record()));
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
                                    const v1::Record& record, Prepared prepared) {
  Placed now = PlacedOf(record);
  counts_.Add(now.city, now.bureau, +1);
  counts_.SawNames(record.city(), record.bureau());
  rocksdb::Status s = batch_->Put(families_.records, key, prepared.record_bytes);
  if (s.ok()) s = batch_->Put(families_.by_bureau, BureauIndexKey(name), key);
  if (s.ok()) {
    s = batch_->Put(families_.search_text, SearchTextKey(now.index_id),
                    EncodeSearchEntry(key, prepared.fields));
  }
  index_.Change(prepared.grams, now.index_id, +1);
  texts_[now.index_id] = std::move(prepared.fields);
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

PreparedChanges::PreparedChanges(const std::vector<v1::Change>& changes)
    : changes_(changes) {
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
    if (changes_[i].kind() == v1::CHANGE_KIND_UPSERT) {
      prepared_[i] = ChangeBatch::Prepare(changes_[i].record());
    }
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
    bool prepare_here = false;
    {
      absl::MutexLock lock(&mutex_);
      current_ = chunk;
      if (states_[chunk] == State::kFree) {
        states_[chunk] = State::kClaimed;
        --free_chunks_;
        prepare_here = true;
      } else {
        struct Done {
          const std::vector<State>* states;
          size_t chunk;
          bool Check() const { return (*states)[chunk] == State::kDone; }
        } done{&states_, chunk};
        mutex_.Await(absl::Condition(&done, &Done::Check));
      }
    }
    if (prepare_here) {
      PrepareChunk(chunk);
      absl::MutexLock lock(&mutex_);
      states_[chunk] = State::kDone;
    }
    ready_chunk_ = chunk;
  }
  return prepared_[i] ? &*prepared_[i] : nullptr;
}

}  // namespace kouryu::query
