#ifndef KOURYU_QUERY_SERVICE_FILTER_H_
#define KOURYU_QUERY_SERVICE_FILTER_H_

// The `filter` of ListRecords, SearchRecords and SummarizeRecords: a subset
// of AIP-160, parsed once into an immutable tree and evaluated against
// records.
//
// Grammar (whitespace between tokens is ignored):
//
//   expression := or_chain { ["AND"] or_chain }
//   or_chain   := term { "OR" term }
//   term       := ["NOT" | "-"] factor
//   factor     := "(" expression ")" | comparison
//   comparison := field op value
//   op         := "=" | "!=" | "<" | "<=" | ">" | ">="
//   value      := quoted string | bare word
//
// - As in AIP-160, OR binds tighter than AND: `a AND b OR c` is
//   `a AND (b OR c)`, and `a OR b AND c` is `(a OR b) AND c`.
// - Two terms side by side with no keyword are ANDed: `a = 1 b = 2`.
// - AND, OR and NOT are keywords only in upper case. `-` directly before a
//   field or "(" is NOT: `-city = seoul`, `-(a = 1 OR b = 2)`.
// - A quoted string is "..." with the escapes \" and \\ only. A bare word is
//   a run of [A-Za-z0-9_.-] and non-ASCII (UTF-8) characters, so
//   `department = 外務部` needs no quotes. Quoting never changes meaning:
//   `fiscal_year = "2019"` equals `fiscal_year = 2019`.
//
// Fields:
//
//   fiscal_year     Record.fiscal_year; a decimal integer; all six operators.
//   category        Record.category; =, != only. A kouryu.v1.Category value
//                   with or without its CATEGORY_ prefix, in any letter case:
//                   SISTER_PORT_EXCHANGE = CATEGORY_SISTER_PORT_EXCHANGE.
//   department      Record.department, exact match; =, != only.
//   city            Record.city.id; =, != only.
//   bureau          Record.bureau.id; =, != only.
//   mentioned_city  =, != only. `= X` matches when some mentioned_cities[].id
//                   is X; `!= X` when none is.
//   event_date      Record.events[] dates; all six operators; the value is a
//                   date YYYY-MM-DD or a month YYYY-MM.
//
// Names. Parse() keeps the values of city, bureau and mentioned_city as
// written; Resolve() replaces each by the ID it names, through a
// NameResolver. The query service's resolver (names.h) accepts an ID
// (`paris`, `unassigned`) or any Japanese or English name or alias the
// gazetteer gives the city or bureau, compared after NFKC and case folding
// (`Paris`, `パリ市`, `パリ`; `環境局`, `"Bureau of Environment"`), and a
// value that names none is an error (INVALID_FILTER at its column), for !=
// as for =: an unknown name is a mistake, not a condition that no record
// meets.
//
// event_date semantics. Every event is a closed range of days [S, E]:
//   S = start_date, E = end_date, or start_date when end_date is unset
//   (an event with only an end date uses it for both); a date with day 0
//   (month only) covers its whole month, and one with month 0 its whole
//   year, so S is its first day and E its last. An event whose start and
//   end are both unset has no range and never matches.
// The filter value is likewise a range [V1, V2]: a single day for
// YYYY-MM-DD, first to last day of the month for YYYY-MM. An event meets a
// comparison when:
//   event_date =  V   S <= V2 and E >= V1   (the ranges overlap)
//   event_date >= V   E >= V1
//   event_date >  V   E >  V2
//   event_date <= V   S <= V2
//   event_date <  V   S <  V1
// and `event_date != V` means NOT event_date = V: no event meets `= V`.
//
// One event for a range. The event_date comparisons other than != that are
// operands of one AND chain (juxtaposition included, and parentheses around
// AND chains, which merge into it) must all be met by the SAME event: a
// record matches `event_date >= 2019-06-01 AND event_date <= 2019-06-30`
// when one of its events has a day in June 2019 (an event spanning several
// days meets a range it overlaps), exactly as `event_date = 2019-06`; one
// event in May and another in July do not make it match. Every other
// event_date comparison (alone, an operand of OR, under NOT, or !=) is met
// by any event of the record on its own: `event_date < 2019-05 OR
// event_date > 2019-07` matches a record with an event before May or one
// after July, and `NOT (event_date >= 2019-06-01 AND event_date <=
// 2019-06-30)` a record with no event in June.
//
// Matching events. MatchesEvent(record, i) is Matches() of the record with
// events[i] as its only event: the events "that match" a filter, such as
// those whose participants SummarizeRecords adds up.
//
// Limits: at most kMaxFilterLength characters and parentheses nested at most
// kMaxFilterDepth deep, so hostile input is rejected in linear time and
// bounded stack.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::query {

