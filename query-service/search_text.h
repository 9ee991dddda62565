#ifndef KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_
#define KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_

// The text side of full-text search. A record's searched fields are its
// title, its results_text and its names: the Japanese and English names
// of its city (not of the placeholder city `unassigned`), of each city it
// mentions and of its bureau, as the record carries them from the
// gazetteer. Each field is folded with FoldForSearch (NFKC, whitespace
// collapsed, case folded) on its own; a query matches a field when its
// folded form is a substring of the field's folded form (never across two
// fields). The index holds every distinct unigram and bigram (one and two
// consecutive code points) of each field, with an upper bound of the score
// of any query containing it (postings.h); the grams of a query select
// candidates, which are then checked as substrings, so results have no
// false positives and miss nothing.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::query {

// The searched fields of a record, as the record holds them: title,
// results_text, then the names (city, mentioned cities, bureau; each
// Japanese, then English), empty names left out.
std::vector<absl::string_view> SearchedTexts(const v1::Record& record);

// The folded searched fields of a record.
struct SearchFields {
  std::string title;
  std::string results;
  // The folded names, each once, in SearchedTexts order; none holds NUL
  // (a name with one is not searched).
  std::vector<std::string> names;
};
SearchFields FoldedFields(const v1::Record& record);

// Stored form of SearchFields: title, '\0', results, then '\0' and each
// name (folded text holds no NUL: records with NUL bytes are rejected at
// ingest).
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

// Every distinct unigram and bigram of any field, each once, with its
// level: min(kMaxGramLevel, 3 x its occurrences in the title + its
// occurrences in the results and in each name), counting overlapping
// occurrences. A query
// containing the gram occurs at most that often, so the level bounds the
// query's Score from above.
//
// A gram is at most two code points, so at most 8 bytes of UTF-8 (U8_NEXT
// steps over at most 4 bytes, even in malformed text): it is held inline,
// so that the apply path hashes and compares grams as integers, without
// allocating.
class Gram {
 public:
  // The first 8 bytes of `text`, which (a unigram or bigram) has no more.
  explicit Gram(absl::string_view text)
      : size_(static_cast<uint8_t>(std::min<size_t>(text.size(), sizeof bytes_))) {
    if (size_ > 0) std::memcpy(&bytes_, text.data(), size_);
  }
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(&bytes_), size_);
  }
  friend bool operator==(const Gram& a, const Gram& b) {
    return a.bytes_ == b.bytes_ && a.size_ == b.size_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Gram& g) {
    return H::combine(std::move(h), g.bytes_, g.size_);
  }

 private:
  uint64_t bytes_ = 0;  // Zero past size_.
  uint8_t size_ = 0;
};
struct IndexedGram {
  Gram gram;
  int level = 0;
};
std::vector<IndexedGram> IndexedGrams(const SearchFields& fields);

// NormalizeText (common/text.h), then Unicode case folding (ＡＢＣ, ABC and
// abc all become "abc"). The form in which search queries and searched text
// are compared, and names in parents and filters are matched.
std::string FoldForSearch(absl::string_view text);

// Non-overlapping occurrences of `needle` (non-empty) in `haystack`.
int CountOccurrences(absl::string_view haystack, absl::string_view needle);

// Relevance of a record for a folded query: 3 per occurrence in the title,
// 1 per occurrence in the results and in each name. 0 means no match.
int Score(const SearchFields& fields, absl::string_view folded_query);

// FoldForSearch of `text`, with the span of `text` that each byte of the
// folded form comes from: folded byte i comes from text[begin[i], end[i]).
// Text is folded in pieces that normalization treats independently (most
// often one code point), so a span is such a piece, or a run of white
// space for the one space it collapsed to.
struct FoldedText {
  std::string folded;
  std::vector<int32_t> begin;
  std::vector<int32_t> end;
};
FoldedText FoldWithOrigins(absl::string_view text);

// The first occurrence of the folded query in the record's searched fields
// (in SearchedTexts order), shown in the field's own text: up to `context`
// code points either side, the text that folds to the match marked as
// «match», "…" where the field goes on, line breaks and runs of white
// space shown as one space. Empty when there is no occurrence.
std::string Snippet(const v1::Record& record, absl::string_view folded_query,
                    int context = 30);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_SEARCH_TEXT_H_
