// ListRecords and SearchRecords over records so large that a full page of
// 1000 does not fit in one response: pages end early with a
// next_page_token (AIP-158), never fail the call, and together return
// every record exactly once. A real store, replica and gRPC server on
// port 0.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "gtest/gtest.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/query_service.h"
#include "query-service/replica.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;

constexpr int kMaxPages = 1000;

// `rows` records whose results hold `results_chars` characters each, and
// whose source_html (FULL view only) is padded by `pad_bytes` after
// normalization (cheaper to write than as much text to normalize).
class LargeRecords {
 public:
  void Build(int rows, size_t results_chars, const QueryServiceOptions& options,
             size_t pad_bytes = 0) {
    auto store = ingest::Store::Open(ingest_dir_.path() + "/db", {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto replica = Replica::Open(replica_dir_.path() + "/db", {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);

    std::string text;
    while (text.size() < results_chars * 3) text += "交流事業を実施した。";
    text.resize(results_chars * 3);  // 3-byte characters only.
    const std::string results = "<p>" + text + "</p>";
    ingest::Normalizer normalizer(Gazetteer::Builtin());
    constexpr int kBatch = 100;
    for (int begin = 0; begin < rows; begin += kBatch) {
      std::vector<v1::Record> batch;
      for (int i = begin; i < std::min(rows, begin + kBatch); ++i) {
        v1::RawRecord raw;
        raw.set_category("①姉妹・友好都市及び政策提携都市との交流");
        raw.set_department("政策企画局外務部");
        raw.set_title(absl::StrCat("大韓民国ソウル特別市との交流 第", i + 1, "回"));
        raw.set_results(results);
        raw.set_fiscal_year(2019);
        auto normalized = normalizer.Normalize(
            raw, v1::SourceRef(), {absl::StrCat("rows[", i, "].")});
        ASSERT_TRUE(normalized.ok()) << normalized.status();
        normalized->record.mutable_source_html()->append(pad_bytes, 'x');
        names.insert(normalized->record.name());
        batch.push_back(std::move(normalized->record));
      }
      auto written = store_->Upsert(std::move(batch), false);
      ASSERT_TRUE(written.ok()) << written.status();
      for (;;) {
        auto changes = store_->ReadChanges(replica_->applied_sequence(), 100);
        ASSERT_TRUE(changes.ok()) << changes.status();
        if (changes->empty()) break;
        ASSERT_TRUE(replica_->Apply(*changes).ok());
      }
    }
    ASSERT_EQ(names.size(), static_cast<size_t>(rows));

    service_ = std::make_unique<QueryServiceImpl>(*replica_, options);
    auto server = Server::Start({.name = "large_pages_test"}, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    stub_ = v1::QueryService::NewStub(grpc::CreateCustomChannel(
        server_->address(), grpc::InsecureChannelCredentials(), args));
  }

  ~LargeRecords() {
    if (server_ != nullptr) server_->Shutdown();
  }

  v1::QueryService::Stub& stub() { return *stub_; }

  std::set<std::string> names;

 private:
  ScopedTempDir ingest_dir_;
  ScopedTempDir replica_dir_;
  std::unique_ptr<ingest::Store> store_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<QueryServiceImpl> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

struct Paged {
  std::vector<std::string> names;  // In the order returned.
  std::vector<size_t> page_records;
  size_t largest_response = 0;
};

// Every page of `request` (page_size 1000); fails the test on an error.
Paged ListAll(v1::QueryService::Stub& stub, v1::ListRecordsRequest request,
              int expected_total) {
  Paged out;
  request.set_page_size(1000);
  for (int page = 0; page < kMaxPages; ++page) {
    grpc::ClientContext context;
    v1::ListRecordsResponse response;
    grpc::Status status = stub.ListRecords(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return out;
    EXPECT_EQ(response.total_size(), expected_total);
    out.largest_response = std::max(out.largest_response, response.ByteSizeLong());
    out.page_records.push_back(response.records_size());
    for (const v1::Record& r : response.records()) out.names.push_back(r.name());
    if (response.next_page_token().empty()) return out;
    EXPECT_GT(response.records_size(), 0) << "an empty page with a token";
    request.set_page_token(response.next_page_token());
  }
  ADD_FAILURE() << "more than " << kMaxPages << " pages";
  return out;
}

Paged SearchAll(v1::QueryService::Stub& stub, v1::SearchRecordsRequest request,
                int expected_total) {
  Paged out;
  request.set_page_size(1000);
  for (int page = 0; page < kMaxPages; ++page) {
    grpc::ClientContext context;
    v1::SearchRecordsResponse response;
    grpc::Status status = stub.SearchRecords(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) return out;
    EXPECT_EQ(response.total_size(), expected_total);
    out.largest_response = std::max(out.largest_response, response.ByteSizeLong());
    out.page_records.push_back(response.results_size());
    for (const v1::SearchResult& r : response.results()) {
      out.names.push_back(r.record().name());
    }
    if (response.next_page_token().empty()) return out;
    EXPECT_GT(response.results_size(), 0) << "an empty page with a token";
    request.set_page_token(response.next_page_token());
  }
  ADD_FAILURE() << "more than " << kMaxPages << " pages";
  return out;
}

void ExpectEveryNameOnce(const Paged& paged, const std::set<std::string>& names) {
  std::set<std::string> seen(paged.names.begin(), paged.names.end());
  EXPECT_EQ(seen.size(), paged.names.size()) << "a record came twice";
  EXPECT_EQ(seen, names);
}

// The real limit: 800 records of about 100 KB in the FULL view are more
// than the 64 MiB a response may carry.
TEST(LargePagesTest, FullPageBeyondTheMessageLimitEndsEarly) {
  LargeRecords world;
  ASSERT_NO_FATAL_FAILURE(
      world.Build(800, 1'000, QueryServiceOptions{}, /*pad_bytes=*/95'000));
  const int total = static_cast<int>(world.names.size());

  v1::ListRecordsRequest list;
  list.set_parent("cities/-");
  list.set_view(v1::RECORD_VIEW_FULL);
  Paged listed = ListAll(world.stub(), list, total);
  ExpectEveryNameOnce(listed, world.names);
  EXPECT_GE(listed.page_records.size(), 2u);
  EXPECT_LE(listed.largest_response, static_cast<size_t>(kMaxMessageBytes));

  v1::SearchRecordsRequest search;
  search.set_query("交流事業");
  search.set_view(v1::RECORD_VIEW_FULL);
  Paged found = SearchAll(world.stub(), search, total);
  ExpectEveryNameOnce(found, world.names);
  EXPECT_GE(found.page_records.size(), 2u);
  EXPECT_LE(found.largest_response, static_cast<size_t>(kMaxMessageBytes));
}

// A small limit of the service, through every paging path: name order
// with the maintained count and with a filter, sorted order, search; FULL
// and BASIC views.
TEST(LargePagesTest, EveryPagingPathStopsAtTheLimit) {
  constexpr size_t kLimit = 100 << 10;
  LargeRecords world;
  ASSERT_NO_FATAL_FAILURE(
      world.Build(60, 2'000, QueryServiceOptions{.max_response_bytes = kLimit}));
  const int total = static_cast<int>(world.names.size());

  struct Case {
    std::string filter;
    std::string order_by;
    v1::RecordView view;
  };
  for (const Case& c : std::vector<Case>{
           {"", "", v1::RECORD_VIEW_FULL},
           {"", "", v1::RECORD_VIEW_BASIC},
           {"fiscal_year = 2019", "", v1::RECORD_VIEW_FULL},
           {"", "title desc", v1::RECORD_VIEW_FULL},
           {"fiscal_year = 2019", "update_time", v1::RECORD_VIEW_BASIC},
       }) {
    SCOPED_TRACE(absl::StrCat("filter \"", c.filter, "\" order_by \"",
                              c.order_by, "\" view ", c.view));
    v1::ListRecordsRequest list;
    list.set_parent("cities/seoul");
    list.set_filter(c.filter);
    list.set_order_by(c.order_by);
    list.set_view(c.view);
    Paged listed = ListAll(world.stub(), list, total);
    ExpectEveryNameOnce(listed, world.names);
    EXPECT_GE(listed.page_records.size(), 3u);
    EXPECT_LE(listed.largest_response, kLimit);
  }
  for (v1::RecordView view : {v1::RECORD_VIEW_FULL, v1::RECORD_VIEW_BASIC}) {
    SCOPED_TRACE(absl::StrCat("search, view ", view));
    v1::SearchRecordsRequest search;
    search.set_query("実施");
    search.set_view(view);
    Paged found = SearchAll(world.stub(), search, total);
    ExpectEveryNameOnce(found, world.names);
    EXPECT_GE(found.page_records.size(), 3u);
    EXPECT_LE(found.largest_response, kLimit);
  }
}

// One record larger than the limit cannot be sent in any page: a clear
// error, not a page that never ends.
TEST(LargePagesTest, RecordLargerThanTheLimitFailsClearly) {
  LargeRecords world;
  ASSERT_NO_FATAL_FAILURE(
      world.Build(3, 10'000, QueryServiceOptions{.max_response_bytes = 20 << 10}));
  v1::ListRecordsRequest list;
  list.set_parent("cities/-");
  list.set_view(v1::RECORD_VIEW_FULL);
  grpc::ClientContext context;
  v1::ListRecordsResponse response;
  grpc::Status status = world.stub().ListRecords(&context, list, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  bool names_a_record = false;
  for (const std::string& name : world.names) {
    names_a_record |= status.error_message().find(name) != std::string::npos;
  }
  EXPECT_TRUE(names_a_record) << status.error_message();
}

}  // namespace
}  // namespace kouryu::query
