#include "common/quote.h"

#include <string>

#include "common/text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

using ::testing::Le;

TEST(QuoteValueTest, ShortValuesAreQuotedWhole) {
  EXPECT_EQ(QuoteValue(""), "\"\"");
  EXPECT_EQ(QuoteValue("seoul"), "\"seoul\"");
  EXPECT_EQ(QuoteValue("架空局外務部"), "\"架空局外務部\"");
  EXPECT_EQ(QuoteValue("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(QuoteValueTest, ControlAndInvalidBytesAreEscaped) {
  EXPECT_EQ(QuoteValue(std::string("a\0b\n", 4)), "\"a\\x00b\\x0a\"");
  EXPECT_EQ(QuoteValue("\xff\xc3"), "\"\\xff\\xc3\"");
  // A surrogate and an overlong form are not UTF-8.
  EXPECT_EQ(QuoteValue("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");
  EXPECT_EQ(QuoteValue("\xc0\xaf"), "\"\\xc0\\xaf\"");
  EXPECT_TRUE(IsValidUtf8(QuoteValue("\xf4\x90\x80\x80 \xe3\x81")));
}

TEST(QuoteValueTest, LongValuesShowAPrefixAndTheirSize) {
  EXPECT_EQ(QuoteValue(std::string(10 * 1024, 'a'), 4),
            "\"aaaa…\" (10240 bytes)");
  const std::string huge(4 * 1024 * 1024, 'x');
  EXPECT_THAT(QuoteValue(huge).size(), Le(kMaxQuotedBytes + 32));
  EXPECT_EQ(QuoteValue(std::string(kMaxQuotedBytes, 'b')),
            "\"" + std::string(kMaxQuotedBytes, 'b') + "\"");
}

TEST(QuoteValueTest, CutsAtACharacterBoundary) {
  // Three-byte characters: four bytes hold one whole character.
  EXPECT_EQ(QuoteValue("東京都庁", 4), "\"東…\" (12 bytes)");
  EXPECT_TRUE(IsValidUtf8(QuoteValue(std::string(1000, '\xff'))));
  EXPECT_THAT(QuoteValue(std::string(1000, '\x01')).size(),
              Le(4 * kMaxQuotedBytes + 24));
}

}  // namespace
}  // namespace kouryu
