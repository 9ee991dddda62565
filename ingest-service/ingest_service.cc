#include "ingest-service/ingest_service.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/quote.h"
#include "common/status.h"
#include "ingest-service/encoding.h"
#include "ingest-service/table_reader.h"

namespace kouryu::ingest {
namespace {

// Changes sent per SubscribeResponse at most.
constexpr size_t kChangesPerResponse = 512;
// How often a Subscribe stream with nothing to send checks for cancellation.
constexpr absl::Duration kIdleCheck = absl::Seconds(1);
// Records per SubscribeResponse of a snapshot.
constexpr int kRecordsPerSnapshotPart = 256;
// Bytes per SubscribeResponse at most, besides the counts above, so that a
// batch of large records goes in several responses. A single change (or
// record) larger than this goes alone; kMaxMessageBytes (common/server.h),
// the server's send limit and a replica's receive limit, bounds it.
constexpr size_t kBytesPerResponse = size_t{4} << 20;

// Adds one change or record of `size` bytes to a response holding `bytes`
// so far (`items` of them): false when it must start the next response
// instead. Counts the field's tag and length and leaves room for the
// response's other fields.
bool Fits(size_t& bytes, int items, size_t size) {
  constexpr size_t kFieldOverhead = 6;       // tag + length varint
  constexpr size_t kResponseOverhead = 64;   // head_sequence, snapshot header
  size += kFieldOverhead;
  if (items > 0 && bytes + size > kBytesPerResponse - kResponseOverhead) {
    return false;
  }
  bytes += size;
  return true;
}

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

struct WriteOptions {
  // "rows" or "records": field paths read rows[N].title.
  absl::string_view path_root;
  bool validate_only = false;
  bool atomic = false;
  bool strict = false;
};

void AddViolations(const std::vector<FieldViolation>& violations,
                   google::protobuf::RepeatedPtrField<
                       google::rpc::BadRequest::FieldViolation>* out) {
  for (const FieldViolation& v : violations) {
    auto* added = out->Add();
    added->set_field(v.field);
    added->set_description(v.description);
  }
}

void Reject(v1::RowResult* result, const absl::Status& status) {
  result->set_outcome(v1::OUTCOME_REJECTED);
  std::vector<FieldViolation> violations = ViolationsOf(status);
  if (violations.empty()) violations.push_back({"", std::string(status.message())});
  AddViolations(violations, result->mutable_violations());
}

// Normalizes `rows`, then writes the valid ones in one batch, appending one
// RowResult per row (in order) to the response. With `atomic`, any rejected
// row fails the whole call with every violation and writes nothing.
template <typename Response>
absl::Status NormalizeAndWrite(
    const Normalizer& normalizer, Store& store,
    const std::vector<std::pair<int, v1::RawRecord>>& rows,
    const std::vector<v1::SourceRef>& sources, const WriteOptions& options,
    Response* response) {
  std::vector<v1::Record> valid;
  std::vector<v1::RowResult*> valid_results;
  std::vector<FieldViolation> all_violations;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [row_number, raw] = rows[i];
    v1::RowResult* result = response->add_results();
    result->set_row(row_number);
    std::string prefix = absl::StrCat(options.path_root, "[", row_number, "].");
    absl::StatusOr<NormalizedRecord> normalized = normalizer.Normalize(
        raw, sources[i], {.field_prefix = prefix, .strict = options.strict});
    if (!normalized.ok()) {
      Reject(result, normalized.status());
      for (FieldViolation& v : ViolationsOf(normalized.status())) {
        all_violations.push_back(std::move(v));
      }
      continue;
    }
    result->set_name(normalized->record.name());
    AddViolations(normalized->warnings, result->mutable_warnings());
    valid.push_back(std::move(normalized->record));
    valid_results.push_back(result);
  }
  if (options.atomic && !all_violations.empty()) {
    return InvalidArgumentError(
        "INVALID_ROWS",
        absl::StrCat(all_violations.size(),
                     " problem(s); nothing was written (atomic). First: ",
                     all_violations.front().field, " ",
                     all_violations.front().description),
        all_violations,
        {{"violations", absl::StrCat(all_violations.size())}});
  }
  uint64_t sequence = 0;
  absl::StatusOr<std::vector<UpsertResult>> written =
      store.Upsert(std::move(valid), options.validate_only, &sequence);
  if (!written.ok()) return written.status();
  for (size_t j = 0; j < written->size(); ++j) {
    valid_results[j]->set_outcome((*written)[j].outcome);
  }
  response->set_sequence(sequence);
  return absl::OkStatus();
}

template <typename Response>
void SetCounts(Response* response) {
  Counts counts;
  for (const v1::RowResult& r : response->results()) counts.Add(r.outcome());
  counts.CopyTo(response);
}

// For each column of the table, the RawRecord field it fills (0 category,
// 1 department, 2 title, 3 results) or -1 to ignore it.
absl::StatusOr<std::vector<int>> ColumnLayout(
    const v1::ImportTableRequest& request) {
  if (request.columns().empty()) return std::vector<int>{0, 1, 2, 3};
  static constexpr absl::string_view kFields[] = {"category", "department",
                                                  "title", "results"};
  std::vector<int> layout;
  std::vector<bool> seen(4, false);
  for (int i = 0; i < request.columns_size(); ++i) {
    const std::string& name = request.columns(i);
    int index = -1;
    for (int f = 0; f < 4; ++f) {
      if (name == kFields[f]) index = f;
    }
    if (index < 0 && !name.empty()) {
      return InvalidArgumentError(
          "INVALID_COLUMNS", absl::StrCat("unknown column ", QuoteValue(name)),
          {{absl::StrCat("columns[", i, "]"),
            "expected category, department, title, results or \"\""}});
    }
    if (index >= 0 && seen[index]) {
      return InvalidArgumentError(
          "INVALID_COLUMNS",
          absl::StrCat("column ", QuoteValue(name), " named twice"),
          {{absl::StrCat("columns[", i, "]"), "named twice"}});
    }
    if (index >= 0) seen[index] = true;
    layout.push_back(index);
  }
  return layout;
}

}  // namespace

