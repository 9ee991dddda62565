#ifndef KOURYU_CLI_EXPORT_H_
#define KOURYU_CLI_EXPORT_H_

// `kouryu-cli ADDR export PARENT`: records as the published table, the
// four columns ①分野 ②担当(関係)部所名 ③項目名 ④実績(R元年度) under their
// header, so that the file imports again into the same records (same
// names, same content; only their source differs):
//   ①分野          the category as published (category_label)
//   ②担当…         the bureau's Japanese name and the department
//   ③項目名        the item (title)
//   ④実績(…年度)   the results exactly as published (source_html)
// A published table holds one fiscal year, named in its header: records of
// several years need --filter='fiscal_year = N', or an --out naming
// {fiscal_year}, which writes one file per year. Records come page by page
// (one ListRecords listing, FULL view) and are written as they come, each
// to its year's file. A file is written
// under a temporary name and renamed when complete: a failed export leaves
// no partial file.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace kouryu::cli {

struct ExportOptions {
  std::string parent = "cities/-";
  std::string filter;
  std::string format = "tsv";      // tsv or csv.
  std::string encoding = "UTF-8";  // UTF-8 or CP932 (Shift_JIS).
  std::string out;                 // Empty: standard output.
  uint64_t min_sequence = 0;
  int page_size = 1000;                   // ListRecords' maximum.
  std::optional<absl::Duration> timeout;  // Of each page's call.
};

// Returns the exit code: 0 written, 1 failed (the reason on standard error).
int RunExport(const std::shared_ptr<grpc::Channel>& channel,
              const ExportOptions& options);

// The published header line for `fiscal_year` (no line break), the year in
// the Japanese era as published: ④実績(R元年度), ④実績(R2年度), ④実績(H30年度).
std::string PublishedHeader(int fiscal_year, char separator);

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_EXPORT_H_
