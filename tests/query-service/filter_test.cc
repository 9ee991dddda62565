#include "query-service/filter.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

// ---------------------------------------------------------------------------
// Parsing: the tree a valid filter becomes.

struct ParseCase {
  std::string filter;
  std::string tree;  // Filter::DebugString()
};

// ctest names parameterized tests after the printed parameter: keep it short.
void PrintTo(const ParseCase& c, std::ostream* os) { *os << '"' << c.filter.substr(0, 40) << '"'; }

class ParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTest, BuildsTheTree) {
  absl::StatusOr<Filter> filter = Filter::Parse(GetParam().filter);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->DebugString(), GetParam().tree);
  EXPECT_FALSE(filter->empty());
}

INSTANTIATE_TEST_SUITE_P(
    Filters, ParseTest,
    ::testing::Values(
        ParseCase{"fiscal_year = 2019", "fiscal_year = 2019"},
        ParseCase{"fiscal_year=2019 AND category=SISTER_PORT_EXCHANGE",
                  "AND(fiscal_year = 2019, category = "
                  "CATEGORY_SISTER_PORT_EXCHANGE)"},
        // As in AIP-160, OR binds tighter than AND, on either side.
        ParseCase{"city = seoul OR city = paris AND fiscal_year = 2019",
                  "AND(OR(city = \"seoul\", city = \"paris\"), "
                  "fiscal_year = 2019)"},
        ParseCase{"city = seoul AND fiscal_year = 2019 OR city = paris",
                  "AND(city = \"seoul\", OR(fiscal_year = 2019, "
                  "city = \"paris\"))"},
        ParseCase{"(city = seoul OR city = paris) AND fiscal_year = 2019",
                  "AND(OR(city = \"seoul\", city = \"paris\"), "
                  "fiscal_year = 2019)"},
        // NOT and its "-" spelling.
        ParseCase{"NOT city = seoul", "NOT(city = \"seoul\")"},
        ParseCase{"-city = seoul", "NOT(city = \"seoul\")"},
        ParseCase{"- city = seoul", "NOT(city = \"seoul\")"},
        ParseCase{"-(city = seoul OR city = paris)",
                  "NOT(OR(city = \"seoul\", city = \"paris\"))"},
        ParseCase{"NOT (city = seoul) OR bureau = ports",
                  "OR(NOT(city = \"seoul\"), bureau = \"ports\")"},
        ParseCase{"fiscal_year = 2019 -bureau = ports",
                  "AND(fiscal_year = 2019, NOT(bureau = \"ports\"))"},
        // Juxtaposition is AND.
        ParseCase{"city = seoul fiscal_year = 2019",
                  "AND(city = \"seoul\", fiscal_year = 2019)"},
        ParseCase{"city = seoul fiscal_year = 2019 OR bureau = ports",
                  "AND(city = \"seoul\", OR(fiscal_year = 2019, "
                  "bureau = \"ports\"))"},
        ParseCase{"city = seoul (bureau = a OR bureau = b)",
                  "AND(city = \"seoul\", OR(bureau = \"a\", bureau = \"b\"))"},
        // Parenthesized chains of the same kind are flattened.
        ParseCase{"city = seoul AND (bureau = ports AND fiscal_year >= 2018)",
                  "AND(city = \"seoul\", bureau = \"ports\", "
                  "fiscal_year >= 2018)"},
        ParseCase{"((fiscal_year = 2019))", "fiscal_year = 2019"},
        // Whitespace, including U+3000, is insignificant.
        ParseCase{"  fiscal_year>=2019\tAND\ncity!=seoul  ",
                  "AND(fiscal_year >= 2019, city != \"seoul\")"},
        ParseCase{"city = seoul\u3000fiscal_year = 2019",
                  "AND(city = \"seoul\", fiscal_year = 2019)"},
        // Values: quoted, escaped, bare non-ASCII, slugs.
        ParseCase{"department = \"外務部\"", "department = \"外務部\""},
        ParseCase{"department = 外務部", "department = \"外務部\""},
        ParseCase{R"(department = "a \"b\" \\ c")",
                  R"(department = "a \"b\" \\ c")"},
        ParseCase{"fiscal_year = \"2019\"", "fiscal_year = 2019"},
        ParseCase{"mentioned_city = new-south-wales",
                  "mentioned_city = \"new-south-wales\""},
        ParseCase{"city = \"AND\"", "city = \"AND\""},
        // Category with or without the prefix, any case.
        ParseCase{"category = CATEGORY_SISTER_CITY_EXCHANGE",
                  "category = CATEGORY_SISTER_CITY_EXCHANGE"},
        ParseCase{"category != sister_port_exchange",
                  "category != CATEGORY_SISTER_PORT_EXCHANGE"},
        // All six operators.
        ParseCase{"fiscal_year < 1 OR fiscal_year <= 2 OR fiscal_year > 3 OR "
                  "fiscal_year >= 4 OR fiscal_year != 5",
                  "OR(fiscal_year < 1, fiscal_year <= 2, fiscal_year > 3, "
                  "fiscal_year >= 4, fiscal_year != 5)"},
        ParseCase{"event_date >= 2019-06 AND event_date < 2019-07-01",
                  "AND(event_date >= 2019-06, event_date < 2019-07-01)"},
        ParseCase{"event_date = 2020-02-29", "event_date = 2020-02-29"}));

