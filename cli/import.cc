#include "cli/import.h"

#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/channel.h"
#include "cli/errors.h"
#include "common/server.h"
#include "common/status.h"
#include "ingest-service/encoding.h"
#include "ingest-service/table_reader.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"

namespace kouryu::cli {
namespace {

// kouryu-ingest rejects an IngestRecords message above 1 MiB unparsed
// (IngestService's kMaxRowMessageBytes); such a row is rejected here
// rather than sent.
constexpr size_t kMaxRowMessageBytes = size_t{1} << 20;
// ImportTable (--atomic) carries the file in one message.
constexpr size_t kMaxAtomicFileBytes = kMaxMessageBytes - (64 << 10);

struct Problem {
  int line = 0;
  bool rejected = false;
  std::string field;
  std::string description;
};

// What one file's import did.
struct FileOutcome {
  std::string file;
  std::string encoding;
  int fiscal_year = 0;
  int rows = 0;
  int created = 0, updated = 0, unchanged = 0, rejected = 0;
  int omitted = 0;  // Rows the bounded answer has no result for.
  uint64_t sequence = 0;
  double seconds = 0;
  std::vector<Problem> problems;
};

std::string WithCommas(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string Seconds(double s) {
  if (s < 10) return absl::StrFormat("%.1fs", s);
  if (s < 90) return absl::StrFormat("%.0fs", s);
  return absl::StrFormat("%dm%02ds", static_cast<int>(s) / 60,
                         static_cast<int>(s) % 60);
}

// Progress on standard error: redrawn in place on a terminal, else a plain
// line every `interval` (and none of the terminal's control characters).
class ProgressLine {
 public:
  ProgressLine(std::string label, int64_t total, absl::Duration interval)
      : label_(std::move(label)),
        total_(total),
        terminal_(isatty(STDERR_FILENO)),
        interval_(terminal_ ? absl::Milliseconds(200) : interval),
        start_(absl::Now()),
        last_(start_) {}

  void Update(int64_t done) {
    const absl::Time now = absl::Now();
    if (now - last_ < interval_) return;
    last_ = now;
    Print(done, now, false);
  }

  void Finish(int64_t done) { Print(done, absl::Now(), true); }

 private:
  void Print(int64_t done, absl::Time now, bool final) {
    const double elapsed = absl::ToDoubleSeconds(now - start_);
    const double rate = elapsed > 0 ? done / elapsed : 0;
    std::string line = absl::StrCat(label_, ": ", WithCommas(done), " of ",
                                    WithCommas(total_), " rows sent");
    if (total_ > 0) {
      absl::StrAppend(&line, " (", done * 100 / total_, "%)");
    }
    absl::StrAppend(&line, ", ", WithCommas(static_cast<int64_t>(rate)),
                    " rows/s");
    if (final) {
      // Flow control lets the client run ahead of the server's batches.
      absl::StrAppend(&line, ", in ", Seconds(elapsed),
                      "; waiting for the server to write the last of them");
    } else if (rate > 0) {
      absl::StrAppend(&line, ", ETA ", Seconds((total_ - done) / rate));
    }
    if (terminal_) {
      std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }

  const std::string label_;
  const int64_t total_;
  const bool terminal_;
  const absl::Duration interval_;
  const absl::Time start_;
  absl::Time last_;
};

std::string BaseName(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// "records[N].title" (the N-th message) as "rows[L].title" (line L).
std::string RowPath(const std::string& field, const std::vector<int>& lines) {
  constexpr absl::string_view kPrefix = "records[";
  if (!absl::StartsWith(field, kPrefix)) return field;
  const size_t close = field.find(']');
  int index = 0;
  if (close == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(field).substr(kPrefix.size(),
                                                        close - kPrefix.size()),
                        &index) ||
      index < 1 || index > static_cast<int>(lines.size())) {
    return field;
  }
  return absl::StrCat("rows[", lines[index - 1], "]", field.substr(close + 1));
}

// Collects the problems of `results` (rows numbered by `line_of`).
template <typename Results, typename LineOf, typename PathOf>
void AddProblems(const Results& results, LineOf line_of, PathOf path_of,
                 std::vector<Problem>& problems) {
  for (const v1::RowResult& row : results) {
    for (const auto& v : row.violations()) {
      problems.push_back(
          {line_of(row.row()), true, path_of(v.field()), v.description()});
    }
    for (const auto& v : row.warnings()) {
      problems.push_back(
          {line_of(row.row()), false, path_of(v.field()), v.description()});
    }
  }
}

void PrintSummary(const FileOutcome& outcome, const ImportOptions& options) {
  if (options.format == Format::kJson || options.format == Format::kJsonl) {
    nlohmann::ordered_json json = {
        {"file", outcome.file},
        {"encoding", outcome.encoding},
        {"fiscalYear", outcome.fiscal_year},
        {"rows", outcome.rows},
        {"createdCount", outcome.created},
        {"updatedCount", outcome.updated},
        {"unchangedCount", outcome.unchanged},
        {"rejectedCount", outcome.rejected},
        {"omittedResultCount", outcome.omitted},
        {"sequence", outcome.sequence},
        {"validateOnly", options.validate_only},
        {"atomic", options.atomic},
        {"seconds", outcome.seconds},
        {"problems", nlohmann::ordered_json::array()}};
    for (const Problem& p : outcome.problems) {
      json["problems"].push_back(
          {{"line", p.line},
           {"severity", p.rejected ? "rejected" : "warning"},
           {"field", p.field},
           {"description", p.description}});
    }
    std::printf("%s\n",
                json.dump(options.format == Format::kJson ? 2 : -1).c_str());
    return;
  }
  const std::string what =
      absl::StrCat(outcome.file, " (", outcome.encoding, ", fiscal year ",
                   outcome.fiscal_year, "): ", WithCommas(outcome.rows),
                   outcome.rows == 1 ? " row" : " rows");
  if (options.validate_only) {
    std::printf(
        "checked %s, nothing written: %s would be created, %s updated, %s "
        "unchanged, %s rejected\n",
        what.c_str(), WithCommas(outcome.created).c_str(),
        WithCommas(outcome.updated).c_str(),
        WithCommas(outcome.unchanged).c_str(),
        WithCommas(outcome.rejected).c_str());
  } else {
    std::printf(
        "imported %s: %s created, %s updated, %s unchanged, %s rejected; "
        "sequence %llu (%s)\n",
        what.c_str(), WithCommas(outcome.created).c_str(),
        WithCommas(outcome.updated).c_str(),
        WithCommas(outcome.unchanged).c_str(),
        WithCommas(outcome.rejected).c_str(),
        static_cast<unsigned long long>(outcome.sequence),
        Seconds(outcome.seconds).c_str());
  }
  const int shown =
      std::min<int>(outcome.problems.size(), options.max_problems);
  if (shown > 0) std::printf("first problems:\n");
  for (int i = 0; i < shown; ++i) {
    const Problem& p = outcome.problems[i];
    std::printf("  line %d: %s: %s: %s\n", p.line,
                p.rejected ? "rejected" : "warning", p.field.c_str(),
                p.description.c_str());
  }
  if (static_cast<int>(outcome.problems.size()) > shown) {
    std::printf("  ... and %s more (-o json lists them all)\n",
                WithCommas(outcome.problems.size() - shown).c_str());
  }
  int rejected_listed = 0;
  for (const Problem& p : outcome.problems) rejected_listed += p.rejected;
  if (outcome.omitted > 0 && rejected_listed < outcome.rejected) {
    std::printf(
        "  %s rows have no result in the server's answer (it is bounded, "
        "problems first); the counts cover every row\n",
        WithCommas(outcome.omitted).c_str());
  }
  std::fflush(stdout);
}

void SetDeadline(grpc::ClientContext& context, const ImportOptions& options) {
  if (options.timeout) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + *options.timeout));
  }
}

// --atomic: the whole file through one ImportTable call.
absl::StatusOr<FileOutcome> ImportAtomically(v1::IngestService::Stub& stub,
                                             const std::string& path,
                                             std::string content,
                                             const ImportOptions& options) {
  if (content.size() > kMaxAtomicFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is ", content.size(),
                     " bytes; --atomic sends the table in one "
                     "ImportTable message of at most ",
                     kMaxAtomicFileBytes,
                     " bytes: split the file, or import it without --atomic"));
  }
  v1::ImportTableRequest request;
  *request.mutable_content() = std::move(content);
  request.set_file_name(BaseName(path));
  request.set_encoding(options.encoding);
  request.set_fiscal_year(options.fiscal_year);
  request.set_validate_only(options.validate_only);
  request.set_atomic(true);
  request.set_strict(options.strict);
  request.set_no_header(options.no_header);
  for (const std::string& c : options.columns) request.add_columns(c);
  std::fprintf(stderr, "import %s: sending the table in one call (--atomic)\n",
               path.c_str());
  const absl::Time start = absl::Now();
  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::ImportTableResponse response;
  grpc::Status status = stub.ImportTable(&context, request, &response);
  if (!status.ok()) return FromGrpc(status);
  FileOutcome outcome;
  outcome.file = path;
  outcome.encoding = response.encoding();
  outcome.fiscal_year = response.fiscal_year();
  outcome.created = response.created_count();
  outcome.updated = response.updated_count();
  outcome.unchanged = response.unchanged_count();
  outcome.rejected = response.rejected_count();
  outcome.rows =
      outcome.created + outcome.updated + outcome.unchanged + outcome.rejected;
  outcome.omitted = response.omitted_result_count();
  outcome.sequence = response.sequence();
  outcome.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  AddProblems(
      response.results(), [](int row) { return row; },
      [](const std::string& f) { return f; }, outcome.problems);
  return outcome;
}

