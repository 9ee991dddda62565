#ifndef KOURYU_QUERY_SERVICE_SUMMARIZE_H_
#define KOURYU_QUERY_SERVICE_SUMMARIZE_H_

// SummarizeRecords without gRPC: the records of a parent that match a
// filter, counted in groups by any of city, bureau, fiscal year and
// category, with the participants of their events. One scan of the parent.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "kouryu/v1/query_service.pb.h"
#include "query-service/filter.h"
#include "query-service/replica.h"
#include "query-service/request_fields.h"

namespace kouryu::query {

enum class GroupBy { kCity, kBureau, kFiscalYear, kCategory };

// A checked SummarizeRecords request.
struct SummaryPlan {
  Parent parent;
  Filter filter;
  std::vector<GroupBy> group_by;
};

// INVALID_ARGUMENT naming the field: INVALID_PARENT, INVALID_FILTER, or
// INVALID_GROUP_BY ("group_by[i]") for an unknown or repeated field. The
// filter's names are not resolved yet (ResolveNames).
absl::StatusOr<SummaryPlan> PlanSummary(
    const v1::SummarizeRecordsRequest& request);

struct GroupTotals {
  int64_t records = 0;
  // With an event_date condition in the filter, only of the events that
  // meet it (Filter::MatchesEvent).
  int64_t participants = 0;
};

struct Summary {
  // Keyed by one value per GroupBy, in the plan's order: city and bureau
  // IDs, the fiscal year in decimal, the Category value name. One group
  // with an empty key when there is no GroupBy and something matched.
  std::map<std::vector<std::string>, GroupTotals> groups;
  int64_t total = 0;  // matching records
};

// `plan.filter` must be resolved. Cancelled() when `cancelled` returns true.
absl::StatusOr<Summary> Summarize(const Replica& replica,
                                  const SummaryPlan& plan,
                                  const CancelledFn& cancelled);

v1::SummarizeRecordsResponse ToResponse(const Summary& summary);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_SUMMARIZE_H_
