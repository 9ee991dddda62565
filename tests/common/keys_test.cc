#include "common/keys.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

using ::testing::Optional;

// A string from bytes that may contain '\0'.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(IsValidIdTest, Cases) {
  struct Case {
    std::string id;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"a", true},
      {"0", true},
      {"seoul", true},
      {"new-south-wales", true},
      {"policy-planning", true},
      {"fy2019-0123456789abcdef", true},
      {"a-", true},  // [a-z0-9][a-z0-9-]{0,62} allows a trailing hyphen.
      {"a--b", true},
      {std::string(63, 'a'), true},
      {std::string(64, 'a'), false},
      {"", false},
      {"-", false},
      {"-a", false},
      {"A", false},
      {"Seoul", false},
      {"a_b", false},
      {"a b", false},
      {"a/b", false},
      {"a.b", false},
      {" a", false},
      {"ソウル", false},
      {Bytes("a\0b"), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidId(c.id), c.valid) << "id \"" << c.id << "\"";
  }
}

TEST(RecordNameTest, FormatParseRoundTrip) {
  struct Case {
    RecordName name;
    std::string formatted;
  };
  const std::vector<Case> cases = {
      {{"seoul", "policy-planning", "fy2019-0123456789abcdef"},
       "cities/seoul/bureaus/policy-planning/records/fy2019-0123456789abcdef"},
      {{"new-south-wales", "education", "r1"},
       "cities/new-south-wales/bureaus/education/records/r1"},
      {{"unassigned", "port-harbor", "0"},
       "cities/unassigned/bureaus/port-harbor/records/0"},
      {{std::string(63, 'c'), std::string(63, 'b'), std::string(63, 'r')},
       "cities/" + std::string(63, 'c') + "/bureaus/" + std::string(63, 'b') +
           "/records/" + std::string(63, 'r')},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FormatRecordName(c.name), c.formatted);
    absl::StatusOr<RecordName> parsed = ParseRecordName(c.formatted);
    ASSERT_TRUE(parsed.ok()) << c.formatted << ": " << parsed.status();
    EXPECT_EQ(*parsed, c.name) << c.formatted;
  }
}

TEST(RecordNameTest, RejectsMalformedNames) {
  const std::vector<std::string> bad = {
      "",
      "cities",
      "cities/seoul",
      "cities/seoul/bureaus/education",
      "cities/seoul/bureaus/education/records",
      "cities/seoul/bureaus/education/records/",
      "cities/seoul/bureaus/education/records/r1/",
      "cities/seoul/bureaus/education/records/r1/extra",
      "/cities/seoul/bureaus/education/records/r1",
      "city/seoul/bureaus/education/records/r1",
      "cities/seoul/bureau/education/records/r1",
      "cities/seoul/bureaus/education/record/r1",
      "cities/seoul/records/r1/bureaus/education",
      "cities//bureaus/education/records/r1",
      "cities/seoul//education/records/r1",
      "cities/-/bureaus/education/records/r1",
      "cities/seoul/bureaus/-/records/r1",
      "cities/Seoul/bureaus/education/records/r1",
      "cities/seoul/bureaus/education/records/R1",
      "cities/so ul/bureaus/education/records/r1",
      "cities/ソウル/bureaus/education/records/r1",
      "cities/seoul/bureaus/education/records/" + std::string(64, 'r'),
      Bytes("cities/seoul/bureaus/education/records/r\0"),
  };
  for (const std::string& name : bad) {
    absl::StatusOr<RecordName> parsed = ParseRecordName(name);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << "name \"" << name << "\"";
  }
}

