#include "common/text.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uset.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

namespace kouryu {
namespace {

// u_isUWhiteSpace, answered from the property's code points read once: a
// table for ASCII and the few ranges above it. The property lookup was the
// larger part of collapsing whitespace, and all non-ASCII white space lies
// below U+3001, so most text (kana, kanji) is answered by one comparison.
class WhiteSpace {
 public:
  WhiteSpace() {
    for (UChar32 c = 0; c < 128; ++c) ascii_[c] = u_isUWhiteSpace(c);
    UErrorCode error = U_ZERO_ERROR;
    const USet* set = u_getBinaryPropertySet(UCHAR_WHITE_SPACE, &error);
    if (U_FAILURE(error)) {
      ask_icu_ = true;
      return;
    }
    for (int32_t i = 0; i < uset_getRangeCount(set); ++i) {
      UChar32 start, end;
      uset_getItem(set, i, &start, &end, nullptr, 0, &error);
      if (U_FAILURE(error)) {
        ask_icu_ = true;
        return;
      }
      if (end < 128) continue;
      ranges_.emplace_back(std::max<UChar32>(start, 128), end);
      max_ = std::max(max_, end);
    }
  }

  bool Contains(UChar32 c) const {
    if (c >= 0 && c < 128) return ascii_[c];
    if (ask_icu_) return u_isUWhiteSpace(c);
    if (c > max_) return false;
    for (const auto& [start, end] : ranges_) {
      if (c >= start && c <= end) return true;
    }
    return false;
  }

 private:
  std::array<bool, 128> ascii_{};
  std::vector<std::pair<UChar32, UChar32>> ranges_;
  UChar32 max_ = -1;
  bool ask_icu_ = false;
};

// `text` (valid UTF-8) with every run of whitespace collapsed to one ASCII
// space and the ends trimmed.
std::string CollapseWhitespace(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    if (IsWhiteSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.append(text.data() + start, i - start);
  }
  return out;
}

// NormalizeText through UTF-16, which replaces invalid sequences.
std::string NormalizeThroughUtf16(const icu::Normalizer2* nfkc,
                                  absl::string_view text) {
  UErrorCode error = U_ZERO_ERROR;
  icu::UnicodeString source = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString normalized =
      nfkc != nullptr ? nfkc->normalize(source, error) : source;
  if (U_FAILURE(error)) normalized = source;
  std::string utf8;
  normalized.toUTF8String(utf8);
  return CollapseWhitespace(utf8);
}

}  // namespace

bool IsWhiteSpace(int32_t code_point) {
  static const WhiteSpace* const kWhiteSpace = new WhiteSpace();
  return kWhiteSpace->Contains(code_point);
}

bool IsValidUtf8(absl::string_view text) {
  int32_t i = 0;
  const int32_t length = static_cast<int32_t>(text.size());
  while (i < length) {
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    if (c < 0) return false;
  }
  return true;
}

std::string NormalizeText(absl::string_view text) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(error);
  if (U_FAILURE(error)) return NormalizeThroughUtf16(nullptr, text);
  if (!IsValidUtf8(text)) return NormalizeThroughUtf16(nfkc, text);
  // Valid UTF-8 is normalized in place, without a round trip through
  // UTF-16; most text is already NFKC and is only checked.
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (nfkc->isNormalizedUTF8(piece, error) && U_SUCCESS(error)) {
    return CollapseWhitespace(text);
  }
  error = U_ZERO_ERROR;
  std::string normalized;
  normalized.reserve(text.size());
  icu::StringByteSink<std::string> sink(&normalized);
  nfkc->normalizeUTF8(0, piece, sink, nullptr, error);
  if (U_FAILURE(error)) return NormalizeThroughUtf16(nfkc, text);
  return CollapseWhitespace(normalized);
}

}  // namespace kouryu
