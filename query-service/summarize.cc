#include "query-service/summarize.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/quote.h"

namespace kouryu::query {
namespace {

std::optional<GroupBy> ParseGroupBy(absl::string_view field) {
  if (field == "city") return GroupBy::kCity;
  if (field == "bureau") return GroupBy::kBureau;
  if (field == "fiscal_year") return GroupBy::kFiscalYear;
  if (field == "category") return GroupBy::kCategory;
  return std::nullopt;
}

std::string GroupValue(GroupBy group_by, const v1::Record& record) {
  switch (group_by) {
    case GroupBy::kCity:
      return record.city().id();
    case GroupBy::kBureau:
      return record.bureau().id();
    case GroupBy::kFiscalYear:
      return absl::StrCat(record.fiscal_year());
    case GroupBy::kCategory:
      return v1::Category_Name(record.category());
  }
  return "";
}

void Add(const Filter& filter, const v1::Record& record, GroupTotals& totals) {
  ++totals.records;
  for (int i = 0; i < record.events_size(); ++i) {
    if (!filter.has_event_date() || filter.MatchesEvent(record, i)) {
      totals.participants += record.events(i).participants();
    }
  }
}

}  // namespace

absl::StatusOr<SummaryPlan> PlanSummary(
    const v1::SummarizeRecordsRequest& request) {
  absl::StatusOr<Parent> parent = ParseParentField(request.parent());
  if (!parent.ok()) return parent.status();
  absl::StatusOr<Filter> filter = Filter::Parse(request.filter());
  if (!filter.ok()) return filter.status();
  std::vector<GroupBy> group_by;
  for (int i = 0; i < request.group_by_size(); ++i) {
    const std::string& field = request.group_by(i);
    const std::optional<GroupBy> key = ParseGroupBy(field);
    const std::string path = absl::StrCat("group_by[", i, "]");
    if (!key) {
      return BadField(
          "INVALID_GROUP_BY", path,
          absl::StrCat(QuoteValue(field),
                       " is not one of city, bureau, fiscal_year, category"));
    }
    if (std::find(group_by.begin(), group_by.end(), *key) != group_by.end()) {
      return BadField("INVALID_GROUP_BY", path,
                      absl::StrCat(QuoteValue(field), " appears twice"));
    }
    group_by.push_back(*key);
  }
  return SummaryPlan{*std::move(parent), *std::move(filter),
                     std::move(group_by)};
}

absl::StatusOr<Summary> Summarize(const Replica& replica,
                                  const SummaryPlan& plan,
                                  const CancelledFn& cancelled) {
  Summary summary;
  absl::Status status = replica.ForEach(
      plan.parent, "", [&](const std::string& key, v1::Record& record) {
        if ((summary.total & 1023) == 0 && cancelled()) return false;
        if (!plan.filter.Matches(record)) return true;
        ++summary.total;
        std::vector<std::string> group;
        for (GroupBy g : plan.group_by) group.push_back(GroupValue(g, record));
        Add(plan.filter, record, summary.groups[group]);
        return true;
      });
  if (status.ok() && cancelled()) status = Cancelled();
  if (!status.ok()) return status;
  return summary;
}

v1::SummarizeRecordsResponse ToResponse(const Summary& summary) {
  v1::SummarizeRecordsResponse response;
  for (const auto& [group, totals] : summary.groups) {
    v1::SummaryGroup* out = response.add_groups();
    for (const std::string& k : group) out->add_keys(k);
    out->set_record_count(static_cast<int32_t>(totals.records));
    out->set_participant_count(static_cast<int32_t>(totals.participants));
  }
  response.set_total_size(static_cast<int32_t>(summary.total));
  return response;
}

}  // namespace kouryu::query
