// The store's hand-built serializations give the same bytes as protobuf's
// own serialization of the same messages.

#include "ingest-service/record_codec.h"

#include <string>

#include "absl/status/status.h"
#include "common/keys.h"
#include "common/status.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace kouryu::ingest {
namespace {

using ::google::protobuf::util::MessageDifferencer;

v1::Record FullRecord() {
  v1::Record record;
  record.set_name(FormatRecordName({"seoul", "policy-planning", "r1"}));
  record.set_fiscal_year(2019);
  record.set_category(v1::CATEGORY_SISTER_CITY_EXCHANGE);
  record.set_category_label("①姉妹・友好都市及び政策提携都市との交流");
  record.mutable_city()->set_id("seoul");
  record.add_mentioned_cities()->set_id("beijing");
  record.mutable_bureau()->set_id("policy-planning");
  record.set_department("外務部");
  record.set_title("大韓民国ソウル特別市");
  record.set_results_text("4月25日 都政説明");
  record.add_sections()->set_heading("【文化交流】");
  record.add_events()->set_participants(4);
  record.set_source_html("<p>4月25日 都政説明</p>");
  record.mutable_source()->set_file_name("tokyo-exchange-r1.tsv");
  record.mutable_source()->set_row(4);
  record.mutable_create_time()->set_seconds(1'600'000'000);
  record.mutable_update_time()->set_seconds(1'600'000'100);
  record.set_etag("0123456789abcdef");
  record.set_create_sequence(7);
  return record;
}

TEST(RecordCodecTest, ContentBytesAreTheRecordWithoutItsMetadata) {
  v1::Record record = FullRecord();
  const std::string content = ContentBytes(record);
  EXPECT_TRUE(MessageDifferencer::Equals(record, FullRecord()))
      << "the record is unchanged";
  v1::Record content_only = FullRecord();
  content_only.clear_source();
  content_only.clear_create_time();
  content_only.clear_update_time();
  content_only.clear_etag();
  content_only.clear_create_sequence();
  EXPECT_EQ(content, content_only.SerializeAsString());
  EXPECT_EQ(EtagOf(content).size(), 16u);
}

TEST(RecordCodecTest, RecordBytesEqualTheRecordSerialized) {
  v1::Record record = FullRecord();
  EXPECT_EQ(RecordBytes(record, ContentBytes(record)), record.SerializeAsString());

  v1::Record bare;
  bare.set_name(record.name());
  EXPECT_EQ(RecordBytes(bare, ContentBytes(bare)), bare.SerializeAsString());
}

TEST(RecordCodecTest, RecordBytesKeepUnknownFields) {
  v1::Record record = FullRecord();
  record.GetReflection()->MutableUnknownFields(&record)->AddVarint(1000, 5);
  v1::Record parsed;
  ASSERT_TRUE(parsed.ParseFromString(RecordBytes(record, ContentBytes(record))));
  EXPECT_TRUE(MessageDifferencer::Equals(parsed, record));
}

TEST(RecordCodecTest, ChangeBytesEqualTheChangeSerialized) {
  const v1::Record record = FullRecord();
  google::protobuf::Timestamp commit_time;
  commit_time.set_seconds(1'600'000'200);
  commit_time.set_nanos(5);

  v1::Change upsert;
  upsert.set_sequence(300);
  upsert.set_kind(v1::CHANGE_KIND_UPSERT);
  upsert.set_name(record.name());
  *upsert.mutable_record() = record;
  *upsert.mutable_commit_time() = commit_time;
  const std::string record_bytes = record.SerializeAsString();
  EXPECT_EQ(ChangeBytes(300, v1::CHANGE_KIND_UPSERT, record.name(),
                        &record_bytes, commit_time),
            upsert.SerializeAsString());

  v1::Change removal;
  removal.set_sequence(301);
  removal.set_kind(v1::CHANGE_KIND_DELETE);
  removal.set_name(record.name());
  *removal.mutable_commit_time() = commit_time;
  EXPECT_EQ(ChangeBytes(301, v1::CHANGE_KIND_DELETE, record.name(), nullptr,
                        commit_time),
            removal.SerializeAsString());
}

TEST(RecordCodecTest, StoredBytesThatDoNotParseAreCorrupted) {
  absl::StatusOr<v1::Record> record = ParseStoredRecord("\xff\xff", "key");
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ReasonOf(record.status()), "STORAGE_CORRUPTED");
  absl::StatusOr<v1::Change> change = ParseStoredChange("\x0a\x05", "key");
  EXPECT_EQ(ReasonOf(change.status()), "STORAGE_CORRUPTED");

  const std::string bytes = FullRecord().SerializeAsString();
  absl::StatusOr<v1::Record> parsed = ParseStoredRecord(bytes, "key");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*parsed, FullRecord()));
}

}  // namespace
}  // namespace kouryu::ingest
