#include "ingest-service/table_reader.h"

#include <re2/re2.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/quote.h"
#include "common/status.h"
#include "common/text.h"

namespace kouryu::ingest {
namespace {

constexpr absl::string_view kBom = "\xEF\xBB\xBF";
// The published header names, matched after NFKC by these prefixes, with
// or without the column's number before them: ①分野 as published, and
// 分野, 1分野, (1)分野 as tools without circled digits (Shift_JIS) write
// it (NFKC makes ① 1 and ⑴ (1)).
constexpr absl::string_view kHeaderPrefixes[] = {"分野", "担当", "項目", "実績"};
constexpr absl::string_view kCircledDigits[] = {"①", "②", "③", "④"};

absl::Status TableError(absl::string_view reason, int line, int column,
                        absl::string_view description,
                        ErrorMetadata metadata = {}) {
  std::string field = column > 0 ? absl::StrCat("rows[", line, "].column[",
                                                column, "]")
                                 : absl::StrCat("rows[", line, "]");
  metadata.emplace("line", absl::StrCat(line));
  if (column > 0) metadata.emplace("column", absl::StrCat(column));
  return InvalidArgumentError(
      reason, absl::StrCat("line ", line, ": ", description),
      {{std::move(field), std::string(description)}}, std::move(metadata));
}

// Whether header cell `cell` names published column `column` (1-4).
bool NamesColumn(absl::string_view cell, int column) {
  const std::string text = NormalizeText(cell);
  absl::string_view rest = text;
  const std::string number = absl::StrCat(column);
  if (!absl::ConsumePrefix(&rest, absl::StrCat("(", number, ")"))) {
    absl::ConsumePrefix(&rest, number);
  }
  absl::ConsumePrefix(&rest, " ");
  return absl::StartsWith(rest, kHeaderPrefixes[column - 1]);
}

// "①分野, 分野, 1分野 or (1)分野": the forms NamesColumn accepts.
std::string AcceptedForms(int column) {
  const absl::string_view name = kHeaderPrefixes[column - 1];
  return absl::StrCat(kCircledDigits[column - 1], name, ", ", name, ", ",
                      column, name, " or (", column, ")", name);
}

// Splits `content` into records of cells. Quoted cells follow RFC 4180.
class Splitter {
 public:
  Splitter(absl::string_view content, char separator)
      : content_(content), separator_(separator) {}

  // Reads the next record into `row`; false at the end of input.
  absl::StatusOr<bool> Next(TableRow& row) {
    if (pos_ >= content_.size()) return false;
    row.line = line_;
    row.cells.assign(1, std::string());
    bool quoted = false;
    bool cell_started_quoted = false;
    int quote_line = line_;
    while (pos_ < content_.size()) {
      char c = content_[pos_++];
      if (quoted) {
        if (c == '"') {
          if (pos_ < content_.size() && content_[pos_] == '"') {
            row.cells.back().push_back('"');
            ++pos_;
          } else {
            quoted = false;
          }
        } else {
          if (c == '\n') ++line_;
          row.cells.back().push_back(c);
        }
        continue;
      }
      if (c == '"' && row.cells.back().empty() && !cell_started_quoted) {
        quoted = cell_started_quoted = true;
        quote_line = line_;
      } else if (c == separator_) {
        row.cells.emplace_back();
        cell_started_quoted = false;
      } else if (c == '\n') {
        ++line_;
        StripCr(row);
        return true;
      } else {
        row.cells.back().push_back(c);
      }
    }
    if (quoted) {
      return TableError("UNTERMINATED_QUOTE", quote_line,
                        static_cast<int>(row.cells.size()),
                        "quoted cell is not closed before the end of the file");
    }
    StripCr(row);
    return true;
  }

 private:
  static void StripCr(TableRow& row) {
    std::string& last = row.cells.back();
    if (!last.empty() && last.back() == '\r') last.pop_back();
  }

