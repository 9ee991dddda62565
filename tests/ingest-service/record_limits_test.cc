// What a row may become: event texts are bounded clauses, and the row limits
// hold for the record as stored (after NFKC and event extraction). Rows that
// would grow past them are rejected with a violation naming the field,
// before anything is written. Also: a bad resource name, however long, comes
// back as a short INVALID_ARGUMENT that a default client can read.
//
// The inputs are the two found by a hostile-input campaign: a date clause
// repeated until the cell is full, and a cell of U+FDFA (which NFKC expands
// to 18 characters).

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "ingest-service/events.h"
#include "ingest-service/ingest_service.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "tests/support/temp_dir.h"

namespace kouryu::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::Le;
using ::testing::SizeIs;

constexpr char kSisterCity[] = "①姉妹・友好都市及び政策提携都市との交流";
// 32 bytes: one date range and a comma, which joins it to the next.
constexpr char kDateClause[] = "4月1日から3月31日まで、";
// ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM: 3 bytes, 33 after NFKC.
constexpr char kFdfa[] = "\xEF\xB7\xBA";

std::string Repeat(absl::string_view s, size_t times) {
  std::string out;
  out.reserve(s.size() * times);
  for (size_t i = 0; i < times; ++i) out.append(s.data(), s.size());
  return out;
}

v1::RawRecord Row(std::string title, std::string results) {
  v1::RawRecord raw;
  raw.set_category(kSisterCity);
  raw.set_department("政策企画局外務部");
  raw.set_title(std::move(title));
  raw.set_results(std::move(results));
  raw.set_fiscal_year(2019);
  return raw;
}

// The repeated date clause: 2,000 times, 64,000 bytes (within the 64 KiB
// limit of results).
v1::RawRecord RepeatedDateRow() {
  return Row("大韓民国ソウル特別市", Repeat(kDateClause, 2000));
}

// A results cell of U+FDFA up to the 64 KiB limit (65,535 bytes).
v1::RawRecord FdfaResultsRow() {
  return Row("大韓民国ソウル特別市", Repeat(kFdfa, kMaxResultsBytes / 3));
}

// A title of U+FDFA up to the 1 KiB limit.
v1::RawRecord FdfaTitleRow() {
  return Row(Repeat(kFdfa, kMaxTitleBytes / 3), "4月25日、都政説明実施");
}

size_t RawBytes(const v1::RawRecord& raw) {
  return raw.category().size() + raw.department().size() +
         raw.title().size() + raw.results().size();
}

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> out;
  for (const FieldViolation& v : ViolationsOf(status)) out.push_back(v.field);
  return out;
}

// --- events ----------------------------------------------------------------

TEST(EventTextTest, IsTheEventsOwnSentence) {
  std::vector<v1::Event> events = ExtractEvents(
      "2月3日から8日まで、パリ市へ3名派遣。両都市の取組の紹介や意見交換会を実施。",
      2019);
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].text(), "2月3日から8日まで、パリ市へ3名派遣。");
  // Kind and participants still come from the whole piece.
  EXPECT_EQ(events[0].kind(), v1::EVENT_KIND_DISPATCHED);
  EXPECT_EQ(events[0].participants(), 3);
}

TEST(EventTextTest, GroupSharesItsClause) {
  std::vector<v1::Event> events = ExtractEvents(
      "10月14日から24日ならびに12月1日から9日に職員各2人を受入。人的交流を実施。",
      2019);
  ASSERT_THAT(events, SizeIs(2));
  for (const v1::Event& e : events) {
    EXPECT_EQ(e.text(), "10月14日から24日ならびに12月1日から9日に職員各2人を受入。");
  }
}

TEST(EventTextTest, LongClauseIsCutAtACharacter) {
  std::string item = absl::StrCat("4月1日、", Repeat("交流", 2000));
  std::vector<v1::Event> events = ExtractEvents(item, 2019);
  ASSERT_THAT(events, SizeIs(1));
  const std::string& text = events[0].text();
  EXPECT_THAT(text.size(), Le(kMaxEventTextBytes));
  EXPECT_TRUE(absl::EndsWith(text, "…")) << text;
  EXPECT_TRUE(absl::StartsWith(item, text.substr(0, text.size() - 3))) << text;
}

