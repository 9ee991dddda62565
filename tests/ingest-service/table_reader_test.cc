#include "ingest-service/table_reader.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPublishedTable[] = KOURYU_SOURCE_DIR
    "/data/tokyo-exchange-r1.tsv";
constexpr char kTsvHeader[] =
    "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)";
constexpr char kCsvHeader[] =
    "①分野,②担当(関係)部所名,③項目名,④実績(令和2年度)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

TEST(ReadTableTest, PublishedTable) {
  const std::string content = ReadFile(kPublishedTable);
  ASSERT_FALSE(content.empty());
  absl::StatusOr<Table> table = ReadTable(content);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->separator, '\t');
  EXPECT_EQ(table->fiscal_year, 2019);
  EXPECT_EQ(table->header_line, 3);
  EXPECT_THAT(table->header, ElementsAre("①分野", "②担当(関係)部所名",
                                         "③項目名", "④実績(R元年度)"));
  ASSERT_EQ(table->rows.size(), 36u);
  for (const TableRow& row : table->rows) {
    EXPECT_EQ(row.cells.size(), 4u) << "line " << row.line;
  }

  // The line of every data row, found here without the table reader: each
  // non-blank line after the header holds one row (no cell of the
  // published file spans lines).
  std::vector<int> expected_lines;
  std::vector<std::vector<std::string>> expected_cells;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    ++line_number;
    line = absl::StripSuffix(line, "\r");
    if (line_number <= 3 || line.empty()) continue;
    expected_lines.push_back(line_number);
    expected_cells.push_back(absl::StrSplit(line, '\t'));
  }
  ASSERT_EQ(expected_lines.size(), table->rows.size());
  for (size_t i = 0; i < table->rows.size(); ++i) {
    EXPECT_EQ(table->rows[i].line, expected_lines[i]) << "row " << i;
    EXPECT_EQ(table->rows[i].cells, expected_cells[i]) << "row " << i;
  }
}

TEST(ReadTableTest, PublishedRowsByLine) {
  absl::StatusOr<Table> table = ReadTable(ReadFile(kPublishedTable));
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->rows.size(), 36u);

  const TableRow& first = table->rows.front();
  EXPECT_EQ(first.line, 4);
  EXPECT_EQ(first.cells[0], "①姉妹・友好都市及び政策提携都市との交流");
  EXPECT_EQ(first.cells[1], "政策企画局外務部");
  EXPECT_EQ(first.cells[2], "大韓民国ソウル特別市");

  struct Case {
    std::string department;
    std::string title;
    int line;
  };
  const std::vector<Case> cases = {
      {"生活文化局都民生活部",
       "太田記念館を活用した中華人民共和国北京市との交流事業の促進", 13},
      {"生活文化局文化振興部", "大韓民国ソウル市との交流・協力に関わる取組",
       15},
      {"オリンピック・パラリンピック準備局スポーツ推進部",
       "オーストラリア連邦NSW州との交流・協力に関わる取組", 23},
      {"オリンピック・パラリンピック準備局スポーツ推進部",
       "ロシア連邦モスクワ市との交流・協力に関わる取組", 25},
      {"教育庁指導部", "オーストラリア連邦NSW州", 36},
      {"教育庁指導部",
       "東京都国際交流コンシェルジュによるグリーティングカードギフト交流の実施",
       38},
      {"港湾局港湾経営部", "海外主要港との情報共有及び開発途上国への情報提供",
       42},
  };
  for (const Case& c : cases) {
    const TableRow* found = nullptr;
    for (const TableRow& row : table->rows) {
      if (row.cells[1] == c.department && row.cells[2] == c.title) {
        EXPECT_EQ(found, nullptr) << "two rows for " << c.title;
        found = &row;
      }
    }
    ASSERT_NE(found, nullptr) << c.department << " " << c.title;
    EXPECT_EQ(found->line, c.line) << c.department << " " << c.title;
  }
  EXPECT_EQ(table->rows.back().cells[0], "②姉妹港交流");
}