grpc::Status IngestServiceImpl::UpsertRecord(
    grpc::ServerContext* context, const v1::UpsertRecordRequest* request,
    v1::UpsertRecordResponse* response) {
  absl::StatusOr<NormalizedRecord> normalized = normalizer_.Normalize(
      request->record(), v1::SourceRef(),
      {.field_prefix = "record.", .strict = request->strict()});
  if (!normalized.ok()) return ToGrpcStatus(normalized.status());
  uint64_t sequence = 0;
  std::vector<v1::Record> records;
  records.push_back(std::move(normalized->record));
  absl::StatusOr<std::vector<UpsertResult>> written =
      store_.Upsert(std::move(records), request->validate_only(), &sequence);
  if (!written.ok()) return ToGrpcStatus(written.status());
  *response->mutable_record() = std::move(written->front().record);
  response->set_outcome(written->front().outcome);
  response->set_sequence(sequence);
  AddViolations(normalized->warnings, response->mutable_warnings());
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::IngestRecords(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::IngestRecordsRequest>* reader,
    v1::IngestRecordsResponse* response) {
  // Rows are written in batches as they arrive, so a long stream holds at
  // most one batch in memory; each batch is atomic on its own.
  constexpr size_t kBatchRows = 512;
  std::vector<std::pair<int, v1::RawRecord>> rows;
  std::vector<v1::SourceRef> sources;
  WriteOptions options{.path_root = "records"};
  uint64_t last_sequence = 0;
  int count = 0;
  auto flush = [&]() -> absl::Status {
    if (rows.empty()) return absl::OkStatus();
    absl::Status written = NormalizeAndWrite(normalizer_, store_, rows,
                                             sources, options, response);
    last_sequence = response->sequence();
    rows.clear();
    sources.clear();
    return written;
  };
  v1::IngestRecordsRequest request;
  while (reader->Read(&request)) {
    if (count++ == 0) {
      options.validate_only = request.validate_only();
      options.strict = request.strict();
    }
    rows.emplace_back(count, std::move(*request.mutable_record()));
    sources.emplace_back();
    if (rows.size() == kBatchRows) {
      absl::Status status = flush();
      if (!status.ok()) return ToGrpcStatus(status);
    }
  }
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
  }
  absl::Status status = flush();
  if (!status.ok()) return ToGrpcStatus(status);
  SetCounts(response);
  response->set_sequence(count == 0 ? store_.HeadSequence() : last_sequence);
  return grpc::Status::OK;
}

