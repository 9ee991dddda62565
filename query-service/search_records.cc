#include "query-service/search_records.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/text.h"
#include "query-service/page_token.h"
#include "query-service/record_wire.h"
#include "query-service/search.h"
#include "query-service/search_text.h"

namespace kouryu::query {
namespace {

constexpr int kDefaultSearchPageSize = 20;
constexpr size_t kMaxQueryBytes = 1000;

}  // namespace

absl::StatusOr<SearchPlan> PlanSearch(const v1::SearchRecordsRequest& request) {
  if (request.query().size() > kMaxQueryBytes) {
    return BadField(
        "INVALID_QUERY", "query",
        absl::StrCat("the query is ", request.query().size(),
                     " bytes; at most ", kMaxQueryBytes, " are accepted"));
  }
  std::string query = FoldForSearch(request.query());
  if (query.empty())
    return BadField("INVALID_QUERY", "query", "query is required");
  absl::StatusOr<Parent> parent = ParseParentField(request.parent());
  if (!parent.ok()) return parent.status();
  absl::StatusOr<Filter> filter = Filter::Parse(request.filter());
  if (!filter.ok()) return filter.status();
  absl::StatusOr<int> page_size =
      PageSize(request.page_size(), kDefaultSearchPageSize);
  if (!page_size.ok()) return page_size.status();
  const uint64_t fingerprint = RequestFingerprint(
      absl::StrCat(request.parent(), "\x1f", query), request.filter(), "");
  absl::StatusOr<std::string> after =
      DecodePageToken(request.page_token(), fingerprint);
  if (!after.ok()) return after.status();
  const v1::RecordView view = request.view() == v1::RECORD_VIEW_UNSPECIFIED
                                  ? v1::RECORD_VIEW_BASIC
                                  : request.view();
  return SearchPlan{std::move(query),
                    *std::move(parent),
                    *std::move(filter),
                    view,
                    static_cast<size_t>(*page_size),
                    fingerprint,
                    *std::move(after)};
}

absl::StatusOr<v1::SearchRecordsResponse> SearchRecordsPage(
    const Replica& replica, const SearchPlan& plan, size_t max_response_bytes,
    const CancelledFn& cancelled) {
  std::unique_ptr<Replica::SearchReader> reader = replica.NewSearchReader();
  SearchSpec spec;
  spec.folded_query = plan.folded_query;
  spec.parent = plan.parent;
  spec.filter = &plan.filter;
  spec.after = plan.after;
  spec.page_size = plan.page_size;
  absl::StatusOr<SearchPage> page = Search(*reader, spec, cancelled);
  if (absl::IsCancelled(page.status())) return Cancelled();
  if (!page.ok()) return page.status();

  v1::SearchRecordsResponse response;
  const size_t budget = RecordBudget(max_response_bytes);
  size_t bytes = 0;
  bool more = page->more;
  const std::string* last_position = nullptr;
  for (const SearchHit& hit : page->hits) {
    absl::StatusOr<v1::Record> record = reader->GetByKey(hit.key);
    if (!record.ok()) return record.status();
    v1::SearchResult* result = response.add_results();
    result->set_score(hit.score);
    result->set_snippet(Snippet(*record, plan.folded_query));
    ApplyView(plan.view, *record);
    *result->mutable_record() = *std::move(record);
    constexpr size_t kFieldOverhead = 6;  // tag + length varint
    const size_t size = result->ByteSizeLong() + kFieldOverhead;
    if (bytes + size > budget) {
      if (response.results_size() == 1) {
        return TooLarge(result->record().name(), size, budget);
      }
      // This result starts the next page.
      response.mutable_results()->RemoveLast();
      more = true;
      break;
    }
    bytes += size;
    last_position = &hit.position;
  }
  if (more && last_position != nullptr) {
    response.set_next_page_token(
        EncodePageToken(plan.fingerprint, *last_position));
  }
  response.set_total_size(
      static_cast<int32_t>(std::min<int64_t>(page->total, INT32_MAX)));
  response.set_total_size_estimated(page->estimated);
  return response;
}

}  // namespace kouryu::query
