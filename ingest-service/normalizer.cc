#include "ingest-service/normalizer.h"

#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/keys.h"
#include "common/quote.h"
#include "common/status.h"
#include "common/text.h"
#include "ingest-service/events.h"
#include "ingest-service/results.h"

namespace kouryu::ingest {
namespace {

void SetCity(const CityEntry& entry, v1::City* city) {
  city->set_id(entry.id);
  city->set_name_ja(entry.name_ja);
  city->set_name_en(entry.name_en);
  city->set_country_code(entry.country_code);
  city->set_country_name_ja(entry.country_name_ja);
}

// A control character other than tab, line feed and carriage return.
bool HasControlCharacter(absl::string_view text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      return true;
    }
  }
  return false;
}

class Checker {
 public:
  explicit Checker(absl::string_view prefix) : prefix_(prefix) {}

  void Add(absl::string_view field, std::string description) {
    violations_.push_back(
        {absl::StrCat(prefix_, field), std::move(description)});
  }

  // Checks a text field; true when it may be used.
  bool CheckText(absl::string_view field, absl::string_view value,
                 size_t max_bytes, bool required) {
    if (!IsValidUtf8(value)) {
      Add(field, "is not valid UTF-8");
      return false;
    }
    if (HasControlCharacter(value)) {
      Add(field, "contains a control character or NUL byte");
      return false;
    }
    if (value.size() > max_bytes) {
      Add(field, absl::StrCat("is ", value.size(), " bytes; at most ",
                              max_bytes, " are accepted"));
      return false;
    }
    if (required && NormalizeText(value).empty()) {
      Add(field, "is required");
      return false;
    }
    return true;
  }

  // Checks the size of a field as stored; true when within `max_bytes`.
  bool CheckNormalizedSize(absl::string_view field, absl::string_view value,
                           size_t max_bytes) {
    if (value.size() <= max_bytes) return true;
    Add(field, absl::StrCat("is ", value.size(),
                            " bytes after normalization (NFKC); at most ",
                            max_bytes, " are accepted"));
    return false;
  }

  const std::vector<FieldViolation>& violations() const { return violations_; }

  absl::Status Error() const {
    const FieldViolation& first = violations_.front();
    return InvalidArgumentError(
        "INVALID_RECORD",
        absl::StrCat(first.field, " ", first.description,
                     violations_.size() > 1
                         ? absl::StrCat(" (and ", violations_.size() - 1,
                                        " more)")
                         : ""),
        violations_);
  }

 private:
  absl::string_view prefix_;
  std::vector<FieldViolation> violations_;
};

// NormalizeText of the title and the results text on separate lines, the
// text whose cities a record mentions. Both are normalized already and the
// results text's lines are not empty, so normalizing again would only turn
// the line breaks into spaces: that is done directly.
std::string MentionText(const v1::Record& record) {
  std::string text = record.title();
  if (!text.empty() && !record.results_text().empty()) text.push_back(' ');
  const size_t results_begin = text.size();
  text.append(record.results_text());
  std::replace(text.begin() + results_begin, text.end(), '\n', ' ');
  return text;
}

// A place an item names in the published form "country + place", such as
// イタリア共和国ミラノ市; nullopt when the text names none.
std::optional<std::string> UnknownPlace(absl::string_view title) {
  static const RE2 kPlace(
      "(?:共和国|連邦|王国|合衆国|民国|首長国|国)"
      "([^\\s、。,()「」・]{1,20}?(?:特別市|特別州|特別区|市|州|県|省))");
  std::string place;
  if (RE2::PartialMatch(re2::StringPiece(title.data(), title.size()), kPlace,
                        &place)) {
    return place;
  }
  return std::nullopt;
}

}  // namespace

v1::Category CategoryFromLabel(absl::string_view label) {
  std::string text = NormalizeText(label);
  if (absl::StrContains(text, "姉妹港")) {
    return v1::CATEGORY_SISTER_PORT_EXCHANGE;
  }
  if (absl::StrContains(text, "姉妹") || absl::StrContains(text, "友好") ||
      absl::StrContains(text, "政策提携")) {
    return v1::CATEGORY_SISTER_CITY_EXCHANGE;
  }
  return v1::CATEGORY_OTHER;
}