  absl::string_view content_;
  char separator_;
  size_t pos_ = 0;
  int line_ = 1;
};

bool IsBlank(const TableRow& row) {
  for (const std::string& cell : row.cells) {
    for (char c : cell) {
      if (c != ' ' && c != '\t' && c != '\r') return false;
    }
  }
  return true;
}

}  // namespace

int FiscalYearFromText(absl::string_view text) {
  static const RE2 kEra(R"((R|令和|H|平成)(元|\d{1,2})年度)");
  static const RE2 kWestern(R"((\d{4})年度)");
  std::string normalized = NormalizeText(text);
  std::string era, number;
  if (RE2::PartialMatch(normalized, kEra, &era, &number)) {
    int n = 1;
    if (number != "元" && !absl::SimpleAtoi(number, &n)) return 0;
    bool reiwa = era == "R" || era == "令和";
    return (reiwa ? 2018 : 1988) + n;
  }
  int year = 0;
  if (RE2::PartialMatch(normalized, kWestern, &year)) return year;
  return 0;
}

absl::StatusOr<Table> ReadTable(absl::string_view content,
                                const TableOptions& options) {
  if (absl::StartsWith(content, kBom)) content.remove_prefix(kBom.size());
  Table table;

  // The separator is whichever of tab and comma the header line holds more
  // of; the header is the first line that is not blank.
  size_t header_start = content.find_first_not_of("\r\n");
  if (header_start == absl::string_view::npos) {
    return TableError("EMPTY_TABLE", 1, 0, "the table has no header");
  }
  absl::string_view header_line =
      content.substr(header_start, content.find('\n', header_start) -
                                       header_start);
  size_t tabs = std::count(header_line.begin(), header_line.end(), '\t');
  size_t commas = std::count(header_line.begin(), header_line.end(), ',');
  table.separator = tabs >= commas ? '\t' : ',';

  Splitter splitter(content, table.separator);
  TableRow row;
  bool have_header = !options.has_header;
  while (true) {
    absl::StatusOr<bool> more = splitter.Next(row);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (IsBlank(row)) continue;
    for (size_t i = 0; i < row.cells.size(); ++i) {
      if (!IsValidUtf8(row.cells[i])) {
        return TableError("INVALID_ENCODING", row.line, static_cast<int>(i + 1),
                          "bytes that are not valid UTF-8");
      }
    }
    if (have_header) {
      // Cells grew a character at a time: up to twice their size, for a
      // whole table.
      for (std::string& cell : row.cells) cell.shrink_to_fit();
      table.rows.push_back(std::move(row));
      continue;
    }
    have_header = true;
    table.header_line = row.line;
    table.header = std::move(row.cells);
    // The year is named by ④実績(…); a header of another layout may name
    // it in any cell.
    if (table.header.size() >= 4) {
      table.fiscal_year = FiscalYearFromText(table.header[3]);
    }
    for (const std::string& cell : table.header) {
      if (table.fiscal_year == 0) table.fiscal_year = FiscalYearFromText(cell);
    }
    if (!options.check_header) continue;
    if (table.header.size() < 4) {
      return TableError(
          "UNRECOGNIZED_HEADER", table.header_line, 0,
          absl::StrCat("the header has ", table.header.size(),
                       " columns; expected 4: ①分野, ②担当(関係)部所名, "
                       "③項目名, ④実績(…), each with or without its number "
                       "(分野, 1分野, (1)分野)"),
          {{"expected", "分野, 担当, 項目, 実績"}});
    }
    for (int column = 1; column <= 4; ++column) {
      const std::string& cell = table.header[column - 1];
      if (!NamesColumn(cell, column)) {
        return TableError(
            "UNRECOGNIZED_HEADER", table.header_line, column,
            absl::StrCat("header column ", column, " is ", QuoteValue(cell),
                         "; expected one starting with ",
                         AcceptedForms(column)),
            {{"expected", std::string(kHeaderPrefixes[column - 1])}});
      }
    }
  }
  if (!have_header || (!options.has_header && table.rows.empty())) {
    return TableError("EMPTY_TABLE", 1, 0, "the table has no header");
  }
  return table;
}

absl::StatusOr<std::vector<int>> ColumnLayout(
    const std::vector<std::string>& columns) {
  if (columns.empty()) return std::vector<int>{0, 1, 2, 3};
  static constexpr absl::string_view kFields[] = {"category", "department",
                                                  "title", "results"};
  std::vector<int> layout;
  std::vector<bool> seen(4, false);
  for (size_t i = 0; i < columns.size(); ++i) {
    const std::string& name = columns[i];
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

RowRecord TakeRowRecord(TableRow& row, const std::vector<int>& layout,
                        int fiscal_year, absl::string_view file_name) {
  RowRecord taken;
  taken.raw.set_fiscal_year(fiscal_year);
  std::string* fields[] = {
      taken.raw.mutable_category(), taken.raw.mutable_department(),
      taken.raw.mutable_title(), taken.raw.mutable_results()};
  for (size_t c = 0; c < layout.size(); ++c) {
    if (layout[c] >= 0) *fields[layout[c]] = std::move(row.cells[c]);
  }
  std::vector<std::string>().swap(row.cells);
  taken.source.set_file_name(std::string(file_name));
  taken.source.set_row(row.line);
  return taken;
}

absl::Status CheckColumnCounts(const Table& table, size_t columns) {
  std::vector<FieldViolation> problems;
  for (const TableRow& row : table.rows) {
    if (row.cells.size() != columns) {
      problems.push_back({absl::StrCat("rows[", row.line, "]"),
                          absl::StrCat("has ", row.cells.size(),
                                       " columns; expected ", columns)});
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return InvalidArgumentError(
      "WRONG_COLUMN_COUNT",
      absl::StrCat(problems.front().field, " ", problems.front().description,
                   "; nothing was written"),
      problems,
      {{"expectedColumns", absl::StrCat(columns)},
       {"violations", absl::StrCat(problems.size())}});
}

}  // namespace kouryu::ingest
