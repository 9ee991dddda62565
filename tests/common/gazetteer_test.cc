#include "common/gazetteer.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/keys.h"
#include "common/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPublishedTable[] = KOURYU_SOURCE_DIR
    "/data/tokyo-exchange-r1.tsv";
constexpr char kGazetteerFile[] = KOURYU_SOURCE_DIR "/data/gazetteer.tsv";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// A data row of the published table, read here without the table reader.
struct PublishedRow {
  int line;
  std::string department;  // Column ②.
  std::string title;       // Column ③.
};

std::vector<PublishedRow> ReadPublishedRows() {
  std::vector<PublishedRow> rows;
  int line_number = 0;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(kPublishedTable), '\n')) {
    ++line_number;
    line = absl::StripSuffix(line, "\r");
    std::vector<std::string> cells = absl::StrSplit(line, '\t');
    if (cells.size() != 4 || cells[1].rfind("②", 0) == 0) continue;
    rows.push_back({line_number, cells[1], cells[2]});
  }
  return rows;
}

std::vector<std::string> Ids(const std::vector<const CityEntry*>& cities) {
  std::vector<std::string> ids;
  for (const CityEntry* c : cities) ids.push_back(c->id);
  return ids;
}

TEST(GazetteerTest, BuiltinParses) {
  const Gazetteer& g = Gazetteer::Builtin();
  EXPECT_GE(g.cities().size(), 14u);
  EXPECT_GE(g.bureaus().size(), 30u);

  const CityEntry* seoul = g.FindCity("seoul");
  ASSERT_NE(seoul, nullptr);
  EXPECT_EQ(seoul->name_ja, "ソウル特別市");
  EXPECT_EQ(seoul->name_en, "Seoul");
  EXPECT_EQ(seoul->country_code, "KR");
  EXPECT_EQ(seoul->country_name_ja, "大韓民国");
  EXPECT_THAT(seoul->aliases, ElementsAre("ソウル市", "ソウル"));

  const BureauEntry* policy = g.FindBureau("policy-planning");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->name_ja, "政策企画局");
  EXPECT_THAT(policy->aliases, IsEmpty());

  EXPECT_EQ(g.FindCity("atlantis"), nullptr);
  EXPECT_EQ(g.FindBureau("ministry-of-magic"), nullptr);
}

TEST(GazetteerTest, LoadReadsTheDataFileLikeBuiltin) {
  absl::StatusOr<std::unique_ptr<Gazetteer>> loaded =
      Gazetteer::Load(kGazetteerFile);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Gazetteer& builtin = Gazetteer::Builtin();
  ASSERT_EQ((*loaded)->cities().size(), builtin.cities().size());
  ASSERT_EQ((*loaded)->bureaus().size(), builtin.bureaus().size());
  for (size_t i = 0; i < builtin.cities().size(); ++i) {
    EXPECT_EQ((*loaded)->cities()[i].id, builtin.cities()[i].id);
  }
}

TEST(GazetteerTest, LoadOfMissingFileFails) {
  absl::StatusOr<std::unique_ptr<Gazetteer>> loaded =
      Gazetteer::Load(KOURYU_SOURCE_DIR "/data/no-such-gazetteer.tsv");
  EXPECT_FALSE(loaded.ok());
}

