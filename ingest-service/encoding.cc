#include "ingest-service/encoding.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_cb.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/quote.h"
#include "common/status.h"
#include "common/text.h"

namespace kouryu::ingest {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";
// 分野 (the first header column) in CP932.
constexpr absl::string_view kBunyaCp932 = "\x95\xAA\x96\xEC";

struct ConverterCloser {
  void operator()(UConverter* c) const { ucnv_close(c); }
};
using Converter = std::unique_ptr<UConverter, ConverterCloser>;

// Strict CP932 → UTF-8; nullopt at the first invalid byte sequence.
std::optional<std::string> Cp932ToUtf8(absl::string_view bytes) {
  UErrorCode error = U_ZERO_ERROR;
  Converter converter(ucnv_open("windows-31j", &error));
  if (U_FAILURE(error)) return std::nullopt;
  ucnv_setToUCallBack(converter.get(), UCNV_TO_U_CALLBACK_STOP, nullptr,
                      nullptr, nullptr, &error);
  icu::UnicodeString text(bytes.data(), static_cast<int32_t>(bytes.size()),
                          converter.get(), error);
  if (U_FAILURE(error)) return std::nullopt;
  std::string out;
  text.toUTF8String(out);
  return out;
}

bool ValidIn(absl::string_view bytes, absl::string_view encoding) {
  return encoding == kUtf8 ? IsValidUtf8(bytes)
                           : Cp932ToUtf8(bytes).has_value();
}

// The error for the first invalid bytes of `content` in `encoding`,
// located by line (every '\n' counts) and by cell (tab or comma, whichever
// the first line holds more of). Neither byte is ever part of a multi-byte
// character in UTF-8 or CP932, so the split is safe before decoding.
absl::Status LocateInvalidBytes(absl::string_view content,
                                absl::string_view encoding) {
  absl::string_view first_line = content.substr(0, content.find('\n'));
  char separator =
      std::count(first_line.begin(), first_line.end(), '\t') >=
              std::count(first_line.begin(), first_line.end(), ',')
          ? '\t'
          : ',';
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    if (ValidIn(line, encoding)) continue;
    int column = 0;
    for (absl::string_view cell : absl::StrSplit(line, separator)) {
      ++column;
      if (ValidIn(cell, encoding)) continue;
      std::string field = absl::StrCat("rows[", line_number, "].column[", column, "]");
      std::string description = absl::StrCat(
          "bytes that are not valid ", encoding == kUtf8 ? "UTF-8" : "CP932 (Shift_JIS)");
      return InvalidArgumentError(
          "INVALID_ENCODING",
          absl::StrCat("line ", line_number, ", column ", column, ": ", description),
          {{field, description}},
          {{"line", absl::StrCat(line_number)},
           {"column", absl::StrCat(column)},
           {"encoding", std::string(encoding)}});
    }
  }
  return InvalidArgumentError("INVALID_ENCODING",
                              absl::StrCat("the table is not valid ", encoding),
                              {{"content", "invalid bytes"}});
}

}  // namespace

absl::StatusOr<DecodedText> DecodeTable(absl::string_view content,
                                        absl::string_view encoding,
                                        bool borrow_utf8) {
  std::string name = absl::AsciiStrToUpper(encoding);
  absl::string_view chosen;
  if (name.empty()) {
    if (absl::StartsWith(content, kBom)) {
      chosen = kUtf8;
    } else if (absl::StrContains(content.substr(0, content.find('\n')),
                                 kBunyaCp932) ||
               (!IsValidUtf8(content) && Cp932ToUtf8(content).has_value())) {
      chosen = kCp932;
    } else {
      chosen = kUtf8;
    }
  } else if (name == "UTF-8" || name == "UTF8") {
    chosen = kUtf8;
  } else if (name == "CP932" || name == "SHIFT_JIS" || name == "SHIFT-JIS" ||
             name == "SJIS" || name == "WINDOWS-31J" || name == "MS932") {
    chosen = kCp932;
  } else {
    return InvalidArgumentError(
        "UNSUPPORTED_ENCODING",
        absl::StrCat("encoding ", QuoteValue(encoding), " is not supported"),
        {{"encoding", "use UTF-8 or CP932 (Shift_JIS), or leave it empty to "
                      "detect"}},
        {{"expected", "UTF-8, CP932, Shift_JIS, Windows-31J or \"\""}});
  }

  if (chosen == kUtf8) {
    if (absl::StartsWith(content, kBom)) content.remove_prefix(kBom.size());
    if (!IsValidUtf8(content)) return LocateInvalidBytes(content, kUtf8);
    if (borrow_utf8) {
      return DecodedText{.encoding = std::string(kUtf8),
                         .borrowed = content,
                         .is_borrowed = true};
    }
    return DecodedText{std::string(content), std::string(kUtf8)};
  }
  std::optional<std::string> utf8 = Cp932ToUtf8(content);
  if (!utf8) return LocateInvalidBytes(content, kCp932);
  return DecodedText{*std::move(utf8), std::string(kCp932)};
}

}  // namespace kouryu::ingest
