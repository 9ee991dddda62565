#include "cli/output.h"

#include <google/protobuf/util/json_util.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace kouryu::cli {
namespace {

// A table cell is cut to this many columns.
constexpr int kMaxCellWidth = 60;

int CharWidth(UChar32 c) {
  const int8_t category = u_charType(c);
  if (category == U_NON_SPACING_MARK || category == U_ENCLOSING_MARK ||
      category == U_FORMAT_CHAR || c == 0x200B) {
    return 0;
  }
  const int eaw = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);
  return eaw == U_EA_WIDE || eaw == U_EA_FULLWIDTH ? 2 : 1;
}

std::string OneLine(absl::string_view text) {
  return absl::StrReplaceAll(
      text, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}, {"\t", " "}});
}

void PrintCells(const std::vector<std::string>& cells, char separator,
                std::FILE* out) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += separator;
    line += QuoteCell(cells[i], separator);
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), out);
}

void PrintTable(const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows,
                std::FILE* out) {
  std::vector<int> widths(columns.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  };
  measure(columns);
  for (const auto& row : rows) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
      }
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out);
  };
  print(columns);
  for (const auto& row : rows) print(row);
}

}  // namespace

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name.empty())
    return isatty(STDOUT_FILENO) ? Format::kTable : Format::kJson;
  if (name == "table") return Format::kTable;
  if (name == "json") return Format::kJson;
  if (name == "jsonl") return Format::kJsonl;
  if (name == "tsv") return Format::kTsv;
  if (name == "csv") return Format::kCsv;
  return absl::InvalidArgumentError(absl::StrCat(
      "-o ", name,
      ": not an output format; use table, json, jsonl, tsv or csv"));
}

int DisplayWidth(absl::string_view text) {
  int width = 0;
  int32_t i = 0;
  const int32_t length = static_cast<int32_t>(text.size());
  while (i < length) {
    UChar32 c;
    U8_NEXT(text.data(), i, length, c);
    width += c < 0 ? 1 : CharWidth(c);
  }
  return width;
}

std::string FitToWidth(absl::string_view text, int max_width) {
  std::string line = OneLine(text);
  if (DisplayWidth(line) <= max_width) return line;
  int width = 0;
  int32_t i = 0;
  const int32_t length = static_cast<int32_t>(line.size());
  while (i < length) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(line.data(), i, length, c);
    const int w = c < 0 ? 1 : CharWidth(c);
    if (width + w > max_width - 1) return line.substr(0, start) + "…";
    width += w;
  }
  return line;
}

std::string QuoteCell(absl::string_view cell, char separator) {
  if (cell.find_first_of(std::string{separator, '"', '\n', '\r'}) ==
      absl::string_view::npos) {
    return std::string(cell);
  }
  return absl::StrCat("\"", absl::StrReplaceAll(cell, {{"\"", "\"\""}}), "\"");
}

std::string ToJson(const google::protobuf::Message& message, bool compact) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !compact;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

ListPrinter::ListPrinter(Format format, std::string list_field,
                         std::vector<std::string> columns, std::FILE* out)
    : format_(format),
      list_field_(std::move(list_field)),
      columns_(std::move(columns)),
      out_(out) {}

void ListPrinter::Start() {
  // Not before the first item or the end: a call that fails first prints
  // nothing on standard output.
  if (started_) return;
  started_ = true;
  if (format_ == Format::kTsv) PrintCells(columns_, '\t', out_);
  if (format_ == Format::kCsv) PrintCells(columns_, ',', out_);
  if (format_ == Format::kJson) {
    std::fprintf(out_, "{\n  \"%s\": [", list_field_.c_str());
  }
}

void ListPrinter::Add(const google::protobuf::Message& item,
                      std::vector<std::string> cells) {
  Start();
  switch (format_) {
    case Format::kTable:
      // The first column (a name to copy) is never cut.
      for (size_t i = 1; i < cells.size(); ++i) {
        cells[i] = FitToWidth(cells[i], kMaxCellWidth);
      }
      if (!cells.empty()) cells[0] = OneLine(cells[0]);
      rows_.push_back(std::move(cells));
      break;
    case Format::kTsv:
      PrintCells(cells, '\t', out_);
      break;
    case Format::kCsv:
      PrintCells(cells, ',', out_);
      break;
    case Format::kJsonl:
      std::fprintf(out_, "%s\n", ToJson(item, true).c_str());
      break;
    case Format::kJson: {
      std::string json =
          absl::StrReplaceAll(ToJson(item, false), {{"\n", "\n    "}});
      std::fprintf(out_, "%s\n    %s", count_ == 0 ? "" : ",", json.c_str());
      break;
    }
  }
  ++count_;
}

void ListPrinter::Finish(
    const std::vector<std::pair<std::string, std::string>>& trailer) {
  Start();
  if (format_ == Format::kTable) PrintTable(columns_, rows_, out_);
  if (format_ == Format::kJson) {
    std::fprintf(out_, "%s]", count_ == 0 ? "" : "\n  ");
    for (const auto& [key, value] : trailer) {
      std::fprintf(out_, ",\n  \"%s\": %s", key.c_str(), value.c_str());
    }
    std::fprintf(out_, "\n}\n");
  }
  std::fflush(out_);
}

void PrintObject(Format format, const google::protobuf::Message& message,
                 const std::vector<std::pair<std::string, std::string>>& fields,
                 std::FILE* out) {
  std::vector<std::string> names, values;
  for (const auto& [name, value] : fields) {
    names.push_back(name);
    values.push_back(value);
  }
  switch (format) {
    case Format::kJson:
    case Format::kJsonl:
      std::fprintf(out, "%s\n",
                   ToJson(message, format == Format::kJsonl).c_str());
      break;
    case Format::kTsv:
    case Format::kCsv: {
      const char separator = format == Format::kTsv ? '\t' : ',';
      PrintCells(names, separator, out);
      PrintCells(values, separator, out);
      break;
    }
    case Format::kTable: {
      int width = 0;
      for (const std::string& name : names)
        width = std::max(width, DisplayWidth(name));
      for (size_t i = 0; i < names.size(); ++i) {
        if (values[i].empty()) continue;
        // Values keep their lines, each indented under the first.
        std::string value = absl::StrReplaceAll(
            values[i], {{"\n", "\n" + std::string(width + 2, ' ')}});
        std::fprintf(out, "%s%*s%s\n", names[i].c_str(),
                     width - DisplayWidth(names[i]) + 2, "", value.c_str());
      }
      break;
    }
  }
  std::fflush(out);
}

}  // namespace kouryu::cli
