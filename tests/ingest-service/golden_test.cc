// The published table, read and normalized, compared with records reviewed
// by hand (testdata/tokyo-exchange-r1.golden.json, written by reading each
// row under the rules in results.h, events.h and gazetteer.h; see
// testdata/REVIEW.md for the judgement calls).

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_format.h"
#include "common/gazetteer.h"
#include "gtest/gtest.h"
#include "ingest-service/encoding.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/table_reader.h"

namespace kouryu::ingest {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string DateString(const google::type::Date& d) {
  return d.day() == 0 ? absl::StrFormat("%04d-%02d", d.year(), d.month())
                      : absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(),
                                        d.day());
}

const Value& Field(const Struct& s, const std::string& name) {
  static const Value* kNull = new Value();
  auto it = s.fields().find(name);
  return it == s.fields().end() ? *kNull : it->second;
}

std::vector<std::string> Strings(const Value& v) {
  std::vector<std::string> out;
  for (const Value& e : v.list_value().values()) out.push_back(e.string_value());
  return out;
}

class GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ListValue golden;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                    ReadFile(KOURYU_SOURCE_DIR
                             "/tests/ingest-service/testdata/"
                             "tokyo-exchange-r1.golden.json"),
                    &golden)
                    .ok());
    for (const Value& v : golden.values()) {
      expected_[static_cast<int>(Field(v.struct_value(), "line").number_value())] =
          v.struct_value();
    }
    absl::StatusOr<DecodedText> decoded = DecodeTable(
        ReadFile(KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv"), "");
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    absl::StatusOr<Table> table = ReadTable(decoded->utf8);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  std::map<int, Struct> expected_;
  Table table_;
};

TEST_F(GoldenTest, EveryPublishedRowMatchesItsReviewedRecord) {
  ASSERT_EQ(expected_.size(), 36u);
  ASSERT_EQ(table_.rows.size(), 36u);
  Normalizer normalizer(Gazetteer::Builtin());
  // The published columns, mapped as ImportTable maps them.
  absl::StatusOr<std::vector<int>> layout = ColumnLayout({});
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_TRUE(CheckColumnCounts(table_, layout->size()).ok());
  for (const TableRow& row : table_.rows) {
    SCOPED_TRACE(absl::StrFormat("line %d", row.line));
    ASSERT_EQ(expected_.count(row.line), 1u);
    const Struct& want = expected_[row.line];
    TableRow taken_row = row;
    RowRecord taken =
        TakeRowRecord(taken_row, *layout, table_.fiscal_year, "");
    absl::StatusOr<NormalizedRecord> got = normalizer.Normalize(
        taken.raw, taken.source, {.field_prefix = "rows[0]."});
    ASSERT_TRUE(got.ok()) << got.status();
    const v1::Record& r = got->record;
    EXPECT_TRUE(got->warnings.empty());

    EXPECT_EQ(r.fiscal_year(), Field(want, "fiscal_year").number_value());
    EXPECT_EQ(v1::Category_Name(r.category()),
              Field(want, "category").string_value());
    EXPECT_EQ(r.category_label(), Field(want, "category_label").string_value());
    EXPECT_EQ(r.city().id(), Field(want, "city").string_value());
    std::vector<std::string> mentioned;
    for (const v1::City& c : r.mentioned_cities()) mentioned.push_back(c.id());
    EXPECT_EQ(mentioned, Strings(Field(want, "mentioned_cities")));
    EXPECT_EQ(r.bureau().id(), Field(want, "bureau").string_value());
    EXPECT_EQ(r.department(), Field(want, "department").string_value());
    EXPECT_EQ(r.title(), Field(want, "title").string_value());
    EXPECT_EQ(r.results_text(), Field(want, "results_text").string_value());
    EXPECT_EQ(r.source_html(), row.cells[3]) << "source_html must be as published";

    const auto& want_sections = Field(want, "sections").list_value().values();
    ASSERT_EQ(r.sections_size(), want_sections.size());
    for (int i = 0; i < r.sections_size(); ++i) {
      const Struct& s = want_sections[i].struct_value();
      EXPECT_EQ(r.sections(i).heading(), Field(s, "heading").string_value());
      std::vector<std::string> items(r.sections(i).items().begin(),
                                     r.sections(i).items().end());
      EXPECT_EQ(items, Strings(Field(s, "items"))) << "section " << i;
    }

    const auto& want_events = Field(want, "events").list_value().values();
    ASSERT_EQ(r.events_size(), want_events.size());
    for (int i = 0; i < r.events_size(); ++i) {
      SCOPED_TRACE(absl::StrFormat("event %d", i));
      const Struct& e = want_events[i].struct_value();
      const v1::Event& got_event = r.events(i);
      EXPECT_EQ(DateString(got_event.start_date()), Field(e, "start").string_value());
      EXPECT_EQ(DateString(got_event.end_date()), Field(e, "end").string_value());
      EXPECT_EQ(got_event.participants(), Field(e, "participants").number_value());
      EXPECT_EQ(v1::EventKind_Name(got_event.kind()), Field(e, "kind").string_value());
      EXPECT_EQ(got_event.text(), Field(e, "text").string_value());
    }
  }
}

}  // namespace
}  // namespace kouryu::ingest