// The table's rows through one IngestRecords stream.
absl::StatusOr<FileOutcome> ImportStreaming(v1::IngestService::Stub& stub,
                                            const std::string& path,
                                            const std::string& content,
                                            const ImportOptions& options) {
  absl::StatusOr<std::vector<int>> layout =
      ingest::ColumnLayout(options.columns);
  if (!layout.ok()) return layout.status();
  FileOutcome outcome;
  outcome.file = path;
  absl::StatusOr<ingest::Table> table;
  {
    absl::StatusOr<ingest::DecodedText> decoded =
        ingest::DecodeTable(content, options.encoding, /*borrow_utf8=*/true);
    if (!decoded.ok()) return decoded.status();
    outcome.encoding = decoded->encoding;
    table = ingest::ReadTable(decoded->text(),
                              {.has_header = !options.no_header,
                               .check_header = options.columns.empty()});
  }
  if (!table.ok()) return table.status();
  if (absl::Status shape = ingest::CheckColumnCounts(*table, layout->size());
      !shape.ok()) {
    return shape;
  }
  outcome.fiscal_year =
      options.fiscal_year != 0 ? options.fiscal_year : table->fiscal_year;
  if (outcome.fiscal_year == 0) {
    return InvalidArgumentError(
        "FISCAL_YEAR_UNKNOWN",
        absl::StrCat(path,
                     ": the header names no fiscal year and "
                     "--fiscal_year gives none"),
        {{"fiscal_year",
          "set --fiscal_year, or name the year in the header (R元年度, "
          "令和2年度, 2019年度)"}});
  }
  outcome.rows = static_cast<int>(table->rows.size());

  const absl::Time start = absl::Now();
  grpc::ClientContext context;
  SetDeadline(context, options);
  v1::IngestRecordsResponse response;
  std::unique_ptr<grpc::ClientWriter<v1::IngestRecordsRequest>> writer =
      stub.IngestRecords(&context, &response);
  ProgressLine progress(absl::StrCat("import ", path), outcome.rows,
                        options.progress_interval);
  std::vector<int> lines;      // Line of each message sent.
  std::vector<Problem> local;  // Rows rejected here, unsent.
  bool open = true;
  int64_t done = 0;
  for (ingest::TableRow& row : table->rows) {
    v1::IngestRecordsRequest request;
    if (lines.empty()) {
      request.set_validate_only(options.validate_only);
      request.set_strict(options.strict);
    }
    v1::RawRecord& raw = *request.mutable_record();
    raw.set_fiscal_year(outcome.fiscal_year);
    std::string* fields[] = {raw.mutable_category(), raw.mutable_department(),
                             raw.mutable_title(), raw.mutable_results()};
    for (size_t c = 0; c < layout->size(); ++c) {
      if ((*layout)[c] >= 0) *fields[(*layout)[c]] = std::move(row.cells[c]);
    }
    std::vector<std::string>().swap(row.cells);
    request.mutable_source()->set_file_name(BaseName(path));
    request.mutable_source()->set_row(row.line);
    ++done;
    if (const size_t bytes = request.ByteSizeLong();
        bytes > kMaxRowMessageBytes) {
      local.push_back({row.line, true, absl::StrCat("rows[", row.line, "]"),
                       absl::StrCat("makes a message of ", bytes,
                                    " bytes; a row may have at most ",
                                    kMaxRowMessageBytes, "; not sent")});
      continue;
    }
    lines.push_back(row.line);
    if (!writer->Write(request)) {
      open = false;  // The server ended the call; Finish says why.
      break;
    }
    progress.Update(done);
  }
  if (open) writer->WritesDone();
  progress.Finish(done);
  grpc::Status status = writer->Finish();
  outcome.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) {
    absl::Status failed = FromGrpc(status);
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::CANCELLED ||
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      failed = absl::Status(
          failed.code(),
          absl::StrCat(failed.message(), "\n  ", WithCommas(lines.size()),
                       " rows were sent; the server's answer says (or, without "
                       "one, it is unknown) which of them were written. "
                       "Importing the file again is safe: rows already "
                       "written come back unchanged."));
    }
    return failed;
  }
  outcome.created = response.created_count();
  outcome.updated = response.updated_count();
  outcome.unchanged = response.unchanged_count();
  outcome.rejected = response.rejected_count() + static_cast<int>(local.size());
  outcome.omitted = response.omitted_result_count();
  outcome.sequence = response.sequence();
  AddProblems(
      response.results(),
      [&lines](int row) {
        return row >= 1 && row <= static_cast<int>(lines.size())
                   ? lines[row - 1]
                   : row;
      },
      [&lines](const std::string& f) { return RowPath(f, lines); },
      outcome.problems);
  outcome.problems.insert(outcome.problems.end(), local.begin(), local.end());
  std::stable_sort(outcome.problems.begin(), outcome.problems.end(),
                   [](const Problem& a, const Problem& b) {
                     if (a.rejected != b.rejected) return a.rejected;
                     return a.line < b.line;
                   });
  return outcome;
}

}  // namespace

int RunImport(const std::shared_ptr<grpc::Channel>& channel,
              const std::vector<std::string>& files,
              const ImportOptions& options) {
  auto stub = v1::IngestService::NewStub(channel);
  int exit_code = 0;
  for (const std::string& path : files) {
    absl::StatusOr<std::string> content = ReadWholeFile(path);
    absl::StatusOr<FileOutcome> outcome =
        !content.ok() ? content.status()
        : options.atomic
            ? ImportAtomically(*stub, path, *std::move(content), options)
            : ImportStreaming(*stub, path, *content, options);
    if (!outcome.ok()) {
      // Errors from the table reader carry their violations as the servers'
      // do; show them the same way.
      std::fprintf(stderr, "%s\n",
                   FormatRpcError(ToGrpcStatus(outcome.status())).c_str());
      exit_code = 1;
      continue;
    }
    PrintSummary(*outcome, options);
    if (outcome->rejected > 0 && !options.allow_rejected && exit_code == 0) {
      exit_code = 3;
    }
  }
  return exit_code;
}

}  // namespace kouryu::cli