TEST(FilterTest, BlankFilterMatchesEverything) {
  for (absl::string_view text : {"", "   ", "\t\n", "\u3000"}) {
    absl::StatusOr<Filter> filter = Filter::Parse(text);
    ASSERT_TRUE(filter.ok()) << filter.status();
    EXPECT_TRUE(filter->empty());
    EXPECT_EQ(filter->DebugString(), "");
    EXPECT_TRUE(filter->Matches(v1::Record()));
  }
  EXPECT_TRUE(Filter().empty());
  EXPECT_TRUE(Filter().Matches(v1::Record()));
}

// ---------------------------------------------------------------------------
// Evaluation against three records.

google::type::Date Day(int year, int month, int day) {
  google::type::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

v1::Event* AddEvent(v1::Record* record, const google::type::Date& start) {
  v1::Event* event = record->add_events();
  *event->mutable_start_date() = start;
  return event;
}

// seoul: FY2019, sister city, events 2019-06-17..19 and October 2019.
v1::Record SeoulRecord() {
  v1::Record record;
  record.set_name("seoul");
  record.set_fiscal_year(2019);
  record.set_category(v1::CATEGORY_SISTER_CITY_EXCHANGE);
  record.mutable_city()->set_id("seoul");
  record.mutable_bureau()->set_id("policy-planning");
  record.set_department("外務部");
  record.add_mentioned_cities()->set_id("seoul");
  *AddEvent(&record, Day(2019, 6, 17))->mutable_end_date() = Day(2019, 6, 19);
  AddEvent(&record, Day(2019, 10, 0));
  return record;
}

// port: FY2018, sister port, unassigned, events January 2020 and 2019-04-25.
v1::Record PortRecord() {
  v1::Record record;
  record.set_name("port");
  record.set_fiscal_year(2018);
  record.set_category(v1::CATEGORY_SISTER_PORT_EXCHANGE);
  record.mutable_city()->set_id("unassigned");
  record.mutable_bureau()->set_id("ports");
  record.set_department("港湾経営部");
  record.add_mentioned_cities()->set_id("new-york");
  record.add_mentioned_cities()->set_id("new-south-wales");
  AddEvent(&record, Day(2020, 1, 0));
  AddEvent(&record, Day(2019, 4, 25));
  return record;
}

// blank: every field unset.
v1::Record BlankRecord() {
  v1::Record record;
  record.set_name("blank");
  return record;
}

struct MatchCase {
  std::string filter;
  // Names of the records that match, in the order seoul, port, blank.
  std::string matches;
};

// ctest names parameterized tests after the printed parameter: keep it short.
void PrintTo(const MatchCase& c, std::ostream* os) { *os << '"' << c.filter.substr(0, 40) << '"'; }

class MatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(MatchTest, MatchesTheExpectedRecords) {
  absl::StatusOr<Filter> filter = Filter::Parse(GetParam().filter);
  ASSERT_TRUE(filter.ok()) << filter.status();
  std::vector<std::string> matched;
  for (const v1::Record& record :
       {SeoulRecord(), PortRecord(), BlankRecord()}) {
    if (filter->Matches(record)) matched.push_back(record.name());
  }
  EXPECT_EQ(absl::StrJoin(matched, " "), GetParam().matches)
      << filter->DebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Fields, MatchTest,
    ::testing::Values(
        MatchCase{"fiscal_year = 2019", "seoul"},
        MatchCase{"fiscal_year != 2019", "port blank"},
        MatchCase{"fiscal_year < 2019", "port blank"},
        MatchCase{"fiscal_year <= 2019", "seoul port blank"},
        MatchCase{"fiscal_year > 2018", "seoul"},
        MatchCase{"fiscal_year >= 2018", "seoul port"},
        MatchCase{"category = SISTER_PORT_EXCHANGE", "port"},
        MatchCase{"category = CATEGORY_SISTER_PORT_EXCHANGE", "port"},
        MatchCase{"category != SISTER_PORT_EXCHANGE", "seoul blank"},
        MatchCase{"category = UNSPECIFIED", "blank"},
        MatchCase{"department = 外務部", "seoul"},
        MatchCase{"department != \"外務部\"", "port blank"},
        MatchCase{"city = seoul", "seoul"},
        MatchCase{"city != seoul", "port blank"},
        MatchCase{"city = unassigned", "port"},
        MatchCase{"bureau = ports", "port"},
        MatchCase{"bureau != ports", "seoul blank"},
        MatchCase{"mentioned_city = new-south-wales", "port"},
        MatchCase{"mentioned_city = seoul", "seoul"},
        MatchCase{"mentioned_city != seoul", "port blank"},
        MatchCase{"mentioned_city = paris", ""}));

INSTANTIATE_TEST_SUITE_P(
    Logic, MatchTest,
    ::testing::Values(
        MatchCase{"fiscal_year = 2019 OR bureau = ports", "seoul port"},
        MatchCase{"NOT city = seoul", "port blank"},
        MatchCase{"-(city = seoul OR city = unassigned)", "blank"},
        MatchCase{"city = seoul fiscal_year = 2018", ""},
        MatchCase{"city = seoul AND fiscal_year = 2019", "seoul"},
        // AND binds tighter: (2000 AND seoul) OR unassigned.
        // OR binds tighter: the same as the parenthesized form below.
        MatchCase{"fiscal_year = 2000 AND city = seoul OR city = unassigned",
                  ""},
        MatchCase{"(fiscal_year = 2000 AND city = seoul) OR city = unassigned",
                  "port"},
        MatchCase{"fiscal_year = 2000 AND (city = seoul OR city = unassigned)",
                  ""}));

// seoul's events cover [2019-06-17, 2019-06-19] and [2019-10-01, 2019-10-31];
// port's [2020-01-01, 2020-01-31] and [2019-04-25, 2019-04-25].
INSTANTIATE_TEST_SUITE_P(
    EventDates, MatchTest,
    ::testing::Values(
        MatchCase{"event_date = 2019-06-18", "seoul"},
        MatchCase{"event_date = 2019-06-17", "seoul"},
        MatchCase{"event_date = 2019-06-20", ""},
        MatchCase{"event_date = 2019-06", "seoul"},
        MatchCase{"event_date = 2019-10-15", "seoul"},
        MatchCase{"event_date = 2020-01-31", "port"},
        MatchCase{"event_date = 2019-04", "port"},
        MatchCase{"event_date != 2019-06-18", "port blank"},
        MatchCase{"event_date >= 2020-01-15", "port"},
        MatchCase{"event_date >= 2019-10-31", "seoul port"},
        MatchCase{"event_date >= 2020-02", ""},
        MatchCase{"event_date >= 2019-10", "seoul port"},
        MatchCase{"event_date > 2019-10", "port"},
        MatchCase{"event_date > 2019-10-30", "seoul port"},
        MatchCase{"event_date <= 2019-04-25", "port"},
        MatchCase{"event_date <= 2019-04-24", ""},
        MatchCase{"event_date <= 2019-06", "seoul port"},
        MatchCase{"event_date < 2019-06-17", "port"},
        MatchCase{"event_date < 2019-06", "port"},
        MatchCase{"event_date < 2019-04", ""},
        // Comparisons joined by AND are met by one event: port has one
        // event after June 2019 and another before it, none in June.
        MatchCase{"event_date >= 2019-06-01 AND event_date <= 2019-06-30",
                  "seoul"},
        MatchCase{"event_date = 2019-06", "seoul"},
        MatchCase{"event_date <= 2019-06-30 event_date >= 2019-06-01", "seoul"},
        MatchCase{"(event_date >= 2019-06-01 AND fiscal_year >= 2018) AND "
                  "(event_date <= 2019-06-30)",
                  "seoul"},
        MatchCase{"event_date > 2019-05 AND event_date < 2019-07", "seoul"},
        // An event spanning several days meets a range it overlaps.
        MatchCase{"event_date >= 2019-06-19 AND event_date <= 2019-06-30",
                  "seoul"},
        MatchCase{"event_date >= 2019-06-20 AND event_date <= 2019-09-30", ""},
        MatchCase{"event_date >= 2019-04-01 AND event_date < 2019-05", "port"},
        // Under OR or NOT, and for !=, each comparison stands alone.
        MatchCase{"event_date < 2019-06 OR event_date > 2019-12", "port"},
        MatchCase{"NOT (event_date >= 2019-06-01 AND event_date <= 2019-06-30)",
                  "port blank"},
        MatchCase{"event_date >= 2019-04-01 AND NOT event_date >= 2019-05-01",
                  ""},
        MatchCase{"event_date >= 2019-04-01 AND event_date != 2019-06", "port"},
        MatchCase{"(event_date >= 2019-06-01 OR city = x) AND "
                  "event_date <= 2019-04-30",
                  "port"}));

// MatchesEvent: the record with one event alone.
TEST(FilterTest, MatchesEventLooksAtThatEventAlone) {
  struct Case {
    std::string filter;
    // Events of seoul then port that match, as "s0 s1 p0 p1".
    std::string events;
  };
  const std::vector<Case> cases = {
      {"", "s0 s1 p0 p1"},
      {"fiscal_year = 2019", "s0 s1"},
      {"event_date = 2019-06", "s0"},
      {"event_date >= 2019-06-01 AND event_date <= 2019-06-30", "s0"},
      {"event_date >= 2019-10", "s1 p0"},
      {"event_date != 2019-06", "s1 p0 p1"},
      {"city = seoul OR event_date = 2019-04", "s0 s1 p1"},
      {"NOT event_date = 2020-01", "s0 s1 p1"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Filter> filter = Filter::Parse(c.filter);
    ASSERT_TRUE(filter.ok()) << filter.status();
    EXPECT_EQ(filter->has_event_date(),
              c.filter.find("event_date") != std::string::npos)
        << c.filter;
    std::vector<std::string> matched;
    for (const auto& [prefix, record] :
         {std::pair{"s", SeoulRecord()}, std::pair{"p", PortRecord()}}) {
      for (int i = 0; i < record.events_size(); ++i) {
        if (filter->MatchesEvent(record, i))
          matched.push_back(absl::StrCat(prefix, i));
      }
      EXPECT_FALSE(filter->MatchesEvent(record, record.events_size()));
      EXPECT_FALSE(filter->MatchesEvent(record, -1));
    }
    EXPECT_EQ(absl::StrJoin(matched, " "), c.events) << c.filter;
  }
}

// ---------------------------------------------------------------------------
// Resolving names.

// Knows the city "seoul" as ソウル and Seoul, "ports" as 港湾局, and a name
// that two cities share.
class FakeNames final : public NameResolver {
 public:
  std::vector<std::string> CityIds(absl::string_view value) const override {
    if (value == "seoul" || value == "ソウル" || value == "Seoul")
      return {"seoul"};
    if (value == "unassigned") return {"unassigned"};
    if (value == "Springfield") return {"springfield-il", "springfield-ma"};
    return {};
  }
  std::vector<std::string> BureauIds(absl::string_view value) const override {
    if (value == "ports" || value == "港湾局") return {"ports"};
    return {};
  }
};

TEST(FilterTest, ResolveReplacesNamesByIds) {
  absl::StatusOr<Filter> parsed = Filter::Parse(
      "city = ソウル OR (bureau = 港湾局 AND mentioned_city != Seoul) OR "
      "fiscal_year = 2019");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<Filter> resolved = parsed->Resolve(FakeNames());
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->DebugString(),
            "OR(city = \"seoul\", AND(bureau = \"ports\", "
            "mentioned_city != \"seoul\"), fiscal_year = 2019)");
  // The original is unchanged.
  EXPECT_EQ(parsed->DebugString(),
            "OR(city = \"ソウル\", AND(bureau = \"港湾局\", "
            "mentioned_city != \"Seoul\"), fiscal_year = 2019)");
  EXPECT_TRUE(resolved->Matches(SeoulRecord()));
  EXPECT_TRUE(Filter().Resolve(FakeNames())->empty());
}

// A long unknown name is quoted short (a prefix and its length): errors
// travel in trailers, which clients cap.
TEST(FilterTest, ResolveQuotesALongUnknownNameShort) {
  std::string name;
  for (int i = 0; i < 1900; ++i) name += "あ";  // Filters are 2000 characters at most.
  absl::StatusOr<Filter> parsed = Filter::Parse("city = \"" + name + "\"");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<Filter> resolved = parsed->Resolve(FakeNames());
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(ReasonOf(resolved.status()), "INVALID_FILTER");
  EXPECT_LT(resolved.status().message().size(), 512u);
  EXPECT_THAT(std::string(resolved.status().message()),
              HasSubstr("(5700 bytes)"));
}

TEST(FilterTest, ResolveRejectsUnknownAndAmbiguousNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"city = Atlantis", "column 8: no city is named \"Atlantis\""},
      {"fiscal_year = 2019 AND -bureau = 環境局",
       "column 34: no bureau is named \"環境局\""},
      {"city = seoul OR mentioned_city = \"Paris\"",
       "column 34: no city is named \"Paris\""},
      {"bureau = seoul", "column 10: no bureau is named \"seoul\""},
      {"city = Springfield",
       "column 8: \"Springfield\" may name the cities springfield-il, "
       "springfield-ma; use one of these IDs"},
  };
  for (const auto& [text, description] : cases) {
    SCOPED_TRACE(text);
    absl::StatusOr<Filter> parsed = Filter::Parse(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    absl::StatusOr<Filter> resolved = parsed->Resolve(FakeNames());
    ASSERT_FALSE(resolved.ok());
    EXPECT_EQ(resolved.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(resolved.status()), "INVALID_FILTER");
    const std::vector<FieldViolation> violations =
        ViolationsOf(resolved.status());
    ASSERT_THAT(violations, SizeIs(1));
    EXPECT_EQ(violations[0].field, "filter");
    EXPECT_THAT(violations[0].description, StartsWith(description));
  }
}

