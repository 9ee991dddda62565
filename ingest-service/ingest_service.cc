#include "ingest-service/ingest_service.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "ingest-service/table_reader.h"

namespace kouryu::ingest {
namespace {

// Changes sent per SubscribeResponse at most.
constexpr size_t kChangesPerResponse = 512;
// How often a Subscribe stream with nothing to send checks for cancellation.
constexpr absl::Duration kIdleCheck = absl::Seconds(1);

struct Counts {
  int created = 0, updated = 0, unchanged = 0, rejected = 0;

  void Add(v1::Outcome outcome) {
    switch (outcome) {
      case v1::OUTCOME_CREATED: ++created; break;
      case v1::OUTCOME_UPDATED: ++updated; break;
      case v1::OUTCOME_UNCHANGED: ++unchanged; break;
      default: ++rejected; break;
    }
  }

  template <typename Response>
  void CopyTo(Response* response) const {
    response->set_created_count(created);
    response->set_updated_count(updated);
    response->set_unchanged_count(unchanged);
    response->set_rejected_count(rejected);
  }
};

void Reject(v1::RowResult* result, const absl::Status& status) {
  result->set_outcome(v1::OUTCOME_REJECTED);
  std::vector<FieldViolation> violations = ViolationsOf(status);
  if (violations.empty()) violations.push_back({"", std::string(status.message())});
  for (const FieldViolation& v : violations) {
    auto* out = result->add_violations();
    out->set_field(v.field);
    out->set_description(v.description);
  }
}

// Normalizes rows, then writes the valid ones in one batch and fills
// `results` (one per row, in order) and the counts. With `atomic`, any
// rejected row fails the whole call with every violation.
template <typename Response>
absl::Status NormalizeAndWrite(
    const Normalizer& normalizer, Store& store,
    const std::vector<std::pair<int, v1::RawRecord>>& rows,
    const std::vector<v1::SourceRef>& sources, absl::string_view path_root,
    bool validate_only, bool atomic, Response* response) {
  std::vector<v1::Record> valid;
  std::vector<size_t> valid_index;
  std::vector<FieldViolation> all_violations;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [row_number, raw] = rows[i];
    v1::RowResult* result = response->add_results();
    result->set_row(row_number);
    absl::StatusOr<v1::Record> record = normalizer.Normalize(
        raw, sources[i], absl::StrCat(path_root, "[", row_number, "]."));
    if (!record.ok()) {
      Reject(result, record.status());
      for (FieldViolation& v : ViolationsOf(record.status())) {
        all_violations.push_back(std::move(v));
      }
      continue;
    }
    result->set_name(record->name());
    valid.push_back(*std::move(record));
    valid_index.push_back(i);
  }
  if (atomic && !all_violations.empty()) {
    return InvalidArgumentError(
        "INVALID_ROWS",
        absl::StrCat(all_violations.size(),
                     " problem(s); nothing was written (atomic). First: ",
                     all_violations.front().field, " ",
                     all_violations.front().description),
        all_violations);
  }
  uint64_t sequence = 0;
  absl::StatusOr<std::vector<UpsertResult>> written =
      store.Upsert(std::move(valid), validate_only, &sequence);
  if (!written.ok()) return written.status();
  for (size_t j = 0; j < written->size(); ++j) {
    response->mutable_results(valid_index[j])->set_outcome((*written)[j].outcome);
  }
  Counts counts;
  for (const v1::RowResult& r : response->results()) counts.Add(r.outcome());
  counts.CopyTo(response);
  response->set_sequence(sequence);
  return absl::OkStatus();
}

}  // namespace

grpc::Status IngestServiceImpl::UpsertRecord(
    grpc::ServerContext* context, const v1::UpsertRecordRequest* request,
    v1::UpsertRecordResponse* response) {
  absl::StatusOr<v1::Record> record =
      normalizer_.Normalize(request->record(), v1::SourceRef(), "record.");
  if (!record.ok()) return ToGrpcStatus(record.status());
  uint64_t sequence = 0;
  std::vector<v1::Record> records;
  records.push_back(*std::move(record));
  absl::StatusOr<std::vector<UpsertResult>> written =
      store_.Upsert(std::move(records), request->validate_only(), &sequence);
  if (!written.ok()) return ToGrpcStatus(written.status());
  *response->mutable_record() = std::move(written->front().record);
  response->set_outcome(written->front().outcome);
  response->set_sequence(sequence);
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::IngestRecords(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::IngestRecordsRequest>* reader,
    v1::IngestRecordsResponse* response) {
  std::vector<std::pair<int, v1::RawRecord>> rows;
  std::vector<v1::SourceRef> sources;
  v1::IngestRecordsRequest request;
  bool validate_only = false;
  while (reader->Read(&request)) {
    if (rows.empty()) validate_only = request.validate_only();
    rows.emplace_back(static_cast<int>(rows.size() + 1),
                      std::move(*request.mutable_record()));
    sources.emplace_back();
  }
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
  }
  return ToGrpcStatus(NormalizeAndWrite(normalizer_, store_, rows, sources,
                                        "records", validate_only,
                                        /*atomic=*/false, response));
}

