#ifndef KOURYU_QUERY_SERVICE_SEARCH_RECORDS_H_
#define KOURYU_QUERY_SERVICE_SEARCH_RECORDS_H_

// SearchRecords without gRPC: a request checked into a SearchPlan, and the
// response for the page Search (search.h) finds: each hit's record in the
// requested view, with its score and snippet. A page ends early, with a
// next_page_token, rather than pass the response's byte budget.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "kouryu/v1/query_service.pb.h"
#include "query-service/filter.h"
#include "query-service/replica.h"
#include "query-service/request_fields.h"

namespace kouryu::query {

// A checked SearchRecords request.
struct SearchPlan {
  std::string folded_query;  // FoldForSearch of the query; not empty
  Parent parent;
  Filter filter;
  v1::RecordView view = v1::RECORD_VIEW_BASIC;
  size_t page_size = 0;
  uint64_t fingerprint = 0;  // the request's, in page tokens
  std::string after;         // the page token's position; "" for page one
};

// INVALID_ARGUMENT naming the field: INVALID_QUERY (empty once folded, or
// longer than 1000 bytes), INVALID_PARENT, INVALID_FILTER,
// INVALID_PAGE_SIZE, or a page token made for another request. The
// filter's names are not resolved yet (ResolveNames).
absl::StatusOr<SearchPlan> PlanSearch(const v1::SearchRecordsRequest& request);

// `plan.filter` must be resolved. Results take at most
// RecordBudget(max_response_bytes); a single one larger than that is
// RESPONSE_TOO_LARGE. Cancelled() when `cancelled` returns true.
absl::StatusOr<v1::SearchRecordsResponse> SearchRecordsPage(
    const Replica& replica, const SearchPlan& plan, size_t max_response_bytes,
    const CancelledFn& cancelled);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_SEARCH_RECORDS_H_
