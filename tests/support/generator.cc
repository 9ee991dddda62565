#include "tests/support/generator.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kouryu::testing {
namespace {

// The generator's own random numbers: splitmix64, seeded from the options'
// seed and the row index. Deliberately not <random>: the std:: engines are
// portable but the distributions are not, and a benchmark or a test must see
// the same row on every library version.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t index)
      : state_(Mix(Mix(seed) ^ (index * 0xD1B54A32D192ED03ULL))) {}

  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return Mix(state_);
  }
  // Uniform in [0, n); n > 0. Multiply-shift: no division, bias < 2^-32.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  // True with probability percent / 100.
  bool Chance(int percent) { return Below(100) < static_cast<uint64_t>(percent); }

  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[Below(N)];
  }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
};

// A partner city as data/gazetteer.tsv spells it. The generator does not
// link the gazetteer (it is a proto-only library), so the spellings it
// writes are kept here; every one of them is a name or alias there.
struct CitySpelling {
  absl::string_view country;  // country_name_ja
  absl::string_view name;     // name_ja
  absl::string_view alias;    // an alias, as tables also write it
  bool port;                  // a sister port (category ②)
};

constexpr std::array<CitySpelling, 17> kCities = {{
    {"アメリカ合衆国", "ニューヨーク市", "ニューヨーク", false},
    {"中華人民共和国", "北京市", "北京", false},
    {"フランス共和国", "パリ市", "パリ", false},
    {"オーストラリア連邦", "ニューサウスウェールズ州", "NSW州", false},
    {"大韓民国", "ソウル特別市", "ソウル市", false},
    {"インドネシア共和国", "ジャカルタ首都特別州", "ジャカルタ特別市", false},
    {"ブラジル連邦共和国", "サンパウロ州", "サンパウロ", false},
    {"エジプト・アラブ共和国", "カイロ県", "カイロ", false},
    {"ロシア連邦", "モスクワ市", "モスクワ", false},
    {"ドイツ連邦共和国", "ベルリン市", "ベルリン州", false},
    {"イタリア共和国", "ローマ市", "ローマ", false},
    {"英国", "ロンドン市", "大ロンドン市", false},
    {"アメリカ合衆国", "ロサンゼルス市", "ロサンゼルス", false},
    {"ロシア連邦", "トムスク州", "トムスク", false},
    {"アメリカ合衆国", "ニューヨーク・ニュージャージー港",
     "ニューヨーク・ニュージャージー", true},
    {"オランダ王国", "ロッテルダム港", "ロッテルダム", true},
    {"スペイン王国", "バルセロナ港", "バルセロナ", true},
}};

// Japanese names of the gazetteer's bureaus (its `bureau` lines).
constexpr std::array<absl::string_view, 34> kBureaus = {
    "政策企画局", "総務局", "財務局", "主税局", "生活文化局",
    "オリンピック・パラリンピック準備局", "都市整備局", "住宅政策本部",
    "環境局", "福祉保健局", "福祉局", "保健医療局", "病院経営本部",
    "産業労働局", "中央卸売市場", "建設局", "港湾局", "会計管理局",
    "交通局", "水道局", "下水道局", "教育庁", "デジタルサービス局",
    "選挙管理委員会事務局", "人事委員会事務局", "監査事務局",
    "労働委員会事務局", "収用委員会事務局", "議会局", "警視庁",
    "都民安全推進本部", "子供政策連携室", "スタートアップ・国際金融都市戦略室",
    "東京消防庁",
};
// The bureaus that do most of the exchange work, drawn more often.
constexpr std::array<absl::string_view, 8> kBusyBureaus = {
    "政策企画局", "生活文化局", "総務局", "産業労働局",
    "環境局", "教育庁", "オリンピック・パラリンピック準備局", "港湾局",
};
constexpr std::array<absl::string_view, 12> kDepartments = {
    "外務部", "総務部", "文化振興部", "スポーツ推進部", "指導部",
    "観光部", "都民生活部", "計画部", "環境政策部", "企画部",
    "国際事業部", "調整部",
};

constexpr absl::string_view kCityCategory =
    "①姉妹・友好都市及び政策提携都市との交流";
constexpr absl::string_view kPortCategory = "②姉妹港交流";

