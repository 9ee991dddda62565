// SummarizeRecords' plan and groups over a real replica, against totals
// computed from the records themselves.

#include "query-service/summarize.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/query-service/replica_fixture.h"

namespace kouryu::query {
namespace {

using ::kouryu::query::testing::NewRecord;
using ::kouryu::query::testing::ReplicaWithRecords;

constexpr int kRecords = 60;

v1::Event EventIn(int year, int month, int participants) {
  v1::Event event;
  event.mutable_start_date()->set_year(year);
  event.mutable_start_date()->set_month(month);
  event.mutable_start_date()->set_day(15);
  event.set_participants(participants);
  return event;
}

// Record i: one of three cities and two bureaus, four fiscal years, three
// categories, and 0 to 2 events in 2019 or 2020.
v1::Record RecordOf(int i) {
  const char* cities[] = {"seoul", "busan", "paris"};
  const char* bureaus[] = {"education", "environment"};
  v1::Record record =
      NewRecord({cities[i % 3], bureaus[(i / 3) % 2], absl::StrCat("r", i)});
  record.set_fiscal_year(2017 + i % 4);
  record.set_category(static_cast<v1::Category>(1 + i % 3));
  for (int e = 0; e < i % 3; ++e) {
    *record.add_events() =
        EventIn(2019 + (i + e) % 2, 1 + (i * 7 + e) % 12, i + 10 * e);
  }
  return record;
}

std::vector<v1::Record> Dataset() {
  std::vector<v1::Record> records;
  for (int i = 0; i < kRecords; ++i) records.push_back(RecordOf(i));
  return records;
}

class SummarizeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(replica_.ok()); }

  absl::StatusOr<Summary> Run(const v1::SummarizeRecordsRequest& request) {
    absl::StatusOr<SummaryPlan> plan = PlanSummary(request);
    if (!plan.ok()) return plan.status();
    absl::Status resolved =
        ResolveNames(replica_.names(), plan->parent, plan->filter);
    if (!resolved.ok()) return resolved;
    return Summarize(replica_.replica(), *plan, [] { return false; });
  }

  ReplicaWithRecords replica_{Dataset()};
};

using Groups = std::map<std::vector<std::string>, std::pair<int64_t, int64_t>>;

Groups GroupsOf(const Summary& summary) {
  Groups groups;
  for (const auto& [key, totals] : summary.groups) {
    groups[key] = {totals.records, totals.participants};
  }
  return groups;
}

TEST_F(SummarizeTest, GroupsEqualCountsOfTheRecords) {
  struct Case {
    std::string parent;
    std::string filter;
    std::vector<std::string> group_by;
    // The record's group, or none when it does not match.
    std::function<std::optional<std::vector<std::string>>(const v1::Record&)>
        group_of;
  };
  const std::vector<Case> cases = {
      {"",
       "",
       {},
       [](const v1::Record&) { return std::vector<std::string>{}; }},
      {"",
       "",
       {"city"},
       [](const v1::Record& r) {
         return std::vector<std::string>{r.city().id()};
       }},
      {"",
       "fiscal_year >= 2019",
       {"fiscal_year", "category"},
       [](const v1::Record& r) -> std::optional<std::vector<std::string>> {
         if (r.fiscal_year() < 2019) return std::nullopt;
         return std::vector<std::string>{absl::StrCat(r.fiscal_year()),
                                         v1::Category_Name(r.category())};
       }},
      {"cities/seoul",
       "",
       {"bureau", "city"},
       [](const v1::Record& r) -> std::optional<std::vector<std::string>> {
         if (r.city().id() != "seoul") return std::nullopt;
         return std::vector<std::string>{r.bureau().id(), r.city().id()};
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.parent, " / ", c.filter, " / ",
                              absl::StrJoin(c.group_by, ",")));
    Groups expected;
    int64_t total = 0;
    for (const v1::Record& r : Dataset()) {
      std::optional<std::vector<std::string>> group = c.group_of(r);
      if (!group) continue;
      ++total;
      auto& [records, participants] = expected[*group];
      ++records;
      for (const v1::Event& e : r.events()) participants += e.participants();
    }
    v1::SummarizeRecordsRequest request;
    request.set_parent(c.parent);
    request.set_filter(c.filter);
    for (const std::string& g : c.group_by) request.add_group_by(g);
    absl::StatusOr<Summary> summary = Run(request);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->total, total);
    EXPECT_EQ(GroupsOf(*summary), expected);
  }
}

TEST_F(SummarizeTest, AnEventDateFilterCountsOnlyTheEventsThatMeetIt) {
  Groups expected;
  int64_t total = 0;
  for (const v1::Record& r : Dataset()) {
    int64_t participants = 0;
    bool any = false;
    for (const v1::Event& e : r.events()) {
      if (e.start_date().year() == 2020) {
        any = true;
        participants += e.participants();
      }
    }
    if (!any) continue;
    ++total;
    auto& group = expected[{r.city().id()}];
    ++group.first;
    group.second += participants;
  }
  ASSERT_GT(total, 0);
  v1::SummarizeRecordsRequest request;
  request.set_filter("event_date >= 2020-01-01 event_date <= 2020-12-31");
  request.add_group_by("city");
  absl::StatusOr<Summary> summary = Run(request);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->total, total);
  EXPECT_EQ(GroupsOf(*summary), expected);
}

TEST_F(SummarizeTest, ToResponseKeepsTheKeyOrder) {
  v1::SummarizeRecordsRequest request;
  request.add_group_by("fiscal_year");
  absl::StatusOr<Summary> summary = Run(request);
  ASSERT_TRUE(summary.ok()) << summary.status();
  const v1::SummarizeRecordsResponse response = ToResponse(*summary);
  EXPECT_EQ(response.total_size(), kRecords);
  ASSERT_EQ(response.groups_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT(response.groups(i).keys(),
                ::testing::ElementsAre(absl::StrCat(2017 + i)));
    EXPECT_EQ(response.groups(i).record_count(), kRecords / 4);
  }
}

TEST_F(SummarizeTest, CancelledIsDeadlineExceeded) {
  absl::StatusOr<SummaryPlan> plan = PlanSummary({});
  ASSERT_TRUE(plan.ok()) << plan.status();
  absl::StatusOr<Summary> summary =
      Summarize(replica_.replica(), *plan, [] { return true; });
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(SummaryPlanTest, BadGroupByNamesItsIndex) {
  for (const auto& [group_by, field] :
       std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"population"}, "group_by[0]"},
           {{"city", "bureau", "city"}, "group_by[2]"},
       }) {
    v1::SummarizeRecordsRequest request;
    for (const std::string& g : group_by) request.add_group_by(g);
    absl::StatusOr<SummaryPlan> plan = PlanSummary(request);
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(plan.status()), "INVALID_GROUP_BY");
    const std::vector<FieldViolation> violations = ViolationsOf(plan.status());
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, field);
  }
}

}  // namespace
}  // namespace kouryu::query