TEST(FilterTest, EventShapes) {
  absl::StatusOr<Filter> in_march = Filter::Parse("event_date = 2021-03");
  ASSERT_TRUE(in_march.ok()) << in_march.status();

  v1::Record record;
  v1::Event* event = record.add_events();  // no dates at all
  EXPECT_FALSE(in_march->Matches(record));

  *event->mutable_end_date() = Day(2021, 3, 5);  // only an end date
  EXPECT_TRUE(in_march->Matches(record));

  event->Clear();
  *event->mutable_start_date() = Day(2021, 0, 0);  // the whole year
  EXPECT_TRUE(in_march->Matches(record));

  event->Clear();
  *event->mutable_start_date() = Day(2021, 2, 20);  // spans into March
  *event->mutable_end_date() = Day(2021, 3, 0);
  EXPECT_TRUE(in_march->Matches(record));
  absl::StatusOr<Filter> late = Filter::Parse("event_date >= 2021-03-31");
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_TRUE(late->Matches(record));  // the end is the last day of March
}

// ---------------------------------------------------------------------------
// Errors: InvalidArgument, reason INVALID_FILTER, one violation on "filter".

struct ErrorCase {
  std::string filter;
  // A substring of the violation's description, beginning with the column.
  std::string description;
};

// ctest names parameterized tests after the printed parameter: keep it short.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << '"' << c.filter.substr(0, 40) << '"'; }

class ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorTest, IsInvalidFilter) {
  absl::StatusOr<Filter> filter = Filter::Parse(GetParam().filter);
  ASSERT_FALSE(filter.ok()) << filter->DebugString();
  const absl::Status& status = filter.status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(status), "INVALID_FILTER");
  const std::vector<FieldViolation> violations = ViolationsOf(status);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field, "filter");
  EXPECT_THAT(violations[0].description, StartsWith("column "));
  EXPECT_THAT(violations[0].description, HasSubstr(GetParam().description));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(violations[0].description));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ErrorTest,
    ::testing::Values(
        ErrorCase{"foo = 1",
                  "column 1: unknown field \"foo\"; known fields: "
                  "fiscal_year, category, department, city, bureau, "
                  "mentioned_city, event_date"},
        ErrorCase{"city = seoul and bureau = x",
                  "column 14: unknown field \"and\" (the keywords AND, OR "
                  "and NOT are upper case)"},
        ErrorCase{"department = \"外務部\" AND foo = 1",
                  "column 24: unknown field \"foo\""},
        ErrorCase{"category < SISTER_PORT_EXCHANGE",
                  "column 10: operator \"<\" is not allowed for category; "
                  "use = or !="},
        ErrorCase{"city >= a", "column 6: operator \">=\" is not allowed"},
        ErrorCase{"mentioned_city > a",
                  "column 16: operator \">\" is not allowed"},
        ErrorCase{"category = SISTER",
                  "column 12: \"SISTER\" is not a category; valid values: "
                  "UNSPECIFIED, SISTER_CITY_EXCHANGE, SISTER_PORT_EXCHANGE, "
                  "OTHER"},
        ErrorCase{"category = 2", "column 12: \"2\" is not a category"},
        ErrorCase{"fiscal_year = 2019x",
                  "column 15: fiscal_year must be an integer, got \"2019x\""},
        ErrorCase{"fiscal_year = 99999999999",
                  "column 15: fiscal_year must be an integer"},
        ErrorCase{"fiscal_year = \"twenty\"",
                  "column 15: fiscal_year must be an integer"},
        ErrorCase{"event_date = 2019-13-01",
                  "column 14: \"2019-13-01\" is not a date; expected "
                  "YYYY-MM-DD or YYYY-MM"},
        ErrorCase{"event_date = 2019-02-29", "column 14: \"2019-02-29\""},
        ErrorCase{"event_date = 2019-6-1", "column 14: \"2019-6-1\""},
        ErrorCase{"event_date < 19-06-01", "column 14: \"19-06-01\""},
        ErrorCase{"event_date = 2019", "column 14: \"2019\" is not a date"},
        ErrorCase{"event_date >= 2019/06/01",
                  "column 19: unexpected character \"/\""}));

