#ifndef KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_
#define KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_

// The text side of full-text search. A record's searchable fields are its
// title and its results_text, each folded with FoldForSearch (NFKC,
// whitespace collapsed, case folded); a query matches a field when its
// folded form is a substring of the field's folded form. The index holds
// every distinct bigram (two consecutive code points) of each field; the
// bigrams of a query select candidates, which are then checked as
// substrings, so results have no false positives and miss nothing.

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

// Every bigram of either field, each once, with whether it occurs in the
// title.
struct IndexedGram {
  std::string gram;
  bool in_title = false;
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
