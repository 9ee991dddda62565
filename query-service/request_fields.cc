#include "query-service/request_fields.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kouryu::query {

absl::Status BadField(absl::string_view reason, absl::string_view field,
                      absl::string_view description) {
  return InvalidArgumentError(reason, description,
                              {{std::string(field), std::string(description)}});
}

absl::StatusOr<int> PageSize(int requested, int default_size) {
  if (requested < 0) {
    return BadField("INVALID_PAGE_SIZE", "page_size",
                    absl::StrCat("page_size ", requested, " is negative"));
  }
  return requested == 0 ? default_size : std::min(requested, kMaxPageSize);
}

absl::StatusOr<Parent> ParseParentField(const std::string& parent) {
  absl::StatusOr<Parent> parsed =
      ParseParent(parent.empty() ? "cities/-" : parent);
  if (!parsed.ok()) {
    return BadField("INVALID_PARENT", "parent", parsed.status().message());
  }
  return parsed;
}

absl::Status ResolveNames(const Names& names, const Parent& parent,
                          Filter& filter) {
  if (absl::Status known = names.CheckParent(parent); !known.ok()) {
    return known;
  }
  absl::StatusOr<Filter> resolved = filter.Resolve(names);
  if (!resolved.ok()) return resolved.status();
  filter = *std::move(resolved);
  return absl::OkStatus();
}

// Room left in a list or search response for its fields other than the
// records (next_page_token, total_size).
constexpr size_t kResponseReserve = 4096;

size_t RecordBudget(size_t max_response_bytes) {
  return max_response_bytes > 2 * kResponseReserve
             ? max_response_bytes - kResponseReserve
             : max_response_bytes / 2;
}

absl::Status TooLarge(absl::string_view name, size_t bytes, size_t limit) {
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "record ", name.substr(0, 200), " takes ", bytes,
          " bytes in this view; a response carries at most ", limit)),
      "RESPONSE_TOO_LARGE");
}

absl::Status Cancelled() {
  return absl::Status(absl::StatusCode::kDeadlineExceeded,
                      "the call was cancelled or its deadline passed");
}

}  // namespace kouryu::query
