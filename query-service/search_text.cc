#include "query-service/search_text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/keys.h"
#include "common/text.h"

namespace kouryu::query {
namespace {

// Byte offsets of the code point boundaries of `text`, including its end,
// into `out` (which keeps its capacity for the next text).
void Boundaries(absl::string_view text, std::vector<int32_t>& out) {
  out.clear();
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    out.push_back(i);
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
  }
  out.push_back(length);
}

std::vector<int32_t> Boundaries(absl::string_view text) {
  std::vector<int32_t> out;
  Boundaries(text, out);
  return out;
}

// Builds a FoldedText piece by piece, collapsing white space as
// CollapseWhitespace does (common/text.cc).
class FoldedTextBuilder {
 public:
  explicit FoldedTextBuilder(size_t reserve) {
    out_.folded.reserve(reserve);
    out_.begin.reserve(reserve);
    out_.end.reserve(reserve);
  }

  // Appends `folded`, the folded form of the original bytes [from, to).
  void Append(absl::string_view folded, int32_t from, int32_t to) {
    const int32_t length = static_cast<int32_t>(folded.size());
    for (int32_t i = 0; i < length;) {
      const int32_t start = i;
      UChar32 c;
      U8_NEXT(folded.data(), i, length, c);
      if (IsWhiteSpace(c)) {
        if (out_.folded.empty()) continue;  // Leading space is trimmed.
        if (!pending_space_) space_begin_ = from;
        pending_space_ = true;
        space_end_ = to;
        continue;
      }
      if (pending_space_) Push(' ', space_begin_, space_end_);
      pending_space_ = false;
      for (int32_t k = start; k < i; ++k) Push(folded[k], from, to);
    }
  }

  // Trailing space is trimmed.
  FoldedText Finish() && { return std::move(out_); }

 private:
  void Push(char byte, int32_t from, int32_t to) {
    out_.folded.push_back(byte);
    out_.begin.push_back(from);
    out_.end.push_back(to);
  }

  FoldedText out_;
  bool pending_space_ = false;
  int32_t space_begin_ = 0;
  int32_t space_end_ = 0;
};

// Appends the fold of `piece` (text that normalization treats on its own)
// at [from, to).
void FoldPiece(const icu::Normalizer2* nfkc, absl::string_view piece,
               int32_t from, int32_t to, FoldedTextBuilder& builder) {
  const int32_t length = static_cast<int32_t>(piece.size());
  int32_t i = 0;
  UChar32 c;
  U8_NEXT(piece.data(), i, length, c);
  if (i == length && c >= 0 && c < 0x80) {
    const char lower = absl::ascii_tolower(static_cast<unsigned char>(c));
    builder.Append(absl::string_view(&lower, 1), from, to);
    return;
  }
  // One code point that NFKC leaves as it is and that has no case mapping
  // at all: kana, kanji, most punctuation, answered without converting to
  // UTF-16. (Changes_When_Casefolded would not do: it looks at the NFD
  // form, and U+1E97 ẗ folds to t and U+0308 though its NFD form does not
  // change.)
  if (i == length && c >= 0 && nfkc != nullptr &&
      u_getIntPropertyValue(c, UCHAR_NFKC_QUICK_CHECK) == UNORM_YES &&
      !u_hasBinaryProperty(c, UCHAR_CASE_SENSITIVE)) {
    builder.Append(piece, from, to);
    return;
  }
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(piece.data(), length));
  if (nfkc != nullptr) {
    UErrorCode error = U_ZERO_ERROR;
    icu::UnicodeString normalized = nfkc->normalize(text, error);
    if (U_SUCCESS(error)) text = std::move(normalized);
  }
  text.foldCase();
  std::string utf8;
  text.toUTF8String(utf8);
  builder.Append(utf8, from, to);
}

// `text` on one line: a line break, a tab or a run of several white space
// characters becomes one ASCII space; a single space stays as it is.
std::string OneLine(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    if (!IsWhiteSpace(c)) {
      out.append(text.data() + start, i - start);
      continue;
    }
    int32_t run_end = i;
    bool single = true;
    while (run_end < length) {
      int32_t next = run_end;
      UChar32 d;
      U8_NEXT(text.data(), next, length, d);
      if (!IsWhiteSpace(d)) break;
      single = false;
      run_end = next;
    }
    const bool line_break = c < 0x20 || c == 0x85 || c == 0x2028 || c == 0x2029;
    if (single && !line_break) {
      out.append(text.data() + start, i - start);
    } else {
      out.push_back(' ');
    }
    i = run_end;
  }
  return out;
}

// text[begin, end) marked, with up to `context` code points either side.
std::string Excerpt(absl::string_view text, int32_t begin, int32_t end,
                    int context) {
  const int32_t length = static_cast<int32_t>(text.size());
  int32_t from = begin;
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  for (int n = 0; n < context && from > 0; ++n) U8_BACK_1(bytes, 0, from);
  int32_t to = end;
  for (int n = 0; n < context && to < length; ++n) {
    U8_FWD_1(text.data(), to, length);
  }
  return absl::StrCat(
      from > 0 ? "…" : "", OneLine(text.substr(from, begin - from)), "«",
      OneLine(text.substr(begin, end - begin)), "»",
      OneLine(text.substr(end, to - end)), to < length ? "…" : "");
}

}  // namespace