INSTANTIATE_TEST_SUITE_P(
    Syntax, ErrorTest,
    ::testing::Values(
        ErrorCase{"(city = seoul",
                  "column 14: expected \")\" to close the \"(\" at column 1"},
        ErrorCase{"((city = seoul)",
                  "column 16: expected \")\" to close the \"(\" at column 1"},
        ErrorCase{"city = seoul)", "column 13: unmatched \")\""},
        ErrorCase{")", "column 1: expected a comparison or \"(\", got \")\""},
        ErrorCase{"city = seoul = x",
                  "column 14: unexpected \"=\"; expected AND, OR or the end "
                  "of the filter"},
        ErrorCase{"(city = seoul = x)",
                  "column 15: unexpected \"=\"; expected AND, OR or \")\""},
        ErrorCase{"()", "column 1: empty expression inside parentheses"},
        ErrorCase{"city = seoul AND ( )",
                  "column 18: empty expression inside parentheses"},
        ErrorCase{"fiscal_year =", "column 14: expected a value after \"=\""},
        ErrorCase{"fiscal_year = AND city = x",
                  "column 15: expected a value after \"=\", got \"AND\""},
        ErrorCase{"fiscal_year = (2019)",
                  "column 15: expected a value after \"=\", got \"(\""},
        ErrorCase{"fiscal_year 2019",
                  "column 13: expected an operator (=, !=, <, <=, >, >=) "
                  "after \"fiscal_year\", got \"2019\""},
        ErrorCase{"fiscal_year", "column 12: expected an operator"},
        ErrorCase{"city = seoul AND",
                  "column 17: expected a comparison or \"(\" after \"AND\""},
        ErrorCase{"city = seoul OR OR city = x",
                  "column 17: expected a comparison or \"(\" after \"OR\", "
                  "got \"OR\""},
        ErrorCase{"OR city = x",
                  "column 1: expected a comparison or \"(\", got \"OR\""},
        ErrorCase{"NOT NOT city = x",
                  "column 5: expected a comparison or \"(\" after \"NOT\", "
                  "got \"NOT\""},
        ErrorCase{"city = seoul -",
                  "column 15: expected a comparison or \"(\" after \"-\""},
        ErrorCase{"\"city\" = seoul",
                  "column 1: expected a comparison or \"(\", got the string "
                  "\"city\""},
        ErrorCase{"city = \"seoul", "column 8: unterminated string"},
        ErrorCase{"city = \"se\\oul\"",
                  "column 11: unsupported escape in a string"},
        ErrorCase{"city ! seoul",
                  "column 6: unexpected \"!\"; did you mean \"!=\"?"},
        ErrorCase{"city:seoul",
                  "column 5: unexpected character \":\"; the has operator is "
                  "not supported"},
        ErrorCase{"city = \xff", "column 1: the filter is not valid UTF-8"}));

