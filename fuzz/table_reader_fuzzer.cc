// Fuzz target: a table file as uploaded to ImportTable. DecodeTable with the
// encoding detected, then ReadTable with the default options, without a
// header and without the header check.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text.h"
#include "fuzz/fuzz_check.h"
#include "ingest-service/encoding.h"
#include "ingest-service/table_reader.h"

namespace {

using kouryu::ingest::Table;
using kouryu::ingest::TableOptions;

void CheckTable(const Table& table, const TableOptions& options) {
  FUZZ_CHECK("table_reader.separator",
             table.separator == '\t' || table.separator == ',');
  FUZZ_CHECK("table_reader.not_empty",
             !table.rows.empty() || !table.header.empty());
  if (options.has_header) {
    FUZZ_CHECK("table_reader.header_line", table.header_line >= 1);
  }
  int previous = table.header_line;
  for (const kouryu::ingest::TableRow& row : table.rows) {
    // Rows are in file order and each starts after the one before.
    FUZZ_CHECK("table_reader.row_line_order", row.line > previous);
    previous = row.line;
    for (const std::string& cell : row.cells) {
      FUZZ_CHECK("table_reader.cell_utf8", kouryu::IsValidUtf8(cell));
    }
  }
  for (const std::string& cell : table.header) {
    FUZZ_CHECK("table_reader.header_utf8", kouryu::IsValidUtf8(cell));
    kouryu::ingest::FiscalYearFromText(cell);
  }
  // The fourth column names the year when it names one (table_reader.h).
  if (options.has_header && table.header.size() >= 4 &&
      kouryu::ingest::FiscalYearFromText(table.header[3]) != 0) {
    FUZZ_CHECK("table_reader.fiscal_year",
               table.fiscal_year ==
                   kouryu::ingest::FiscalYearFromText(table.header[3]));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view content(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<kouryu::ingest::DecodedText> decoded =
      kouryu::ingest::DecodeTable(content, "");
  if (!decoded.ok()) return 0;
  FUZZ_CHECK("table_reader.decoded_utf8", kouryu::IsValidUtf8(decoded->utf8));
  FUZZ_CHECK("table_reader.encoding_name",
             decoded->encoding == kouryu::ingest::kUtf8 ||
                 decoded->encoding == kouryu::ingest::kCp932);

  for (const TableOptions& options :
       {TableOptions{}, TableOptions{.has_header = false},
        TableOptions{.check_header = false}}) {
    absl::StatusOr<Table> table =
        kouryu::ingest::ReadTable(decoded->utf8, options);
    if (table.ok()) CheckTable(*table, options);
  }
  return 0;
}