grpc::Status IngestServiceImpl::ImportTable(
    grpc::ServerContext* context, const v1::ImportTableRequest* request,
    v1::ImportTableResponse* response) {
  if (!request->encoding().empty() && request->encoding() != "UTF-8" &&
      request->encoding() != "utf-8") {
    return ToGrpcStatus(InvalidArgumentError(
        "UNSUPPORTED_ENCODING",
        absl::StrCat("encoding \"", request->encoding(),
                     "\" is not supported; use UTF-8"),
        {{"encoding", "only UTF-8 is supported"}}));
  }
  absl::StatusOr<Table> table = ReadTable(request->content());
  if (!table.ok()) return ToGrpcStatus(table.status());
  int fiscal_year =
      request->fiscal_year() != 0 ? request->fiscal_year() : table->fiscal_year;
  if (fiscal_year == 0) {
    return ToGrpcStatus(InvalidArgumentError(
        "FISCAL_YEAR_UNKNOWN",
        absl::StrCat("the header (line ", table->header_line,
                     ") names no fiscal year and the request gives none"),
        {{"fiscal_year", "set it, or name the year in the header (R元年度)"}}));
  }
  response->set_fiscal_year(fiscal_year);

  std::vector<std::pair<int, v1::RawRecord>> rows;
  std::vector<v1::SourceRef> sources;
  std::vector<FieldViolation> shape_problems;
  for (const TableRow& row : table->rows) {
    v1::RawRecord raw;
    raw.set_fiscal_year(fiscal_year);
    if (row.cells.size() != 4) {
      shape_problems.push_back(
          {absl::StrCat("rows[", row.line, "]"),
           absl::StrCat("has ", row.cells.size(), " columns; expected 4")});
    }
    std::string* fields[] = {raw.mutable_category(), raw.mutable_department(),
                             raw.mutable_title(), raw.mutable_results()};
    for (size_t i = 0; i < 4 && i < row.cells.size(); ++i) *fields[i] = row.cells[i];
    v1::SourceRef source;
    source.set_file_name(request->file_name());
    source.set_row(row.line);
    rows.emplace_back(row.line, std::move(raw));
    sources.push_back(std::move(source));
  }
  if (!shape_problems.empty()) {
    return ToGrpcStatus(InvalidArgumentError(
        "WRONG_COLUMN_COUNT",
        absl::StrCat(shape_problems.front().field, " ",
                     shape_problems.front().description),
        shape_problems));
  }
  return ToGrpcStatus(NormalizeAndWrite(normalizer_, store_, rows, sources,
                                        "rows", request->validate_only(),
                                        request->atomic(), response));
}

grpc::Status IngestServiceImpl::DeleteRecord(
    grpc::ServerContext* context, const v1::DeleteRecordRequest* request,
    v1::DeleteRecordResponse* response) {
  absl::StatusOr<uint64_t> sequence =
      store_.Delete(request->name(), request->etag());
  if (!sequence.ok()) return ToGrpcStatus(sequence.status());
  response->set_sequence(*sequence);
  return grpc::Status::OK;
}

grpc::Status ChangeFeedImpl::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  uint64_t cursor = request->after_sequence();
  uint64_t head = store_.HeadSequence();
  if (cursor > head) {
    return ToGrpcStatus(WithReason(
        absl::OutOfRangeError(absl::StrCat(
            "after_sequence ", cursor, " is past the changelog head ", head)),
        "SEQUENCE_AHEAD_OF_HEAD"));
  }
  while (!context->IsCancelled()) {
    size_t limit = kChangesPerResponse;
    if (request->until_head()) {
      if (cursor >= head) return grpc::Status::OK;
      limit = std::min<uint64_t>(limit, head - cursor);
    }
    absl::StatusOr<std::vector<v1::Change>> changes =
        store_.ReadChanges(cursor, limit);
    if (!changes.ok()) return ToGrpcStatus(changes.status());
    if (changes->empty()) {
      if (request->until_head()) return grpc::Status::OK;
      if (store_.stopping()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the ingest server is shutting down");
      }
      store_.WaitForChangesAfter(cursor, absl::Now() + kIdleCheck);
      continue;
    }
    v1::SubscribeResponse response;
    cursor = changes->back().sequence();
    for (v1::Change& change : *changes) {
      *response.add_changes() = std::move(change);
    }
    response.set_head_sequence(store_.HeadSequence());
    if (!writer->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace kouryu::ingest
