#ifndef KOURYU_QUERY_SERVICE_NAMES_H_
#define KOURYU_QUERY_SERVICE_NAMES_H_

// The cities and bureaus the query service knows, for parents and filters:
// those of the gazetteer, and those the replica holds records of (so a
// city that kouryu-ingest knows from a larger gazetteer is not unknown
// here once its records arrive).
//
// - A parent names cities and bureaus by ID only (they are resource
//   names); CheckParent says NOT_FOUND for one neither source knows.
// - A filter value may be an ID or any Japanese or English name or alias
//   of the gazetteer, or the Japanese or English name that a city's or
//   bureau's records carry; names compare after NFKC and case folding
//   (FoldForSearch), IDs exactly.
//
// Immutable after construction apart from what it reads from the replica;
// safe to share between threads.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/gazetteer.h"
#include "common/keys.h"
#include "query-service/filter.h"
#include "query-service/replica.h"

namespace kouryu::query {

class Names final : public NameResolver {
 public:
  // `gazetteer` and `replica` must outlive this.
  Names(const Gazetteer& gazetteer, const Replica& replica);

  // NameResolver:
  std::vector<std::string> CityIds(absl::string_view value) const override;
  std::vector<std::string> BureauIds(absl::string_view value) const override;

  // OK when the parent's city and bureau are "-", absent or known (a known
  // city or bureau with no records is an empty parent, not an error).
  // Otherwise NotFound with the ErrorInfo reason CITY_NOT_FOUND or
  // BUREAU_NOT_FOUND, naming the ID.
  absl::Status CheckParent(const Parent& parent) const;

 private:
  // Folded name -> IDs it names, in gazetteer order, each once.
  using NameIndex = absl::flat_hash_map<std::string, std::vector<std::string>>;

  bool KnownCity(absl::string_view id) const;
  bool KnownBureau(absl::string_view id) const;

  const Replica& replica_;
  absl::flat_hash_set<std::string> city_ids_;
  absl::flat_hash_set<std::string> bureau_ids_;
  NameIndex city_names_;
  NameIndex bureau_names_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_NAMES_H_
