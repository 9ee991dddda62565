// Fuzz target: the results column (④実績), HTML as published, through
// ParseResults. Only valid UTF-8 up to the service's 64 KiB limit is given
// to it (its precondition); CountTags is exercised on the same input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"
#include "ingest-service/results.h"

namespace {

constexpr size_t kMaxInput = 64 * 1024;

// True when `html` holds something through which "<script" may legitimately
// reach the text: an entity (&lt;script), a character that NFKC turns into
// "<" (＜ U+FF1C, ﹤ U+FE64), or an element whose content HTML5 reads as
// text (RCDATA/RAWTEXT/PLAINTEXT, CDATA in foreign content).
bool MayHoldLiteralTagText(absl::string_view html) {
  if (absl::StrContains(html, "&")) return true;
  const std::string nfkc = kouryu::NormalizeText(html);
  if (std::count(nfkc.begin(), nfkc.end(), '<') >
      std::count(html.begin(), html.end(), '<')) {
    return true;
  }
  std::string lower = absl::AsciiStrToLower(html);
  for (absl::string_view raw : {"<textarea", "<title", "<xmp", "<plaintext",
                                "<noembed", "<noframes", "<![cdata[",
                                "<noscript", "<iframe"}) {
    if (absl::StrContains(lower, raw)) return true;
  }
  return false;
}

void CheckText(absl::string_view html, const std::string& text) {
  FUZZ_CHECK("results.text_utf8", kouryu::IsValidUtf8(text));
  // Empty lines are dropped and whitespace collapsed.
  FUZZ_CHECK("results.no_empty_line",
             !absl::StartsWith(text, "\n") && !absl::EndsWith(text, "\n") &&
                 !absl::StrContains(text, "\n\n"));
  FUZZ_CHECK("results.whitespace_collapsed",
             !absl::StrContains(text, "  ") && !absl::StrContains(text, "\t") &&
                 !absl::StrContains(text, "\r"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    FUZZ_CHECK("results.line_normalized", kouryu::NormalizeText(line) == line);
  }
  if (!MayHoldLiteralTagText(html)) {
    FUZZ_CHECK("results.no_script_tag",
               !absl::StrContains(absl::AsciiStrToLower(text), "<script"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return 0;
  absl::string_view html(reinterpret_cast<const char*>(data), size);
  if (!kouryu::IsValidUtf8(html)) return 0;

  kouryu::ingest::CountTags(html);
  kouryu::ingest::ParsedResults parsed = kouryu::ingest::ParseResults(html);
  CheckText(html, parsed.text);
  for (const kouryu::v1::Section& section : parsed.sections) {
    FUZZ_CHECK("results.heading_utf8", kouryu::IsValidUtf8(section.heading()));
    FUZZ_CHECK("results.heading_one_line",
               !absl::StrContains(section.heading(), "\n"));
    for (const std::string& item : section.items()) {
      FUZZ_CHECK("results.item_not_empty", !item.empty());
      FUZZ_CHECK("results.item_utf8", kouryu::IsValidUtf8(item));
      FUZZ_CHECK("results.item_one_line", !absl::StrContains(item, "\n"));
    }
  }
  return 0;
}
