#ifndef KOURYU_COMMON_GAZETTEER_H_
#define KOURYU_COMMON_GAZETTEER_H_

// The gazetteer: partner cities and the city government's bureaus, with
// their IDs, names and aliases. Its data lives in data/gazetteer.tsv, which
// is compiled into the binaries (Gazetteer::Builtin) and may be replaced at
// run time by a file of the same format (Gazetteer::Load).
//
// Format: one entry per line, tab-separated; '#' starts a comment line.
//   city    <id> <name_ja> <name_en> <country_code> <country_name_ja> <aliases>
//   bureau  <id> <name_ja> <name_en> <aliases>
// Aliases are separated by '|': other spellings and former names (a bureau
// renamed across fiscal years keeps its ID under its former names).
//
// A Gazetteer is immutable after construction and safe to share between
// threads.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kouryu {

struct CityEntry {
  std::string id;
  std::string name_ja;
  std::string name_en;
  std::string country_code;
  std::string country_name_ja;
  std::vector<std::string> aliases;
};

struct BureauEntry {
  std::string id;
  std::string name_ja;
  std::string name_en;
  std::vector<std::string> aliases;
};

class Gazetteer {
 public:
  // Parses the TSV format above. InvalidArgument names the line at fault.
  static absl::StatusOr<std::unique_ptr<Gazetteer>> Parse(absl::string_view tsv);
  static absl::StatusOr<std::unique_ptr<Gazetteer>> Load(
      const std::string& path);
  // The gazetteer compiled from data/gazetteer.tsv.
  static const Gazetteer& Builtin();

  // The pseudo-city of records that name no single city.
  static const CityEntry& Unassigned();

  const CityEntry* FindCity(absl::string_view id) const;
  const BureauEntry* FindBureau(absl::string_view id) const;
  const std::vector<CityEntry>& cities() const { return cities_; }
  const std::vector<BureauEntry>& bureaus() const { return bureaus_; }

  // Every city whose name or alias occurs in `text` (NFKC-normalized), in
  // order of first occurrence, each once.
  std::vector<const CityEntry*> CitiesIn(absl::string_view text) const;
  // CitiesIn for text that is already NormalizeText's output, which is not
  // normalized again.
  std::vector<const CityEntry*> CitiesInNormalized(
      absl::string_view normalized) const;

  struct DepartmentSplit {
    const BureauEntry* bureau;
    std::string department;  // What follows the bureau name; may be empty.
  };
  // Splits "政策企画局外務部" into the bureau 政策企画局 and "外務部" by the
  // longest bureau name or alias that begins `department` (NFKC-normalized).
  // nullopt when no bureau matches.
  std::optional<DepartmentSplit> SplitDepartment(
      absl::string_view department) const;

 private:
  struct Name {
    std::string text;  // NFKC-normalized.
    size_t index;      // Into cities_ or bureaus_.
  };

  Gazetteer() = default;

  std::vector<CityEntry> cities_;
  std::vector<BureauEntry> bureaus_;
  // Sorted longest first, so the longest name wins a match.
  std::vector<Name> city_names_;
  std::vector<Name> bureau_names_;
  // Indexes into city_names_ (ascending) by the first code point of the
  // name, so CitiesIn tries at each position only the names that can start
  // there.
  absl::flat_hash_map<int32_t, std::vector<size_t>> city_names_by_first_;
};

}  // namespace kouryu

#endif  // KOURYU_COMMON_GAZETTEER_H_
