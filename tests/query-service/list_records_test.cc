// ListRecords' plan and pages over a real replica, against orders and
// counts computed from the records themselves.

#include "query-service/list_records.h"

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/server.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/query-service/replica_fixture.h"

namespace kouryu::query {
namespace {

using ::kouryu::query::testing::NewRecord;
using ::kouryu::query::testing::ReplicaWithRecords;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr int kRecords = 40;

RecordName NameOf(int i) {
  const char* cities[] = {"seoul", "busan", "paris"};
  const char* bureaus[] = {"education", "environment"};
  return {cities[i % 3], bureaus[(i / 3) % 2], absl::StrCat("r", i)};
}

// Titles, years and update times repeat, so that ties are broken by name.
v1::Record RecordOf(int i) {
  v1::Record record = NewRecord(NameOf(i));
  record.set_title(absl::StrCat("title ", (i * 5) % 7));
  record.set_fiscal_year(2015 + i % 5);
  record.mutable_update_time()->set_seconds(1'600'000'000 + (i * 37) % 23);
  record.mutable_update_time()->set_nanos((i * 11) % 3);
  record.set_source_html(std::string(100, 'x'));
  return record;
}

std::vector<v1::Record> Dataset() {
  std::vector<v1::Record> records;
  for (int i = 0; i < kRecords; ++i) records.push_back(RecordOf(i));
  return records;
}

// The records that `matches`, in the order `order_by` asks for: by the
// field, then by name as (city, bureau, record ID); desc reverses both.
std::vector<std::string> Expected(
    const std::string& order_by,
    const std::function<bool(const v1::Record&)>& matches) {
  std::vector<v1::Record> records;
  for (const v1::Record& r : Dataset()) {
    if (matches(r)) records.push_back(r);
  }
  auto by_name = [](const v1::Record& r) {
    RecordName n = *ParseRecordName(r.name());
    return std::make_tuple(n.city, n.bureau, n.record);
  };
  const std::string field = order_by.substr(0, order_by.find(' '));
  std::stable_sort(
      records.begin(), records.end(),
      [&](const v1::Record& a, const v1::Record& b) {
        if (field == "fiscal_year" && a.fiscal_year() != b.fiscal_year()) {
          return a.fiscal_year() < b.fiscal_year();
        }
        if (field == "title" && a.title() != b.title()) {
          return a.title() < b.title();
        }
        if (field == "update_time") {
          auto time = [](const v1::Record& r) {
            return std::make_pair(r.update_time().seconds(),
                                  r.update_time().nanos());
          };
          if (time(a) != time(b)) return time(a) < time(b);
        }
        return by_name(a) < by_name(b);
      });
  if (absl::EndsWith(order_by, " desc")) {
    std::reverse(records.begin(), records.end());
  }
  std::vector<std::string> names;
  for (const v1::Record& r : records) names.push_back(r.name());
  return names;
}

class ListRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(replica_.ok()); }

  absl::StatusOr<v1::ListRecordsResponse> Page(
      const v1::ListRecordsRequest& request,
      size_t max_response_bytes = kMaxMessageBytes) {
    absl::StatusOr<ListPlan> plan = PlanList(request);
    if (!plan.ok()) return plan.status();
    absl::Status resolved =
        ResolveNames(replica_.names(), plan->parent, plan->filter);
    if (!resolved.ok()) return resolved;
    absl::StatusOr<std::string> bytes = ListRecordsPage(
        replica_.replica(), *plan, max_response_bytes, [] { return false; });
    if (!bytes.ok()) return bytes.status();
    v1::ListRecordsResponse response;
    EXPECT_TRUE(response.ParseFromString(*bytes));
    return response;
  }

  // Every page of `request`, following its tokens; the names in page order.
  std::vector<std::string> AllPages(
      v1::ListRecordsRequest request, size_t expected_total,
      size_t max_response_bytes = kMaxMessageBytes) {
    std::vector<std::string> names;
    for (int pages = 0; pages < 100; ++pages) {
      absl::StatusOr<v1::ListRecordsResponse> page =
          Page(request, max_response_bytes);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return names;
      EXPECT_EQ(page->total_size(), static_cast<int>(expected_total));
      EXPECT_LE(page->records_size(), request.page_size());
      for (const v1::Record& r : page->records()) names.push_back(r.name());
      if (page->next_page_token().empty()) return names;
      EXPECT_GT(page->records_size(), 0);
      request.set_page_token(page->next_page_token());
    }
    ADD_FAILURE() << "the pages do not end";
    return names;
  }