// Longest filter accepted, in (UTF-8) characters.
inline constexpr int kMaxFilterLength = 2000;
// Deepest nesting of parentheses accepted.
inline constexpr int kMaxFilterDepth = 64;

// Maps the value of a city, bureau or mentioned_city comparison to IDs.
class NameResolver {
 public:
  virtual ~NameResolver() = default;
  // The IDs of the cities (bureaus) `value` names: none when it names no
  // city (bureau), several when it is ambiguous.
  virtual std::vector<std::string> CityIds(absl::string_view value) const = 0;
  virtual std::vector<std::string> BureauIds(absl::string_view value) const = 0;
};

// A parsed filter. Immutable once parsed: copies are cheap (they share the
// tree) and any number of threads may call its const methods at once.
class Filter {
 public:
  // Parses `text`. Empty or whitespace-only text gives a filter that matches
  // every record.
  //
  // Errors are InvalidArgument with the ErrorInfo reason "INVALID_FILTER"
  // and one google.rpc.BadRequest violation on the field "filter" whose
  // description begins with the 1-based character column of the problem,
  // e.g. `column 17: expected a value after "="`.
  static absl::StatusOr<Filter> Parse(absl::string_view text);

  // A filter that matches every record, as Parse("") gives.
  Filter();

  // A copy whose city, bureau and mentioned_city values are the IDs
  // `names` gives them. InvalidArgument, reason "INVALID_FILTER", with one
  // violation on "filter" naming the column and the value, when a value
  // names no city or bureau, or more than one.
  absl::StatusOr<Filter> Resolve(const NameResolver& names) const;

  // True when `record` satisfies the filter. Always true when empty().
  bool Matches(const v1::Record& record) const;

  // True when `record` with events(event) as its only event satisfies the
  // filter (see "Matching events" above); false when there is no such
  // event.
  bool MatchesEvent(const v1::Record& record, int event) const;

  // True when some comparison is on event_date. Without one, every event
  // of a matching record matches.
  bool has_event_date() const { return has_event_date_; }

  // True when the filter has no condition (it matches everything).
  bool empty() const { return root_ == nullptr; }

  // Index hints for the caller. Each returns the value of the first
  // `field = value` comparison (fiscal_year, city, bureau respectively) that
  // the filter's top-level AND chain contains, looking through parentheses
  // that hold AND chains themselves; nullopt when there is none (e.g. the
  // comparison is under OR or NOT). A record can match only when it has this
  // value, but the caller must still apply Matches() to the candidates.
  std::optional<int> RequiredFiscalYear() const;
  std::optional<std::string> RequiredCity() const;
  std::optional<std::string> RequiredBureau() const;

  // The parsed tree in a canonical prefix form, for tests and logs, e.g.
  // `AND(fiscal_year = 2019, OR(city = "seoul", NOT(bureau = "ports")))`.
  // "" when empty().
  std::string DebugString() const;

  // The tree; defined in filter.cc.
  struct Node;

 private:
  explicit Filter(std::shared_ptr<const Node> root);

  std::shared_ptr<const Node> root_;
  bool has_event_date_ = false;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_FILTER_H_
