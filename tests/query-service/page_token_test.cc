#include "query-service/page_token.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "common/keys.h"
#include "common/status.h"
#include "query-service/replica_layout.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu::query {
namespace {

using ::testing::Contains;
using ::testing::Field;

void ExpectBadToken(const absl::StatusOr<std::string>& decoded,
                    const std::string& description) {
  ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
      << description << ": " << decoded.status();
  EXPECT_NE(ReasonOf(decoded.status()), "") << description;
  EXPECT_THAT(ViolationsOf(decoded.status()),
              Contains(Field(&FieldViolation::field, "page_token")))
      << description;
}

TEST(PageTokenTest, RoundTrip) {
  const uint64_t fingerprint = RequestFingerprint("cities/seoul", "", "");
  const std::vector<std::string> keys = {
      "a",
      "0123456789",
      RecordKey({"seoul", "policy-planning", "fy2019-0123456789abcdef"}),
      BureauIndexKey({"new-south-wales", "education", "r1"}),
      std::string("\0\xff\x01", 3),
      std::string(1000, 'k'),
  };
  for (const std::string& key : keys) {
    std::string token = EncodePageToken(fingerprint, key);
    EXPECT_FALSE(token.empty());
    // Safe to put in a URL or JSON without escaping.
    EXPECT_EQ(token.find_first_of("+/= \n"), std::string::npos) << token;
    absl::StatusOr<std::string> decoded = DecodePageToken(token, fingerprint);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, key);
  }
}

TEST(PageTokenTest, EmptyTokenIsTheFirstPage) {
  absl::StatusOr<std::string> decoded =
      DecodePageToken("", RequestFingerprint("cities/-", "", ""));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, "");
}

TEST(PageTokenTest, RejectsMalformedTokens) {
  const uint64_t fingerprint = RequestFingerprint("cities/seoul", "", "");
  const std::string good =
      EncodePageToken(fingerprint, RecordKey({"seoul", "education", "r1"}));
  struct Case {
    std::string description;
    std::string token;
  };
  const std::vector<Case> cases = {
      {"not base64", "!!!not a token!!!"},
      {"spaces", "    "},
      {"short base64", "AAAA"},
      {"truncated to the header", good.substr(0, 8)},
      {"truncated mid-fingerprint", good.substr(0, 6)},
      {"one character", good.substr(0, 1)},
      {"wrong version",
       absl::WebSafeBase64Escape(std::string("\x02") +
                                 SequenceKey(fingerprint) + "key")},
      {"plain text", "cities/seoul/bureaus/education/records/r1"},
  };
  for (const Case& c : cases) {
    ExpectBadToken(DecodePageToken(c.token, fingerprint), c.description);
  }
}

TEST(PageTokenTest, RejectsATokenOfAnotherRequest) {
  const uint64_t fingerprint =
      RequestFingerprint("cities/seoul", "fiscal_year = 2019", "");
  const std::string token =
      EncodePageToken(fingerprint, RecordKey({"seoul", "education", "r1"}));
  struct Case {
    std::string description;
    uint64_t fingerprint;
  };
  const std::vector<Case> cases = {
      {"other parent",
       RequestFingerprint("cities/beijing", "fiscal_year = 2019", "")},
      {"other filter",
       RequestFingerprint("cities/seoul", "fiscal_year = 2020", "")},
      {"no filter", RequestFingerprint("cities/seoul", "", "")},
      {"other order_by",
       RequestFingerprint("cities/seoul", "fiscal_year = 2019", "title")},
  };
  for (const Case& c : cases) {
    ASSERT_NE(c.fingerprint, fingerprint) << c.description;
    ExpectBadToken(DecodePageToken(token, c.fingerprint), c.description);
  }
  EXPECT_TRUE(DecodePageToken(token, fingerprint).ok());
}

TEST(RequestFingerprintTest, IsStableAndSeparatesFields) {
  EXPECT_EQ(RequestFingerprint("cities/-", "a", "b"),
            RequestFingerprint("cities/-", "a", "b"));
  EXPECT_NE(RequestFingerprint("cities/-", "ab", ""),
            RequestFingerprint("cities/-", "a", "b"));
  EXPECT_NE(RequestFingerprint("cities/-a", "", ""),
            RequestFingerprint("cities/-", "a", ""));
}

}  // namespace
}  // namespace kouryu::query
