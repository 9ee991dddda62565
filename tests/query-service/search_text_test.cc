// The text side of search: which fields are searched, their stored form,
// folding with the origin of every folded byte, and snippets in the
// record's own text.

#include "query-service/search_text.h"

#include <unicode/utf8.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu::query {
namespace {

using ::testing::ElementsAre;

std::string Utf8(UChar32 c) {
  char buffer[4];
  int32_t length = 0;
  U8_APPEND_UNSAFE(buffer, length, c);
  return std::string(buffer, length);
}

v1::Record Sample() {
  v1::Record r;
  r.set_title("ＲＷＣ２０１９　ラグビー視察");
  r.set_results_text("大会の\n\n視察 (Rugby World Cup)");
  r.mutable_city()->set_id("new-south-wales");
  r.mutable_city()->set_name_ja("ニューサウスウェールズ州");
  r.mutable_city()->set_name_en("New South Wales");
  v1::City* mentioned = r.add_mentioned_cities();
  *mentioned = r.city();
  mentioned = r.add_mentioned_cities();
  mentioned->set_id("paris");
  mentioned->set_name_ja("パリ市");
  mentioned->set_name_en("Paris");
  r.mutable_bureau()->set_id("education");
  r.mutable_bureau()->set_name_ja("教育庁");
  r.mutable_bureau()->set_name_en("Board of Education");
  return r;
}

TEST(SearchTextTest, FieldsAreTitleResultsAndDistinctNames) {
  const SearchFields fields = FoldedFields(Sample());
  EXPECT_EQ(fields.title, "rwc2019 ラグビー視察");
  EXPECT_EQ(fields.results, "大会の 視察 (rugby world cup)");
  EXPECT_THAT(fields.names,
              ElementsAre("ニューサウスウェールズ州", "new south wales",
                          "パリ市", "paris", "教育庁", "board of education"));
  std::optional<SearchFields> decoded =
      DecodeSearchFields(EncodeSearchFields(fields));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->title, fields.title);
  EXPECT_EQ(decoded->results, fields.results);
  EXPECT_EQ(decoded->names, fields.names);
  EXPECT_FALSE(DecodeSearchFields("no separator").has_value());
}

TEST(SearchTextTest, PlaceholderCityNamesAreNotSearched) {
  v1::Record r = Sample();
  r.mutable_city()->set_id("unassigned");
  r.mutable_city()->set_name_ja("該当なし");
  r.mutable_city()->set_name_en("Unassigned");
  r.clear_mentioned_cities();
  EXPECT_THAT(FoldedFields(r).names,
              ElementsAre("教育庁", "board of education"));
  EXPECT_EQ(Score(FoldedFields(r), "unassigned"), 0);
}

TEST(SearchTextTest, ScoreCountsNamesOnceEachAndNeverAcrossFields) {
  const SearchFields fields = FoldedFields(Sample());
  EXPECT_EQ(Score(fields, "paris"), 1);
  EXPECT_EQ(Score(fields, "new south wales"),
            1);  // City and mentioned: one name.
  EXPECT_EQ(Score(fields, "視察"), 3 + 1);
  EXPECT_EQ(Score(fields, "rwc"), 3);
  EXPECT_EQ(Score(fields, "of"), 1);
  EXPECT_EQ(Score(fields, "wales"), 1);
  EXPECT_EQ(Score(fields, "パリ市paris"), 0);
  EXPECT_EQ(Score(fields, "cup)ニュー"), 0);
  EXPECT_EQ(Score(fields, "wales\xe3\x83\x91"), 0);
  // Every gram of a field is indexed with a level at least its score.
  for (const IndexedGram& g : IndexedGrams(fields)) {
    EXPECT_GE(g.level, Score(fields, g.gram.view())) << g.gram.view();
  }
}

TEST(SearchTextTest, IndexedGramsAreEveryUnigramAndBigramWithTheirLevels) {
  // 𠮟 and 😀 take four bytes each: their bigram is the longest gram.
  const SearchFields fields{"𠮟😀𠮟", "a😀", {"ab"}};
  std::map<std::string, int> levels;
  for (const IndexedGram& g : IndexedGrams(fields)) {
    EXPECT_TRUE(levels.emplace(std::string(g.gram.view()), g.level).second)
        << g.gram.view() << " twice";
  }
  EXPECT_EQ(levels, (std::map<std::string, int>{{"𠮟", 6},
                                                {"😀", 3 + 1},
                                                {"𠮟😀", 3},
                                                {"😀𠮟", 3},
                                                {"a", 1 + 1},
                                                {"a😀", 1},
                                                {"b", 1},
                                                {"ab", 1}}));
  EXPECT_EQ(Gram("𠮟😀").view(), "𠮟😀");
  EXPECT_EQ(Gram("a"), Gram("a"));
  EXPECT_FALSE(Gram("a") == Gram(absl::string_view("a\0", 2)));
}