TEST(GazetteerTest, EveryPublishedDepartmentSplits) {
  struct Expected {
    std::string bureau_id;
    std::string department;
  };
  // Every department string of the published table.
  const std::map<std::string, Expected> expected = {
      {"政策企画局外務部", {"policy-planning", "外務部"}},
      {"総務局総務部", {"general-affairs", "総務部"}},
      {"生活文化局都民生活部", {"citizens-culture", "都民生活部"}},
      {"生活文化局文化振興部", {"citizens-culture", "文化振興部"}},
      {"オリンピック・パラリンピック準備局総務部",
       {"olympic-paralympic", "総務部"}},
      {"オリンピック・パラリンピック準備局スポーツ推進部",
       {"olympic-paralympic", "スポーツ推進部"}},
      {"環境局総務部", {"environment", "総務部"}},
      {"福祉保健局健康安全部",
       {"social-welfare-public-health", "健康安全部"}},
      {"産業労働局観光部", {"industrial-labor", "観光部"}},
      {"下水道局総務部", {"sewerage", "総務部"}},
      {"教育庁指導部", {"education", "指導部"}},
      {"港湾局港湾経営部", {"port-harbor", "港湾経営部"}},
  };
  std::vector<PublishedRow> rows = ReadPublishedRows();
  ASSERT_EQ(rows.size(), 36u);
  std::set<std::string> seen;
  for (const PublishedRow& row : rows) {
    seen.insert(row.department);
    std::optional<Gazetteer::DepartmentSplit> split =
        Gazetteer::Builtin().SplitDepartment(row.department);
    ASSERT_TRUE(split.has_value())
        << "line " << row.line << ": " << row.department;
    ASSERT_NE(split->bureau, nullptr);
    auto it = expected.find(row.department);
    ASSERT_NE(it, expected.end())
        << "line " << row.line << ": no expectation for " << row.department;
    EXPECT_EQ(split->bureau->id, it->second.bureau_id)
        << "line " << row.line;
    EXPECT_EQ(split->department, it->second.department)
        << "line " << row.line;
  }
  EXPECT_EQ(seen.size(), expected.size());
}

TEST(GazetteerTest, EveryPublishedCityResolves) {
  // City named by the item (③) of each data row, by line; "" when the item
  // names no city.
  const std::map<int, std::string> expected = {
      {4, "seoul"},      {5, "beijing"},          {6, "paris"},
      {7, "jakarta"},    {8, "moscow"},           {9, "cairo"},
      {10, ""},          {11, "tomsk"},           {12, "beijing"},
      {13, "beijing"},   {15, "seoul"},           {16, "berlin"},
      {17, "london"},    {18, "paris"},           {19, "beijing"},
      {20, "paris"},     {21, "beijing"},         {22, "seoul"},
      {23, "new-south-wales"},                    {25, "moscow"},
      {26, "paris"},     {27, "beijing"},         {28, ""},
      {29, "paris"},     {30, "los-angeles"},     {31, "beijing"},
      {32, "seoul"},     {33, "seoul"},           {34, "tomsk"},
      {35, ""},          {36, "new-south-wales"}, {38, ""},
      {39, ""},          {40, "new-south-wales"}, {41, "beijing"},
      {42, ""},
  };
  std::vector<PublishedRow> rows = ReadPublishedRows();
  ASSERT_EQ(rows.size(), expected.size());
  for (const PublishedRow& row : rows) {
    auto it = expected.find(row.line);
    ASSERT_NE(it, expected.end()) << "unexpected data row on line " << row.line;
    std::vector<std::string> ids =
        Ids(Gazetteer::Builtin().CitiesIn(row.title));
    if (it->second.empty()) {
      EXPECT_THAT(ids, IsEmpty()) << "line " << row.line << ": " << row.title;
    } else {
      EXPECT_THAT(ids, ElementsAre(it->second))
          << "line " << row.line << ": " << row.title;
    }
  }
}

TEST(GazetteerTest, AliasesResolve) {
  struct Case {
    std::string text;
    std::string city_id;
  };
  const std::vector<Case> cases = {
      {"ソウル市", "seoul"},
      {"ソウル特別市", "seoul"},
      {"大韓民国ソウル市との交流・協力に関わる取組", "seoul"},
      {"NSW州", "new-south-wales"},
      {"ＮＳＷ州", "new-south-wales"},
      {"ニュー・サウス・ウェールズ州", "new-south-wales"},
      {"ニューサウスウェールズ州", "new-south-wales"},
      {"オーストラリア連邦ＮＳＷ州との交流", "new-south-wales"},
      {"ジャカルタ特別市", "jakarta"},
      {"インドネシア共和国ジャカルタ特別市", "jakarta"},
      {"ジャカルタ首都特別州", "jakarta"},
      {"大ロンドン市", "london"},
      {"ベルリン州", "berlin"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Ids(Gazetteer::Builtin().CitiesIn(c.text)),
                ElementsAre(c.city_id))
        << c.text;
  }
}

