#include "common/text.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <array>

namespace kouryu {
namespace {

// u_isUWhiteSpace for the ASCII range, looked up once: the property lookup
// is the larger part of collapsing mostly-ASCII text.
bool IsWhiteSpace(UChar32 c) {
  static const std::array<bool, 128> kAscii = [] {
    std::array<bool, 128> table{};
    for (UChar32 a = 0; a < 128; ++a) table[a] = u_isUWhiteSpace(a);
    return table;
  }();
  return c < 128 ? kAscii[c] : u_isUWhiteSpace(c);
}

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

std::string FoldForSearch(absl::string_view text) {
  std::string normalized = NormalizeText(text);
  icu::UnicodeString folded = icu::UnicodeString::fromUTF8(icu::StringPiece(
      normalized.data(), static_cast<int32_t>(normalized.size())));
  folded.foldCase();
  std::string out;
  folded.toUTF8String(out);
  return out;
}

}  // namespace kouryu
