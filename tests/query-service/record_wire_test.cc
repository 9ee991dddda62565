// Responses assembled from stored records byte for byte as protobuf would
// serialize them.

#include "query-service/record_wire.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace kouryu::query {
namespace {

// A record with every field set; FULL-only fields (sections, events,
// source_html) sit between fields BASIC keeps.
v1::Record FullRecord(int i, size_t html_bytes) {
  v1::Record r;
  r.set_name(absl::StrCat("cities/seoul/bureaus/education/records/r", i));
  r.set_fiscal_year(2019);
  r.set_category(v1::CATEGORY_SISTER_CITY_EXCHANGE);
  r.set_category_label("姉妹都市交流");
  r.mutable_city()->set_id("seoul");
  r.mutable_city()->set_name_ja("ソウル特別市");
  r.add_mentioned_cities()->set_id("busan");
  r.mutable_bureau()->set_id("education");
  r.set_department("国際課");
  r.set_title(absl::StrCat("交流 ", i));
  r.set_results_text("成果");
  v1::Section* section = r.add_sections();
  section->set_heading("概要");
  section->add_items("一");
  v1::Event* event = r.add_events();
  event->mutable_start_date()->set_year(2019);
  event->set_participants(12);
  r.set_source_html(std::string(html_bytes, 'h'));
  r.mutable_source()->set_file_name("a.tsv");
  r.mutable_source()->set_row(i);
  r.mutable_create_time()->set_seconds(1);
  r.mutable_update_time()->set_seconds(2);
  r.set_etag("\"e\"");
  r.set_create_sequence(static_cast<uint64_t>(i));
  return r;
}

std::vector<v1::Record> Records() {
  std::vector<v1::Record> records = {v1::Record()};  // empty: length 0
  v1::Record basic_only;
  basic_only.set_name("cities/a/bureaus/b/records/c");
  records.push_back(basic_only);
  v1::Record full_only;
  full_only.set_source_html("only html");
  records.push_back(full_only);
  // Lengths whose varints take one, two and three bytes.
  for (size_t html : {0, 200, 20000})
    records.push_back(FullRecord(records.size(), html));
  return records;
}

TEST(RecordWireTest, ParsePlacementKeepsOnlyNameCityBureauAndCreateSequence) {
  for (const v1::Record& record : Records()) {
    v1::Record expected;
    expected.set_name(record.name());
    if (record.has_city()) *expected.mutable_city() = record.city();
    if (record.has_bureau()) *expected.mutable_bureau() = record.bureau();
    expected.set_create_sequence(record.create_sequence());
    v1::Record placement;
    ASSERT_TRUE(ParsePlacement(record.SerializeAsString(), placement)) << record.name();
    EXPECT_EQ(placement.SerializeAsString(), expected.SerializeAsString())
        << record.name();
  }
  v1::Record placement;
  const std::string stored = FullRecord(1, 10).SerializeAsString();
  EXPECT_FALSE(ParsePlacement(stored.substr(0, stored.size() - 1), placement));
  EXPECT_FALSE(ParsePlacement("\x0a\x7f", placement));  // name longer than the bytes
}

TEST(RecordWireTest, ResponsesEqualSerializeAsString) {
  for (v1::RecordView view : {v1::RECORD_VIEW_UNSPECIFIED,
                              v1::RECORD_VIEW_BASIC, v1::RECORD_VIEW_FULL}) {
    SCOPED_TRACE(v1::RecordView_Name(view));
    v1::ListRecordsResponse expected;
    std::string out;
    for (const v1::Record& record : Records()) {
      ASSERT_TRUE(AppendRecordField(view, record.SerializeAsString(), out));
      v1::Record* shown = expected.add_records();
      *shown = record;
      if (view != v1::RECORD_VIEW_FULL) {
        shown->clear_sections();
        shown->clear_events();
        shown->clear_source_html();
      }
    }
    v1::ListRecordsResponse rest;
    rest.set_next_page_token("token");
    rest.set_total_size(7);
    rest.AppendToString(&out);
    expected.set_next_page_token("token");
    expected.set_total_size(7);
    EXPECT_EQ(out, expected.SerializeAsString());
  }
}

TEST(RecordWireTest, ApplyViewKeepsWhatTheViewShows) {
  const v1::Record full = FullRecord(1, 10);
  for (v1::RecordView view : {v1::RECORD_VIEW_UNSPECIFIED,
                              v1::RECORD_VIEW_BASIC, v1::RECORD_VIEW_FULL}) {
    SCOPED_TRACE(v1::RecordView_Name(view));
    v1::Record applied = full;
    ApplyView(view, applied);
    std::string field;
    ASSERT_TRUE(AppendRecordField(view, full.SerializeAsString(), field));
    v1::ListRecordsResponse wrapped;
    ASSERT_TRUE(wrapped.ParseFromString(field));
    ASSERT_EQ(wrapped.records_size(), 1);
    EXPECT_EQ(wrapped.records(0).SerializeAsString(),
              applied.SerializeAsString());
    EXPECT_EQ(applied.events_size(), view == v1::RECORD_VIEW_FULL ? 1 : 0);
    EXPECT_EQ(applied.title(), full.title());
  }
}

TEST(RecordWireTest, BasicViewOfBytesThatDoNotParseFails) {
  const std::string stored = FullRecord(1, 10).SerializeAsString();
  std::string out;
  // Cut in the last field's value (create_sequence).
  EXPECT_FALSE(AppendRecordField(v1::RECORD_VIEW_BASIC,
                                 stored.substr(0, stored.size() - 1), out));
  out.clear();
  // A name whose length runs past the end.
  EXPECT_FALSE(AppendRecordField(v1::RECORD_VIEW_BASIC,
                                 absl::string_view("\x0a\x05" "ab", 4), out));
}

TEST(RecordWireTest, NameOfStored) {
  EXPECT_EQ(NameOfStored(FullRecord(3, 0).SerializeAsString()),
            "cities/seoul/bureaus/education/records/r3");
}

}  // namespace
}  // namespace kouryu::query
