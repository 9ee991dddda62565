#include "query-service/replica_layout.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/keys.h"
#include "gtest/gtest.h"

namespace kouryu::query {
namespace {

// A string from bytes that may contain '\0'.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(BureauIndexKeyTest, SortsByBureauThenCityThenRecord) {
  const std::vector<RecordName> in_order = {
      {"z", "a", "a"},      {"a", "a-b", "a"}, {"a", "b", "a"},
      {"a", "b", "b"},      {"a-b", "b", "a"}, {Bytes("b\0"), "b", "a"},
      {"b", "education", "a"},
  };
  // Bureau-major: {"z", "a"} sorts first although its city sorts last.
  for (size_t i = 1; i < in_order.size(); ++i) {
    EXPECT_LT(BureauIndexKey(in_order[i - 1]), BureauIndexKey(in_order[i]))
        << "entries " << i - 1 << " and " << i;
  }
  EXPECT_TRUE(absl::StartsWith(BureauIndexKey({"a", "b", "r"}),
                               BureauIndexPrefix("b")));
  EXPECT_FALSE(absl::StartsWith(BureauIndexKey({"a", "b-c", "r"}),
                                BureauIndexPrefix("b")));
  EXPECT_NE(BureauIndexKey({"a", "b", "r"}), RecordKey({"a", "b", "r"}));
}

}  // namespace
}  // namespace kouryu::query
