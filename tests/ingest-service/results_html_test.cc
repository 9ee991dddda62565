#include "ingest-service/results.h"


#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace kouryu::ingest {
namespace {

// The plain text of the results column (ingest-service/results.h).
std::string ResultsText(absl::string_view html) {
  return ParseResults(html).text;
}

TEST(ResultsTextTest, Cases) {
  struct Case {
    std::string description;
    std::string html;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"empty", "", ""},
      {"text without markup", "4月25日、ソウル特別市人事課庁4名に都政説明実施",
       "4月25日、ソウル特別市人事課庁4名に都政説明実施"},
      {"inline tags removed", "<b>太字</b>と<i>斜体</i>と<a href=\"x\">リンク</a>",
       "太字と斜体とリンク"},
      {"attributes are not text", "<span title=\"秘密\">見える</span>", "見える"},
      {"paragraphs are lines", "<p>【文化交流】</p><p>二行目</p>",
       "【文化交流】\n二行目"},
      {"list items are lines", "<ul><li>一</li><li>二</li></ul>", "一\n二"},
      {"unclosed list", "<p>【教育】</p> <ul style=\"list-style-type: none\"> "
                        "<li>・交換留学生1名受入<li>・派遣実績なし",
       "【教育】\n・交換留学生1名受入\n・派遣実績なし"},
      {"line breaks", "一行目<br>二行目<br/>三行目", "一行目\n二行目\n三行目"},
      {"divs and headings", "<div>A</div><h2>B</h2>C", "A\nB\nC"},
      {"script removed", "<p>前<script>alert('x')</script>後</p>", "前後"},
      {"leading script removed", "<script>document.write(1)</script>本文",
       "本文"},
      {"style removed", "<style>p { color: red }</style><p>本文</p>", "本文"},
      {"style inside body removed", "<p>前</p><style>.x{}</style><p>後</p>",
       "前\n後"},
      {"entities decoded",
       "&lt;tag&gt; &amp; &quot;q&quot; &#x3042;&#12356; &copy;",
       "<tag> & \"q\" あい ©"},
      {"whitespace collapsed", "  a \t  b  ", "a b"},
      {"ideographic space collapsed", "\u3000東京\u3000\u3000都\u3000",
       "東京 都"},
      {"full-width normalized", "<p>ＮＳＷ州　２０１９年</p>", "NSW州 2019年"},
      {"empty blocks dropped", "<p></p><p> </p><ul><li></li></ul>x", "x"},
      {"comments dropped", "a<!-- 内部メモ -->b", "ab"},
      {"angle bracket text", "3 < 4 > 2", "3 < 4 > 2"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ResultsText(c.html), c.text) << c.description;
  }
}

TEST(ResultsTextTest, NoMarkupSurvives) {
  std::string text = ResultsText(
      "<p>【文化交流】</p> <ul style=\"list-style-type: none\"> "
      "・江戸東京博物館とソウル歴史博物館の学芸員の相互交流 "
      "<li><b>・10月22日(火・祝)から12月1日(日)まで</b></li>"
      "<table><tr><td>表</td></tr></table>");
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  EXPECT_EQ(text.find("style"), std::string::npos) << text;
  EXPECT_NE(text.find("江戸東京博物館"), std::string::npos) << text;
  EXPECT_NE(text.find("表"), std::string::npos) << text;
}

// A NUL (which HTML5 drops from text) or any other control character is
// read as U+FFFD, in the HTML5 parser and in the linear fallback alike, so
// it cannot join a "<" read as text to what follows. The first input was
// found by the results fuzzer.
TEST(ResultsTextTest, ControlCharactersAreReplacementCharacters) {
  using namespace std::string_literals;
  EXPECT_EQ(ResultsText("本文<\0\0script>alert(1)"s),
            "本文<\uFFFD\uFFFDscript>alert(1)");
  EXPECT_EQ(ResultsText("a\0b\x01" "c\x7f"s), "a\uFFFDb\uFFFDc\uFFFD");
  EXPECT_EQ(ResultsText("<p>a</p>\t<p>b\fc</p>"), "a\nb c");

  std::string many_tags;
  for (size_t i = 0; i <= kMaxResultsTags; ++i) many_tags += "<b>";
  EXPECT_EQ(ResultsText(many_tags + "本文<\0\0script>alert(1)"s),
            "本文<\uFFFD\uFFFDscript>alert(1)");
}

// Markup the parser drops or that yields no text (an end tag without a
// start tag, "</>", a comment, an empty element, an element whose content
// is dropped) never joins a "<" read as text, or a reference to "<", to
// the text after it.
TEST(ResultsTextTest, DroppedMarkupDoesNotJoinTextIntoATag) {
  for (const std::string html : {
           "a<</b>script>x", "a<</>script>x", "a<<!---->script>x",
           "a<<b></b>script>x", "a<<html>script>x", "a<<?x>script>x",
           "a<<script></script>script>x", "<table>a<</td>script>x</table>",
           "a&lt;<b>script>x</b>", "a&lt;</b>script>x", "a&#60</b>script>x",
           "a&#x3C;</b>script>x"}) {
    EXPECT_EQ(ResultsText(html), "a< script>x") << html;
  }
  EXPECT_EQ(ResultsText("3 << 4 <"), "3 << 4 <");
  EXPECT_EQ(ResultsText("&lt;script&gt;"), "<script>");
  EXPECT_EQ(ResultsText("&amp;<b>x</b>&#61;</b>y"), "&x=y");
}

TEST(ResultsTextTest, DeeplyNestedHtml) {
  // Far past kMaxResultsTags: read by the linear fallback, not the parser
  // (whose work grows with the square of the depth), so this is quick.
  constexpr int kDepth = 100000;
  std::string html;
  html.reserve(kDepth * 5 + 16);
  for (int i = 0; i < kDepth; ++i) html += "<div>";
  html += "底";
  EXPECT_EQ(ResultsText(html), "底");
}

TEST(ResultsTextTest, NestedClosedHtml) {
  constexpr int kDepth = 400;  // 802 tags: within kMaxResultsTags.
  std::string html;
  for (int i = 0; i < kDepth; ++i) html += "<div>";
  html += "中";
  for (int i = 0; i < kDepth; ++i) html += "</div>";
  html += "<p>後</p>";
  EXPECT_EQ(ResultsText(html), "中\n後");
}

}  // namespace
}  // namespace kouryu::ingest
