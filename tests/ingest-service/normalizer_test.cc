#include "ingest-service/normalizer.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/gazetteer.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kSisterCity[] = "①姉妹・友好都市及び政策提携都市との交流";
constexpr char kSisterPort[] = "②姉妹港交流";

template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

v1::RawRecord Raw(absl::string_view category, absl::string_view department,
                  absl::string_view title, absl::string_view results,
                  int fiscal_year = 2019) {
  v1::RawRecord raw;
  raw.set_category(std::string(category));
  raw.set_department(std::string(department));
  raw.set_title(std::string(title));
  raw.set_results(std::string(results));
  raw.set_fiscal_year(fiscal_year);
  return raw;
}

// Line 4 of data/tokyo-exchange-r1.tsv.
v1::RawRecord SeoulRow() {
  return Raw(kSisterCity, "政策企画局外務部", "大韓民国ソウル特別市",
             "4月25日、ソウル特別市人事課庁4名に都政説明実施 "
             "12月19日、ソウル特別市安全総括課9名に都政説明実施");
}

v1::SourceRef Source(int row) {
  v1::SourceRef source;
  source.set_file_name("tokyo-exchange-r1.tsv");
  source.set_row(row);
  return source;
}

std::vector<std::string> Ids(
    const google::protobuf::RepeatedPtrField<v1::City>& cities) {
  std::vector<std::string> ids;
  for (const v1::City& c : cities) ids.push_back(c.id());
  return ids;
}

class NormalizerTest : public ::testing::Test {
 protected:
  // The normalized record, or the error.
  absl::StatusOr<v1::Record> Normalize(const v1::RawRecord& raw,
                                       absl::string_view prefix = "rows[4].") {
    NormalizeOptions options;
    options.field_prefix = prefix;
    absl::StatusOr<NormalizedRecord> out =
        normalizer_.Normalize(raw, Source(4), options);
    if (!out.ok()) return out.status();
    return std::move(out->record);
  }

  Normalizer normalizer_{Gazetteer::Builtin()};
};

TEST_F(NormalizerTest, PublishedRow) {
  const v1::RawRecord raw = SeoulRow();
  absl::StatusOr<v1::Record> record = Normalize(raw);
  ASSERT_TRUE(record.ok()) << record.status();

  EXPECT_THAT(record->name(),
              MatchesRegex("cities/seoul/bureaus/policy-planning/records/"
                           "fy2019-[0-9a-f]{16}"));
  EXPECT_EQ(record->fiscal_year(), 2019);
  EXPECT_EQ(record->category(), v1::CATEGORY_SISTER_CITY_EXCHANGE);
  EXPECT_EQ(record->category_label(), kSisterCity);
  EXPECT_EQ(record->city().id(), "seoul");
  EXPECT_EQ(record->city().name_ja(), "ソウル特別市");
  EXPECT_EQ(record->city().name_en(), "Seoul");
  EXPECT_EQ(record->city().country_code(), "KR");
  EXPECT_EQ(record->city().country_name_ja(), "大韓民国");
  EXPECT_EQ(record->bureau().id(), "policy-planning");
  EXPECT_EQ(record->bureau().name_ja(), "政策企画局");
  EXPECT_FALSE(record->bureau().name_en().empty());
  EXPECT_EQ(record->department(), "外務部");
  EXPECT_EQ(record->title(), "大韓民国ソウル特別市");
  EXPECT_THAT(Ids(record->mentioned_cities()), ElementsAre("seoul"));
  EXPECT_THAT(record->results_text(), HasSubstr("4月25日"));
  EXPECT_THAT(record->results_text(), HasSubstr("9名に都政説明実施"));
  EXPECT_EQ(record->source_html(), raw.results());
  EXPECT_EQ(record->source().file_name(), "tokyo-exchange-r1.tsv");
  EXPECT_EQ(record->source().row(), 4);
  // The store sets these.
  EXPECT_TRUE(record->etag().empty());
  EXPECT_FALSE(record->has_create_time());
}

