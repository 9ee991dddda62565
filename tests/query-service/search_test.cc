// SearchRecords on the published table (data/tokyo-exchange-r1.tsv): its
// rows read and normalized as ImportTable reads them, written by a real
// ingest::Store, applied to a real query::Replica and served over a real
// gRPC server on port 0. Expected answers come from the test's own scan of
// the records it wrote.

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest-service/encoding.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "ingest-service/table_reader.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/query_service.h"
#include "query-service/replica.h"
#include "query-service/search_text.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Non-overlapping occurrences of `needle` in `haystack`.
int Occurrences(absl::string_view haystack, absl::string_view needle) {
  int count = 0;
  for (size_t at = haystack.find(needle); at != absl::string_view::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// The fields a search looks at, as README's Search paragraph lists them:
// title and results text (3 and 1 per occurrence), and 1 per occurrence in
// each distinct name (Japanese, English) of the record's city (not the
// placeholder `unassigned`), its mentioned cities and its bureau.
int ExpectedScore(const v1::Record& r, const std::string& folded_query) {
  int score = 3 * Occurrences(FoldForSearch(r.title()), folded_query) +
              Occurrences(FoldForSearch(r.results_text()), folded_query);
  std::set<std::string> names;
  auto add_city = [&names](const v1::City& c) {
    if (c.id() == "unassigned") return;
    names.insert(FoldForSearch(c.name_ja()));
    names.insert(FoldForSearch(c.name_en()));
  };
  add_city(r.city());
  for (const v1::City& c : r.mentioned_cities()) add_city(c);
  names.insert(FoldForSearch(r.bureau().name_ja()));
  names.insert(FoldForSearch(r.bureau().name_en()));
  for (const std::string& name : names) {
    if (!name.empty()) score += Occurrences(name, folded_query);
  }
  return score;
}

class PublishedTableSearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    world_->Build();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(world_->ready) << "the table failed to load";
  }

  struct World {
    ~World() {
      if (server != nullptr) server->Shutdown();
    }

    void Build() {
      absl::StatusOr<ingest::DecodedText> decoded = ingest::DecodeTable(
          ReadFile(KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv"), "");
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      absl::StatusOr<ingest::Table> table = ingest::ReadTable(decoded->utf8);
      ASSERT_TRUE(table.ok()) << table.status();
      ingest::Normalizer normalizer(Gazetteer::Builtin());
      std::vector<v1::Record> normalized;
      for (const ingest::TableRow& row : table->rows) {
        v1::RawRecord raw;
        raw.set_category(row.cells[0]);
        raw.set_department(row.cells[1]);
        raw.set_title(row.cells[2]);
        raw.set_results(row.cells[3]);
        raw.set_fiscal_year(table->fiscal_year);
        v1::SourceRef source;
        source.set_file_name("tokyo-exchange-r1.tsv");
        source.set_row(row.line);
        absl::StatusOr<ingest::NormalizedRecord> n =
            normalizer.Normalize(raw, source, {.field_prefix = "rows[0]."});
        ASSERT_TRUE(n.ok()) << n.status();
        normalized.push_back(std::move(n->record));
      }
      absl::StatusOr<std::unique_ptr<ingest::Store>> opened =
          ingest::Store::Open(ingest_dir.path() + "/db", {});
      ASSERT_TRUE(opened.ok()) << opened.status();
      store = *std::move(opened);
      absl::StatusOr<ingest::UpsertBatchResult> written =
          store->Upsert(std::move(normalized), /*dry_run=*/false);
      ASSERT_TRUE(written.ok()) << written.status();
      for (const ingest::UpsertResult& w : written->records)
        records[w.record.name()] = w.record;
      ASSERT_EQ(records.size(), 36u);

      absl::StatusOr<std::unique_ptr<Replica>> replica_or =
          Replica::Open(replica_dir.path() + "/db", {});
      ASSERT_TRUE(replica_or.ok()) << replica_or.status();
      replica = *std::move(replica_or);
      for (;;) {
        absl::StatusOr<std::vector<v1::Change>> changes =
            store->ReadChanges(replica->applied_sequence(), 1000);
        ASSERT_TRUE(changes.ok()) << changes.status();
        if (changes->empty()) break;
        absl::Status applied = replica->Apply(*changes);
        ASSERT_TRUE(applied.ok()) << applied;
      }
      ASSERT_EQ(replica->applied_sequence(), store->HeadSequence());

      service =
          std::make_unique<QueryServiceImpl>(*replica, QueryServiceOptions{});
      ServerOptions server_options;
      server_options.listen = "127.0.0.1:0";
      server_options.name = "search_test";
      absl::StatusOr<std::unique_ptr<Server>> started =
          Server::Start(server_options, {service.get()});
      ASSERT_TRUE(started.ok()) << started.status();
      server = *std::move(started);
      stub = v1::QueryService::NewStub(grpc::CreateChannel(
          server->address(), grpc::InsecureChannelCredentials()));
      ready = true;
    }

    ScopedTempDir ingest_dir;
    ScopedTempDir replica_dir;
    std::unique_ptr<ingest::Store> store;
    std::unique_ptr<Replica> replica;
    std::unique_ptr<QueryServiceImpl> service;
    std::unique_ptr<Server> server;
    std::unique_ptr<v1::QueryService::Stub> stub;
    std::map<std::string, v1::Record> records;
    bool ready = false;
  };

  // Every result of `query` (one page holds them all), in order.
  static std::vector<v1::SearchResult> Search(const std::string& query) {
    v1::SearchRecordsRequest request;
    request.set_query(query);
    request.set_page_size(100);
    v1::SearchRecordsResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        world_->stub->SearchRecords(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.next_page_token(), "");
    EXPECT_EQ(response.total_size(), response.results_size()) << query;
    EXPECT_FALSE(response.total_size_estimated());
    return {response.results().begin(), response.results().end()};
  }

  static std::vector<std::string> NamesFound(const std::string& query) {
    std::vector<std::string> out;
    for (const v1::SearchResult& r : Search(query))
      out.push_back(r.record().name());
    return out;
  }

  // Records whose city, or one of whose mentioned cities, is `city`.
  static std::vector<std::string> RecordsOfCity(const std::string& city) {
    std::vector<std::string> out;
    for (const auto& [name, r] : world_->records) {
      bool of = r.city().id() == city;
      for (const v1::City& c : r.mentioned_cities()) of |= c.id() == city;
      if (of) out.push_back(name);
    }
    return out;
  }

  static World* world_;
};
PublishedTableSearchTest::World* PublishedTableSearchTest::world_ = nullptr;

TEST_F(PublishedTableSearchTest, EnglishCityNamesFindTheirRecords) {
  const std::vector<std::string> paris = RecordsOfCity("paris");
  const std::vector<std::string> seoul = RecordsOfCity("seoul");
  const std::vector<std::string> nsw = RecordsOfCity("new-south-wales");
  // Read off the table by hand: lines 6, 18, 20, 26, 29 are Paris's;
  // 4, 15, 22, 32, 33 Seoul's; 23, 36, 40 New South Wales's.
  ASSERT_EQ(paris.size(), 5u);
  ASSERT_EQ(seoul.size(), 5u);
  ASSERT_EQ(nsw.size(), 3u);
  for (const char* query : {"Paris", "paris", "PARIS", "ｐａｒｉｓ"}) {
    EXPECT_THAT(NamesFound(query), UnorderedElementsAreArray(paris)) << query;
  }
  for (const char* query : {"Seoul", "seoul", "SEOUL"}) {
    EXPECT_THAT(NamesFound(query), UnorderedElementsAreArray(seoul)) << query;
  }
  for (const char* query : {"New South Wales", "new south wales",
                            "NEW  SOUTH\u3000WALES", "south wales"}) {
    EXPECT_THAT(NamesFound(query), UnorderedElementsAreArray(nsw)) << query;
  }
  // The Japanese name, which the table itself writes NSW州.
  EXPECT_THAT(NamesFound("ニューサウスウェールズ州"),
              UnorderedElementsAreArray(nsw));
  // Across two names: no field holds it.
  EXPECT_THAT(NamesFound("Paris パリ市"), IsEmpty());
  EXPECT_THAT(NamesFound("ParisBeijing"), IsEmpty());
}

TEST_F(PublishedTableSearchTest, BureauNamesFindTheirRecords) {
  std::vector<std::string> education;
  for (const auto& [name, r] : world_->records) {
    if (r.bureau().id() == "education") education.push_back(name);
  }
  ASSERT_EQ(education.size(), 5u);
  EXPECT_THAT(NamesFound("Board of Education"),
              UnorderedElementsAreArray(education));
  EXPECT_THAT(NamesFound("board of education"),
              UnorderedElementsAreArray(education));
  EXPECT_THAT(NamesFound("教育庁"), UnorderedElementsAreArray(education));
}

// For many queries, the service's answer is the test's own scan of every
// record's searched fields: the same records, with the same scores.
TEST_F(PublishedTableSearchTest, EqualsAScanOfTheSearchedFields) {
  std::vector<std::string> queries = {
      "Paris",
      "Seoul",
      "New South Wales",
      "Beijing",
      "beijing",
      "São Paulo",
      "sao paulo",
      "Rome",
      "Berlin",
      "Los Angeles",
      "Tomsk Oblast",
      "Moscow",
      "Cairo Governorate",
      "Port of",
      "port of rotterdam",
      "Bureau of",
      "Office of the Governor",
      "of",
      "o",
      "a",
      "e",
      "Bureau of Sewerage",
      "rwc",
      "RWC",
      "ＲＷＣ",
      "nsw",
      "NSW州",
      "ソウル",
      "ソウル特別市",
      "ソウル市",
      "パリ",
      "北京",
      "交流",
      "市",
      "局",
      "政策企画局",
      "下水道局",
      "港湾局",
      "該当なし",
      "Unassigned",
      "unassigned",
      "ロッテルダム港",
      "Barcelona",
      "Jakarta",
      "London",
      "new york",
      "ニューヨーク市",
      "Paris パリ市",
      "Sewerage 下水道局",
      "zzqxj",
      "存在しない語句",
  };
  // Every English name of the gazetteer, whole and its words.
  for (const CityEntry& c : Gazetteer::Builtin().cities()) {
    queries.push_back(c.name_en);
    queries.push_back(absl::AsciiStrToUpper(c.name_en));
    queries.push_back(c.name_ja);
  }
  for (const std::string& query : queries) {
    SCOPED_TRACE(query);
    const std::string folded = FoldForSearch(query);
    std::map<std::string, int> expected;
    for (const auto& [name, r] : world_->records) {
      const int score = ExpectedScore(r, folded);
      if (score > 0) expected[name] = score;
    }
    std::map<std::string, int> got;
    for (const v1::SearchResult& r : Search(query)) {
      EXPECT_TRUE(
          got.emplace(r.record().name(), static_cast<int>(r.score())).second);
    }
    EXPECT_EQ(got, expected);
  }
}

TEST_F(PublishedTableSearchTest, SnippetsShowTheOriginalText) {
  struct Case {
    std::string query;
    std::string snippet_holds;
  };
  const std::vector<Case> cases = {
      {"rwc", "«RWC»"},
      {"nsw", "«NSW»州"},
      {"NSW州", "«NSW州»"},
      {"paris", "«Paris»"},
      {"new south", "«New South» Wales"},
      {"BOARD OF", "«Board of» Education"},
      {"são", "«São» Paulo"},
  };
  for (const Case& c : cases) {
    std::vector<v1::SearchResult> results = Search(c.query);
    ASSERT_FALSE(results.empty()) << c.query;
    for (const v1::SearchResult& r : results) {
      EXPECT_THAT(r.snippet(), HasSubstr(c.snippet_holds))
          << c.query << " in " << r.record().name();
    }
  }
  // A match in the title is shown in the title, with its context.
  std::vector<v1::SearchResult> results = Search("ソウル特別市");
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results.front().snippet(), "大韓民国«ソウル特別市»");
}

}  // namespace
}  // namespace kouryu::query
