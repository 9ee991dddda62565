#include "cli/export.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "kouryu/v1/query_service.grpc.pb.h"

namespace kouryu::cli {
namespace {

constexpr absl::string_view kYearPlaceholder = "{fiscal_year}";

// Text in the output encoding: UTF-8 as is, CP932 through ICU, failing on
// a character CP932 has no code for (never a substitute).
class Encoder {
 public:
  static absl::StatusOr<Encoder> Create(const std::string& name) {
    const std::string upper = absl::AsciiStrToUpper(name);
    if (upper.empty() || upper == "UTF-8" || upper == "UTF8")
      return Encoder(nullptr);
    if (upper != "CP932" && upper != "SHIFT_JIS" && upper != "SJIS" &&
        upper != "WINDOWS-31J" && upper != "MS932") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--encoding=", name, ": use UTF-8 or CP932 (Shift_JIS)"));
    }
    UErrorCode error = U_ZERO_ERROR;
    UConverter* converter = ucnv_open("windows-31j", &error);
    if (U_FAILURE(error)) {
      return absl::InternalError(
          absl::StrCat("ICU has no CP932 converter: ", u_errorName(error)));
    }
    ucnv_setFromUCallBack(converter, UCNV_FROM_U_CALLBACK_STOP, nullptr,
                          nullptr, nullptr, &error);
    return Encoder(converter);
  }

  Encoder(Encoder&& other) noexcept : converter_(other.converter_) {
    other.converter_ = nullptr;
  }
  ~Encoder() {
    if (converter_ != nullptr) ucnv_close(converter_);
  }

  // `text` (UTF-8) encoded; `what` names it in an error.
  absl::StatusOr<std::string> Encode(const std::string& text,
                                     absl::string_view what) {
    if (converter_ == nullptr) return text;
    UErrorCode error = U_ZERO_ERROR;
    UConverter* utf8 = ucnv_open("UTF-8", &error);
    std::string out(text.size() * 2 + 16, '\0');
    char* target = out.data();
    const char* source = text.data();
    ucnv_reset(converter_);
    ucnv_convertEx(converter_, utf8, &target, out.data() + out.size(), &source,
                   text.data() + text.size(), nullptr, nullptr, nullptr,
                   nullptr, true, true, &error);
    ucnv_close(utf8);
    if (U_FAILURE(error)) {
      // `source` stops just after the character that failed.
      size_t at = source - text.data();
      while (at > 0 &&
             (static_cast<unsigned char>(text[at - 1]) & 0xC0) == 0x80)
        --at;
      if (at > 0) --at;
      size_t end = at + 1;
      while (end < text.size() &&
             (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        ++end;
      return absl::InvalidArgumentError(
          absl::StrCat(what, " holds \"", text.substr(at, end - at),
                       "\", which CP932 (Shift_JIS) cannot encode; export with "
                       "--encoding=UTF-8"));
    }
    out.resize(target - out.data());
    return out;
  }

 private:
  explicit Encoder(UConverter* converter) : converter_(converter) {}
  UConverter* converter_;
};

std::unique_ptr<grpc::ClientContext> Context(const ExportOptions& options) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(
      absl::Now() + options.timeout.value_or(absl::Seconds(60))));
  return context;
}

// The fiscal years of the records to export, in order.
absl::StatusOr<std::vector<int>> FiscalYears(v1::QueryService::Stub& stub,
                                             const ExportOptions& options) {
  v1::SummarizeRecordsRequest request;
  request.set_parent(options.parent);
  request.set_filter(options.filter);
  request.add_group_by("fiscal_year");
  request.set_min_sequence(options.min_sequence);
  v1::SummarizeRecordsResponse response;
  grpc::Status status =
      stub.SummarizeRecords(Context(options).get(), request, &response);
  if (!status.ok()) return FromGrpc(status);
  std::set<int> years;
  for (const v1::SummaryGroup& group : response.groups()) {
    int year = 0;
    if (group.keys_size() == 1 && absl::SimpleAtoi(group.keys(0), &year)) {
      years.insert(year);
    }
  }
  return std::vector<int>(years.begin(), years.end());
}

// One table being written: to standard output, or to a temporary file
// renamed to its path once complete (and removed if the export fails).
class TableOutput {
 public:
  static absl::StatusOr<std::unique_ptr<TableOutput>> Open(
      const std::string& path, const std::string& encoding, int year,
      char separator) {
    absl::StatusOr<Encoder> encoder = Encoder::Create(encoding);
    if (!encoder.ok()) return encoder.status();
    std::unique_ptr<TableOutput> out(
        new TableOutput(path, *std::move(encoder), year));
    if (!path.empty()) {
      out->temporary_ = absl::StrCat(path, ".tmp-", getpid());
      out->file_ = std::fopen(out->temporary_.c_str(), "wb");
      if (out->file_ == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot write ", out->temporary_, ": ", std::strerror(errno)));
      }
    }
    if (absl::Status s =
            out->Write(PublishedHeader(year, separator) + "\n", "the header");
        !s.ok()) {
      return s;
    }
    return out;
  }

  ~TableOutput() {
    if (file_ != nullptr && file_ != stdout) {
      std::fclose(file_);
      std::filesystem::remove(temporary_);
    }
  }

  // `line` (UTF-8) in the output encoding; `what` names it in an error.
  absl::Status Write(const std::string& line, absl::string_view what) {
    absl::StatusOr<std::string> bytes = encoder_.Encode(line, what);
    if (!bytes.ok()) return bytes.status();
    if (std::fwrite(bytes->data(), 1, bytes->size(), file_) != bytes->size()) {
      return absl::UnavailableError(absl::StrCat(
          "cannot write ", path_.empty() ? "standard output" : temporary_, ": ",
          std::strerror(errno)));
    }
    ++lines_;
    return absl::OkStatus();
  }