absl::StatusOr<NormalizedRecord> Normalizer::Normalize(
    const v1::RawRecord& raw, const v1::SourceRef& source,
    const NormalizeOptions& options) const {
  Checker check(options.field_prefix);
  check.CheckText("category", raw.category(), kMaxCategoryBytes, true);
  bool department_ok = check.CheckText("department", raw.department(),
                                       kMaxDepartmentBytes, true);
  check.CheckText("title", raw.title(), kMaxTitleBytes, true);
  if (check.CheckText("results", raw.results(), kMaxResultsBytes, false)) {
    size_t tags = CountTags(raw.results());
    if (tags > kMaxResultsTags) {
      check.Add("results", absl::StrCat("holds ", tags, " HTML tags; at most ",
                                        kMaxResultsTags, " are accepted"));
    }
  }
  if (raw.fiscal_year() < kMinFiscalYear ||
      raw.fiscal_year() > kMaxFiscalYear) {
    check.Add("fiscal_year",
              raw.fiscal_year() == 0
                  ? std::string("is required (from the table header or the "
                                "request)")
                  : absl::StrCat(raw.fiscal_year(), " is outside ",
                                 kMinFiscalYear, "..", kMaxFiscalYear));
  }

  std::optional<Gazetteer::DepartmentSplit> split;
  if (department_ok) {
    split = gazetteer_.SplitDepartment(raw.department());
    if (!split) {
      check.Add("department",
                absl::StrCat(QuoteValue(NormalizeText(raw.department())),
                             " does not begin with a bureau the gazetteer "
                             "knows"));
    }
  }
  if (!check.violations().empty()) return check.Error();

  v1::Record record;
  record.set_fiscal_year(raw.fiscal_year());
  record.set_category(CategoryFromLabel(raw.category()));
  // The label as published (NFKC would turn ① into 1).
  record.set_category_label(
      std::string(absl::StripAsciiWhitespace(raw.category())));
  record.set_title(NormalizeText(raw.title()));
  ParsedResults results = ParseResults(raw.results());
  record.set_results_text(std::move(results.text));
  for (v1::Section& section : results.sections) {
    for (const std::string& item : section.items()) {
      for (v1::Event& event : ExtractEvents(item, raw.fiscal_year())) {
        *record.add_events() = std::move(event);
      }
    }
    *record.add_sections() = std::move(section);
  }
  record.set_source_html(raw.results());
  *record.mutable_source() = source;

  const BureauEntry& bureau = *split->bureau;
  record.mutable_bureau()->set_id(bureau.id);
  record.mutable_bureau()->set_name_ja(bureau.name_ja);
  record.mutable_bureau()->set_name_en(bureau.name_en);
  record.set_department(split->department);
  // The limits hold for the record as stored: NFKC may expand text (U+FDFA
  // becomes 18 characters) and each event carries a clause.
  check.CheckNormalizedSize("department", record.department(),
                            kMaxDepartmentBytes);
  check.CheckNormalizedSize("title", record.title(), kMaxTitleBytes);
  check.CheckNormalizedSize("results", record.results_text(), kMaxResultsBytes);
  if (!check.violations().empty()) return check.Error();

  NormalizedRecord out;
  // The title is normalized already.
  std::vector<const CityEntry*> in_title =
      gazetteer_.CitiesInNormalized(record.title());
  const CityEntry& city =
      in_title.size() == 1 ? *in_title.front() : Gazetteer::Unassigned();
  if (in_title.empty()) {
    if (std::optional<std::string> place = UnknownPlace(record.title())) {
      if (options.strict) {
        check.Add("title", absl::StrCat("names ", *place,
                                        ", which the gazetteer does not know "
                                        "(strict validation)"));
        return check.Error();
      }
      std::string description = absl::StrCat(
          "names ", *place, ", which the gazetteer does not know; the record "
          "is filed under \"unassigned\" (add the place to the gazetteer)");
      out.warnings.push_back({absl::StrCat(options.field_prefix, "title"),
                              std::move(description)});
    }
  }
  SetCity(city, record.mutable_city());
  for (const CityEntry* mentioned :
       gazetteer_.CitiesInNormalized(MentionText(record))) {
    SetCity(*mentioned, record.add_mentioned_cities());
  }

  // The natural key: fiscal year, bureau (by ID, so a renamed bureau keeps
  // its records), department and item.
  std::string natural_key =
      absl::StrCat(record.fiscal_year(), "\x1f", bureau.id, "\x1f",
                   record.department(), "\x1f", record.title());
  std::string record_id =
      absl::StrCat("fy", record.fiscal_year(), "-", Hex64(Fnv1a64(natural_key)));
  record.set_name(FormatRecordName({city.id, bureau.id, record_id}));
  // What the results become (events, sections) is the rest of the record.
  if (const size_t bytes = record.ByteSizeLong(); bytes > kMaxRecordBytes) {
    check.Add(
        "results",
        absl::StrCat("makes a record of ", bytes, " bytes (",
                     record.events_size(), " events, ", record.sections_size(),
                     record.sections_size() == 1 ? " section" : " sections",
                     "); at most ", kMaxRecordBytes, " are accepted"));
    return check.Error();
  }
  out.record = std::move(record);
  return out;
}

}  // namespace kouryu::ingest
