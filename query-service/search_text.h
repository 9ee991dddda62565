#ifndef KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_
#define KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_

// The text side of full-text search. A record's searchable fields are its
// title and its results_text, each folded with FoldForSearch (NFKC,
// whitespace collapsed, case folded); a query matches a field when its
// folded form is a substring of the field's folded form. The index holds
// every distinct unigram and bigram (one and two consecutive code points)
// of each record, with an upper bound of the score of any query containing
// it (postings.h); the grams of a query select candidates, which are then
// checked as substrings, so results have no false positives and miss
// nothing.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::query {

// The folded searchable fields of a record.
struct SearchFields {
  std::string title;
  std::string results;
};
SearchFields FoldedFields(const v1::Record& record);

// Stored form of SearchFields: title, '\0', results (folded text holds no
// NUL: records with NUL bytes are rejected at ingest).
std::string EncodeSearchFields(const SearchFields& fields);
std::optional<SearchFields> DecodeSearchFields(absl::string_view stored);

// Distinct bigrams of `folded`, in no particular order. A text of one code
// point has none.
std::vector<std::string> Bigrams(absl::string_view folded);

// The grams that select candidates for a folded query: its distinct
// bigrams, or its one code point when it has just one. Empty for "".
std::vector<std::string> QueryGrams(absl::string_view folded_query);

// Highest level of a gram: scores at or above it are not told apart.
inline constexpr int kMaxGramLevel = 255;

// Every distinct unigram and bigram of either field, each once, with its
// level: min(kMaxGramLevel, 3 x its occurrences in the title + its
// occurrences in the results), counting overlapping occurrences. A query
// containing the gram occurs at most that often, so the level bounds the
// query's Score from above.
struct IndexedGram {
  std::string gram;
  int level = 0;
};
std::vector<IndexedGram> IndexedGrams(const SearchFields& fields);

// Non-overlapping occurrences of `needle` (non-empty) in `haystack`.
int CountOccurrences(absl::string_view haystack, absl::string_view needle);

// Relevance of a record for a folded query: 3 per occurrence in the title,
// 1 per occurrence in the results. 0 means no match.
int Score(const SearchFields& fields, absl::string_view folded_query);

// Up to `context` code points either side of the first occurrence of the
// query (in the title if it occurs there, else in the results), with the
// match marked as «match». Empty when there is no occurrence.
std::string Snippet(const SearchFields& fields, absl::string_view folded_query,
                    int context = 30);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_
