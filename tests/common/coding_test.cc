#include "common/coding.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kouryu {
namespace {

using ::testing::Optional;

// Protobuf's own varint writer: an oracle independent of coding.h.
std::string ProtobufVarint(uint64_t value) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.WriteVarint64(value);
  }
  return out;
}

std::vector<uint64_t> Values() {
  std::vector<uint64_t> values = {0,
                                  1,
                                  0x7f,
                                  0x80,
                                  0x3fff,
                                  0x4000,
                                  0xffff,
                                  1ULL << 32,
                                  std::numeric_limits<uint64_t>::max() - 1,
                                  std::numeric_limits<uint64_t>::max()};
  std::mt19937_64 random(20191);
  for (int i = 0; i < 1000; ++i) values.push_back(random() >> (random() % 64));
  return values;
}

TEST(CodingTest, Fixed64IsBigEndian) {
  EXPECT_EQ(EncodeFixed64BigEndian(0x0102030405060708ULL),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(EncodeFixed64BigEndian(0), std::string(8, '\0'));
}

TEST(CodingTest, Fixed64RoundTripsAndSortsAsNumbers) {
  const std::vector<uint64_t> values = Values();
  for (uint64_t a : values) {
    const std::string encoded = EncodeFixed64BigEndian(a);
    ASSERT_EQ(encoded.size(), 8u);
    EXPECT_THAT(DecodeFixed64BigEndian(encoded), Optional(a));
  }
  for (size_t i = 1; i < values.size(); ++i) {
    const uint64_t a = values[i - 1], b = values[i];
    EXPECT_EQ(a < b, EncodeFixed64BigEndian(a) < EncodeFixed64BigEndian(b))
        << a << " " << b;
  }
}

TEST(CodingTest, Fixed64RejectsOtherSizes) {
  for (size_t size : {0, 1, 7, 9, 16}) {
    EXPECT_EQ(DecodeFixed64BigEndian(std::string(size, 'x')), std::nullopt) << size;
  }
}

TEST(CodingTest, PutFixed64Appends) {
  std::string out = "key/";
  PutFixed64BigEndian(out, 5);
  EXPECT_EQ(out, std::string("key/\0\0\0\0\0\0\0\x05", 12));
}

TEST(CodingTest, Fixed16RoundTrips) {
  for (uint16_t value : {0, 1, 0xff, 0x100, 0x1234, 0xffff}) {
    std::string out;
    PutFixed16BigEndian(out, value);
    ASSERT_EQ(out.size(), 2u);
    out += "rest";
    absl::string_view in = out;
    uint16_t decoded = 0;
    ASSERT_TRUE(GetFixed16BigEndian(in, decoded));
    EXPECT_EQ(decoded, value);
    EXPECT_EQ(in, "rest");
  }
  absl::string_view short_input("\x01", 1);
  uint16_t decoded = 0;
  EXPECT_FALSE(GetFixed16BigEndian(short_input, decoded));
}

TEST(CodingTest, VarintMatchesProtobuf) {
  for (uint64_t value : Values()) {
    std::string out;
    PutVarint64(out, value);
    EXPECT_EQ(out, ProtobufVarint(value)) << value;
    EXPECT_EQ(VarintLength(value), out.size()) << value;
  }
}

TEST(CodingTest, VarintRoundTripsInSequence) {
  const std::vector<uint64_t> values = Values();
  std::string out;
  for (uint64_t value : values) PutVarint64(out, value);
  absl::string_view in = out;
  for (uint64_t value : values) {
    uint64_t decoded = 0;
    ASSERT_TRUE(GetVarint64(in, decoded));
    EXPECT_EQ(decoded, value);
  }
  EXPECT_TRUE(in.empty());
}

TEST(CodingTest, VarintRejectsTruncatedAndOverlongInput) {
  std::string max;
  PutVarint64(max, std::numeric_limits<uint64_t>::max());
  ASSERT_EQ(max.size(), 10u);
  for (size_t cut = 0; cut < max.size(); ++cut) {
    absl::string_view in(max.data(), cut);
    uint64_t decoded = 0;
    EXPECT_FALSE(GetVarint64(in, decoded)) << cut;
  }
  const std::string overlong(11, '\x80');
  absl::string_view in = overlong;
  uint64_t decoded = 0;
  EXPECT_FALSE(GetVarint64(in, decoded));
}

}  // namespace
}  // namespace kouryu