TEST(ParentTest, AcceptsTheFourForms) {
  struct Case {
    std::string parent;
    std::string city;
    std::string bureau;
  };
  const std::vector<Case> cases = {
      {"cities/seoul", "seoul", ""},
      {"cities/-", "-", ""},
      {"cities/seoul/bureaus/education", "seoul", "education"},
      {"cities/-/bureaus/education", "-", "education"},
      {"cities/unassigned/bureaus/port-harbor", "unassigned", "port-harbor"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Parent> parsed = ParseParent(c.parent);
    ASSERT_TRUE(parsed.ok()) << c.parent << ": " << parsed.status();
    EXPECT_EQ(parsed->city, c.city) << c.parent;
    EXPECT_EQ(parsed->bureau, c.bureau) << c.parent;
  }
}

TEST(ParentTest, RejectsMalformedParents) {
  const std::vector<std::string> bad = {
      "",
      "cities",
      "cities/",
      "cities/seoul/",
      "cities/seoul/bureaus",
      "cities/seoul/bureaus/",
      "cities/seoul/bureaus/-",
      "cities/-/bureaus/-",
      "cities/Seoul",
      "cities/--",
      "cities/-x",
      "cities/seoul/records/r1",
      "cities/seoul/bureaus/education/records/r1",
      "cities/seoul/bureaus/education/",
      "towns/seoul",
      "/cities/seoul",
      "bureaus/education",
      "cities/ソウル",
  };
  for (const std::string& parent : bad) {
    absl::StatusOr<Parent> parsed = ParseParent(parent);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << "parent \"" << parent << "\"";
  }
}

// Names in the order their storage keys must sort: by city, then bureau,
// then record, component by component (bytes compared unsigned), including
// components that are prefixes of each other and components with '\0'.
std::vector<RecordName> NamesInKeyOrder() {
  return {
      {"", "", ""},
      {"", "", "a"},
      {"", "a", ""},
      {"a", "", ""},
      {"a", "a", "a"},
      {"a", "a", "a-b"},
      {"a", "a", "ab"},
      {"a", "a", "b"},
      {"a", "a-b", "a"},
      {"a", "b", ""},
      {"a", "b", "a"},
      {Bytes("a\0"), "a", "a"},
      {Bytes("a\0"), Bytes("a\0"), "a"},
      {Bytes("a\0"), Bytes("a\0b"), "a"},
      {Bytes("a\0b"), "", ""},
      {Bytes("a\x01"), "a", "a"},
      {"a-b", "a", "a"},
      {"a-b", "a", "b"},
      {"aa", "a", "a"},
      {"ab", Bytes("\0"), "a"},
      {"ab", Bytes("\0\0"), "a"},
      {"ab", Bytes("\x01"), "a"},
      {"b", "a", "a"},
      {"b\xff", "a", "a"},
      {"seoul", "education", "fy2019-0"},
      {"seoul", "policy-planning", "fy2019-0"},
      {"seoul-x", "education", "fy2019-0"},
      {"\xff", "a", "a"},
  };
}

TEST(RecordKeyTest, ExpectedOrderIsComponentWise) {
  // Guards the table itself: it must be sorted by (city, bureau, record).
  std::vector<RecordName> names = NamesInKeyOrder();
  for (size_t i = 1; i < names.size(); ++i) {
    EXPECT_LT(std::tie(names[i - 1].city, names[i - 1].bureau,
                       names[i - 1].record),
              std::tie(names[i].city, names[i].bureau, names[i].record))
        << "table entry " << i;
  }
}

TEST(RecordKeyTest, SortsByCityThenBureauThenRecord) {
  std::vector<RecordName> names = NamesInKeyOrder();
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) {
      EXPECT_LT(RecordKey(names[i]), RecordKey(names[j]))
          << "entries " << i << " and " << j;
    }
  }
}

TEST(RecordKeyTest, KeysDoNotCollideOrPrefixEachOther) {
  std::vector<RecordName> names = NamesInKeyOrder();
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < names.size(); ++j) {
      if (i == j) continue;
      std::string a = RecordKey(names[i]);
      std::string b = RecordKey(names[j]);
      EXPECT_NE(a, b) << "entries " << i << " and " << j;
      EXPECT_FALSE(absl::StartsWith(b, a))
          << "key of entry " << i << " is a prefix of entry " << j;
    }
  }
}

TEST(RecordKeyTest, ComponentsWithSeparatorsDoNotCollide) {
  // Splitting the same bytes differently between components must give
  // different keys.
  const std::vector<RecordName> names = {
      {"ab", "c", "d"},
      {"a", "bc", "d"},
      {"a", "b", "cd"},
      {Bytes("a\0\x01"), "b", "c"},
      {"a", Bytes("\0\x01") + "b", "c"},
      {"a", "b", Bytes("c\0\x01")},
      {Bytes("a\0\xff"), "b", "c"},
  };
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = i + 1; j < names.size(); ++j) {
      EXPECT_NE(RecordKey(names[i]), RecordKey(names[j]))
          << "entries " << i << " and " << j;
    }
  }
}

TEST(RecordKeyTest, AppendKeyComponentBuildsRecordKey) {
  for (const RecordName& name : NamesInKeyOrder()) {
    std::string key;
    AppendKeyComponent(key, name.city);
    AppendKeyComponent(key, name.bureau);
    AppendKeyComponent(key, name.record);
    EXPECT_EQ(key, RecordKey(name));
  }
}

