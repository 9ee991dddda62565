#include "query-service/search_text.h"

#include <unicode/utf8.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/text.h"

namespace kouryu::query {
namespace {

// Byte offsets of the code point boundaries of `text`, including its end.
std::vector<int32_t> Boundaries(absl::string_view text) {
  std::vector<int32_t> out;
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    out.push_back(i);
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
  }
  out.push_back(length);
  return out;
}

}  // namespace

SearchFields FoldedFields(const v1::Record& record) {
  return {FoldForSearch(record.title()), FoldForSearch(record.results_text())};
}

std::string EncodeSearchFields(const SearchFields& fields) {
  return absl::StrCat(fields.title, absl::string_view("\0", 1), fields.results);
}

std::optional<SearchFields> DecodeSearchFields(absl::string_view stored) {
  size_t split = stored.find('\0');
  if (split == absl::string_view::npos) return std::nullopt;
  return SearchFields{std::string(stored.substr(0, split)),
                      std::string(stored.substr(split + 1))};
}

std::vector<std::string> Bigrams(absl::string_view folded) {
  std::vector<int32_t> b = Boundaries(folded);
  absl::flat_hash_set<std::string> seen;
  std::vector<std::string> out;
  for (size_t i = 0; i + 2 < b.size(); ++i) {
    std::string gram(folded.substr(b[i], b[i + 2] - b[i]));
    if (seen.insert(gram).second) out.push_back(std::move(gram));
  }
  return out;
}

std::vector<std::string> QueryGrams(absl::string_view folded_query) {
  std::vector<std::string> grams = Bigrams(folded_query);
  if (grams.empty() && !folded_query.empty()) {
    grams.emplace_back(folded_query);
  }
  return grams;
}

std::vector<IndexedGram> IndexedGrams(const SearchFields& fields) {
  absl::flat_hash_map<absl::string_view, int> weight;
  auto add = [&weight](absl::string_view text, int per_occurrence) {
    std::vector<int32_t> b = Boundaries(text);
    for (size_t i = 0; i + 1 < b.size(); ++i) {
      weight[text.substr(b[i], b[i + 1] - b[i])] += per_occurrence;
      if (i + 2 < b.size()) {
        weight[text.substr(b[i], b[i + 2] - b[i])] += per_occurrence;
      }
    }
  };
  add(fields.title, 3);
  add(fields.results, 1);
  std::vector<IndexedGram> out;
  out.reserve(weight.size());
  for (const auto& [gram, w] : weight) {
    out.push_back({std::string(gram), std::min(w, kMaxGramLevel)});
  }
  return out;
}

int CountOccurrences(absl::string_view haystack, absl::string_view needle) {
  int count = 0;
  for (size_t pos = haystack.find(needle); pos != absl::string_view::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

int Score(const SearchFields& fields, absl::string_view folded_query) {
  if (folded_query.empty()) return 0;
  return 3 * CountOccurrences(fields.title, folded_query) +
         CountOccurrences(fields.results, folded_query);
}

std::string Snippet(const SearchFields& fields, absl::string_view folded_query,
                    int context) {
  absl::string_view text = fields.title;
  size_t at = text.find(folded_query);
  if (at == absl::string_view::npos) {
    text = fields.results;
    at = text.find(folded_query);
  }
  if (at == absl::string_view::npos || folded_query.empty()) return "";
  std::vector<int32_t> b = Boundaries(text);
  // Index of the code point where the match starts and ends.
  size_t first = std::lower_bound(b.begin(), b.end(), static_cast<int32_t>(at)) - b.begin();
  size_t last = std::lower_bound(b.begin(), b.end(),
                                 static_cast<int32_t>(at + folded_query.size())) - b.begin();
  size_t from = first > static_cast<size_t>(context) ? first - context : 0;
  size_t to = std::min(b.size() - 1, last + context);
  return absl::StrCat(from > 0 ? "…" : "", text.substr(b[from], at - b[from]),
                      "«", folded_query, "»",
                      text.substr(at + folded_query.size(),
                                  b[to] - (at + folded_query.size())),
                      to + 1 < b.size() ? "…" : "");
}

}  // namespace kouryu::query