TEST(GazetteerTest, CitiesInListsEachCityOnceInOrderOfFirstOccurrence) {
  struct Case {
    std::string text;
    std::vector<std::string> ids;
  };
  const std::vector<Case> cases = {
      {"北京市とソウル市、北京市とパリ市、ソウル特別市",
       {"beijing", "seoul", "paris"}},
      {"パリ市副市長と北京市にて面会。パリ市オリパラ局", {"paris", "beijing"}},
      {"・5月20日 ローマ市長との知事会談 ・5月20日 ベルリン市長との知事会談 "
       "・8月26日 北京市長",
       {"rome", "berlin", "beijing"}},
      {"ソウル ソウル市 ソウル特別市", {"seoul"}},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Ids(Gazetteer::Builtin().CitiesIn(c.text)),
                ElementsAreArray(c.ids))
        << c.text;
    EXPECT_THAT(
        Ids(Gazetteer::Builtin().CitiesInNormalized(NormalizeText(c.text))),
        ElementsAreArray(c.ids))
        << c.text;
  }
}

TEST(GazetteerTest, ItemNamingNoCityGivesNone) {
  for (absl::string_view text :
       {"", "姉妹友好都市等との関係強化", "上下水道事業に係る姉妹友好都市交流",
        "海外主要港との情報共有及び開発途上国への情報提供",
        "スポーツを通じた国際貢献事業(柔道指導者派遣)"}) {
    EXPECT_THAT(Gazetteer::Builtin().CitiesIn(text), IsEmpty()) << text;
  }
}

TEST(GazetteerTest, SplitDepartmentNormalizesAndUsesAliases) {
  struct Case {
    std::string department;
    std::string bureau_id;
    std::string rest;
  };
  const std::vector<Case> cases = {
      {"政策企画局", "policy-planning", ""},
      {"政策企画局　外務部", "policy-planning", "外務部"},
      {" 政策企画局外務部 ", "policy-planning", "外務部"},
      {"生活文化スポーツ局国際課", "citizens-culture", "国際課"},
      {"戦略政策情報推進本部ICT推進部", "digital-services", "ICT推進部"},
      {"福祉局総務部", "social-welfare", "総務部"},
      {"福祉保健局総務部", "social-welfare-public-health", "総務部"},
  };
  for (const Case& c : cases) {
    std::optional<Gazetteer::DepartmentSplit> split =
        Gazetteer::Builtin().SplitDepartment(c.department);
    ASSERT_TRUE(split.has_value()) << c.department;
    EXPECT_EQ(split->bureau->id, c.bureau_id) << c.department;
    EXPECT_EQ(split->department, c.rest) << c.department;
  }
  EXPECT_EQ(Gazetteer::Builtin().SplitDepartment("火星局総務部"), std::nullopt);
  EXPECT_EQ(Gazetteer::Builtin().SplitDepartment(""), std::nullopt);
  EXPECT_EQ(Gazetteer::Builtin().SplitDepartment("外務部政策企画局"),
            std::nullopt);
}

