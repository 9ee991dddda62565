#ifndef KOURYU_QUERY_SERVICE_REQUEST_FIELDS_H_
#define KOURYU_QUERY_SERVICE_REQUEST_FIELDS_H_

// What the query methods share in checking a request and bounding an
// answer. Errors are INVALID_ARGUMENT with an ErrorInfo reason and a
// BadRequest naming the field (common/status.h), unless said otherwise.

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/keys.h"
#include "query-service/filter.h"
#include "query-service/names.h"

namespace kouryu::query {

inline constexpr int kMaxPageSize = 1000;

// Polled now and then by long reads; true stops them.
using CancelledFn = std::function<bool()>;

// INVALID_ARGUMENT with `reason`, `description` as the message and as the
// BadRequest description of `field`.
absl::Status BadField(absl::string_view reason, absl::string_view field,
                      absl::string_view description);

// `requested` page_size: 0 is `default_size`, larger than kMaxPageSize is
// kMaxPageSize; INVALID_PAGE_SIZE when negative.
absl::StatusOr<int> PageSize(int requested, int default_size);

// A request's parent; "" is "cities/-". INVALID_PARENT when it is not one.
absl::StatusOr<Parent> ParseParentField(const std::string& parent);

// Checks the parent's city and bureau and resolves the names in `filter`
// (the errors of Names::CheckParent and Filter::Resolve). Called once
// min_sequence is reached, so that records just written count.
absl::Status ResolveNames(const Names& names, const Parent& parent,
                          Filter& filter);

// The bytes a list or search response may give to its records, out of
// `max_response_bytes`: room is left for its other fields.
size_t RecordBudget(size_t max_response_bytes);

// RESOURCE_EXHAUSTED, reason RESPONSE_TOO_LARGE: the record `name` alone
// takes `bytes`, more than a response may carry (`limit`).
absl::Status TooLarge(absl::string_view name, size_t bytes, size_t limit);

// DEADLINE_EXCEEDED: a read stopped because the call was cancelled or its
// deadline passed.
absl::Status Cancelled();

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_REQUEST_FIELDS_H_
