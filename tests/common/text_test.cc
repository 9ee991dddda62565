#include "common/text.h"

#include <unicode/uchar.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(NormalizeTextTest, Cases) {
  struct Case {
    std::string input;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"plain", "plain"},
      {"ＮＳＷ州", "NSW州"},
      {"オーストラリア連邦ＮＳＷ州", "オーストラリア連邦NSW州"},
      {"２０１９年度", "2019年度"},
      {"Ｒ２年度", "R2年度"},
      {"ｶﾀｶﾅ", "カタカナ"},
      {"①分野", "1分野"},
      {"a\u3000b", "a b"},
      {"\u3000\u3000ソウル市\u3000", "ソウル市"},
      {"  a  \t\n b  ", "a b"},
      {"a\r\nb", "a b"},
      {"a \u3000 \t b", "a b"},
      {"a\u00a0b", "a b"},
      {" \t\r\n\u3000", ""},
      {"政策企画局　外務部", "政策企画局 外務部"},
      {"大韓民国ソウル特別市", "大韓民国ソウル特別市"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NormalizeText(c.input), c.expected) << "input \"" << c.input
                                                  << "\"";
  }
}

TEST(NormalizeTextTest, IsIdempotent) {
  for (absl::string_view text :
       {"ＮＳＷ州 と  ソウル\u3000市", "  ①②  ", "ｶﾀｶﾅ\t２"}) {
    std::string once = NormalizeText(text);
    EXPECT_EQ(NormalizeText(once), once) << text;
  }
}

TEST(NormalizeTextTest, ReplacesInvalidSequences) {
  std::string out = NormalizeText("a\xff" "b");
  EXPECT_TRUE(IsValidUtf8(out)) << out;
  EXPECT_EQ(out.front(), 'a');
  EXPECT_EQ(out.back(), 'b');
}

TEST(IsWhiteSpaceTest, AgreesWithIcuOnEveryCodePoint) {
  for (UChar32 c = 0; c <= 0x10FFFF; ++c) {
    ASSERT_EQ(IsWhiteSpace(c), static_cast<bool>(u_isUWhiteSpace(c)))
        << "U+" << std::hex << c;
  }
}

TEST(IsValidUtf8Test, Cases) {
  struct Case {
    std::string description;
    std::string text;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"empty", "", true},
      {"ASCII", "abc", true},
      {"NUL is a code point", Bytes("a\0b"), true},
      {"two-byte", "\xc3\xa9", true},
      {"three-byte", "東京都", true},
      {"ideographic space", "\u3000", true},
      {"four-byte", "\xf0\x9f\x98\x80", true},
      {"largest code point", "\xf4\x8f\xbf\xbf", true},
      {"0xff", "\xff", false},
      {"0xfe", "a\xfe", false},
      {"lone continuation", "\x80", false},
      {"truncated two-byte", "\xc3", false},
      {"truncated three-byte", "\xe6\x9d", false},
      {"truncated four-byte", "\xf0\x9f\x98", false},
      {"truncated inside text", "東\xe4\xba", false},
      {"overlong slash", "\xc0\xaf", false},
      {"overlong NUL", "\xc0\x80", false},
      {"overlong three-byte", "\xe0\x80\xaf", false},
      {"surrogate", "\xed\xa0\x80", false},
      {"above U+10FFFF", "\xf4\x90\x80\x80", false},
      {"five-byte form", "\xf8\x88\x80\x80\x80", false},
      {"Shift_JIS bytes", "\x93\x8c\x8b\x9e", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidUtf8(c.text), c.valid) << c.description;
  }
}

}  // namespace
}  // namespace kouryu
