#include "query-service/names.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "query-service/search_text.h"

namespace kouryu::query {
namespace {

void AddName(
    absl::string_view name, const std::string& id,
    absl::flat_hash_map<std::string, std::vector<std::string>>& index) {
  const std::string folded = FoldForSearch(name);
  if (folded.empty()) return;
  std::vector<std::string>& ids = index[folded];
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

// The IDs among `entries` (v1::City or v1::Bureau of the replica's records)
// whose ID is `value` or whose folded ID or name is `folded`.
template <typename Entries, typename EntryOf>
std::vector<std::string> FromRecords(const Entries& entries, EntryOf entry_of,
                                     absl::string_view value,
                                     absl::string_view folded) {
  std::vector<std::string> ids;
  for (const auto& counted : entries) {
    const auto& entry = entry_of(counted);
    if (entry.id() == value) return {entry.id()};
    if (FoldForSearch(entry.id()) == folded ||
        FoldForSearch(entry.name_ja()) == folded ||
        FoldForSearch(entry.name_en()) == folded) {
      ids.push_back(entry.id());
    }
  }
  return ids;
}

}  // namespace

Names::Names(const Gazetteer& gazetteer, const Replica& replica)
    : replica_(replica) {
  const CityEntry& unassigned = Gazetteer::Unassigned();
  std::vector<const CityEntry*> cities = {&unassigned};
  for (const CityEntry& c : gazetteer.cities()) cities.push_back(&c);
  for (const CityEntry* c : cities) {
    city_ids_.insert(c->id);
    AddName(c->id, c->id, city_names_);
    AddName(c->name_ja, c->id, city_names_);
    AddName(c->name_en, c->id, city_names_);
    for (const std::string& alias : c->aliases)
      AddName(alias, c->id, city_names_);
  }
  for (const BureauEntry& b : gazetteer.bureaus()) {
    bureau_ids_.insert(b.id);
    AddName(b.id, b.id, bureau_names_);
    AddName(b.name_ja, b.id, bureau_names_);
    AddName(b.name_en, b.id, bureau_names_);
    for (const std::string& alias : b.aliases)
      AddName(alias, b.id, bureau_names_);
  }
}

std::vector<std::string> Names::CityIds(absl::string_view value) const {
  if (city_ids_.contains(value)) return {std::string(value)};
  const std::string folded = FoldForSearch(value);
  if (auto it = city_names_.find(folded); it != city_names_.end()) {
    return it->second;
  }
  return FromRecords(
      replica_.Cities(),
      [](const CityCount& c) -> const v1::City& { return c.city; }, value,
      folded);
}

std::vector<std::string> Names::BureauIds(absl::string_view value) const {
  if (bureau_ids_.contains(value)) return {std::string(value)};
  const std::string folded = FoldForSearch(value);
  if (auto it = bureau_names_.find(folded); it != bureau_names_.end()) {
    return it->second;
  }
  return FromRecords(
      replica_.Bureaus(),
      [](const BureauCount& b) -> const v1::Bureau& { return b.bureau; }, value,
      folded);
}

bool Names::KnownCity(absl::string_view id) const {
  if (city_ids_.contains(id)) return true;
  absl::StatusOr<int64_t> count = replica_.Count(Parent{std::string(id), ""});
  return count.ok() && *count > 0;
}

bool Names::KnownBureau(absl::string_view id) const {
  if (bureau_ids_.contains(id)) return true;
  absl::StatusOr<int64_t> count =
      replica_.Count(Parent{std::string(kWildcardId), std::string(id)});
  return count.ok() && *count > 0;
}

absl::Status Names::CheckParent(const Parent& parent) const {
  if (parent.city != kWildcardId && !KnownCity(parent.city)) {
    return WithReason(
        absl::NotFoundError(absl::StrCat(
            "no city \"", parent.city,
            "\": the gazetteer does not know it and no record belongs to it "
            "(ListCities lists the cities with records)")),
        "CITY_NOT_FOUND");
  }
  if (!parent.bureau.empty() && parent.bureau != kWildcardId &&
      !KnownBureau(parent.bureau)) {
    return WithReason(
        absl::NotFoundError(absl::StrCat(
            "no bureau \"", parent.bureau,
            "\": the gazetteer does not know it and no record belongs to it "
            "(ListBureaus lists the bureaus with records)")),
        "BUREAU_NOT_FOUND");
  }
  return absl::OkStatus();
}

}  // namespace kouryu::query
