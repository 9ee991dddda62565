// kouryu-cli's output and channel helpers: display width, cells, the
// published header, and the TLS flags' errors.

#include "cli/channel.h"
#include "cli/export.h"
#include "cli/output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu::cli {
namespace {

using ::testing::HasSubstr;

TEST(DisplayWidthTest, CountsColumnsAsATerminalDraws) {
  struct Case {
    const char* text;
    int width;
  } cases[] = {
      {"", 0},
      {"seoul", 5},
      {"ソウル特別市", 12},                  // Katakana and kanji: wide.
      {"ＲＷＣ", 6},                         // Fullwidth Latin.
      {"ｿｳﾙ", 3},                            // Halfwidth katakana.
      {"オリンピック・パラリンピック", 28},  // ・ (U+30FB) is wide.
      {"①分野", 5},                          // ① is ambiguous: one column.
      {"e\xCC\x81", 1},                      // e + combining acute accent.
      {"\xFF", 1},  // Invalid UTF-8: a column per byte.
  };
  for (const Case& c : cases)
    EXPECT_EQ(DisplayWidth(c.text), c.width) << c.text;
}

TEST(FitToWidthTest, CutsByColumnsAndKeepsOneLine) {
  EXPECT_EQ(FitToWidth("大韓民国ソウル特別市", 20), "大韓民国ソウル特別市");
  EXPECT_EQ(FitToWidth("大韓民国ソウル特別市", 9), "大韓民国…");
  EXPECT_EQ(FitToWidth("a\nb\tc", 10), "a b c");
}

TEST(QuoteCellTest, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(QuoteCell("plain", '\t'), "plain");
  EXPECT_EQ(QuoteCell("a,b", '\t'), "a,b");
  EXPECT_EQ(QuoteCell("a,b", ','), "\"a,b\"");
  EXPECT_EQ(QuoteCell("a\tb", '\t'), "\"a\tb\"");
  EXPECT_EQ(QuoteCell("<ul style=\"x\">\n・a", '\t'),
            "\"<ul style=\"\"x\"\">\n・a\"");
}

TEST(PublishedHeaderTest, NamesTheYearInTheJapaneseEra) {
  EXPECT_EQ(PublishedHeader(2019, '\t'),
            "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)");
  EXPECT_EQ(PublishedHeader(2021, ','),
            "①分野,②担当(関係)部所名,③項目名,④実績(R3年度)");
  EXPECT_EQ(PublishedHeader(2018, '\t'),
            "①分野\t②担当(関係)部所名\t③項目名\t④実績(H30年度)");
}

TEST(ParseFormatTest, NamesTheFormats) {
  EXPECT_EQ(*ParseFormat("tsv"), Format::kTsv);
  EXPECT_EQ(*ParseFormat("jsonl"), Format::kJsonl);
  EXPECT_THAT(ParseFormat("yaml").status().message(), HasSubstr("table, json"));
}

TEST(MakeCredentialsTest, PlaintextUnlessATlsFlagIsGiven) {
  EXPECT_TRUE(MakeCredentials({}).ok());
  EXPECT_TRUE(MakeCredentials({.plaintext = true}).ok());
  EXPECT_TRUE(MakeCredentials({.servername = "kouryu-query"}).ok());
  EXPECT_TRUE(MakeCredentials({.insecure = true}).ok());
  EXPECT_TRUE(
      MakeChannel("127.0.0.1:1", {.servername = "x", .insecure = true}).ok());
}

TEST(MakeCredentialsTest, ConflictsAndUnreadableFilesSayWhy) {
  absl::Status both =
      MakeCredentials({.plaintext = true, .insecure = true}).status();
  EXPECT_EQ(both.code(), absl::StatusCode::kInvalidArgument);
  absl::Status half = MakeCredentials({.cert = "/etc/hostname"}).status();
  EXPECT_THAT(half.message(), HasSubstr("-cert and -key go together"));
  absl::Status missing =
      MakeCredentials({.cacert = "/nonexistent/ca.pem"}).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(),
            "cannot read /nonexistent/ca.pem: No such file or directory");
  absl::Status key = MakeCredentials({.cert = "/etc/hostname",
                                      .key = "/nonexistent/key.pem",
                                      .insecure = true})
                         .status();
  EXPECT_THAT(key.message(), HasSubstr("key.pem: No such file or directory"));
}

}  // namespace
}  // namespace kouryu::cli