  // Completes the file under its name.
  absl::Status Close() {
    if (path_.empty()) {
      std::fflush(stdout);
      return absl::OkStatus();
    }
    std::FILE* file = std::exchange(file_, nullptr);
    if (std::fclose(file) != 0) {
      std::filesystem::remove(temporary_);
      return absl::UnavailableError(absl::StrCat("cannot write ", temporary_,
                                                 ": ", std::strerror(errno)));
    }
    std::error_code error;
    std::filesystem::rename(temporary_, path_, error);
    if (error) {
      std::filesystem::remove(temporary_);
      return absl::UnavailableError(absl::StrCat(
          "cannot rename ", temporary_, " to ", path_, ": ", error.message()));
    }
    std::fprintf(stderr, "exported %d records of fiscal year %d to %s\n",
                 lines_ - 1, year_, path_.c_str());
    return absl::OkStatus();
  }

 private:
  TableOutput(std::string path, Encoder encoder, int year)
      : path_(std::move(path)),
        encoder_(std::move(encoder)),
        year_(year),
        file_(path_.empty() ? stdout : nullptr) {}

  const std::string path_;
  std::string temporary_;
  Encoder encoder_;
  const int year_;
  std::FILE* file_;
  int lines_ = 0;
};

// One pass over the records (one ListRecords listing, page by page), each
// written to the table of its year.
absl::Status WriteTables(v1::QueryService::Stub& stub,
                         const ExportOptions& options,
                         std::map<int, std::unique_ptr<TableOutput>>& tables) {
  const char separator = options.format == "csv" ? ',' : '\t';
  v1::ListRecordsRequest request;
  request.set_parent(options.parent);
  request.set_filter(options.filter);
  request.set_view(v1::RECORD_VIEW_FULL);
  request.set_page_size(options.page_size);
  request.set_min_sequence(options.min_sequence);
  do {
    v1::ListRecordsResponse response;
    grpc::Status status =
        stub.ListRecords(Context(options).get(), request, &response);
    if (!status.ok()) return FromGrpc(status);
    for (const v1::Record& r : response.records()) {
      auto table = tables.find(r.fiscal_year());
      if (table == tables.end()) {
        return absl::AbortedError(absl::StrCat(
            r.name(), " is of fiscal year ", r.fiscal_year(),
            ", which was not there when the export began: export again"));
      }
      const std::string cells[] = {r.category_label(),
                                   r.bureau().name_ja() + r.department(),
                                   r.title(), r.source_html()};
      std::string line;
      for (const std::string& cell : cells) {
        if (!line.empty()) line += separator;
        line += QuoteCell(cell, separator);
      }
      line += '\n';
      if (absl::Status s = table->second->Write(line, r.name()); !s.ok())
        return s;
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return absl::OkStatus();
}

}  // namespace

std::string PublishedHeader(int fiscal_year, char separator) {
  std::string era;
  if (fiscal_year >= 2019) {
    const int year = fiscal_year - 2018;
    era = year == 1 ? "R元" : absl::StrCat("R", year);
  } else if (fiscal_year >= 1989) {
    const int year = fiscal_year - 1988;
    era = year == 1 ? "H元" : absl::StrCat("H", year);
  } else {
    era = absl::StrCat(fiscal_year);
  }
  const std::string s(1, separator);
  return absl::StrCat("①分野", s, "②担当(関係)部所名", s, "③項目名", s,
                      "④実績(", era, "年度)");
}

int RunExport(const std::shared_ptr<grpc::Channel>& channel,
              const ExportOptions& options) {
  auto fail = [](const absl::Status& status) {
    PrintError(status);
    return 1;
  };
  if (options.format != "tsv" && options.format != "csv") {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("--format=", options.format, ": use tsv or csv")));
  }
  if (absl::StatusOr<Encoder> e = Encoder::Create(options.encoding); !e.ok()) {
    return fail(e.status());
  }
  auto stub = v1::QueryService::NewStub(channel);
  absl::StatusOr<std::vector<int>> years = FiscalYears(*stub, options);
  if (!years.ok()) return fail(years.status());
  if (years->empty()) {
    std::fprintf(stderr, "no records under %s%s to export\n",
                 options.parent.c_str(),
                 options.filter.empty() ? "" : " match the filter");
    return 0;
  }
  const bool per_year = absl::StrContains(options.out, kYearPlaceholder);
  if (years->size() > 1 && !per_year) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "the records span fiscal years ", absl::StrJoin(*years, ", "),
        "; a published table holds one. Export one year (--filter='",
        options.filter.empty() ? ""
                               : absl::StrCat("(", options.filter, ") AND "),
        "fiscal_year = ", years->front(),
        "'), or one file per year "
        "(--out=records-{fiscal_year}.",
        options.format, ")")));
  }
  // One pass, every year's table open at once: a filter on the year
  // would make the server evaluate it again for every page.
  std::map<int, std::unique_ptr<TableOutput>> tables;
  for (int year : *years) {
    const std::string path = absl::StrReplaceAll(
        options.out, {{kYearPlaceholder, absl::StrCat(year)}});
    absl::StatusOr<std::unique_ptr<TableOutput>> table = TableOutput::Open(
        path, options.encoding, year, options.format == "csv" ? ',' : '\t');
    if (!table.ok()) return fail(table.status());
    tables[year] = *std::move(table);
  }
  if (absl::Status s = WriteTables(*stub, options, tables); !s.ok())
    return fail(s);
  for (auto& [year, table] : tables) {
    if (absl::Status s = table->Close(); !s.ok()) return fail(s);
  }
  return 0;
}

}  // namespace kouryu::cli
