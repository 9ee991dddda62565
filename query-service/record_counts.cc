#include "query-service/record_counts.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <optional>

#include "common/coding.h"
#include "common/slice.h"
#include "common/status.h"

namespace kouryu::query {
namespace {

std::string CounterKey(std::initializer_list<absl::string_view> parts) {
  std::string key;
  for (absl::string_view p : parts) AppendKeyComponent(key, p);
  return key;
}

const std::string& AllKey() {
  static const std::string* key = new std::string(CounterKey({"all"}));
  return *key;
}

std::string EncodeCount(int64_t n) { return EncodeFixed64BigEndian(static_cast<uint64_t>(n)); }

}  // namespace

RecordCounts::RecordCounts(rocksdb::ColumnFamilyHandle* family)
    : family_(family) {}

absl::Status RecordCounts::Load(rocksdb::DB& db) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.NewIterator(rocksdb::ReadOptions(), family_));
  absl::MutexLock lock(&mutex_);
  counts_.clear();
  city_names_.clear();
  bureau_names_.clear();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<std::vector<std::string>> parts =
        DecodeKeyComponents(View(it->key()));
    if (!parts || parts->empty()) return StorageCorrupted("count key");
    const std::string& kind = parts->front();
    if (kind == "cn" && parts->size() == 2) {
      if (!city_names_[(*parts)[1]].ParseFromArray(it->value().data(),
                                                   it->value().size())) {
        return StorageCorrupted("city");
      }
    } else if (kind == "bn" && parts->size() == 2) {
      if (!bureau_names_[(*parts)[1]].ParseFromArray(it->value().data(),
                                                     it->value().size())) {
        return StorageCorrupted("bureau");
      }
    } else {
      std::optional<uint64_t> n = DecodeFixed64BigEndian(View(it->value()));
      if (!n) return StorageCorrupted("count");
      counts_[it->key().ToString()] = static_cast<int64_t>(*n);
    }
  }
  return FromRocksDb(it->status(), "reading counts");
}

void RecordCounts::Clear() {
  absl::MutexLock lock(&mutex_);
  counts_.clear();
  city_names_.clear();
  bureau_names_.clear();
}

int64_t RecordCounts::Count(const Parent& parent) const {
  std::string key;
  if (parent.city == kWildcardId) {
    key = parent.bureau.empty() ? AllKey() : CounterKey({"b", parent.bureau});
  } else {
    key = parent.bureau.empty() ? CounterKey({"c", parent.city})
                                : CounterKey({"cb", parent.city, parent.bureau});
  }
  absl::MutexLock lock(&mutex_);
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<CityCount> RecordCounts::Cities() const {
  std::vector<CityCount> out;
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, city] : city_names_) {
    auto it = counts_.find(CounterKey({"c", id}));
    if (it != counts_.end()) out.push_back({city, it->second});
  }
  std::sort(out.begin(), out.end(), [](const CityCount& a, const CityCount& b) {
    return a.city.id() < b.city.id();
  });
  return out;
}

std::vector<BureauCount> RecordCounts::Bureaus() const {
  std::vector<BureauCount> out;
  absl::MutexLock lock(&mutex_);
  for (const auto& [id, bureau] : bureau_names_) {
    auto it = counts_.find(CounterKey({"b", id}));
    if (it != counts_.end()) out.push_back({bureau, it->second});
  }
  std::sort(out.begin(), out.end(),
            [](const BureauCount& a, const BureauCount& b) {
              return a.bureau.id() < b.bureau.id();
            });
  return out;
}

void RecordCounts::Batch::Add(absl::string_view city, absl::string_view bureau,
                              int sign) {
  delta_[AllKey()] += sign;
  delta_[CounterKey({"c", city})] += sign;
  delta_[CounterKey({"b", bureau})] += sign;
  delta_[CounterKey({"cb", city, bureau})] += sign;
}

void RecordCounts::Batch::SawNames(const v1::City& city,
                                   const v1::Bureau& bureau) {
  cities_[city.id()] = city;
  bureaus_[bureau.id()] = bureau;
}

absl::Status RecordCounts::Stage(Batch& changes,
                                 rocksdb::WriteBatch& batch) const {
  changes.updated_.clear();
  {
    absl::MutexLock lock(&mutex_);
    for (const auto& [k, d] : changes.delta_) {
      if (d == 0) continue;
      auto it = counts_.find(k);
      changes.updated_[k] = (it == counts_.end() ? 0 : it->second) + d;
    }
  }
  rocksdb::Status s;
  for (const auto& [k, n] : changes.updated_) {
    if (s.ok()) s = n > 0 ? batch.Put(family_, k, EncodeCount(n)) : batch.Delete(family_, k);
  }
  for (const auto& [id, city] : changes.cities_) {
    if (s.ok()) s = batch.Put(family_, CounterKey({"cn", id}), city.SerializeAsString());
  }
  for (const auto& [id, bureau] : changes.bureaus_) {
    if (s.ok()) s = batch.Put(family_, CounterKey({"bn", id}), bureau.SerializeAsString());
  }
  return FromRocksDb(s, "applying changes");
}

void RecordCounts::Publish(Batch changes) {
  absl::MutexLock lock(&mutex_);
  for (const auto& [k, n] : changes.updated_) {
    if (n > 0) {
      counts_[k] = n;
    } else {
      counts_.erase(k);
    }
  }
  for (auto& [id, city] : changes.cities_) city_names_[id] = std::move(city);
  for (auto& [id, bureau] : changes.bureaus_) bureau_names_[id] = std::move(bureau);
}

}  // namespace kouryu::query
