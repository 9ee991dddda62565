#include "common/quote.h"

#include "absl/strings/str_cat.h"

namespace kouryu {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0.
size_t Utf8Length(absl::string_view s) {
  const unsigned char c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // Range of the second byte.
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // No overlong forms.
    if (c == 0xED) hi = 0x9F;  // No surrogates.
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // Nothing past U+10FFFF.
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  const unsigned char second = static_cast<unsigned char>(s[1]);
  if (second < lo || second > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (!IsContinuation(static_cast<unsigned char>(s[i]))) return 0;
  }
  return n;
}

void AppendHex(unsigned char c, std::string& out) {
  constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[c >> 4];
  out += kDigits[c & 0xF];
}

}  // namespace

std::string QuoteValue(absl::string_view value, size_t max_bytes) {
  std::string out = "\"";
  size_t i = 0;
  while (i < value.size()) {
    size_t n = Utf8Length(value.substr(i));
    if (i + (n == 0 ? 1 : n) > max_bytes) break;
    const unsigned char c = static_cast<unsigned char>(value[i]);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      AppendHex(c, out);
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out.append(value.data() + i, n);
    i += n;
  }
  out += '"';
  if (i < value.size()) {
    // Replace the closing quote: the value goes on.
    out.pop_back();
    absl::StrAppend(&out, "…\" (", value.size(), " bytes)");
  }
  return out;
}

}  // namespace kouryu