TEST_F(NormalizerTest, PublishedRowsTable) {
  struct Case {
    int line;
    v1::RawRecord raw;
    std::string city;
    std::string bureau;
    std::string department;
    v1::Category category;
  };
  const std::vector<Case> cases = {
      {22,
       Raw(kSisterCity, "オリンピック・パラリンピック準備局スポーツ推進部",
           "大韓民国ソウル市との交流・協力に関わる取組", "<p>【スポーツ交流】</p>"),
       "seoul", "olympic-paralympic", "スポーツ推進部",
       v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {36,
       Raw(kSisterCity, "教育庁指導部", "オーストラリア連邦NSW州", "派遣"),
       "new-south-wales", "education", "指導部",
       v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {7,
       Raw(kSisterCity, "政策企画局外務部",
           "インドネシア共和国ジャカルタ特別市", "会談"),
       "jakarta", "policy-planning", "外務部",
       v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {30,
       Raw(kSisterCity, "環境局総務部",
           "アメリカ合衆国ロサンゼルス市との交流・協力に関わる取組", ""),
       "los-angeles", "environment", "総務部",
       v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {10,
       Raw(kSisterCity, "政策企画局外務部", "姉妹友好都市等との関係強化",
           "知事会談"),
       "unassigned", "policy-planning", "外務部",
       v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {42,
       Raw(kSisterPort, "港湾局港湾経営部",
           "海外主要港との情報共有及び開発途上国への情報提供", "情報提供"),
       "unassigned", "port-harbor", "港湾経営部",
       v1::CATEGORY_SISTER_PORT_EXCHANGE},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::Record> record = Normalize(c.raw);
    ASSERT_TRUE(record.ok()) << "line " << c.line << ": " << record.status();
    EXPECT_EQ(record->city().id(), c.city) << "line " << c.line;
    EXPECT_EQ(record->bureau().id(), c.bureau) << "line " << c.line;
    EXPECT_EQ(record->department(), c.department) << "line " << c.line;
    EXPECT_EQ(record->category(), c.category) << "line " << c.line;
    EXPECT_EQ(record->category_label(), c.raw.category()) << "line " << c.line;
    EXPECT_THAT(record->name(),
                MatchesRegex("cities/" + c.city + "/bureaus/" + c.bureau +
                             "/records/fy2019-[0-9a-f]{16}"))
        << "line " << c.line;
  }
}

TEST_F(NormalizerTest, SameNaturalKeySameName) {
  const v1::RawRecord base =
      Raw(kSisterCity, "教育庁指導部",
          "オーストラリア連邦NSW州との交流・協力に関わる取組", "派遣");
  absl::StatusOr<v1::Record> expected = Normalize(base);
  ASSERT_TRUE(expected.ok()) << expected.status();

  struct Case {
    std::string description;
    std::function<void(v1::RawRecord&)> change;
  };
  const std::vector<Case> cases = {
      {"full-width letters",
       [](v1::RawRecord& r) {
         r.set_title("オーストラリア連邦ＮＳＷ州との交流・協力に関わる取組");
       }},
      {"spaces around the title",
       [](v1::RawRecord& r) {
         r.set_title("\u3000 オーストラリア連邦NSW州との交流・協力に関わる取組 ");
       }},
      {"space between bureau and department",
       [](v1::RawRecord& r) { r.set_department("教育庁\u3000指導部"); }},
      {"spaces around the department",
       [](v1::RawRecord& r) { r.set_department(" 教育庁指導部\t"); }},
      {"other results",
       [](v1::RawRecord& r) { r.set_results("<p>別の実績</p>"); }},
      {"category label with spaces",
       [](v1::RawRecord& r) { r.set_category(std::string(" ") + kSisterCity); }},
  };
  for (const Case& c : cases) {
    v1::RawRecord raw = base;
    c.change(raw);
    absl::StatusOr<v1::Record> record = Normalize(raw, "record.");
    ASSERT_TRUE(record.ok()) << c.description << ": " << record.status();
    EXPECT_EQ(record->name(), expected->name()) << c.description;
  }
}

TEST_F(NormalizerTest, DifferentNaturalKeyDifferentName) {
  const v1::RawRecord base =
      Raw(kSisterCity, "教育庁指導部", "オーストラリア連邦NSW州", "派遣");
  absl::StatusOr<v1::Record> expected = Normalize(base);
  ASSERT_TRUE(expected.ok()) << expected.status();

  struct Case {
    std::string description;
    std::function<void(v1::RawRecord&)> change;
  };
  const std::vector<Case> cases = {
      {"fiscal year", [](v1::RawRecord& r) { r.set_fiscal_year(2020); }},
      {"department", [](v1::RawRecord& r) { r.set_department("教育庁総務部"); }},
      {"title",
       [](v1::RawRecord& r) { r.set_title("オーストラリア連邦NSW州との交流"); }},
  };
  for (const Case& c : cases) {
    v1::RawRecord raw = base;
    c.change(raw);
    absl::StatusOr<v1::Record> record = Normalize(raw);
    ASSERT_TRUE(record.ok()) << c.description << ": " << record.status();
    EXPECT_NE(record->name(), expected->name()) << c.description;
    EXPECT_EQ(record->city().id(), "new-south-wales") << c.description;
  }
  absl::StatusOr<v1::Record> fy2020 = [&] {
    v1::RawRecord raw = base;
    raw.set_fiscal_year(2020);
    return Normalize(raw);
  }();
  ASSERT_TRUE(fy2020.ok());
  EXPECT_THAT(fy2020->name(), HasSubstr("/records/fy2020-"));
}

TEST_F(NormalizerTest, MentionedCitiesFromTitleAndResults) {
  absl::StatusOr<v1::Record> record = Normalize(
      Raw(kSisterCity, "政策企画局外務部", "姉妹友好都市等との関係強化",
          "<ul style=\"list-style-type: none\"> ・8月26日 北京市長との合意 "
          "・5月20日 ローマ市長との知事会談 ・5月20日 ベルリン市長との知事会談 "
          "・北京市再訪</ul>"));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->city().id(), "unassigned");
  EXPECT_EQ(record->city().name_ja(), Gazetteer::Unassigned().name_ja);
  EXPECT_THAT(record->name(),
              HasSubstr("cities/unassigned/bureaus/policy-planning/records/"));
  EXPECT_THAT(Ids(record->mentioned_cities()),
              ElementsAre("beijing", "rome", "berlin"));
}

TEST_F(NormalizerTest, TitleCityComesFirstAmongMentionedCities) {
  absl::StatusOr<v1::Record> record = Normalize(
      Raw(kSisterCity, "オリンピック・パラリンピック準備局総務部",
          "フランス共和国パリ市",
          "<ul><li>4月11日、中華人民共和国北京市にて、パリ市副市長と面会。"
          "</li></ul>"));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->city().id(), "paris");
  EXPECT_THAT(Ids(record->mentioned_cities()),
              ElementsAre("paris", "beijing"));
}

TEST_F(NormalizerTest, TitleNamingTwoCitiesIsUnassigned) {
  absl::StatusOr<v1::Record> record =
      Normalize(Raw(kSisterCity, "政策企画局外務部", "北京市及びソウル市との交流",
                    ""));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->city().id(), "unassigned");
  EXPECT_THAT(Ids(record->mentioned_cities()),
              ElementsAre("beijing", "seoul"));
}

TEST_F(NormalizerTest, ResultsMayHoldTabsAndLineBreaks) {
  absl::StatusOr<v1::Record> record =
      Normalize(Raw(kSisterCity, "教育庁指導部", "オーストラリア連邦NSW州",
                    "a\tb\r\nc\n"));
  ASSERT_TRUE(record.ok()) << record.status();
}

TEST_F(NormalizerTest, LimitsAreInclusive) {
  v1::RawRecord raw = SeoulRow();
  raw.set_title(std::string(kMaxTitleBytes, 'a'));
  raw.set_results(std::string(kMaxResultsBytes, 'b'));
  raw.set_category(std::string(kMaxCategoryBytes, 'c'));
  raw.set_fiscal_year(kMinFiscalYear);
  EXPECT_TRUE(Normalize(raw).ok());
  raw.set_fiscal_year(kMaxFiscalYear);
  EXPECT_TRUE(Normalize(raw).ok());
}

TEST_F(NormalizerTest, Violations) {
  struct Case {
    std::string description;
    std::function<void(v1::RawRecord&)> change;
    std::string field;
    std::string description_contains;
  };
  const std::vector<Case> cases = {
      {"empty category", [](v1::RawRecord& r) { r.set_category(""); },
       "rows[12].category", ""},
      {"blank category", [](v1::RawRecord& r) { r.set_category("\u3000 "); },
       "rows[12].category", ""},
      {"empty department", [](v1::RawRecord& r) { r.set_department(""); },
       "rows[12].department", ""},
      {"empty title", [](v1::RawRecord& r) { r.set_title(""); },
       "rows[12].title", ""},
      {"blank title", [](v1::RawRecord& r) { r.set_title(" \t\u3000"); },
       "rows[12].title", ""},
      {"unknown bureau",
       [](v1::RawRecord& r) { r.set_department("火星局総務部"); },
       "rows[12].department", "火星局総務部"},
      {"category too long",
       [](v1::RawRecord& r) {
         r.set_category(std::string(kMaxCategoryBytes + 1, 'c'));
       },
       "rows[12].category", ""},
      {"department too long",
       [](v1::RawRecord& r) {
         r.set_department("政策企画局" +
                          std::string(kMaxDepartmentBytes, 'd'));
       },
       "rows[12].department", ""},
      {"title too long",
       [](v1::RawRecord& r) {
         r.set_title(std::string(kMaxTitleBytes + 1, 't'));
       },
       "rows[12].title", ""},
      {"results too long",
       [](v1::RawRecord& r) {
         r.set_results(std::string(kMaxResultsBytes + 1, 'r'));
       },
       "rows[12].results", ""},
      {"NUL in title",
       [](v1::RawRecord& r) { r.set_title(Bytes("ソウル\0市")); },
       "rows[12].title", ""},
      {"NUL in results",
       [](v1::RawRecord& r) { r.set_results(Bytes("実績\0")); },
       "rows[12].results", ""},
      {"control character in department",
       [](v1::RawRecord& r) { r.set_department("政策企画局\x01外務部"); },
       "rows[12].department", ""},
      {"DEL in category",
       [](v1::RawRecord& r) { r.set_category("①\x7f"); },
       "rows[12].category", ""},
      {"escape in results",
       [](v1::RawRecord& r) { r.set_results("\x1b[31mred"); },
       "rows[12].results", ""},
      {"invalid UTF-8 in title",
       [](v1::RawRecord& r) { r.set_title("ソウル\xff"); }, "rows[12].title",
       ""},
      {"invalid UTF-8 in results",
       [](v1::RawRecord& r) { r.set_results("\xe6\x9d"); },
       "rows[12].results", ""},
      {"Shift_JIS department",
       [](v1::RawRecord& r) { r.set_department("\x90\xad\x8d\xf4"); },
       "rows[12].department", ""},
      {"fiscal year 0", [](v1::RawRecord& r) { r.set_fiscal_year(0); },
       "rows[12].fiscal_year", ""},
      {"fiscal year before 1989",
       [](v1::RawRecord& r) { r.set_fiscal_year(kMinFiscalYear - 1); },
       "rows[12].fiscal_year", ""},
      {"fiscal year after 2100",
       [](v1::RawRecord& r) { r.set_fiscal_year(kMaxFiscalYear + 1); },
       "rows[12].fiscal_year", ""},
      {"negative fiscal year",
       [](v1::RawRecord& r) { r.set_fiscal_year(-2019); },
       "rows[12].fiscal_year", ""},
  };
  for (const Case& c : cases) {
    v1::RawRecord raw = SeoulRow();
    c.change(raw);
    absl::StatusOr<v1::Record> record = Normalize(raw, "rows[12].");
    ASSERT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument)
        << c.description << ": " << record.status();
    EXPECT_THAT(ReasonOf(record.status()), Not(IsEmpty())) << c.description;
    std::vector<FieldViolation> violations = ViolationsOf(record.status());
    ASSERT_EQ(violations.size(), 1u) << c.description;
    EXPECT_EQ(violations[0].field, c.field) << c.description;
    EXPECT_THAT(violations[0].description, Not(IsEmpty())) << c.description;
    EXPECT_THAT(violations[0].description, HasSubstr(c.description_contains))
        << c.description;
  }
}

TEST_F(NormalizerTest, ListsEveryViolation) {
  absl::StatusOr<v1::Record> record =
      Normalize(Raw("", "", "", "", 0), "record.");
  ASSERT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const FieldViolation& v : ViolationsOf(record.status())) {
    fields.push_back(v.field);
  }
  EXPECT_THAT(fields, ElementsAreArray({"record.category", "record.department",
                                        "record.title", "record.fiscal_year"}));
}

TEST(CategoryFromLabelTest, Cases) {
  struct Case {
    std::string label;
    v1::Category category;
  };
  const std::vector<Case> cases = {
      {kSisterCity, v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {"姉妹・友好都市及び政策提携都市との交流", v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {"1姉妹・友好都市及び政策提携都市との交流",
       v1::CATEGORY_SISTER_CITY_EXCHANGE},
      {kSisterPort, v1::CATEGORY_SISTER_PORT_EXCHANGE},
      {"姉妹港交流", v1::CATEGORY_SISTER_PORT_EXCHANGE},
      {"③その他の国際交流", v1::CATEGORY_OTHER},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CategoryFromLabel(c.label), c.category) << c.label;
  }
}

}  // namespace
}  // namespace kouryu::ingest