// Items that name no single city (filed under "unassigned").
constexpr std::array<absl::string_view, 10> kGeneralItems = {
    "姉妹友好都市等との関係強化",
    "海外諸都市との交流促進",
    "アジア大都市ネットワーク21への参画",
    "都市外交の推進",
    "海外からの視察受入",
    "姉妹友好都市等の首長との知事会談",
    "在京大使館との連携",
    "海外自治体職員向け研修の実施",
    "C40世界大都市気候先導グループとの連携",
    "多言語による情報発信",
};
constexpr std::array<absl::string_view, 6> kItemTails = {
    "との交流・協力に関わる取組", "との交流・協力に関わる取組",
    "との交流・協力に関わる取組", "との交流事業の促進",
    "との技術協力", "との人材交流",
};
constexpr std::array<absl::string_view, 9> kHeadings = {
    "【文化交流】", "【スポーツ交流】", "【教育】", "【大学間協力】",
    "【環境】", "【観光】", "【経済交流】", "【行政交流】", "【港湾交流】",
};
constexpr std::array<absl::string_view, 10> kVisitors = {
    "職員", "研修生", "専門家", "学生", "行政視察団", "議員団",
    "経済ミッション", "青少年", "学芸員", "港湾関係者",
};
constexpr std::array<absl::string_view, 10> kTopics = {
    "大気環境改善", "防災", "観光振興", "都市交通", "水道事業",
    "スタートアップ支援", "文化財保護", "港湾物流", "スポーツ振興",
    "高齢者福祉",
};
// Latin words the published tables contain, so searches in Latin script
// have material (and mixed case to fold).
constexpr std::array<absl::string_view, 8> kLatinBullets = {
    "ラグビーワールドカップ(RWC2019)関連イベントに",
    "JST戦略的国際共同研究プログラム(SICORP)の研究者",
    "夏季短期集中コース(Summer Programme)に学生",
    "Tokyo Forumに",
    "Smart City Expoに",
    "ICT活用に関するワークショップ(Urban Mobility Workshop)に",
    "Sister Cities Youth Exchangeで青少年",
    "Global Port Dialogueに港湾関係者",
};
// A year-free date in one of the published forms.
std::string DateText(Rng& rng) {
  const int month = rng.Between(1, 12);
  const int day = rng.Between(1, 24);
  switch (rng.Below(6)) {
    case 0:
      return absl::StrCat(month, "月");
    case 1:
      return absl::StrCat(month, "月", day, "日から", day + rng.Between(1, 6),
                          "日まで");
    case 2:
      return absl::StrCat(month, "月", day, "日から", day + rng.Between(1, 3),
                          "日");
    default:
      return absl::StrCat(month, "月", day, "日");
  }
}

// One activity: a date, a head count and what happened.
std::string Bullet(Rng& rng, const CitySpelling& city) {
  const std::string date = DateText(rng);
  const int people = rng.Chance(80) ? rng.Between(1, 40) : rng.Between(41, 250);
  const absl::string_view place = rng.Chance(50) ? city.name : city.alias;
  const absl::string_view visitor = rng.Pick(kVisitors);
  const absl::string_view topic = rng.Pick(kTopics);
  if (rng.Chance(7)) {
    return absl::StrCat(date, "、", rng.Pick(kLatinBullets), people, "名が参加");
  }
  switch (rng.Below(7)) {
    case 0:
      return absl::StrCat(date, "、", place, visitor, people, "名に都政説明実施");
    case 1:
      return absl::StrCat(date, "、", place, "へ", visitor, people,
                          "名を派遣");
    case 2:
      return absl::StrCat(date, "、", place, "から", visitor, people,
                          "名を受入");
    case 3:
      return absl::StrCat(date, "、", place, "と", topic,
                          "に関する意見交換を実施(参加者", people, "名)");
    case 4:
      return absl::StrCat(date, " ", place, "長との知事会談(同行者",
                          people, "名)");
    case 5:
      return absl::StrCat(date, "、", place, "との", topic,
                          "分野における合意書の締結(出席者", people, "名)");
    default:
      return absl::StrCat(date, "、", topic, "をテーマとした国際フォーラムを開催し、",
                          place, "の", visitor, people, "名が参加");
  }
}

