#include "common/request.h"

#include <grpcpp/support/byte_buffer.h>

#include <string>

#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kouryu/v1/ingest_service.pb.h"
#include "kouryu/v1/query_service.pb.h"

namespace kouryu {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kInvalid[] = "ok\xff\xfe";

// A length-delimited field on the wire, written by hand (a serializer
// would refuse invalid UTF-8 in a string field).
std::string Field(int number, const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>((number << 3) | 2));
  out.push_back(static_cast<char>(payload.size()));
  return out + payload;
}

TEST(FirstInvalidUtf8FieldTest, NamesTheFieldPath) {
  const auto& upsert = *v1::UpsertRecordRequest::descriptor();
  const auto& raw = *v1::RawRecord::descriptor();
  const int record = v1::UpsertRecordRequest::kRecordFieldNumber;
  const int title = v1::RawRecord::kTitleFieldNumber;
  const int category = v1::RawRecord::kCategoryFieldNumber;
  struct Case {
    const google::protobuf::Descriptor& type;
    std::string bytes;
    std::string field;
  };
  const Case cases[] = {
      {raw, Field(title, kInvalid), "title"},
      {raw, Field(category, "分野") + Field(title, kInvalid), "title"},
      {upsert, Field(record, Field(title, kInvalid)), "record.title"},
      {upsert, Field(record, Field(category, "ok")), ""},
      // The third entry of a repeated string field.
      {*v1::ImportTableRequest::descriptor(),
       Field(v1::ImportTableRequest::kColumnsFieldNumber, "category") +
           Field(v1::ImportTableRequest::kColumnsFieldNumber, "title") +
           Field(v1::ImportTableRequest::kColumnsFieldNumber, kInvalid),
       "columns[2]"},
      // A bytes field may hold anything.
      {*v1::ImportTableRequest::descriptor(),
       Field(v1::ImportTableRequest::kContentFieldNumber, kInvalid), ""},
      // Broken off in the middle of a field.
      {raw, std::string("\x1a\x10" "ab", 4), ""},
      {raw, "", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FirstInvalidUtf8Field(c.type, c.bytes), c.field)
        << c.type.full_name() << " " << c.field;
  }
}

TEST(MalformedRequestTest, ReasonFieldAndMetadata) {
  absl::Status status =
      MalformedRequest(v1::UpsertRecordRequest::descriptor(),
                       Field(v1::UpsertRecordRequest::kRecordFieldNumber,
                             Field(v1::RawRecord::kTitleFieldNumber, kInvalid)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(status), "MALFORMED_REQUEST");
  EXPECT_THAT(status.message(), HasSubstr("kouryu.v1.UpsertRecordRequest"));
  EXPECT_THAT(status.message(), HasSubstr("record.title"));
  ASSERT_EQ(ViolationsOf(status).size(), 1u);
  EXPECT_EQ(ViolationsOf(status)[0].field, "record.title");
  EXPECT_THAT(MetadataOf(status),
              UnorderedElementsAre(
                  Pair("requestType", "kouryu.v1.UpsertRecordRequest"),
                  Pair("field", "record.title")));

  // Without the bytes, or without a string at fault: no field.
  status = MalformedRequest(v1::ListRecordsRequest::descriptor(), "");
  EXPECT_EQ(ReasonOf(status), "MALFORMED_REQUEST");
  EXPECT_THAT(ViolationsOf(status), IsEmpty());
  EXPECT_THAT(MetadataOf(status),
              ElementsAre(Pair("requestType", "kouryu.v1.ListRecordsRequest")));
  EXPECT_THAT(MalformedRequest(nullptr, "x").message(), HasSubstr("request"));
}

TEST(ParseRequestTest, ParsesOrNamesTheField) {
  v1::ListRecordsRequest good;
  good.set_parent("cities/seoul");
  good.set_page_size(3);
  const std::string bytes = good.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  v1::ListRecordsRequest parsed;
  ASSERT_TRUE(ParseRequest(grpc::ByteBuffer(&slice, 1), parsed).ok());
  EXPECT_EQ(parsed.parent(), "cities/seoul");
  EXPECT_EQ(parsed.page_size(), 3);

  // Split over two slices, the invalid string in the second.
  const std::string head = Field(v1::ListRecordsRequest::kParentFieldNumber, "cities/-");
  const std::string tail = Field(v1::ListRecordsRequest::kFilterFieldNumber, kInvalid);
  grpc::Slice slices[] = {grpc::Slice(head.data(), head.size()),
                          grpc::Slice(tail.data(), tail.size())};
  absl::Status status = ParseRequest(grpc::ByteBuffer(slices, 2), parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(status), "MALFORMED_REQUEST");
  ASSERT_EQ(ViolationsOf(status).size(), 1u);
  EXPECT_EQ(ViolationsOf(status)[0].field, "filter");
}

}  // namespace
}  // namespace kouryu
