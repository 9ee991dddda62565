// ExtractEvents as a table of cases: each row an item (NFKC-normalized, as
// ParseResults gives it), its fiscal year, and the events the rules in
// events.h give for it, worked out by hand from those rules.

#include "ingest-service/events.h"

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu::ingest {
namespace {

using ::testing::ElementsAreArray;

// "START..END KIND PARTICIPANTS", dates as YYYY-MM-DD (day 00: a month).
std::string Describe(const v1::Event& e) {
  auto date = [](const google::type::Date& d) {
    return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
  };
  return absl::StrFormat(
      "%s..%s %s %d", date(e.start_date()), date(e.end_date()),
      absl::StripPrefix(v1::EventKind_Name(e.kind()), "EVENT_KIND_"),
      e.participants());
}

struct Case {
  const char* name;
  const char* item;
  int fiscal_year;
  std::vector<std::string> events;  // Describe() of each, in text order.
  // The text of each event, when the case is about texts.
  std::vector<std::string> texts = {};
};

const Case kCases[] = {
    {"NoDate", "姉妹都市との関係強化に向けた取組", 2019, {}},
    {"OneDay",
     "4月25日、ソウル市長が来都",
     2019,
     {"2019-04-25..2019-04-25 RECEIVED 0"}},
    {"RangeWithinAMonth",
     "6月17日から19日まで、職員4名を派遣",
     2019,
     {"2019-06-17..2019-06-19 DISPATCHED 4"}},
    {"RangeAcrossMonthsWithWeekday",
     "10月22日(火・祝)から12月1日まで、都市の魅力を紹介する展示",
     2019,
     {"2019-10-22..2019-12-01 OTHER 0"}},
    {"WaveDashIsKara",
     "9月1日〜3日 研修",
     2019,
     {"2019-09-01..2019-09-03 OTHER 0"}},
    {"TildeIsKara",
     "9月1日~9月3日 研修",
     2019,
     {"2019-09-01..2019-09-03 OTHER 0"}},
    {"TwoDaysJoinedByOyobi",
     "10月3日及び4日、視察団4名を受入",
     2019,
     {"2019-10-03..2019-10-04 RECEIVED 4"}},
    {"TwoDaysJoinedByTouten",
     "11月5日、6日に意見交換",
     2019,
     {"2019-11-05..2019-11-06 MEETING 0"}},
    {"MonthWithoutDay",
     "6月、フォーラムに参加",
     2019,
     {"2019-06-00..2019-06-00 MEETING 0"}},
    {"JanuaryToMarchAreTheNextCalendarYear",
     "1月15日、知事が会談",
     2019,
     {"2020-01-15..2020-01-15 MEETING 0"}},
    {"RangeOverNewYear",
     "12月20日から1月10日まで派遣",
     2019,
     {"2019-12-20..2020-01-10 DISPATCHED 0"}},
    {"WesternYearAsGiven",
     "2019年4月1日、協定を締結",
     2018,
     {"2019-04-01..2019-04-01 AGREEMENT 0"}},
    {"NotDates", "3ヶ月の研修、12か月の派遣、6カ月の受入、13月1日", 2019, {}},
    {"FirstRuleWins",
     "10月1日、来日した代表団と協定を締結",
     2019,
     {"2019-10-01..2019-10-01 AGREEMENT 0"}},
    {"ParticipantsAddUp",
     "11月5日、代表団各3名、職員2人を受入",
     2019,
     {"2019-11-05..2019-11-05 RECEIVED 5"}},
    {"OneGroupSharesItsClause",
     "7月1日と7月3日に会議を開催。報告書を作成。",
     2019,
     {"2019-07-01..2019-07-01 MEETING 0", "2019-07-03..2019-07-03 MEETING 0"},
     {"7月1日と7月3日に会議を開催。", "7月1日と7月3日に会議を開催。"}},
    {"TwoGroupsAreTwoPieces",
     "【行政交流】5月10日、北京市へ職員2名派遣。8月1日、北京市から3名受入。",
     2019,
     {"2019-05-10..2019-05-10 DISPATCHED 2",
      "2019-08-01..2019-08-01 RECEIVED 3"},
     {"【行政交流】5月10日、北京市へ職員2名派遣。",
      "8月1日、北京市から3名受入。"}},
    {"NoFullStopTakesTheWholePiece",
     "【文化交流】9月9日、公演",
     2019,
     {"2019-09-09..2019-09-09 OTHER 0"},
     {"【文化交流】9月9日、公演"}},
};

class ExtractEventsTest : public ::testing::TestWithParam<Case> {};

TEST_P(ExtractEventsTest, GivesTheEventsOfTheRules) {
  const Case& c = GetParam();
  std::vector<v1::Event> events = ExtractEvents(c.item, c.fiscal_year);
  std::vector<std::string> described;
  std::vector<std::string> texts;
  for (const v1::Event& e : events) {
    described.push_back(Describe(e));
    texts.push_back(e.text());
  }
  EXPECT_THAT(described, ElementsAreArray(c.events)) << c.item;
  if (!c.texts.empty()) {
    EXPECT_THAT(texts, ElementsAreArray(c.texts));
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, ExtractEventsTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace kouryu::ingest
