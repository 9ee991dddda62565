// Fuzz target: the `filter` request field. Filter::Parse on any bytes; a
// filter that parses is evaluated on fixed records, its index hints are
// checked against Matches, and its DebugString, written back as filter text,
// must parse to the same tree.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "kouryu/v1/record.pb.h"
#include "query-service/filter.h"

namespace {

using kouryu::query::Filter;
using kouryu::v1::Record;

google::type::Date Day(int year, int month, int day) {
  google::type::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

void AddEvent(Record* record, std::optional<google::type::Date> start,
              std::optional<google::type::Date> end) {
  kouryu::v1::Event* event = record->add_events();
  if (start) *event->mutable_start_date() = *start;
  if (end) *event->mutable_end_date() = *end;
}

std::vector<Record> MakeRecords() {
  std::vector<Record> records;
  {
    Record r;  // A typical record: FY2019, a range and a month.
    r.set_fiscal_year(2019);
    r.set_category(kouryu::v1::CATEGORY_SISTER_CITY_EXCHANGE);
    r.mutable_city()->set_id("seoul");
    r.mutable_bureau()->set_id("policy-planning");
    r.set_department("外務部");
    r.add_mentioned_cities()->set_id("seoul");
    AddEvent(&r, Day(2019, 6, 17), Day(2019, 6, 19));
    AddEvent(&r, Day(2019, 10, 0), std::nullopt);
    records.push_back(r);
  }
  {
    Record r;  // Several mentioned cities; an event across the year end.
    r.set_fiscal_year(2018);
    r.set_category(kouryu::v1::CATEGORY_SISTER_PORT_EXCHANGE);
    r.mutable_city()->set_id("unassigned");
    r.mutable_bureau()->set_id("ports");
    r.set_department("港湾経営部");
    r.add_mentioned_cities()->set_id("new-york");
    r.add_mentioned_cities()->set_id("new-south-wales");
    AddEvent(&r, Day(2018, 12, 25), Day(2019, 1, 5));
    AddEvent(&r, Day(2020, 1, 0), std::nullopt);
    records.push_back(r);
  }
  records.emplace_back();  // Every field unset.
  {
    Record r;  // Odd dates: end only, month 0, no dates, day 31 in February.
    r.set_fiscal_year(2024);
    r.mutable_city()->set_id("x");
    r.mutable_bureau()->set_id("x");
    r.set_department("x");
    AddEvent(&r, std::nullopt, Day(2024, 2, 31));
    AddEvent(&r, Day(2021, 0, 0), std::nullopt);
    AddEvent(&r, std::nullopt, std::nullopt);
    AddEvent(&r, Day(9999, 12, 31), Day(1, 1, 1));
    records.push_back(r);
  }
  return records;
}

const std::vector<Record>& Records() {
  static const auto* const kRecords = new std::vector<Record>(MakeRecords());
  return *kRecords;
}

// ---------------------------------------------------------------------------
// DebugString back to filter text.
//
// DebugString is `AND(a, b)`, `OR(a, b)`, `NOT(a)` or a comparison
// `field op value` whose value is a quoted string (\" and \\ escaped) or a
// bare word; the comparison is valid filter text as it is. Parentheses are
// written only where the grammar needs them (OR binds tighter than AND, NOT
// takes one factor), so the text nests no deeper than the original did.

enum class Kind { kNone, kAnd, kOr, kNot, kCompare };

class DebugReader {
 public:
  explicit DebugReader(absl::string_view s) : s_(s) {}

  // Reads one node and writes it as filter text under a parent of `parent`.
  // False when the DebugString is not in the documented form.
  bool Node(Kind parent, std::string* out) {
    Kind kind = Kind::kCompare;
    if (Consume("AND(")) {
      kind = Kind::kAnd;
    } else if (Consume("OR(")) {
      kind = Kind::kOr;
    } else if (Consume("NOT(")) {
      kind = Kind::kNot;
    }
    if (kind == Kind::kCompare) return Comparison(out);

    // NOT takes a comparison or a parenthesized expression ("NOT NOT x" is
    // not in the grammar).
    const bool parens =
        (kind == Kind::kAnd && parent != Kind::kNone) ||
        (kind == Kind::kOr && (parent == Kind::kOr || parent == Kind::kNot)) ||
        (kind == Kind::kNot && parent == Kind::kNot);
    if (parens) out->append("(");
    if (kind == Kind::kNot) {
      out->append("NOT ");
      if (!Node(Kind::kNot, out)) return false;
    } else {
      for (bool first = true;; first = false) {
        if (!first) {
          if (!Consume(", ")) break;
          out->append(kind == Kind::kAnd ? " AND " : " OR ");
        }
        if (!Node(kind, out)) return false;
      }
    }
    if (!Consume(")")) return false;
    if (parens) out->append(")");
    return true;
  }

  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  bool Consume(absl::string_view prefix) {
    if (!absl::StartsWith(s_.substr(pos_), prefix)) return false;
    pos_ += prefix.size();
    return true;
  }

  // A comparison runs to the first "," or ")" outside quotes.
  bool Comparison(std::string* out) {
    const size_t begin = pos_;
    bool quoted = false;
    for (; pos_ < s_.size(); ++pos_) {
      const char c = s_[pos_];
      if (quoted) {
        if (c == '\\') {
          ++pos_;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',' || c == ')') {
        break;
      }
    }
    if (quoted || pos_ == begin || pos_ > s_.size()) return false;
    out->append(s_.data() + begin, pos_ - begin);
    return true;
  }

  absl::string_view s_;
  size_t pos_ = 0;
};

size_t CharacterCount(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void CheckHints(const Filter& filter) {
  std::optional<int> year = filter.RequiredFiscalYear();
  std::optional<std::string> city = filter.RequiredCity();
  std::optional<std::string> bureau = filter.RequiredBureau();
  for (const Record& record : Records()) {
    if (!filter.Matches(record)) continue;
    // A hint is a value every matching record has.
    FUZZ_CHECK("filter.hint_fiscal_year",
               !year || record.fiscal_year() == *year);
    FUZZ_CHECK("filter.hint_city", !city || record.city().id() == *city);
    FUZZ_CHECK("filter.hint_bureau",
               !bureau || record.bureau().id() == *bureau);
  }
}

void CheckRoundTrip(const Filter& filter) {
  const std::string debug = filter.DebugString();
  FUZZ_CHECK("filter.empty_debug_string", filter.empty() == debug.empty());
  std::string text;
  DebugReader reader(debug);
  if (!debug.empty()) {
    const bool read = reader.Node(Kind::kNone, &text) && reader.AtEnd();
    FUZZ_CHECK("filter.debug_string_form", read);
    if (!read) return;
  }
  absl::StatusOr<Filter> again = Filter::Parse(text);
  if (!again.ok()) {
    // Quotes and CATEGORY_ prefixes can make the canonical text longer than
    // the limit; anything else must parse.
    FUZZ_CHECK("filter.round_trip_parses",
               CharacterCount(text) > static_cast<size_t>(
                                          kouryu::query::kMaxFilterLength));
    return;
  }
  FUZZ_CHECK("filter.round_trip_equal", again->DebugString() == debug);
  for (const Record& record : Records()) {
    FUZZ_CHECK("filter.round_trip_matches",
               again->Matches(record) == filter.Matches(record));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Filter> filter = Filter::Parse(text);
  if (!filter.ok()) return 0;
  for (const Record& record : Records()) filter->Matches(record);
  CheckHints(*filter);
  CheckRoundTrip(*filter);
  return 0;
}
