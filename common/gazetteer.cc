#include "common/gazetteer.h"

#include <unicode/utf8.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/keys.h"
#include "common/text.h"

namespace kouryu {

// Defined in the source generated from data/gazetteer.tsv.
extern const absl::string_view kBuiltinGazetteerTsv;

namespace {

std::vector<std::string> SplitAliases(absl::string_view field) {
  std::vector<std::string> out;
  for (absl::string_view a : absl::StrSplit(field, '|', absl::SkipEmpty())) {
    out.emplace_back(a);
  }
  return out;
}

// The code point `text` starts with (negative when it is not valid UTF-8).
int32_t FirstCodePoint(absl::string_view text) {
  int32_t i = 0;
  UChar32 c;
  U8_NEXT(text.data(), i, static_cast<int32_t>(text.size()), c);
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gazetteer>> Gazetteer::Parse(
    absl::string_view tsv) {
  auto g = std::unique_ptr<Gazetteer>(new Gazetteer());
  absl::flat_hash_set<std::string> city_ids, bureau_ids;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    ++line_number;
    line = absl::StripSuffix(line, "\r");
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("gazetteer line ", line_number, ": ", why));
    };
    if (f[0] == "city") {
      if (f.size() < 6 || f.size() > 7) {
        return error("a city has 6 or 7 fields");
      }
      CityEntry c{std::string(f[1]), std::string(f[2]), std::string(f[3]),
                  std::string(f[4]), std::string(f[5]),
                  f.size() == 7 ? SplitAliases(f[6])
                                : std::vector<std::string>{}};
      if (!IsValidId(c.id) || c.id == kUnassignedCityId) {
        return error(absl::StrCat("bad city ID \"", c.id, "\""));
      }
      if (!city_ids.insert(c.id).second) {
        return error(absl::StrCat("duplicate city ID \"", c.id, "\""));
      }
      g->cities_.push_back(std::move(c));
    } else if (f[0] == "bureau") {
      if (f.size() < 4 || f.size() > 5) {
        return error("a bureau has 4 or 5 fields");
      }
      BureauEntry b{std::string(f[1]), std::string(f[2]), std::string(f[3]),
                    f.size() == 5 ? SplitAliases(f[4])
                                  : std::vector<std::string>{}};
      if (!IsValidId(b.id)) {
        return error(absl::StrCat("bad bureau ID \"", b.id, "\""));
      }
      if (!bureau_ids.insert(b.id).second) {
        return error(absl::StrCat("duplicate bureau ID \"", b.id, "\""));
      }
      g->bureaus_.push_back(std::move(b));
    } else {
      return error(absl::StrCat("unknown kind \"", f[0], "\""));
    }
  }

  auto add_names = [](std::vector<Name>& names, size_t index,
                      const std::string& primary,
                      const std::vector<std::string>& aliases) {
    names.push_back({NormalizeText(primary), index});
    for (const std::string& a : aliases) {
      names.push_back({NormalizeText(a), index});
    }
  };
  for (size_t i = 0; i < g->cities_.size(); ++i) {
    add_names(g->city_names_, i, g->cities_[i].name_ja, g->cities_[i].aliases);
  }
  for (size_t i = 0; i < g->bureaus_.size(); ++i) {
    add_names(g->bureau_names_, i, g->bureaus_[i].name_ja,
              g->bureaus_[i].aliases);
  }
  auto longest_first = [](const Name& a, const Name& b) {
    return a.text.size() > b.text.size();
  };
  std::stable_sort(g->city_names_.begin(), g->city_names_.end(),
                   longest_first);
  std::stable_sort(g->bureau_names_.begin(), g->bureau_names_.end(),
                   longest_first);
  for (size_t rank = 0; rank < g->city_names_.size(); ++rank) {
    const std::string& text = g->city_names_[rank].text;
    if (text.empty()) continue;
    g->city_names_by_first_[FirstCodePoint(text)].push_back(rank);
  }
  return g;
}