INSTANTIATE_TEST_SUITE_P(
    Limits, ErrorTest,
    ::testing::Values(
        ErrorCase{std::string(2001, 'a'),
                  "column 2001: the filter is longer than 2000 characters"},
        ErrorCase{std::string(100000, 'a'),
                  "column 2001: the filter is longer"},
        ErrorCase{std::string(10000, '('), "column 2001: the filter is longer"},
        ErrorCase{std::string(1000, '(') + std::string(1000, ')'),
                  "column 65: parentheses nested deeper than 64"},
        ErrorCase{std::string(65, '(') + "city = x" + std::string(65, ')'),
                  "column 65: parentheses nested deeper than 64"},
        ErrorCase{absl::StrCat(std::string(64, '('), "-(city = x)",
                               std::string(64, ')')),
                  "column 66: parentheses nested deeper than 64"}));

TEST(FilterTest, HostileInputIsRejectedWithoutDeepRecursion) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "((((";
  for (const std::string& text :
       {deep, std::string(100000, '-'), std::string(1999, '-'),
        std::string(1999, '('),
        absl::StrCat("city = \"", std::string(99990, 'x')), [] {
          std::string nots;
          while (nots.size() < 1990) nots += "NOT ";
          return nots + "city = x";
        }()}) {
    absl::StatusOr<Filter> filter = Filter::Parse(text);
    ASSERT_FALSE(filter.ok());
    EXPECT_EQ(ReasonOf(filter.status()), "INVALID_FILTER");
  }
}