std::vector<absl::string_view> SearchedTexts(const v1::Record& record) {
  std::vector<absl::string_view> out = {record.title(), record.results_text()};
  auto add = [&out](absl::string_view name) {
    if (!name.empty()) out.push_back(name);
  };
  auto add_city = [&add](const v1::City& city) {
    if (city.id() == kUnassignedCityId) return;
    add(city.name_ja());
    add(city.name_en());
  };
  add_city(record.city());
  for (const v1::City& city : record.mentioned_cities()) add_city(city);
  add(record.bureau().name_ja());
  add(record.bureau().name_en());
  return out;
}

SearchFields FoldedFields(const v1::Record& record) {
  std::vector<absl::string_view> texts = SearchedTexts(record);
  SearchFields out{FoldForSearch(texts[0]), FoldForSearch(texts[1]), {}};
  for (size_t i = 2; i < texts.size(); ++i) {
    std::string name = FoldForSearch(texts[i]);
    if (name.empty() || name.find('\0') != std::string::npos) continue;
    if (std::find(out.names.begin(), out.names.end(), name) !=
        out.names.end()) {
      continue;
    }
    out.names.push_back(std::move(name));
  }
  return out;
}

std::string EncodeSearchFields(const SearchFields& fields) {
  constexpr absl::string_view kNul("\0", 1);
  std::string out = absl::StrCat(fields.title, kNul, fields.results);
  for (const std::string& name : fields.names)
    absl::StrAppend(&out, kNul, name);
  return out;
}

std::optional<SearchFields> DecodeSearchFields(absl::string_view stored) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(stored, absl::ByChar('\0'));
  if (parts.size() < 2) return std::nullopt;
  SearchFields out{std::string(parts[0]), std::string(parts[1]), {}};
  for (size_t i = 2; i < parts.size(); ++i) out.names.emplace_back(parts[i]);
  return out;
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
  // Sized once instead of grown for an ordinary record: a field of n bytes
  // has at most 2n grams, and about n distinct ones in practice. Capped, so
  // that a record of hundreds of KiB (whose distinct grams are far fewer
  // than its bytes) does not reserve megabytes; its map grows beyond that.
  constexpr size_t kMaxReserved = 4096;
  size_t bytes = fields.title.size() + fields.results.size();
  for (const std::string& name : fields.names) bytes += name.size();
  absl::flat_hash_map<Gram, int> weight;
  weight.reserve(std::min(bytes, kMaxReserved));
  std::vector<int32_t> b;
  auto add = [&weight, &b](absl::string_view text, int per_occurrence) {
    Boundaries(text, b);
    for (size_t i = 0; i + 1 < b.size(); ++i) {
      weight[Gram(text.substr(b[i], b[i + 1] - b[i]))] += per_occurrence;
      if (i + 2 < b.size()) {
        weight[Gram(text.substr(b[i], b[i + 2] - b[i]))] += per_occurrence;
      }
    }
  };
  add(fields.title, 3);
  add(fields.results, 1);
  for (const std::string& name : fields.names) add(name, 1);
  std::vector<IndexedGram> out;
  out.reserve(weight.size());
  for (const auto& [gram, w] : weight) {
    out.push_back({gram, std::min(w, kMaxGramLevel)});
  }
  return out;
}

std::string FoldForSearch(absl::string_view text) {
  std::string normalized = NormalizeText(text);
  icu::UnicodeString folded = icu::UnicodeString::fromUTF8(icu::StringPiece(
      normalized.data(), static_cast<int32_t>(normalized.size())));
  folded.foldCase();
  std::string out;
  folded.toUTF8String(out);
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
  int score = 3 * CountOccurrences(fields.title, folded_query) +
              CountOccurrences(fields.results, folded_query);
  for (const std::string& name : fields.names) {
    score += CountOccurrences(name, folded_query);
  }
  return score;
}

FoldedText FoldWithOrigins(absl::string_view text) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(error);
  if (U_FAILURE(error)) nfkc = nullptr;
  FoldedTextBuilder builder(text.size());
  // Pieces end where normalization has a boundary: NFKC of the whole is
  // the NFKC of each piece, one after the other.
  const int32_t length = static_cast<int32_t>(text.size());
  int32_t piece = 0;
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    if (start > piece &&
        (c < 0 || nfkc == nullptr || nfkc->hasBoundaryBefore(c))) {
      FoldPiece(nfkc, text.substr(piece, start - piece), piece, start, builder);
      piece = start;
    }
  }
  if (piece < length) {
    FoldPiece(nfkc, text.substr(piece), piece, length, builder);
  }
  return std::move(builder).Finish();
}

std::string Snippet(const v1::Record& record, absl::string_view folded_query,
                    int context) {
  if (folded_query.empty()) return "";
  for (absl::string_view text : SearchedTexts(record)) {
    if (text.find('\0') != absl::string_view::npos) continue;  // Not searched.
    const FoldedText folded = FoldWithOrigins(text);
    const size_t at = absl::string_view(folded.folded).find(folded_query);
    if (at == absl::string_view::npos) continue;
    return Excerpt(text, folded.begin[at],
                   folded.end[at + folded_query.size() - 1], context);
  }
  // Not reached while FoldWithOrigins folds as FoldForSearch does; should
  // they ever differ, the folded text is shown.
  SearchFields fields = FoldedFields(record);
  std::vector<absl::string_view> folded = {fields.title, fields.results};
  folded.insert(folded.end(), fields.names.begin(), fields.names.end());
  for (absl::string_view text : folded) {
    const size_t at = text.find(folded_query);
    if (at == absl::string_view::npos) continue;
    return Excerpt(text, static_cast<int32_t>(at),
                   static_cast<int32_t>(at + folded_query.size()), context);
  }
  return "";
}

}  // namespace kouryu::query
