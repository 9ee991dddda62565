#include "common/text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

namespace kouryu {

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
  icu::UnicodeString source = icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString normalized = U_SUCCESS(error)
                                      ? nfkc->normalize(source, error)
                                      : source;
  if (U_FAILURE(error)) normalized = source;

  icu::UnicodeString collapsed;
  bool pending_space = false;
  for (int32_t i = 0; i < normalized.length();) {
    UChar32 c = normalized.char32At(i);
    i += U16_LENGTH(c);
    if (u_isUWhiteSpace(c)) {
      pending_space = !collapsed.isEmpty();
      continue;
    }
    if (pending_space) collapsed.append(u' ');
    pending_space = false;
    collapsed.append(c);
  }
  std::string out;
  collapsed.toUTF8String(out);
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

}  // namespace kouryu