TEST(FiscalYearFromTextTest, Cases) {
  struct Case {
    std::string text;
    int year;
  };
  const std::vector<Case> cases = {
      {"R元年度", 2019},
      {"④実績(R元年度)", 2019},
      {"R2年度", 2020},
      {"令和元年度", 2019},
      {"令和2年度", 2020},
      {"④実績(令和5年度)", 2023},
      {"H30年度", 2018},
      {"平成30年度", 2018},
      {"平成元年度", 1989},
      {"H元年度", 1989},
      {"2019年度", 2019},
      {"④実績(2021年度)", 2021},
      {"Ｒ２年度", 2020},
      {"Ｒ元年度", 2019},
      {"令和２年度", 2020},
      {"２０１９年度", 2019},
      {"Ｈ３０年度", 2018},
      {"④実績", 0},
      {"実績", 0},
      {"", 0},
      {"年度", 0},
      {"R年度", 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FiscalYearFromText(c.text), c.year) << "text \"" << c.text
                                                  << "\"";
  }
}

TEST(ReadTableTest, StripsByteOrderMark) {
  absl::StatusOr<Table> table =
      ReadTable("\xEF\xBB\xBF" + std::string(kTsvHeader) +
                "\n①交流\t政策企画局外務部\t北京市\t実績\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->header[0], "①分野");
  EXPECT_EQ(table->fiscal_year, 2019);
  EXPECT_EQ(table->header_line, 1);
  ASSERT_EQ(table->rows.size(), 1u);
  EXPECT_EQ(table->rows[0].line, 2);
  EXPECT_THAT(table->rows[0].cells,
              ElementsAre("①交流", "政策企画局外務部", "北京市", "実績"));
}

TEST(ReadTableTest, CrLfLineEndings) {
  absl::StatusOr<Table> table =
      ReadTable(std::string(kTsvHeader) +
                "\r\n\r\n①交流\t政策企画局外務部\t北京市\t実績\r\n"
                "②姉妹港交流\t港湾局港湾経営部\t港\t\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->header[3], "④実績(R元年度)");
  EXPECT_EQ(table->fiscal_year, 2019);
  ASSERT_EQ(table->rows.size(), 2u);
  EXPECT_EQ(table->rows[0].line, 3);
  EXPECT_THAT(table->rows[0].cells,
              ElementsAre("①交流", "政策企画局外務部", "北京市", "実績"));
  EXPECT_EQ(table->rows[1].line, 4);
  EXPECT_THAT(table->rows[1].cells,
              ElementsAre("②姉妹港交流", "港湾局港湾経営部", "港", ""));
}

TEST(ReadTableTest, CommaSeparatedWithQuotedCells) {
  const std::string content =
      std::string(kCsvHeader) +
      "\n"                                                     // line 1
      "①交流,政策企画局外務部,\"パリ市, フランス\","             // line 2
      "\"<p>He said \"\"hi\"\"</p>\nsecond line\"\n"             // line 3
      "②姉妹港交流,港湾局港湾経営部,\"港\",\"a\"\"b\"\n"          // line 4
      "\n"                                                     // line 5
      "③,教育庁指導部,\"\",\"x\r\ny\"\r\n";                     // line 6-7
  absl::StatusOr<Table> table = ReadTable(content);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->separator, ',');
  EXPECT_EQ(table->fiscal_year, 2020);
  ASSERT_EQ(table->header.size(), 4u);
  EXPECT_EQ(table->header[3], "④実績(令和2年度)");
  ASSERT_EQ(table->rows.size(), 3u);

  EXPECT_EQ(table->rows[0].line, 2);
  EXPECT_THAT(table->rows[0].cells,
              ElementsAre("①交流", "政策企画局外務部", "パリ市, フランス",
                          "<p>He said \"hi\"</p>\nsecond line"));
  // The quoted line break moves the next row to line 4.
  EXPECT_EQ(table->rows[1].line, 4);
  EXPECT_THAT(table->rows[1].cells,
              ElementsAre("②姉妹港交流", "港湾局港湾経営部", "港", "a\"b"));
  EXPECT_EQ(table->rows[2].line, 6);
  ASSERT_EQ(table->rows[2].cells.size(), 4u);
  EXPECT_EQ(table->rows[2].cells[2], "");
  EXPECT_EQ(table->rows[2].cells[3].front(), 'x');
  EXPECT_EQ(table->rows[2].cells[3].back(), 'y');
}

TEST(ReadTableTest, TabSeparatedCellsMayHoldCommas) {
  absl::StatusOr<Table> table = ReadTable(
      std::string(kTsvHeader) + "\n①交流\t政策企画局外務部\ta, b, c\t1,2,3\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->separator, '\t');
  ASSERT_EQ(table->rows.size(), 1u);
  EXPECT_THAT(table->rows[0].cells,
              ElementsAre("①交流", "政策企画局外務部", "a, b, c", "1,2,3"));
}

TEST(ReadTableTest, SkipsBlankLines) {
  const std::string content = "\n\n" + std::string(kTsvHeader) +  // line 3
                              "\n\n"                             // line 4
                              "①\t教育庁指導部\tA\tx\n"           // line 5
                              " \t \t\n"                         // line 6
                              "\t\t\t\n"                         // line 7
                              "\n"                               // line 8
                              "①\t教育庁指導部\tB\ty\n"           // line 9
                              "\n\n";
  absl::StatusOr<Table> table = ReadTable(content);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->header_line, 3);
  ASSERT_EQ(table->rows.size(), 2u);
  EXPECT_EQ(table->rows[0].line, 5);
  EXPECT_EQ(table->rows[0].cells[2], "A");
  EXPECT_EQ(table->rows[1].line, 9);
  EXPECT_EQ(table->rows[1].cells[2], "B");
}

TEST(ReadTableTest, HeaderOnly) {
  absl::StatusOr<Table> table = ReadTable(std::string(kTsvHeader) + "\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->rows, IsEmpty());
  EXPECT_EQ(table->fiscal_year, 2019);
}

TEST(ReadTableTest, HeaderWithoutYear) {
  absl::StatusOr<Table> table =
      ReadTable("①分野\t②担当\t③項目名\t④実績\n①\t教育庁\tA\tx\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->fiscal_year, 0);
  EXPECT_EQ(table->rows.size(), 1u);
}

TEST(ReadTableTest, Errors) {
  const std::string header = std::string(kTsvHeader) + "\n";
  struct Case {
    std::string description;
    std::string content;
    // The field of the first violation; "" to check only that there is one.
    std::string field;
  };
  const std::vector<Case> cases = {
      {"invalid UTF-8 in a cell",
       header + "①\t教育庁\tA\tx\n①\t\xff\xfe\tB\ty\n", "rows[3].column[2]"},
      {"truncated UTF-8 in the last cell",
       header + "①\t教育庁\tA\t\xe6\x9d\n", "rows[2].column[4]"},
      {"Shift_JIS bytes", header + "①\t\x8b\xb3\x88\xe7\x92\xa1\tA\tx\n",
       "rows[2].column[2]"},
      {"invalid UTF-8 in the header", "①分野\t\xff\t③項目名\t④実績\n", ""},
      {"unterminated quote",
       header + "①\t\"教育庁\tA\tx\n①\t教育庁\tB\ty\n", ""},
      {"empty input", "", ""},
      {"only line breaks", "\n\r\n\n", ""},
      {"only a byte order mark", "\xEF\xBB\xBF", ""},
      {"only blank cells", " \t \n\t\t\n", ""},
      {"unrecognised header", "name\tdepartment\ttitle\tresults\n①\tx\ty\tz\n",
       ""},
      {"header with too few columns", "①分野\t②担当(関係)部所名\t③項目名\n",
       ""},
      {"header columns out of order",
       "②担当(関係)部所名\t①分野\t③項目名\t④実績(R元年度)\n", ""},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Table> table = ReadTable(c.content);
    ASSERT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument)
        << c.description << ": " << table.status();
    EXPECT_THAT(ReasonOf(table.status()), Not(IsEmpty())) << c.description;
    std::vector<FieldViolation> violations = ViolationsOf(table.status());
    ASSERT_THAT(violations, Not(IsEmpty())) << c.description;
    EXPECT_THAT(violations[0].field, Not(IsEmpty())) << c.description;
    EXPECT_THAT(violations[0].description, Not(IsEmpty())) << c.description;
    if (!c.field.empty()) {
      EXPECT_EQ(violations[0].field, c.field) << c.description;
    }
  }
}

TEST(ReadTableTest, UnterminatedQuoteNamesTheLineWhereItOpens) {
  absl::StatusOr<Table> table =
      ReadTable(std::string(kTsvHeader) +
                "\n①\t教育庁\tA\tx\n①\t教育庁\t\"B\tlong\nmore\n");
  ASSERT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<FieldViolation> violations = ViolationsOf(table.status());
  ASSERT_THAT(violations, Not(IsEmpty()));
  EXPECT_EQ(violations[0].field, "rows[3].column[3]");
}

TEST(ReadTableTest, UnrecognisedHeaderNamesTheColumn) {
  absl::StatusOr<Table> table =
      ReadTable("\n①分野\t②担当(関係)部所名\tタイトル\t④実績(R元年度)\n");
  ASSERT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<FieldViolation> violations = ViolationsOf(table.status());
  ASSERT_THAT(violations, Not(IsEmpty()));
  EXPECT_EQ(violations[0].field, "rows[2].column[3]");
}

// Shift_JIS has no circled digits: a table that went through such a tool
// names its columns without them, or numbers them 1分野 or (1)分野.
TEST(ReadTableTest, HeaderWithOrWithoutCircledDigits) {
  const std::vector<std::string> headers = {
      "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)",
      "分野\t担当(関係)部所名\t項目名\t実績(R元年度)",
      "1分野\t2担当(関係)部所名\t3項目名\t4実績(R元年度)",
      "(1)分野\t(2)担当(関係)部所名\t(3)項目名\t(4)実績(R元年度)",
      "（１）分野\t（２）担当(関係)部所名\t（３）項目名\t（４）実績(R元年度)",
      "⑴分野\t⑵担当(関係)部所名\t⑶項目名\t⑷実績(R元年度)",
      "１分野\t②担当(関係)部所名\t項目名\t(4)実績(R元年度)",
  };
  for (const std::string& header : headers) {
    absl::StatusOr<Table> table =
        ReadTable(header + "\n①\t教育庁\tA\tx\n");
    ASSERT_TRUE(table.ok()) << header << ": " << table.status();
    EXPECT_EQ(table->fiscal_year, 2019) << header;
    EXPECT_EQ(table->rows.size(), 1u) << header;
  }
}

TEST(ReadTableTest, UnrecognisedHeaderSaysWhichFormsAreAccepted) {
  // A digit that is not the column's own is no match either.
  for (const std::string header :
       {"分類\t担当\t項目名\t実績", "2分野\t担当\t項目名\t実績"}) {
    absl::StatusOr<Table> table = ReadTable(header + "\n①\t教育庁\tA\tx\n");
    ASSERT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument)
        << header;
    EXPECT_EQ(ReasonOf(table.status()), "UNRECOGNIZED_HEADER");
    std::vector<FieldViolation> violations = ViolationsOf(table.status());
    ASSERT_THAT(violations, Not(IsEmpty()));
    EXPECT_EQ(violations[0].field, "rows[1].column[1]");
    EXPECT_THAT(violations[0].description,
                ::testing::HasSubstr("①分野, 分野, 1分野 or (1)分野"));
  }
}

TEST(ReadTableTest, ErrorsCarryLineColumnAndExpectedInMetadata) {
  absl::StatusOr<Table> header =
      ReadTable("①分野\t②担当(関係)部所名\tタイトル\t④実績(R元年度)\n");
  EXPECT_EQ(MetadataOf(header.status()),
            (ErrorMetadata{{"field", "rows[1].column[3]"},
                           {"line", "1"},
                           {"column", "3"},
                           {"expected", "項目"}}));
  absl::StatusOr<Table> bytes =
      ReadTable(std::string(kTsvHeader) + "\n①\t教育庁\t\xff\tx\n");
  EXPECT_EQ(MetadataOf(bytes.status()),
            (ErrorMetadata{{"field", "rows[2].column[3]"},
                           {"line", "2"},
                           {"column", "3"}}));
  absl::StatusOr<Table> empty = ReadTable("");
  EXPECT_EQ(MetadataOf(empty.status()),
            (ErrorMetadata{{"field", "rows[1]"}, {"line", "1"}}));
}

}  // namespace
}  // namespace kouryu::ingest