grpc::Status IngestServiceImpl::ImportTable(
    grpc::ServerContext* context, const v1::ImportTableRequest* request,
    v1::ImportTableResponse* response) {
  absl::StatusOr<std::vector<int>> layout = ColumnLayout(*request);
  if (!layout.ok()) return ToGrpcStatus(layout.status());
  absl::StatusOr<DecodedText> decoded =
      DecodeTable(request->content(), request->encoding());
  if (!decoded.ok()) return ToGrpcStatus(decoded.status());
  response->set_encoding(decoded->encoding);
  absl::StatusOr<Table> table = ReadTable(
      decoded->utf8, {.has_header = !request->no_header(),
                      .check_header = request->columns().empty()});
  if (!table.ok()) return ToGrpcStatus(table.status());
  int fiscal_year =
      request->fiscal_year() != 0 ? request->fiscal_year() : table->fiscal_year;
  if (fiscal_year == 0) {
    return ToGrpcStatus(InvalidArgumentError(
        "FISCAL_YEAR_UNKNOWN",
        "the header names no fiscal year and the request gives none",
        {{"fiscal_year",
          "set fiscal_year, or name the year in the header (R元年度, "
          "令和2年度, 2019年度)"}}));
  }
  response->set_fiscal_year(fiscal_year);

  std::vector<std::pair<int, v1::RawRecord>> rows;
  std::vector<v1::SourceRef> sources;
  std::vector<FieldViolation> shape_problems;
  for (const TableRow& row : table->rows) {
    if (row.cells.size() != layout->size()) {
      shape_problems.push_back(
          {absl::StrCat("rows[", row.line, "]"),
           absl::StrCat("has ", row.cells.size(), " columns; expected ",
                        layout->size())});
      continue;
    }
    v1::RawRecord raw;
    raw.set_fiscal_year(fiscal_year);
    std::string* fields[] = {raw.mutable_category(), raw.mutable_department(),
                             raw.mutable_title(), raw.mutable_results()};
    for (size_t i = 0; i < layout->size(); ++i) {
      if ((*layout)[i] >= 0) *fields[(*layout)[i]] = row.cells[i];
    }
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
                     shape_problems.front().description,
                     "; nothing was written"),
        shape_problems,
        {{"expectedColumns", absl::StrCat(layout->size())},
         {"violations", absl::StrCat(shape_problems.size())}}));
  }
  absl::Status written = NormalizeAndWrite(
      normalizer_, store_, rows, sources,
      {.path_root = "rows",
       .validate_only = request->validate_only(),
       .atomic = request->atomic(),
       .strict = request->strict()},
      response);
  if (!written.ok()) return ToGrpcStatus(written);
  SetCounts(response);
  return grpc::Status::OK;
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
  const uint64_t head = store_.HeadSequence();
  if (cursor > head) {
    return ToGrpcStatus(WithReason(
        absl::OutOfRangeError(absl::StrCat(
            "after_sequence ", cursor, " is past the changelog head ", head)),
        "SEQUENCE_AHEAD_OF_HEAD"));
  }
  if (cursor + 1 < store_.FirstRetained()) {
    // The changes the caller needs are gone: send every record as of one
    // sequence, then the changes after it.
    absl::StatusOr<uint64_t> sent = SendSnapshot(context, writer);
    if (!sent.ok()) return ToGrpcStatus(sent.status());
    cursor = *sent;
  }
  {
    // Tell the subscriber where the head is, even when nothing follows, so
    // that it knows when it has caught up.
    v1::SubscribeResponse hello;
    hello.set_head_sequence(store_.HeadSequence());
    if (!writer->Write(hello)) return grpc::Status::OK;
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
    // Sequences of failed writes are never used, so a gap alone means
    // nothing; a gap below the retained changelog means they were trimmed
    // while this stream fell behind.
    if (changes->front().sequence() != cursor + 1 &&
        cursor + 1 < store_.FirstRetained()) {
      return ToGrpcStatus(WithReason(
          absl::AbortedError(absl::StrCat(
              "the changelog was trimmed past sequence ", cursor,
              " while this stream was behind; subscribe again")),
          "CHANGELOG_TRIMMED"));
    }
    cursor = changes->back().sequence();
    v1::SubscribeResponse response;
    size_t bytes = 0;
    for (v1::Change& change : *changes) {
      if (!Fits(bytes, response.changes_size(), change.ByteSizeLong())) {
        response.set_head_sequence(store_.HeadSequence());
        if (!writer->Write(response)) return grpc::Status::OK;
        response.Clear();
        bytes = 0;
        Fits(bytes, 0, change.ByteSizeLong());
      }
      *response.add_changes() = std::move(change);
    }
    response.set_head_sequence(store_.HeadSequence());
    if (!writer->Write(response)) break;
  }
  return grpc::Status::OK;
}