  ReplicaWithRecords replica_{Dataset()};
};

TEST_F(ListRecordsTest, EveryOrderAndFilterPagesThroughEachMatchOnce) {
  const std::vector<
      std::pair<std::string, std::function<bool(const v1::Record&)>>>
      filters = {
          {"", [](const v1::Record&) { return true; }},
          {"fiscal_year >= 2017",
           [](const v1::Record& r) { return r.fiscal_year() >= 2017; }},
          {"city = busan",
           [](const v1::Record& r) { return r.city().id() == "busan"; }},
      };
  for (const std::string order_by :
       {"", "name desc", "fiscal_year", "fiscal_year desc", "title",
        "title desc", "update_time", "update_time desc"}) {
    for (const auto& [filter, matches] : filters) {
      SCOPED_TRACE(
          absl::StrCat("order_by \"", order_by, "\" filter \"", filter, "\""));
      v1::ListRecordsRequest request;
      request.set_filter(filter);
      request.set_order_by(order_by);
      request.set_page_size(6);
      const std::vector<std::string> expected = Expected(order_by, matches);
      EXPECT_THAT(AllPages(request, expected.size()),
                  ElementsAreArray(expected));
    }
  }
}

TEST_F(ListRecordsTest, ParentScopesThePages) {
  v1::ListRecordsRequest request;
  request.set_parent("cities/paris/bureaus/environment");
  request.set_page_size(2);
  const std::vector<std::string> expected =
      Expected("", [](const v1::Record& r) {
        return r.city().id() == "paris" && r.bureau().id() == "environment";
      });
  ASSERT_GT(expected.size(), 2u);
  EXPECT_THAT(AllPages(request, expected.size()), ElementsAreArray(expected));
}

TEST_F(ListRecordsTest, PagesEndEarlyAtTheByteBudget) {
  // The budget of a 9000-byte response is half of it: a few FULL records.
  const size_t max_bytes = 9000;
  for (const std::string order_by : {"", "title desc"}) {
    for (const std::string filter : {"", "fiscal_year != 2016"}) {
      SCOPED_TRACE(absl::StrCat(order_by, " / ", filter));
      v1::ListRecordsRequest request;
      request.set_view(v1::RECORD_VIEW_FULL);
      request.set_order_by(order_by);
      request.set_filter(filter);
      request.set_page_size(1000);
      const std::vector<std::string> expected =
          Expected(order_by, [&](const v1::Record& r) {
            return filter.empty() || r.fiscal_year() != 2016;
          });
      absl::StatusOr<v1::ListRecordsResponse> first = Page(request, max_bytes);
      ASSERT_TRUE(first.ok()) << first.status();
      EXPECT_LT(first->records_size(), static_cast<int>(expected.size()));
      EXPECT_LE(first->ByteSizeLong(), max_bytes);
      EXPECT_THAT(AllPages(request, expected.size(), max_bytes),
                  ElementsAreArray(expected));
    }
  }
}

TEST_F(ListRecordsTest, ARecordLargerThanTheBudgetIsResourceExhausted) {
  for (const std::string order_by : {"", "fiscal_year"}) {
    v1::ListRecordsRequest request;
    request.set_view(v1::RECORD_VIEW_FULL);
    request.set_order_by(order_by);
    absl::StatusOr<v1::ListRecordsResponse> page = Page(request, 100);
    EXPECT_EQ(page.status().code(), absl::StatusCode::kResourceExhausted)
        << order_by;
    EXPECT_EQ(ReasonOf(page.status()), "RESPONSE_TOO_LARGE");
  }
}

TEST_F(ListRecordsTest, BasicViewLeavesOutTheFullOnlyFields) {
  v1::ListRecordsRequest request;
  request.set_page_size(3);
  absl::StatusOr<v1::ListRecordsResponse> page = Page(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->records_size(), 3);
  for (const v1::Record& r : page->records()) {
    EXPECT_TRUE(r.source_html().empty()) << r.name();
    EXPECT_FALSE(r.title().empty()) << r.name();
  }
}

TEST_F(ListRecordsTest, CancelledScansAreDeadlineExceeded) {
  for (const std::string order_by : {"", "title"}) {
    v1::ListRecordsRequest request;
    request.set_order_by(order_by);
    absl::StatusOr<ListPlan> plan = PlanList(request);
    ASSERT_TRUE(plan.ok()) << plan.status();
    absl::StatusOr<std::string> page = ListRecordsPage(
        replica_.replica(), *plan, kMaxMessageBytes, [] { return true; });
    EXPECT_EQ(page.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
}

TEST(ListPlanTest, BadRequestsNameTheirField) {
  struct Case {
    std::string order_by;
    std::string filter;
    int page_size;
    std::string parent;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"title sideways", "", 0, "", "INVALID_ORDER_BY"},
           {"population", "", 0, "", "INVALID_ORDER_BY"},
           {"title asc extra", "", 0, "", "INVALID_ORDER_BY"},
           {"", "", -1, "", "INVALID_PAGE_SIZE"},
           {"", "fiscal_year >", 0, "", "INVALID_FILTER"},
           {"", "", 0, "bureaus/x", "INVALID_PARENT"},
       }) {
    SCOPED_TRACE(absl::StrCat(c.order_by, c.filter, c.page_size, c.parent));
    v1::ListRecordsRequest request;
    request.set_order_by(c.order_by);
    request.set_filter(c.filter);
    request.set_page_size(c.page_size);
    request.set_parent(c.parent);
    absl::StatusOr<ListPlan> plan = PlanList(request);
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ReasonOf(plan.status()), c.reason);
  }
}

TEST(ListPlanTest, PageSizeDefaultsAndIsCapped) {
  v1::ListRecordsRequest request;
  EXPECT_EQ(PlanList(request)->page_size, 50u);
  request.set_page_size(5000);
  EXPECT_EQ(PlanList(request)->page_size, 1000u);
}

TEST_F(ListRecordsTest, ATokenIsBoundToItsRequest) {
  v1::ListRecordsRequest request;
  request.set_order_by("title");
  request.set_page_size(2);
  absl::StatusOr<v1::ListRecordsResponse> page = Page(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->next_page_token().empty());
  request.set_page_token(page->next_page_token());
  request.set_order_by("title desc");
  absl::StatusOr<ListPlan> plan = PlanList(request);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("page_token"));
}

TEST(ListPlanTest, OnlyNameOrderWithoutFilterIsCheap) {
  auto cheap = [](const std::string& order_by, const std::string& filter) {
    v1::ListRecordsRequest request;
    request.set_order_by(order_by);
    request.set_filter(filter);
    return PlanList(request)->cheap();
  };
  EXPECT_TRUE(cheap("", ""));
  EXPECT_TRUE(cheap("name desc", ""));
  EXPECT_FALSE(cheap("title", ""));
  EXPECT_FALSE(cheap("", "fiscal_year = 2019"));
}

}  // namespace
}  // namespace kouryu::query
