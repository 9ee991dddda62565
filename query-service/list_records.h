#ifndef KOURYU_QUERY_SERVICE_LIST_RECORDS_H_
#define KOURYU_QUERY_SERVICE_LIST_RECORDS_H_

// ListRecords without gRPC: a request checked into a ListPlan, and the page
// it asks for, read from the replica.
//
// In name order (the scan order, reversed for desc) a page starts after the
// page token's key. Without a filter it reads one page and the replica's
// maintained count; with one it scans the whole parent to count the
// matches. In any other order every match is collected and sorted by its
// position (sort key, then scan key), and the page starts after the token's
// position. A page ends early, with a next_page_token, rather than pass the
// response's byte budget.

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

// order_by: one field, then optionally "asc" or "desc".
struct Order {
  enum class Field { kName, kFiscalYear, kUpdateTime, kTitle };
  Field field = Field::kName;
  bool descending = false;
};

// A checked ListRecords request.
struct ListPlan {
  Parent parent;
  Filter filter;
  Order order;
  v1::RecordView view = v1::RECORD_VIEW_UNSPECIFIED;  // BASIC
  size_t page_size = 0;
  uint64_t fingerprint = 0;  // the request's, in page tokens
  std::string after;         // the page token's position; "" for page one

  // A page in name order without a filter reads one page and a maintained
  // count; anything else may scan the whole parent.
  bool cheap() const {
    return filter.empty() && order.field == Order::Field::kName;
  }
};

// INVALID_ARGUMENT naming the field (INVALID_PARENT, INVALID_FILTER,
// INVALID_ORDER_BY, INVALID_PAGE_SIZE, or a page token made for another
// request). The filter's names are not resolved yet (ResolveNames).
absl::StatusOr<ListPlan> PlanList(const v1::ListRecordsRequest& request);

// The serialized v1::ListRecordsResponse `plan` asks for, its records as
// stored (record_wire.h). `plan.filter` must be resolved. Records and
// page token take at most RecordBudget(max_response_bytes); a single record
// larger than that is RESPONSE_TOO_LARGE. Cancelled() when `cancelled`
// returns true; STORAGE_CORRUPTED when a stored record does not parse.
absl::StatusOr<std::string> ListRecordsPage(const Replica& replica,
                                            const ListPlan& plan,
                                            size_t max_response_bytes,
                                            const CancelledFn& cancelled);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_LIST_RECORDS_H_