absl::StatusOr<std::unique_ptr<Gazetteer>> Gazetteer::Load(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read gazetteer ", path));
  }
  std::stringstream content;
  content << in.rdbuf();
  return Parse(content.str());
}

const Gazetteer& Gazetteer::Builtin() {
  static const Gazetteer* builtin = [] {
    absl::StatusOr<std::unique_ptr<Gazetteer>> g = Parse(kBuiltinGazetteerTsv);
    // The builtin data is checked by the build's tests; a failure here is a
    // broken build, not bad input.
    if (!g.ok()) std::abort();
    return g->release();
  }();
  return *builtin;
}

const CityEntry& Gazetteer::Unassigned() {
  static const CityEntry* unassigned = new CityEntry{
      std::string(kUnassignedCityId), "該当なし", "Unassigned", "", "", {}};
  return *unassigned;
}

const CityEntry* Gazetteer::FindCity(absl::string_view id) const {
  if (id == kUnassignedCityId) return &Unassigned();
  for (const CityEntry& c : cities_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const BureauEntry* Gazetteer::FindBureau(absl::string_view id) const {
  for (const BureauEntry& b : bureaus_) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

std::vector<const CityEntry*> Gazetteer::CitiesIn(absl::string_view text) const {
  return CitiesInNormalized(NormalizeText(text));
}

std::vector<const CityEntry*> Gazetteer::CitiesInNormalized(
    absl::string_view normalized) const {
  // Every occurrence of every name, as (rank in city_names_, position).
  // Normalized text is valid UTF-8, so a name can only start where a code
  // point does.
  std::vector<std::pair<size_t, size_t>> occurrences;
  const int32_t length = static_cast<int32_t>(normalized.size());
  for (int32_t i = 0; i < length;) {
    const size_t pos = static_cast<size_t>(i);
    UChar32 c;
    U8_NEXT(normalized.data(), i, length, c);
    auto candidates = city_names_by_first_.find(c);
    if (candidates == city_names_by_first_.end()) continue;
    for (size_t rank : candidates->second) {
      if (normalized.compare(pos, city_names_[rank].text.size(),
                             city_names_[rank].text) == 0) {
        occurrences.emplace_back(rank, pos);
      }
    }
  }
  // Longest names first, each left to right: a longer name claims its span
  // so that a shorter alias inside it is not counted again. Then (position,
  // city index) of every claimed match.
  std::sort(occurrences.begin(), occurrences.end());
  std::vector<std::pair<size_t, size_t>> found;
  std::vector<bool> claimed(normalized.size(), false);
  for (const auto& [rank, pos] : occurrences) {
    const Name& name = city_names_[rank];
    if (std::any_of(claimed.begin() + pos,
                    claimed.begin() + pos + name.text.size(),
                    [](bool c) { return c; })) {
      continue;
    }
    std::fill(claimed.begin() + pos, claimed.begin() + pos + name.text.size(),
              true);
    found.emplace_back(pos, name.index);
  }
  std::sort(found.begin(), found.end());
  std::vector<const CityEntry*> out;
  absl::flat_hash_set<size_t> seen;
  for (const auto& [pos, index] : found) {
    if (seen.insert(index).second) out.push_back(&cities_[index]);
  }
  return out;
}

std::optional<Gazetteer::DepartmentSplit> Gazetteer::SplitDepartment(
    absl::string_view department) const {
  std::string normalized = NormalizeText(department);
  for (const Name& name : bureau_names_) {
    if (!name.text.empty() && absl::StartsWith(normalized, name.text)) {
      std::string rest(absl::StripAsciiWhitespace(
          absl::string_view(normalized).substr(name.text.size())));
      return DepartmentSplit{&bureaus_[name.index], std::move(rest)};
    }
  }
  return std::nullopt;
}

}  // namespace kouryu