TEST(EventTextTest, RepeatedDateClauseIsBounded) {
  std::string item = Repeat(kDateClause, 2000);
  std::vector<v1::Event> events = ExtractEvents(item, 2019);
  ASSERT_THAT(events, SizeIs(2000));
  size_t total = 0;
  size_t longest = 0;
  for (const v1::Event& e : events) {
    longest = std::max(longest, e.text().size());
    total += e.ByteSizeLong();
  }
  EXPECT_THAT(longest, Le(kMaxEventTextBytes));
  // Was 2,000 copies of the whole 64,000-byte line: 128 MB.
  EXPECT_THAT(total, Le(kMaxEventsExpansion * item.size()));
}

// --- the normalizer --------------------------------------------------------

class RecordLimitsTest : public ::testing::Test {
 protected:
  absl::StatusOr<NormalizedRecord> Normalize(const v1::RawRecord& raw) {
    return normalizer_.Normalize(raw, v1::SourceRef(),
                                 {.field_prefix = "record."});
  }

  Normalizer normalizer_{Gazetteer::Builtin()};
};

TEST_F(RecordLimitsTest, RepeatedDateClauseIsRejected) {
  absl::StatusOr<NormalizedRecord> out = Normalize(RepeatedDateRow());
  ASSERT_FALSE(out.ok()) << "a record of " << out->record.ByteSizeLong()
                         << " bytes from a row of "
                         << RawBytes(RepeatedDateRow());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(out.status()), "INVALID_RECORD");
  EXPECT_THAT(Fields(out.status()), ::testing::ElementsAre("record.results"));
  EXPECT_THAT(out.status().message(), HasSubstr("record.results"));
  EXPECT_THAT(out.status().message(), HasSubstr("2000 events"));
}

TEST_F(RecordLimitsTest, FdfaResultsAreMeasuredAfterNfkc) {
  absl::StatusOr<NormalizedRecord> out = Normalize(FdfaResultsRow());
  ASSERT_FALSE(out.ok()) << "a record of " << out->record.ByteSizeLong()
                         << " bytes from a row of "
                         << RawBytes(FdfaResultsRow());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(out.status()), ::testing::ElementsAre("record.results"));
  EXPECT_THAT(out.status().message(), HasSubstr("after normalization"));
}

TEST_F(RecordLimitsTest, FdfaTitleIsMeasuredAfterNfkc) {
  absl::StatusOr<NormalizedRecord> out = Normalize(FdfaTitleRow());
  ASSERT_FALSE(out.ok()) << "a title of " << out->record.title().size()
                         << " bytes";
  EXPECT_THAT(Fields(out.status()), ::testing::ElementsAre("record.title"));
  // The message quotes no more than a short prefix of the title.
  EXPECT_THAT(out.status().message().size(), Le(400u));
}

TEST_F(RecordLimitsTest, AcceptedRecordsAreAFixedMultipleOfTheirRow) {
  // Up to the record limit, a repeated date clause and U+FDFA are accepted,
  // and what they become stays within kMaxRecordExpansion of the row.
  for (const v1::RawRecord& raw :
       {Row("大韓民国ソウル特別市", Repeat(kDateClause, 100)),
        Row("大韓民国ソウル特別市", Repeat(kFdfa, 1000)),
        Row("大韓民国ソウル特別市", Repeat("4月", 1000)),
        // The most events per byte: ㋃ (3 bytes) is 4月 after NFKC.
        Row("大韓民国ソウル特別市", Repeat("㋃", 1000))}) {
    absl::StatusOr<NormalizedRecord> out = Normalize(raw);
    ASSERT_TRUE(out.ok()) << out.status();
    const size_t bytes = out->record.ByteSizeLong();
    if (!absl::StrContains(raw.results(), kFdfa)) {
      EXPECT_GT(out->record.events_size(), 0) << raw.results().substr(0, 40);
    }
    EXPECT_THAT(bytes, Le(kMaxRecordBytes));
    EXPECT_THAT(bytes, Le(kMaxRecordExpansion * RawBytes(raw) +
                              kRecordOverheadBytes));
  }
}

