#ifndef KOURYU_QUERY_SERVICE_SEARCH_H_
#define KOURYU_QUERY_SERVICE_SEARCH_H_

// SearchRecords over the replica's index (search_index.h): one page of the
// records holding a folded query in one of their searched fields
// (search_text.h), best first, and how many there are.
//
// Candidates come from the posting list of the query's rarest gram (every
// record holding the query holds each of its grams), by decreasing level,
// then by index ID. A candidate's score is at most its level, so once the
// page is full and the next candidate could not beat its last entry, no
// later one can: the page is settled after a number of candidates that
// does not grow with the data. Each candidate is checked exactly (scope,
// substring, filter), so there are no false positives and none is missed.
//
// A list of at most kExactSearchCount candidates is checked to its end and
// counted exactly; a longer one stops when the page is settled, and the
// total is estimated level by level: the share of matches among the
// candidates checked at that level, or among a few sampled across it (the
// levels with the most unchecked candidates sampled first, while a budget
// lasts), times the level's count.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "query-service/filter.h"
#include "query-service/search_index.h"

namespace kouryu::query {

inline constexpr int64_t kExactSearchCount = 1000;

struct SearchSpec {
  // FoldForSearch of the query; not empty.
  std::string folded_query;
  Parent parent;
  const Filter* filter = nullptr;
  // Results come after this position (SearchHit::position); "" for the
  // first page.
  std::string after;
  size_t page_size = 20;
};

struct SearchHit {
  // Orders results: score descending, then index ID (creation order).
  std::string position;
  std::string key;  // RecordKey
  int score = 0;
};

struct SearchPage {
  std::vector<SearchHit> hits;
  bool more = false;  // Another page follows.
  int64_t total = 0;
  bool estimated = false;
};

// CANCELLED when `cancelled` returns true (polled now and then).
absl::StatusOr<SearchPage> Search(const SearchReader& reader,
                                  const SearchSpec& spec,
                                  const std::function<bool()>& cancelled);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_SEARCH_H_
