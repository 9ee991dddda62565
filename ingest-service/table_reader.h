#ifndef KOURYU_INGEST_SERVICE_TABLE_READER_H_
#define KOURYU_INGEST_SERVICE_TABLE_READER_H_

// Reads an exchange table as published, already decoded to UTF-8 (see
// encoding.h; a leading BOM is skipped): tab- or comma-separated (chosen from the header line), RFC 4180 quoting
// (quoted cells may hold separators, doubled quotes and line breaks), CRLF
// or LF, blank lines skipped. The first non-blank line is the header; its
// fourth column names the fiscal year (④実績(R元年度) -> 2019).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kouryu/v1/record.pb.h"

namespace kouryu::ingest {

struct TableRow {
  // 1-based line number in the file where the row starts.
  int line = 0;
  std::vector<std::string> cells;
};

struct Table {
  char separator = '\t';
  int header_line = 0;
  std::vector<std::string> header;
  // From the header's fourth column (④実績(R元年度)), else from the first
  // header cell that names one; 0 when none does.
  int fiscal_year = 0;
  std::vector<TableRow> rows;
};

struct TableOptions {
  // The first non-blank line is a header. Without one, every non-blank line
  // is a row and the separator is chosen from the first line.
  bool has_header = true;
  // The header must name the four published columns (①分野, ②担当…,
  // ③項目…, ④実績…), each with or without its number: ①分野, 分野,
  // 1分野, (1)分野 (full-width or not).
  bool check_header = true;
};

// InvalidArgument, with a BadRequest violation naming the line and column
// (ErrorInfo metadata "line", "column", and for a header the column name
// "expected"), for bytes that are not UTF-8, an unterminated quote, an
// empty table or (with check_header) a header without the published
// columns.
absl::StatusOr<Table> ReadTable(absl::string_view content,
                                const TableOptions& options = {});

// For each column of a table, the RawRecord field it fills (0 category,
// 1 department, 2 title, 3 results) or -1 to ignore it: the published four
// when `columns` is empty, else the names "category", "department", "title",
// "results" or "" in order. InvalidArgument (reason INVALID_COLUMNS, on
// "columns[i]") for an unknown name or one named twice.
absl::StatusOr<std::vector<int>> ColumnLayout(
    const std::vector<std::string>& columns);

// A table row as the ingest API takes it: the fields of the record, and
// where the row came from.
struct RowRecord {
  v1::RawRecord raw;
  v1::SourceRef source;
};

// The record `row` fills under `layout` (from ColumnLayout; the row has a
// cell for each of its columns, as CheckColumnCounts makes sure), of
// `fiscal_year`, from the file `file_name`. The cells are moved into the
// record and the row's cells freed.
RowRecord TakeRowRecord(TableRow& row, const std::vector<int>& layout,
                        int fiscal_year, absl::string_view file_name);

// InvalidArgument (reason WRONG_COLUMN_COUNT, a violation on "rows[L]" for
// every such row) unless each row of `table` has `columns` cells.
absl::Status CheckColumnCounts(const Table& table, size_t columns);

// The western fiscal year named in `text`: R元年度, R2年度, 令和2年度,
// H30年度, 平成30年度, 2019年度 (full-width forms too). 0 when none.
int FiscalYearFromText(absl::string_view text);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_TABLE_READER_H_