// The ④ column: HTML fragments like the published ones, 1–8 bullets,
// between 100 and 1500 bytes.
std::string Results(Rng& rng, const CitySpelling& city) {
  constexpr size_t kMinBytes = 100;
  constexpr size_t kMaxBytes = 1500;
  // Mostly short, as published: half the rows hold one to three bullets.
  const int bullets = rng.Chance(50) ? rng.Between(1, 3) : rng.Between(3, 8);
  std::string out;
  int written = 0;
  bool open_list = false;
  auto add = [&](absl::string_view piece) {
    if (!out.empty()) out += ' ';
    out.append(piece.data(), piece.size());
  };
  constexpr int kMaxBullets = 8;
  while (written < bullets || (out.size() < kMinBytes && written < kMaxBullets)) {
    if (written == 0 || rng.Chance(15)) {
      // A new section: a 【】 heading in <p>, then an unclosed list; now and
      // then a ○ heading instead, as in the published tables.
      if (rng.Chance(80)) {
        add(absl::StrCat("<p>", rng.Pick(kHeadings), "</p>"));
        add("<ul style=\"list-style-type: none\">");
        open_list = true;
      } else {
        add(absl::StrCat("○", rng.Pick(kTopics), "に関する取組"));
      }
    }
    const CitySpelling& where =
        rng.Chance(85) ? city : kCities[rng.Below(kCities.size())];
    std::string bullet = absl::StrCat("・", Bullet(rng, where));
    if (out.size() + 1 + bullet.size() > kMaxBytes) break;
    add(bullet);
    ++written;
  }
  if (open_list && rng.Chance(30)) add("</ul>");
  return out;
}

std::string ItemSuffix(uint64_t index) {
  // Distinct for every index, so natural keys are distinct.
  return absl::StrCat("(第", index + 1, "号)");
}

}  // namespace

TableGenerator::TableGenerator(const GeneratorOptions& options)
    : options_(options) {}

v1::RawRecord TableGenerator::Row(uint64_t index) const {
  Rng rng(options_.seed, index);
  v1::RawRecord row;
  row.set_fiscal_year(
      rng.Between(options_.first_fiscal_year,
                  std::max(options_.first_fiscal_year, options_.last_fiscal_year)));

  const bool port = rng.Chance(12);
  const CitySpelling* city;
  if (port) {
    city = &kCities[kCities.size() - 3 + rng.Below(3)];
  } else {
    city = &kCities[rng.Below(kCities.size() - 3)];
  }
  row.set_category(std::string(port ? kPortCategory : kCityCategory));

  absl::string_view bureau;
  absl::string_view department;
  if (port) {
    bureau = "港湾局";
    department = rng.Chance(70) ? "港湾経営部" : "総務部";
  } else {
    bureau = rng.Chance(70) ? rng.Pick(kBusyBureaus) : rng.Pick(kBureaus);
    department = rng.Pick(kDepartments);
  }
  row.set_department(absl::StrCat(bureau, department));

  std::string title;
  if (rng.Chance(15)) {
    title = std::string(rng.Pick(kGeneralItems));
  } else if (port) {
    title = absl::StrCat(city->country, city->name, "との姉妹港交流");
  } else {
    switch (rng.Below(4)) {
      case 0:
        title = absl::StrCat(city->country, city->name);
        break;
      case 1:
        title = absl::StrCat(city->country, city->alias, rng.Pick(kItemTails));
        break;
      default:
        title = absl::StrCat(city->country, city->name, rng.Pick(kItemTails));
        break;
    }
  }
  row.set_title(title + ItemSuffix(index));
  row.set_results(Results(rng, *city));
  return row;
}

std::string TableGenerator::Header(int fiscal_year) {
  std::string era;
  if (fiscal_year >= 2019) {
    const int year = fiscal_year - 2018;
    era = year == 1 ? "R元" : absl::StrCat("R", year);
  } else if (fiscal_year >= 1989) {
    const int year = fiscal_year - 1988;
    era = year == 1 ? "H元" : absl::StrCat("H", year);
  } else {
    const int year = fiscal_year - 1925;
    era = year == 1 ? "S元" : absl::StrCat("S", year);
  }
  return absl::StrCat("①分野\t②担当(関係)部所名\t③項目名\t④実績(", era,
                      "年度)");
}

std::string TableGenerator::Table(int fiscal_year, uint64_t begin,
                                  uint64_t end) const {
  std::string out = Header(fiscal_year);
  out += '\n';
  for (uint64_t i = begin; i < end; ++i) {
    // Every cell is free of tabs and line breaks by construction.
    v1::RawRecord row = Row(i);
    absl::StrAppend(&out, row.category(), "\t", row.department(), "\t",
                    row.title(), "\t", row.results(), "\n");
  }
  return out;
}

}  // namespace kouryu::testing