TEST(RecordKeyTest, AppendKeyComponentEscapesNul) {
  std::string key = "x";
  AppendKeyComponent(key, Bytes("a\0b"));
  EXPECT_EQ(key, Bytes("xa\0\xff"
                       "b\0\x01"));
}

TEST(RecordKeyTest, PrefixesMatchOnlyTheirOwnComponents) {
  const RecordName a{"a", "b", "r"};
  const RecordName a_dash{"a-b", "b", "r"};
  const RecordName a_nul{Bytes("a\0"), "b", "r"};
  const RecordName a_other_bureau{"a", "b-c", "r"};

  EXPECT_TRUE(absl::StartsWith(RecordKey(a), CityPrefix("a")));
  EXPECT_FALSE(absl::StartsWith(RecordKey(a_dash), CityPrefix("a")));
  EXPECT_FALSE(absl::StartsWith(RecordKey(a_nul), CityPrefix("a")));
  EXPECT_TRUE(absl::StartsWith(RecordKey(a_nul), CityPrefix(Bytes("a\0"))));
  EXPECT_FALSE(absl::StartsWith(RecordKey(a), CityPrefix(Bytes("a\0"))));

  EXPECT_TRUE(absl::StartsWith(RecordKey(a), CityBureauPrefix("a", "b")));
  EXPECT_FALSE(
      absl::StartsWith(RecordKey(a_other_bureau), CityBureauPrefix("a", "b")));
  EXPECT_FALSE(absl::StartsWith(RecordKey(a_dash), CityBureauPrefix("a", "b")));
  EXPECT_TRUE(absl::StartsWith(CityBureauPrefix("a", "b"), CityPrefix("a")));
}

TEST(DecodeRecordKeyTest, InvertsRecordKey) {
  for (const RecordName& name : NamesInKeyOrder()) {
    EXPECT_THAT(DecodeRecordKey(RecordKey(name)), Optional(name))
        << FormatRecordName(name);
  }
}

TEST(DecodeRecordKeyTest, RejectsKeysThatAreNotRecordKeys) {
  const std::string good = RecordKey({"seoul", "education", "r1"});
  struct Case {
    std::string description;
    std::string key;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"no terminator", "seoul"},
      {"one component", CityPrefix("seoul")},
      {"two components", CityBureauPrefix("seoul", "education")},
      {"trailing bytes", good + "x"},
      {"four components", good + CityPrefix("x")},
      {"truncated terminator", good.substr(0, good.size() - 1)},
      {"bad escape", Bytes("a\0\x02") + CityBureauPrefix("b", "c")},
      {"escape at the end", CityBureauPrefix("a", "b") + Bytes("c\0")},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecodeRecordKey(c.key), std::nullopt) << c.description;
  }
}

TEST(SequenceKeyTest, RoundTripsAndSortsNumerically) {
  const std::vector<uint64_t> values = {
      0,
      1,
      2,
      255,
      256,
      257,
      65535,
      65536,
      (uint64_t{1} << 32) - 1,
      uint64_t{1} << 32,
      uint64_t{1} << 56,
      std::numeric_limits<uint64_t>::max() - 1,
      std::numeric_limits<uint64_t>::max(),
  };
  for (size_t i = 0; i < values.size(); ++i) {
    std::string key = SequenceKey(values[i]);
    EXPECT_EQ(key.size(), 8u);
    EXPECT_THAT(DecodeSequenceKey(key), Optional(values[i]));
    if (i > 0) {
      EXPECT_LT(SequenceKey(values[i - 1]), key)
          << values[i - 1] << " vs " << values[i];
    }
  }
  EXPECT_EQ(SequenceKey(1), Bytes("\0\0\0\0\0\0\0\x01"));
  EXPECT_EQ(SequenceKey(0x0102030405060708ULL),
            "\x01\x02\x03\x04\x05\x06\x07\x08");
}

TEST(SequenceKeyTest, RejectsWrongLengths) {
  EXPECT_EQ(DecodeSequenceKey(""), std::nullopt);
  EXPECT_EQ(DecodeSequenceKey(std::string(7, '\0')), std::nullopt);
  EXPECT_EQ(DecodeSequenceKey(std::string(9, '\0')), std::nullopt);
  EXPECT_EQ(DecodeSequenceKey(SequenceKey(5) + "x"), std::nullopt);
}

}  // namespace
}  // namespace kouryu
