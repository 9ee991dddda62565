#ifndef KOURYU_CLI_OUTPUT_H_
#define KOURYU_CLI_OUTPUT_H_

// What kouryu-cli prints: tables for people, JSON, JSON lines, TSV and CSV
// for programs (-o table|json|jsonl|tsv|csv).
//
// A table aligns its columns by display width, as a terminal shows text:
// East Asian Wide and Fullwidth characters (漢字, かな, ＡＢＣ) take two
// columns, combining marks and format characters none, everything else
// one (East Asian Ambiguous characters such as ① and ○ count as one, as
// terminals in a Japanese locale mostly draw them narrow).

#include <google/protobuf/message.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kouryu::cli {

enum class Format { kTable, kJson, kJsonl, kTsv, kCsv };

// "table", "json", "jsonl", "tsv", "csv"; empty picks table when standard
// output is a terminal, json when it is not.
absl::StatusOr<Format> ParseFormat(absl::string_view name);

// Columns `text` takes at a terminal (see above). Invalid UTF-8 counts one
// column per byte.
int DisplayWidth(absl::string_view text);

// `text` on one line (line breaks and tabs become spaces), cut to at most
// `max_width` columns with "…" where something was cut.
std::string FitToWidth(absl::string_view text, int max_width);

// One cell of a TSV or CSV line: quoted (RFC 4180, quotes doubled) when it
// holds the separator, a quote or a line break.
std::string QuoteCell(absl::string_view cell, char separator);

// A message as protobuf JSON (camelCase names); indented unless `compact`.
std::string ToJson(const google::protobuf::Message& message, bool compact);

// Prints a list of items, e.g. the records of ListRecords, as they come
// (pages of a --all listing are not gathered, but a table is: its widths
// depend on every row). json prints one object shaped like the response,
// `{"<list_field>": [...], <trailer>}`; jsonl one item per line; table,
// tsv and csv the cells under `columns`.
class ListPrinter {
 public:
  ListPrinter(Format format, std::string list_field,
              std::vector<std::string> columns, std::FILE* out = stdout);

  void Add(const google::protobuf::Message& item,
           std::vector<std::string> cells);
  // Ends the output. `trailer`: JSON members after the list, e.g.
  // {"totalSize", "36"} (values are JSON text).
  void Finish(
      const std::vector<std::pair<std::string, std::string>>& trailer = {});

  int count() const { return count_; }

 private:
  void Start();

  Format format_;
  std::string list_field_;
  std::vector<std::string> columns_;
  std::FILE* out_;
  int count_ = 0;
  bool started_ = false;
  std::vector<std::vector<std::string>> rows_;  // Table format only.
};

// One message: its JSON (json, jsonl), or `fields` as "name  value" lines
// (table; empty values left out), or a header and one line (tsv, csv).
void PrintObject(Format format, const google::protobuf::Message& message,
                 const std::vector<std::pair<std::string, std::string>>& fields,
                 std::FILE* out = stdout);

}  // namespace kouryu::cli

#endif  // KOURYU_CLI_OUTPUT_H_
