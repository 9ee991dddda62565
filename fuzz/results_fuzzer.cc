// Fuzz target: the results column (④実績), HTML as published, through
// ParseResults. Only valid UTF-8 up to the service's 64 KiB limit is given
// to it (its precondition); CountTags is exercised on the same input. The
// cell is also given to the Normalizer as a row's results, to check that
// what a row becomes stays a bounded multiple of it (normalizer.h).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/gazetteer.h"
#include "common/status.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"
#include "ingest-service/normalizer.h"
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

// UTF-8 bytes NFKC may make of one byte of input: U+FDFA, 3 bytes, becomes
// 18 characters, 33 bytes.
constexpr size_t kMaxNfkcExpansion = 11;

// What a cell may become: its text a fixed multiple of the cell (NFKC, and a
// line break per tag at most), its sections no more than its text.
void CheckParsedSize(absl::string_view html,
                     const kouryu::ingest::ParsedResults& parsed) {
  FUZZ_CHECK("results.text_size",
             parsed.text.size() <= kMaxNfkcExpansion * html.size());
  size_t sections_bytes = 0;
  for (const kouryu::v1::Section& section : parsed.sections) {
    sections_bytes += section.heading().size();
    for (const std::string& item : section.items()) {
      sections_bytes += item.size();
    }
  }
  FUZZ_CHECK("results.sections_size",
             sections_bytes <= parsed.text.size() + parsed.sections.size());
}

// The cell as a whole row through the Normalizer: accepted or not, what it
// may become is bounded (normalizer.h): the record a fixed multiple of the
// row and at most kMaxRecordBytes, its results text within the row limit
// after NFKC. A rejection names a field of the row.
void CheckRecord(absl::string_view html) {
  static const kouryu::ingest::Normalizer* normalizer =
      new kouryu::ingest::Normalizer(kouryu::Gazetteer::Builtin());
  kouryu::v1::RawRecord raw;
  raw.set_category("①姉妹・友好都市及び政策提携都市との交流");
  raw.set_department("政策企画局外務部");
  raw.set_title("大韓民国ソウル特別市");
  raw.set_results(std::string(html));
  raw.set_fiscal_year(2019);
  absl::StatusOr<kouryu::ingest::NormalizedRecord> out = normalizer->Normalize(
      raw, kouryu::v1::SourceRef(), {.field_prefix = "record."});
  if (!out.ok()) {
    const std::vector<kouryu::FieldViolation> violations =
        kouryu::ViolationsOf(out.status());
    FUZZ_CHECK("results.rejection_names_results",
               !violations.empty() && violations[0].field == "record.results");
    return;
  }
  const size_t raw_bytes = raw.category().size() + raw.department().size() +
                           raw.title().size() + raw.results().size();
  const size_t record_bytes = out->record.ByteSizeLong();
  FUZZ_CHECK("record.size_limit",
             record_bytes <= kouryu::ingest::kMaxRecordBytes);
  FUZZ_CHECK("record.output_size",
             record_bytes <= kouryu::ingest::kMaxRecordExpansion * raw_bytes +
                                 kouryu::ingest::kRecordOverheadBytes);
  FUZZ_CHECK("record.results_text_limit", out->record.results_text().size() <=
                                              kouryu::ingest::kMaxResultsBytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return 0;
  absl::string_view html(reinterpret_cast<const char*>(data), size);
  if (!kouryu::IsValidUtf8(html)) return 0;

  kouryu::ingest::CountTags(html);
  kouryu::ingest::ParsedResults parsed = kouryu::ingest::ParseResults(html);
  CheckText(html, parsed.text);
  CheckParsedSize(html, parsed);
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
  CheckRecord(html);
  return 0;
}
