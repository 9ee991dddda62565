#ifndef KOURYU_CLI_IMPORT_H_
#define KOURYU_CLI_IMPORT_H_

// `kouryu-cli ADDR import FILE...`: table files into kouryu-ingest.
//
// The file is read here with the server's own table reader
// (ingest-service/encoding.h, table_reader.h): the same encodings, quoting,
// header and fiscal-year rules, the same errors with the same field paths,
// before anything is sent. Its rows then go as RawRecords through one
// IngestRecords stream, each with its file name and line as source, so
// that a table of any size is written in batches as it arrives and the
// answer stays small (its results are bounded by the server). With
// --atomic the file goes whole through ImportTable instead (all rows or
// none; a file up to the 64 MiB message limit).
//
// Progress goes to standard error: a line redrawn in place on a terminal
// (rows sent, rows/s, ETA), else a plain line every progress_interval. The
// summary goes to standard output; it never says "imported" for
// --validate_only. Exit codes: 0 done; 1 the call or the file failed; 3 rows
// were rejected (0 with allow_rejected).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/output.h"

namespace kouryu::cli {

struct ImportOptions {
  // ImportTableRequest's options, with the same meaning.
  std::vector<std::string> columns;
  bool no_header = false;
  std::string encoding;  // Empty detects it.
  int fiscal_year = 0;   // 0: from the header.
  bool atomic = false;
  bool validate_only = false;
  bool strict = false;
  // Exit 0 although rows were rejected.
  bool allow_rejected = false;
  // Deadline of each file's call; none by default (a large table takes
  // minutes).
  std::optional<absl::Duration> timeout;
  absl::Duration progress_interval = absl::Seconds(5);
  // Problems listed in the summary (the counts cover every row).
  int max_problems = 20;
  // text (table) or json/jsonl for the summary.
  Format format = Format::kTable;
};

// Imports each file in turn; returns the exit code (the worst of them).
int RunImport(const std::shared_ptr<grpc::Channel>& channel,
              const std::vector<std::string>& files,
              const ImportOptions& options);

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_IMPORT_H_