absl::StatusOr<uint64_t> ChangeFeedImpl::SendSnapshot(
    grpc::ServerContext* context,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  absl::StatusOr<std::unique_ptr<StoreSnapshot>> snapshot = store_.OpenSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  const uint64_t sequence = (*snapshot)->sequence();
  v1::SubscribeResponse response;
  size_t bytes = 0;
  bool first = true;
  bool open = true;
  auto send = [&](bool last) {
    v1::SnapshotPart* part = response.mutable_snapshot();
    part->set_sequence(sequence);
    part->set_first(first);
    part->set_last(last);
    response.set_head_sequence(store_.HeadSequence());
    open = writer->Write(response);
    response.Clear();
    bytes = 0;
    first = false;
  };
  absl::Status status = (*snapshot)->ForEach(
      [&](absl::string_view key, v1::Record& record) {
        const size_t size = record.ByteSizeLong();
        if (!Fits(bytes, response.snapshot().records_size(), size)) {
          send(/*last=*/false);
          if (!open) return false;
          Fits(bytes, 0, size);
        }
        *response.mutable_snapshot()->add_records() = std::move(record);
        if (response.snapshot().records_size() == kRecordsPerSnapshotPart) {
          send(/*last=*/false);
        }
        return open && !context->IsCancelled();
      });
  if (!status.ok()) return status;
  if (open && !context->IsCancelled()) send(/*last=*/true);
  if (!open || context->IsCancelled()) {
    return absl::CancelledError("the subscriber went away during a snapshot");
  }
  return sequence;
}

grpc::Status ChangeFeedImpl::GetDigest(grpc::ServerContext* context,
                                       const v1::GetDigestRequest* request,
                                       v1::Digest* response) {
  absl::StatusOr<StoreDigest> digest = store_.Digest();
  if (!digest.ok()) return ToGrpcStatus(digest.status());
  response->set_sequence(digest->sequence);
  response->set_record_count(digest->record_count);
  response->set_digest(digest->digest);
  return grpc::Status::OK;
}

}  // namespace kouryu::ingest
