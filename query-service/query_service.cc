#include "query-service/query_service.h"

#include <grpcpp/server_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "common/status.h"
#include "query-service/page_token.h"

namespace kouryu::query {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

absl::Status BadField(absl::string_view reason, absl::string_view field,
                      const absl::Status& cause) {
  return InvalidArgumentError(reason, cause.message(),
                              {{std::string(field), std::string(cause.message())}});
}

// Clears what the BASIC view leaves out.
void ApplyView(v1::RecordView view, v1::Record& record) {
  if (view == v1::RECORD_VIEW_FULL) return;
  record.clear_sections();
  record.clear_events();
  record.clear_source_html();
}

}  // namespace

absl::Status QueryServiceImpl::AwaitSequence(grpc::ServerContext* context,
                                             uint64_t min_sequence) const {
  if (min_sequence == 0) return absl::OkStatus();
  absl::Time deadline = absl::Now() + options_.max_sequence_wait;
  absl::Time call_deadline = absl::FromChrono(context->deadline());
  return replica_.WaitForSequence(min_sequence,
                                  std::min(deadline, call_deadline));
}

grpc::Status QueryServiceImpl::GetRecord(grpc::ServerContext* context,
                                         const v1::GetRecordRequest* request,
                                         v1::Record* response) {
  absl::StatusOr<RecordName> name = ParseRecordName(request->name());
  if (!name.ok()) {
    return ToGrpcStatus(BadField("INVALID_NAME", "name", name.status()));
  }
  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);
  absl::StatusOr<v1::Record> record = replica_.Get(*name);
  if (!record.ok()) return ToGrpcStatus(record.status());
  *response = *std::move(record);
  return grpc::Status::OK;
}

grpc::Status QueryServiceImpl::ListRecords(
    grpc::ServerContext* context, const v1::ListRecordsRequest* request,
    v1::ListRecordsResponse* response) {
  absl::StatusOr<Parent> parent = ParseParent(request->parent());
  if (!parent.ok()) {
    return ToGrpcStatus(BadField("INVALID_PARENT", "parent", parent.status()));
  }
  if (!request->filter().empty()) {
    return ToGrpcStatus(InvalidArgumentError(
        "UNSUPPORTED_FILTER", "filter is not supported yet",
        {{"filter", "filters are not supported yet; leave it empty"}}));
  }
  if (!request->order_by().empty()) {
    return ToGrpcStatus(InvalidArgumentError(
        "UNSUPPORTED_ORDER_BY", "order_by is not supported yet",
        {{"order_by", "only the default order (by name) is supported"}}));
  }
  if (request->page_size() < 0) {
    return ToGrpcStatus(InvalidArgumentError(
        "INVALID_PAGE_SIZE", "page_size must not be negative",
        {{"page_size", absl::StrCat(request->page_size(), " is negative")}}));
  }
  int page_size = request->page_size() == 0
                      ? kDefaultPageSize
                      : std::min(request->page_size(), kMaxPageSize);
  uint64_t fingerprint = RequestFingerprint(
      request->parent(), request->filter(), request->order_by());
  absl::StatusOr<std::string> after =
      DecodePageToken(request->page_token(), fingerprint);
  if (!after.ok()) return ToGrpcStatus(after.status());

  absl::Status waited = AwaitSequence(context, request->min_sequence());
  if (!waited.ok()) return ToGrpcStatus(waited);

  absl::StatusOr<ScanPage> page = replica_.Scan(*parent, *after, page_size);
  if (!page.ok()) return ToGrpcStatus(page.status());
  absl::StatusOr<int64_t> total = replica_.Count(*parent);
  if (!total.ok()) return ToGrpcStatus(total.status());

  for (v1::Record& record : page->records) {
    ApplyView(request->view(), record);
    *response->add_records() = std::move(record);
  }
  if (!page->next_after_key.empty()) {
    response->set_next_page_token(
        EncodePageToken(fingerprint, page->next_after_key));
  }
  response->set_total_size(static_cast<int32_t>(*total));
  return grpc::Status::OK;
}

}  // namespace kouryu::query