TEST(GazetteerTest, ParseReadsEntriesAndPrefersTheLongestName) {
  const std::string tsv =
      "# comment\r\n"
      "\r\n"
      "city\tport-town\t港町\tPort Town\tJP\t日本国\t港|ミナト\r\n"
      "city\tharbor\t港町港\tHarbor\tJP\t日本国\r\n"
      "bureau\tport\t港湾局\tPort\r\n"
      "bureau\tport-management\t港湾局経営本部\tPort Management\t旧経営局|\r\n";
  absl::StatusOr<std::unique_ptr<Gazetteer>> parsed = Gazetteer::Parse(tsv);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Gazetteer& g = **parsed;
  ASSERT_EQ(g.cities().size(), 2u);
  ASSERT_EQ(g.bureaus().size(), 2u);
  EXPECT_EQ(g.cities()[0].id, "port-town");
  EXPECT_EQ(g.cities()[0].country_name_ja, "日本国");
  EXPECT_THAT(g.cities()[0].aliases, ElementsAre("港", "ミナト"));
  EXPECT_THAT(g.cities()[1].aliases, IsEmpty());
  EXPECT_THAT(g.bureaus()[1].aliases, ElementsAre("旧経営局"));

  std::optional<Gazetteer::DepartmentSplit> split =
      g.SplitDepartment("港湾局経営本部企画課");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->bureau->id, "port-management");
  EXPECT_EQ(split->department, "企画課");
  split = g.SplitDepartment("港湾局企画課");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->bureau->id, "port");
  split = g.SplitDepartment("旧経営局総務課");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->bureau->id, "port-management");

  EXPECT_THAT(Ids(g.CitiesIn("港町港へ")), ElementsAre("harbor"));
  EXPECT_THAT(Ids(g.CitiesIn("ミナトと港町港")),
              ElementsAre("port-town", "harbor"));
}

TEST(GazetteerTest, ParseRejectsMalformedLines) {
  const std::string city = "city\tseoul\tソウル特別市\tSeoul\tKR\t大韓民国\n";
  const std::string bureau = "bureau\teducation\t教育庁\tBoard of Education\n";
  struct Case {
    std::string description;
    std::string tsv;
    int line;
  };
  const std::vector<Case> cases = {
      {"city with too few fields", "city\tseoul\tソウル\n", 1},
      {"city with too many fields",
       "# c\n" + std::string("city\ta\tA\tA\tUS\tUSA\tx\textra\n"), 2},
      {"bureau with too few fields", city + "bureau\teducation\t教育庁\n", 2},
      {"bureau with too many fields",
       bureau + "bureau\tb\tB\tB\ta\textra\n", 2},
      {"duplicate city ID", city + "\n# c\n" + city, 4},
      {"duplicate bureau ID", bureau + city + bureau, 3},
      {"bad city ID", "city\tSeoul\tソウル特別市\tSeoul\tKR\t大韓民国\n", 1},
      {"city ID with underscore",
       city + "city\tnew_york\tニューヨーク市\tNew York\tUS\t米国\n", 2},
      {"empty city ID", "city\t\tX\tX\tUS\tUSA\n", 1},
      {"unassigned is reserved",
       "city\tunassigned\tなし\tNone\t\t\n", 1},
      {"bad bureau ID", bureau + "bureau\t-x\tX\tX\n", 2},
      {"empty bureau ID", "bureau\t\tX\tX\n", 1},
      {"unknown kind", city + bureau + "town\tx\tX\tX\n", 3},
      {"space-separated line", "city seoul ソウル特別市 Seoul KR 大韓民国\n", 1},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::unique_ptr<Gazetteer>> parsed = Gazetteer::Parse(c.tsv);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << c.description;
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr(absl::StrCat("line ", c.line, ":")))
        << c.description;
  }
}

TEST(GazetteerTest, UnassignedPseudoCity) {
  const CityEntry& unassigned = Gazetteer::Unassigned();
  EXPECT_EQ(unassigned.id, "unassigned");
  EXPECT_EQ(unassigned.id, std::string(kUnassignedCityId));
  EXPECT_EQ(Gazetteer::Builtin().FindCity("unassigned"), &unassigned);
  EXPECT_THAT(Gazetteer::Builtin().CitiesIn(unassigned.name_ja), IsEmpty());
}

}  // namespace
}  // namespace kouryu