TEST(FilterTest, LimitsAreInclusive) {
  // 2000 characters, non-ASCII ones counted once.
  std::string text = "department = 外務部";
  text += std::string(2000 - 16, ' ');
  absl::StatusOr<Filter> filter = Filter::Parse(text);
  ASSERT_TRUE(filter.ok()) << filter.status();

  filter =
      Filter::Parse(std::string(64, '(') + "city = x" + std::string(64, ')'));
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->DebugString(), "city = \"x\"");

  // A long flat chain within the limit evaluates without trouble.
  const std::string link = "city != x OR ";
  const std::string last = "city = seoul";
  std::string chain;
  while (chain.size() + link.size() + last.size() <= 2000) chain += link;
  chain += last;
  ASSERT_GT(chain.size(), 1980u);
  filter = Filter::Parse(chain);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->Matches(SeoulRecord()));
}

// ---------------------------------------------------------------------------
// Index hints.

struct RequiredCase {
  std::string filter;
  std::optional<int> fiscal_year;
  std::optional<std::string> city;
  std::optional<std::string> bureau;
};

// ctest names parameterized tests after the printed parameter: keep it short.
void PrintTo(const RequiredCase& c, std::ostream* os) { *os << '"' << c.filter.substr(0, 40) << '"'; }

class RequiredTest : public ::testing::TestWithParam<RequiredCase> {};

