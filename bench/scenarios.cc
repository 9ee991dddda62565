#include "bench/scenarios.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kouryu::bench {
namespace {

// Spreads consecutive call numbers over the records (Knuth's multiplicative
// hash), so that successive calls do not read neighbouring keys.
uint64_t Spread(uint64_t i, size_t size) { return (i * 2654435761ULL) % size; }

using google::protobuf::internal::WireFormatLite;

// The length-delimited fields `number` of a serialized message, read
// without parsing the rest; nullopt when the message is malformed.
std::optional<std::vector<absl::string_view>> LengthDelimited(
    absl::string_view message, int number) {
  std::vector<absl::string_view> found;
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(message.data()),
      static_cast<int>(message.size()));
  for (uint32_t tag; (tag = input.ReadTag()) != 0;) {
    if (WireFormatLite::GetTagFieldNumber(tag) == number &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length;
      if (!input.ReadVarint32(&length)) return std::nullopt;
      const int at = input.CurrentPosition();
      if (!input.Skip(static_cast<int>(length))) return std::nullopt;
      found.push_back(message.substr(at, length));
    } else if (!WireFormatLite::SkipField(&input, tag)) {
      return std::nullopt;
    }
  }
  if (input.CurrentPosition() != static_cast<int>(message.size())) {
    return std::nullopt;
  }
  return found;
}

// The name of a serialized v1::Record; empty when it has none.
absl::string_view RecordName(absl::string_view record) {
  static_assert(v1::Record::kNameFieldNumber == 1);
  std::optional<std::vector<absl::string_view>> names = LengthDelimited(record, 1);
  return names && names->size() == 1 ? names->front() : absl::string_view();
}

// Whether record `name` is under `parent` ("cities/{c}", "cities/-",
// "cities/{c}/bureaus/{b}", "cities/-/bureaus/{b}").
bool UnderParent(absl::string_view name, absl::string_view parent) {
  if (!absl::StartsWith(name, "cities/")) return false;
  if (absl::StartsWith(parent, "cities/-/bureaus/")) {
    return absl::StrContains(
        name, absl::StrCat("/bureaus/", parent.substr(strlen("cities/-/bureaus/")),
                           "/records/"));
  }
  return parent == "cities/-" || absl::StartsWith(name, absl::StrCat(parent, "/"));
}

grpc::Status WrongAnswer(absl::string_view what) {
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      absl::StrCat("wrong answer: ", what));
}

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

AsyncCall GetRecords(std::shared_ptr<grpc::Channel> channel,
                     const std::vector<std::string>& names) {
  return RawAnswerCall<v1::GetRecordRequest>(
      std::move(channel), "/kouryu.v1.QueryService/GetRecord",
      [&names](uint64_t i, v1::GetRecordRequest& request) {
        request.set_name(names[Spread(i, names.size())]);
      },
      [](const v1::GetRecordRequest& request, absl::string_view record) {
        if (RecordName(record) != request.name()) {
          return WrongAnswer(absl::StrCat("not record ", request.name()));
        }
        return grpc::Status::OK;
      });
}

namespace {

// A ListRecords answer: at most page_size records, each under the parent
// (read from the wire as GetRecords does).
grpc::Status CheckPage(const v1::ListRecordsRequest& request,
                       absl::string_view answer) {
  static_assert(v1::ListRecordsResponse::kRecordsFieldNumber == 1);
  std::optional<std::vector<absl::string_view>> records =
      LengthDelimited(answer, 1);
  if (!records) return WrongAnswer("a malformed ListRecordsResponse");
  if (static_cast<int>(records->size()) > request.page_size()) {
    return WrongAnswer(absl::StrCat(records->size(), " records on a page of ",
                                    request.page_size()));
  }
  for (absl::string_view record : *records) {
    if (!UnderParent(RecordName(record), request.parent())) {
      return WrongAnswer(absl::StrCat("a record outside ", request.parent()));
    }
  }
  return grpc::Status::OK;
}

}  // namespace

AsyncCall ListRecords(std::shared_ptr<grpc::Channel> channel,
                      v1::RecordView view, int page_size) {
  return ListRecords(std::move(channel), view, page_size, ListParents());
}

AsyncCall ListRecords(std::shared_ptr<grpc::Channel> channel,
                      v1::RecordView view, int page_size,
                      const std::vector<std::string>& parents) {
  return RawAnswerCall<v1::ListRecordsRequest>(
      std::move(channel), "/kouryu.v1.QueryService/ListRecords",
      [view, page_size, &parents](uint64_t i, v1::ListRecordsRequest& request) {
        request.set_parent(parents[Spread(i, parents.size())]);
        request.set_view(view);
        request.set_page_size(page_size);
      },
      CheckPage);
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
                        const testing::TableGenerator& generator,
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