TEST(SearchTextTest, FoldWithOriginsFoldsAsFoldForSearch) {
  std::vector<std::string> texts = {
      "",        " ",        "ＲＷＣ",   "  RWC  2019\u3000年 ",
      "Straße",  "İstanbul", "ﬁnance",   "⑴⑵",
      "㍿",      "e\u0301",  "カ\u3099", "ｶﾞ",
      "\u00a8x", "ᄀ\u1161", "Ω",        "ΣΑΣ",
      "ǅ",       "a\n\tb",   "\u0345",   "x\u0308\u0301y",
      "ℌ",       "①分野",
  };
  // Every code point of the first three planes on its own, and after a
  // letter (where it may compose with it).
  for (UChar32 c = 0; c < 0x30000; ++c) {
    if (U_IS_SURROGATE(c)) continue;
    if (FoldWithOrigins(Utf8(c)).folded != FoldForSearch(Utf8(c))) {
      ADD_FAILURE() << "U+" << std::hex << c;
    }
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (int n = 0; n < 4; ++n) {
      UChar32 c = static_cast<UChar32>(rng() % 0x3100);
      if (U_IS_SURROGATE(c)) continue;
      text += Utf8(c);
    }
    texts.push_back(text);
  }
  for (const std::string& text : texts) {
    const FoldedText f = FoldWithOrigins(text);
    EXPECT_EQ(f.folded, FoldForSearch(text)) << text;
    ASSERT_EQ(f.begin.size(), f.folded.size());
    ASSERT_EQ(f.end.size(), f.folded.size());
    for (size_t i = 0; i < f.folded.size(); ++i) {
      ASSERT_LT(f.begin[i], f.end[i]);
      ASSERT_LE(f.end[i], static_cast<int32_t>(text.size()));
      if (i > 0) {
        ASSERT_GE(f.begin[i], f.begin[i - 1]);
      }
    }
  }
  // Where each folded byte comes from.
  const FoldedText f = FoldWithOrigins(" ＲＷ  ß");
  EXPECT_EQ(f.folded, "rw ss");
  EXPECT_THAT(f.begin, ElementsAre(1, 4, 7, 9, 9));
  EXPECT_THAT(f.end, ElementsAre(4, 7, 9, 11, 11));
}

TEST(SearchTextTest, SnippetShowsTheFieldsOwnText) {
  const v1::Record r = Sample();
  EXPECT_EQ(Snippet(r, FoldForSearch("rwc")), "«ＲＷＣ»２０１９　ラグビー視察");
  EXPECT_EQ(Snippet(r, FoldForSearch("ＲＷＣ2019 ラグ")),
            "«ＲＷＣ２０１９　ラグ»ビー視察");
  EXPECT_EQ(Snippet(r, FoldForSearch("rugby")),
            "大会の 視察 («Rugby» World Cup)");
  EXPECT_EQ(Snippet(r, FoldForSearch("paris")), "«Paris»");
  EXPECT_EQ(Snippet(r, FoldForSearch("SOUTH")), "New «South» Wales");
  EXPECT_EQ(Snippet(r, FoldForSearch("教育")), "«教育»庁");
  EXPECT_EQ(Snippet(r, FoldForSearch("視察")),
            "ＲＷＣ２０１９　ラグビー«視察»");
  EXPECT_EQ(Snippet(r, FoldForSearch("zzz")), "");
  EXPECT_EQ(Snippet(r, FoldForSearch("Straße")), "");
  // Context is counted in code points of the field; "…" where it goes on.
  EXPECT_EQ(Snippet(r, FoldForSearch("world"), 3), "…by «World» Cu…");
  EXPECT_EQ(Snippet(r, FoldForSearch("ラグビー"), 2), "…９　«ラグビー»視察");
  // A match inside what one character folds to marks that character.
  v1::Record s;
  s.set_title("Die Straße in ⑴");
  EXPECT_EQ(Snippet(s, FoldForSearch("ss")), "Die Stra«ß»e in ⑴");
  EXPECT_EQ(Snippet(s, FoldForSearch("1")), "Die Straße in «⑴»");
}

}  // namespace
}  // namespace kouryu::query