// --- through a real server -------------------------------------------------

grpc::ChannelArguments DefaultClientArguments() { return {}; }

struct Problem {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string reason;
  std::vector<std::string> fields;
};

Problem ProblemOf(const grpc::Status& status) {
  Problem p{status.error_code(), "", {}};
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return p;
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&info)) p.reason = info.reason();
    if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) p.fields.push_back(v.field());
    }
  }
  return p;
}

class RecordLimitsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(dir_.path(), {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ingest_ = std::make_unique<IngestServiceImpl>(normalizer_, *store_);
    auto server = Server::Start({.listen = "127.0.0.1:0", .name = "test"},
                                {ingest_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    // A client with gRPC's defaults (4 MiB receive, 16 KiB metadata).
    stub_ = v1::IngestService::NewStub(grpc::CreateCustomChannel(
        server_->address(), grpc::InsecureChannelCredentials(),
        DefaultClientArguments()));
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown([this] { store_->StopWaiting(); });
    server_.reset();
    store_.reset();
  }

  grpc::Status Upsert(const v1::RawRecord& raw) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    v1::UpsertRecordRequest request;
    *request.mutable_record() = raw;
    v1::UpsertRecordResponse response;
    return stub_->UpsertRecord(&context, request, &response);
  }

  grpc::Status Delete(const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    v1::DeleteRecordRequest request;
    request.set_name(name);
    v1::DeleteRecordResponse response;
    return stub_->DeleteRecord(&context, request, &response);
  }

  // Upserts `raw` and expects it rejected on `field` with nothing written.
  void ExpectRejectedUnwritten(const v1::RawRecord& raw,
                               const std::string& field) {
    // One good row first, so the store is not empty.
    ASSERT_TRUE(Upsert(Row("大韓民国ソウル特別市", "4月25日、都政説明実施")).ok());
    const uint64_t head = store_->HeadSequence();
    absl::StatusOr<ContentDigest> before = store_->Digest();
    ASSERT_TRUE(before.ok()) << before.status();

    grpc::Status status = Upsert(raw);
    Problem p = ProblemOf(status);
    EXPECT_EQ(p.code, grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message().substr(0, 200);
    EXPECT_EQ(p.reason, "INVALID_RECORD");
    EXPECT_THAT(p.fields, ::testing::ElementsAre(field));
    EXPECT_THAT(status.error_message(), HasSubstr(field));

    EXPECT_EQ(store_->HeadSequence(), head);
    absl::StatusOr<ContentDigest> after = store_->Digest();
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(after->record_count, before->record_count);
    EXPECT_EQ(after->digest, before->digest);
  }

  kouryu::testing::ScopedTempDir dir_;
  Normalizer normalizer_{Gazetteer::Builtin()};
  std::unique_ptr<Store> store_;
  std::unique_ptr<IngestServiceImpl> ingest_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
};

TEST_F(RecordLimitsServerTest, RepeatedDateClauseWritesNothing) {
  ExpectRejectedUnwritten(RepeatedDateRow(), "record.results");
}

TEST_F(RecordLimitsServerTest, FdfaResultsWriteNothing) {
  ExpectRejectedUnwritten(FdfaResultsRow(), "record.results");
}

TEST_F(RecordLimitsServerTest, FdfaTitleWritesNothing) {
  ExpectRejectedUnwritten(FdfaTitleRow(), "record.title");
}

// A bad name of any length is a short INVALID_ARGUMENT, readable by a
// client with gRPC's default metadata limit.
TEST_F(RecordLimitsServerTest, HugeNamesGetAShortError) {
  for (size_t size : {size_t{10} * 1024, size_t{4} * 1024 * 1024}) {
    for (const std::string& name :
         {std::string(size, 'a'),
          absl::StrCat("cities/seoul/bureaus/policy-planning/records/",
                       std::string(size, 'x'))}) {
      grpc::Status status = Delete(name);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << size << ": " << status.error_message().substr(0, 200);
      EXPECT_THAT(status.error_message().size(), Le(300u))
          << status.error_message().substr(0, 200);
      EXPECT_THAT(status.error_details().size(), Le(1000u));
    }
  }
}

}  // namespace
}  // namespace kouryu::ingest
