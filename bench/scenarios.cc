#include "bench/scenarios.h"

#include <utility>

namespace kouryu::bench {
namespace {

// Spreads consecutive call numbers over the records (Knuth's multiplicative
// hash), so that successive calls do not read neighbouring keys.
uint64_t Spread(uint64_t i, size_t size) { return (i * 2654435761ULL) % size; }

}  // namespace

const std::vector<std::string>& ListParents() {
  static const auto* parents = new std::vector<std::string>{
      "cities/-",
      "cities/seoul",
      "cities/beijing",
      "cities/paris",
      "cities/new-york",
      "cities/moscow",
      "cities/unassigned",
      "cities/-/bureaus/policy-planning",
      "cities/-/bureaus/environment",
      "cities/-/bureaus/port-harbor",
      "cities/new-south-wales/bureaus/education",
      "cities/london/bureaus/olympic-paralympic",
  };
  return *parents;
}

const std::vector<std::string>& SearchTerms() {
  static const auto* terms = new std::vector<std::string>{
      "意見交換", "派遣",   "ソウル",        "会談",     "受入",
      "rwc",      "博物館", "姉妹友好都市",  "交流事業", "都政説明",
      "パリ市",   "summer", "該当しない語句"};
  return *terms;
}

AsyncCall NullRpc(grpc::health::v1::Health::Stub& stub) {
  auto* async = stub.async();
  using grpc::health::v1::HealthCheckRequest;
  using grpc::health::v1::HealthCheckResponse;
  return UnaryCall<HealthCheckRequest, HealthCheckResponse>(
      [async](auto* context, auto* request, auto* response, auto done) {
        async->Check(context, request, response, std::move(done));
      },
      [](uint64_t, HealthCheckRequest&) {},
      [](const HealthCheckResponse& response) {
        return response.status() == HealthCheckResponse::SERVING
                   ? grpc::Status::OK
                   : grpc::Status(grpc::StatusCode::UNAVAILABLE, "not SERVING");
      });
}

AsyncCall GetRecords(v1::QueryService::Stub& stub,
                     const std::vector<std::string>& names) {
  auto* async = stub.async();
  return UnaryCall<v1::GetRecordRequest, v1::Record>(
      [async](auto* context, auto* request, auto* response, auto done) {
        async->GetRecord(context, request, response, std::move(done));
      },
      [&names](uint64_t i, v1::GetRecordRequest& request) {
        request.set_name(names[Spread(i, names.size())]);
      });
}

AsyncCall ListRecords(v1::QueryService::Stub& stub, v1::RecordView view,
                      int page_size) {
  auto* async = stub.async();
  return UnaryCall<v1::ListRecordsRequest, v1::ListRecordsResponse>(
      [async](auto* context, auto* request, auto* response, auto done) {
        async->ListRecords(context, request, response, std::move(done));
      },
      [view, page_size](uint64_t i, v1::ListRecordsRequest& request) {
        request.set_parent(ListParents()[i % ListParents().size()]);
        request.set_view(view);
        request.set_page_size(page_size);
      });
}

AsyncCall SearchRecords(v1::QueryService::Stub& stub, int page_size) {
  auto* async = stub.async();
  return UnaryCall<v1::SearchRecordsRequest, v1::SearchRecordsResponse>(
      [async](auto* context, auto* request, auto* response, auto done) {
        async->SearchRecords(context, request, response, std::move(done));
      },
      [page_size](uint64_t i, v1::SearchRecordsRequest& request) {
        request.set_query(SearchTerms()[i % SearchTerms().size()]);
        request.set_page_size(page_size);
      });
}

AsyncCall UpsertRecords(v1::IngestService::Stub& stub,
                        const TableGenerator& generator,
                        std::atomic<uint64_t>* next_row) {
  auto* async = stub.async();
  return UnaryCall<v1::UpsertRecordRequest, v1::UpsertRecordResponse>(
      [async](auto* context, auto* request, auto* response, auto done) {
        async->UpsertRecord(context, request, response, std::move(done));
      },
      [&generator, next_row](uint64_t, v1::UpsertRecordRequest& request) {
        *request.mutable_record() = generator.Row(next_row->fetch_add(1));
      },
      [](const v1::UpsertRecordResponse& response) {
        return response.outcome() == v1::OUTCOME_CREATED
                   ? grpc::Status::OK
                   : grpc::Status(grpc::StatusCode::INTERNAL,
                                  "a new row was not CREATED");
      });
}

}  // namespace kouryu::bench