TEST_P(RequiredTest, ExtractsTopLevelEqualities) {
  absl::StatusOr<Filter> filter = Filter::Parse(GetParam().filter);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->RequiredFiscalYear(), GetParam().fiscal_year);
  EXPECT_EQ(filter->RequiredCity(), GetParam().city);
  EXPECT_EQ(filter->RequiredBureau(), GetParam().bureau);
}

INSTANTIATE_TEST_SUITE_P(
    Filters, RequiredTest,
    ::testing::Values(
        RequiredCase{"", std::nullopt, std::nullopt, std::nullopt},
        RequiredCase{"fiscal_year = 2019", 2019, std::nullopt, std::nullopt},
        RequiredCase{"fiscal_year = 2019 AND city = seoul AND bureau = ports",
                     2019, "seoul", "ports"},
        RequiredCase{"city = seoul fiscal_year = 2019", 2019, "seoul",
                     std::nullopt},
        RequiredCase{"(fiscal_year = 2019 AND city = seoul) AND bureau = x",
                     2019, "seoul", "x"},
        RequiredCase{"(fiscal_year = 2019 OR city = seoul) AND bureau = x",
                     std::nullopt, std::nullopt, "x"},
        RequiredCase{"category = OTHER AND (city = a OR city = b) AND "
                     "city = c",
                     std::nullopt, "c", std::nullopt},
        RequiredCase{"fiscal_year = 2019 AND fiscal_year = 2020", 2019,
                     std::nullopt, std::nullopt},
        RequiredCase{"fiscal_year >= 2019", std::nullopt, std::nullopt,
                     std::nullopt},
        RequiredCase{"city != seoul", std::nullopt, std::nullopt, std::nullopt},
        RequiredCase{"fiscal_year = 2019 OR city = seoul", std::nullopt,
                     std::nullopt, std::nullopt},
        RequiredCase{"NOT fiscal_year = 2019 AND -bureau = x", std::nullopt,
                     std::nullopt, std::nullopt},
        RequiredCase{"mentioned_city = seoul", std::nullopt, std::nullopt,
                     std::nullopt}));

TEST(FilterTest, CopiesShareTheTree) {
  absl::StatusOr<Filter> parsed = Filter::Parse("city = seoul");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Filter copy = *parsed;
  parsed = Filter::Parse("city = paris");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(copy.Matches(SeoulRecord()));
  EXPECT_FALSE(parsed->Matches(SeoulRecord()));
}

}  // namespace
}  // namespace kouryu::query
