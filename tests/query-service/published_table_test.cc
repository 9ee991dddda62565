// The query service over the published table (data/tokyo-exchange-r1.tsv):
// read, normalized and written by a real ingest::Store, applied to a real
// query::Replica, served over a real gRPC server on port 0. Expected answers
// come from the records themselves, computed here (events' dates, the
// gazetteer's IDs), never from the service's helpers.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "ingest-service/encoding.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "ingest-service/table_reader.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/query_service.h"
#include "query-service/replica.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::kouryu::testing::ScopedTempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int kMaxPages = 1000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The AIP-193 details of a failed call.
struct ErrorDetails {
  std::string reason;
  std::vector<std::string> fields;        // BadRequest field violations
  std::vector<std::string> descriptions;  // and their descriptions.
};

ErrorDetails DetailsOf(const grpc::Status& status) {
  ErrorDetails out;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return out;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&info)) out.reason = info.reason();
    if (any.UnpackTo(&bad_request)) {
      for (const auto& v : bad_request.field_violations()) {
        out.fields.push_back(v.field());
        out.descriptions.push_back(v.description());
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Days, computed here: a day as year * 10000 + month * 100 + day.

int DaysIn(int year, int month) {
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
}

// The first and last day of a date that may name only a month (day 0) or a
// year (month 0).
int First(const google::type::Date& d) {
  return d.year() * 10000 + std::max(d.month(), 1) * 100 + std::max(d.day(), 1);
}
int Last(const google::type::Date& d) {
  const int month = d.month() == 0 ? 12 : d.month();
  const int day = d.day() == 0 ? DaysIn(d.year(), month) : d.day();
  return d.year() * 10000 + month * 100 + day;
}

// Whether `event` has a day in [first, last].
bool Overlaps(const v1::Event& event, int first, int last) {
  const bool has_start = event.start_date().year() != 0;
  const bool has_end = event.end_date().year() != 0;
  if (!has_start && !has_end) return false;
  const google::type::Date& start =
      has_start ? event.start_date() : event.end_date();
  const google::type::Date& end =
      has_end ? event.end_date() : event.start_date();
  return First(start) <= last && std::max(Last(end), Last(start)) >= first;
}

constexpr int kJuneFirst = 20190601;
constexpr int kJuneLast = 20190630;

bool InJune(const v1::Event& event) {
  return Overlaps(event, kJuneFirst, kJuneLast);
}

// ---------------------------------------------------------------------------

// A store holding the published table (and `extra_rows`, normalized with
// `ingest_gazetteer`), a replica fed from its changelog, and the query
// service over a real gRPC server with `query_gazetteer` (null: the
// built-in one).
class World {
 public:
  ~World() {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Use with ASSERT_NO_FATAL_FAILURE.
  void Build(const Gazetteer& ingest_gazetteer,
             const Gazetteer* query_gazetteer,
             const std::vector<v1::RawRecord>& extra_rows = {}) {
    absl::StatusOr<std::unique_ptr<ingest::Store>> store =
        ingest::Store::Open(ingest_dir_.path() + "/db", {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        Replica::Open(replica_dir_.path() + "/db", {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);

    absl::StatusOr<ingest::DecodedText> decoded = ingest::DecodeTable(
        ReadFile(KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv"), "");
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    absl::StatusOr<ingest::Table> table = ingest::ReadTable(decoded->utf8);
    ASSERT_TRUE(table.ok()) << table.status();
    std::vector<v1::RawRecord> raws;
    for (const ingest::TableRow& row : table->rows) {
      v1::RawRecord& raw = raws.emplace_back();
      raw.set_category(row.cells[0]);
      raw.set_department(row.cells[1]);
      raw.set_title(row.cells[2]);
      raw.set_results(row.cells[3]);
      raw.set_fiscal_year(table->fiscal_year);
    }
    ASSERT_THAT(raws, SizeIs(36));
    raws.insert(raws.end(), extra_rows.begin(), extra_rows.end());

    ingest::Normalizer normalizer(ingest_gazetteer);
    std::vector<v1::Record> normalized;
    for (size_t i = 0; i < raws.size(); ++i) {
      v1::SourceRef source;
      source.set_row(static_cast<int32_t>(i + 2));
      absl::StatusOr<ingest::NormalizedRecord> n =
          normalizer.Normalize(raws[i], source, {.field_prefix = "rows[0]."});
      ASSERT_TRUE(n.ok()) << n.status();
      normalized.push_back(std::move(n->record));
    }
    absl::StatusOr<ingest::UpsertBatchResult> results =
        store_->Upsert(std::move(normalized), /*dry_run=*/false);
    ASSERT_TRUE(results.ok()) << results.status();
    for (const ingest::UpsertResult& result : results->records) {
      records[result.record.name()] = result.record;
    }
    ASSERT_EQ(records.size(), raws.size());
    for (;;) {
      absl::StatusOr<std::vector<v1::Change>> changes =
          store_->ReadChanges(replica_->applied_sequence(), 1000);
      ASSERT_TRUE(changes.ok()) << changes.status();
      if (changes->empty()) break;
      absl::Status applied = replica_->Apply(*changes);
      ASSERT_TRUE(applied.ok()) << applied;
    }

    QueryServiceOptions options;
    options.gazetteer = query_gazetteer;
    service_ = std::make_unique<QueryServiceImpl>(*replica_, options);
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.name = "published_table_test";
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(server_options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::QueryService::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  v1::QueryService::Stub& stub() { return *stub_; }

  // Every record named by ListRecords(parent, filter), paging by 5.
  grpc::Status List(const std::string& parent, const std::string& filter,
                    std::set<std::string>* names) {
    std::string token;
    for (int pages = 0; pages < kMaxPages; ++pages) {
      v1::ListRecordsRequest request;
      request.set_parent(parent);
      request.set_filter(filter);
      request.set_page_size(5);
      request.set_page_token(token);
      v1::ListRecordsResponse response;
      grpc::ClientContext context;
      grpc::Status status = stub_->ListRecords(&context, request, &response);
      if (!status.ok()) return status;
      for (const v1::Record& r : response.records()) {
        EXPECT_TRUE(names->insert(r.name()).second) << "twice: " << r.name();
      }
      token = response.next_page_token();
      if (token.empty()) return status;
    }
    ADD_FAILURE() << "the listing does not end";
    return grpc::Status::OK;
  }

  grpc::Status Search(const std::string& query, const std::string& parent,
                      const std::string& filter, std::set<std::string>* names) {
    v1::SearchRecordsRequest request;
    request.set_query(query);
    request.set_parent(parent);
    request.set_filter(filter);
    request.set_page_size(1000);
    v1::SearchRecordsResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->SearchRecords(&context, request, &response);
    for (const v1::SearchResult& r : response.results()) {
      names->insert(r.record().name());
    }
    return status;
  }

  grpc::Status Summarize(const std::string& parent, const std::string& filter,
                         const std::vector<std::string>& group_by,
                         v1::SummarizeRecordsResponse* response) {
    v1::SummarizeRecordsRequest request;
    request.set_parent(parent);
    request.set_filter(filter);
    for (const std::string& g : group_by) request.add_group_by(g);
    grpc::ClientContext context;
    return stub_->SummarizeRecords(&context, request, response);
  }

  // The names of the records that satisfy `keep`.
  std::set<std::string> Where(
      const std::function<bool(const v1::Record&)>& keep) const {
    std::set<std::string> out;
    for (const auto& [name, r] : records) {
      if (keep(r)) out.insert(name);
    }
    return out;
  }

  std::map<std::string, v1::Record> records;

 private:
  ScopedTempDir ingest_dir_;
  ScopedTempDir replica_dir_;
  std::unique_ptr<ingest::Store> store_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<QueryServiceImpl> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::QueryService::Stub> stub_;
};

// The published table with the built-in gazetteer on both sides, shared by
// the tests below (read-only).
class PublishedTableTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    world_->Build(Gazetteer::Builtin(), nullptr);
    ready_ = !::testing::Test::HasFatalFailure();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the world failed to build"; }

  static World* world_;
  static bool ready_;
};
World* PublishedTableTest::world_ = nullptr;
bool PublishedTableTest::ready_ = false;

// ---------------------------------------------------------------------------
// event_date: comparisons joined by AND are met by one event.

TEST_F(PublishedTableTest, JuneRangeFindsExactlyTheRecordsWithAJuneEvent) {
  const std::set<std::string> want = world_->Where([](const v1::Record& r) {
    return std::any_of(r.events().begin(), r.events().end(), InJune);
  });
  // Each comparison met by an event of its own: what the range must not mean.
  const std::set<std::string> any_two = world_->Where([](const v1::Record& r) {
    bool ends_after = false;
    bool starts_before = false;
    for (const v1::Event& e : r.events()) {
      ends_after |= Overlaps(e, kJuneFirst, 99999999);
      starts_before |= Overlaps(e, 0, kJuneLast);
    }
    return ends_after && starts_before;
  });
  ASSERT_FALSE(want.empty());
  ASSERT_GT(any_two.size(), want.size())
      << "the data must tell the readings apart";

  for (const std::string filter :
       {"event_date >= 2019-06-01 AND event_date <= 2019-06-30",
        "event_date <= 2019-06-30 event_date >= 2019-06-01",
        "(event_date >= 2019-06-01) AND (event_date <= 2019-06-30)",
        "event_date > 2019-05-31 AND event_date < 2019-07-01",
        "event_date >= 2019-06 AND event_date <= 2019-06",
        "event_date = 2019-06"}) {
    SCOPED_TRACE(filter);
    std::set<std::string> got;
    grpc::Status status = world_->List("cities/-", filter, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got, want);
  }
  // SearchRecords follows the same rule: with the range, its results are
  // those it finds without it that have a June event.
  std::set<std::string> everything;
  ASSERT_TRUE(world_->Search("の", "cities/-", "", &everything).ok());
  std::set<std::string> searched;
  grpc::Status status = world_->Search(
      "の", "cities/-", "event_date >= 2019-06-01 AND event_date <= 2019-06-30",
      &searched);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> want_searched;
  for (const std::string& name : everything) {
    if (want.count(name)) want_searched.insert(name);
  }
  ASSERT_FALSE(want_searched.empty());
  EXPECT_EQ(searched, want_searched);
}

TEST_F(PublishedTableTest, EventDateComparisonsUnderOrOrNotAreMetOnTheirOwn) {
  // NOT of a range: no event in June.
  std::set<std::string> got;
  grpc::Status status = world_->List(
      "cities/-", "NOT (event_date >= 2019-06-01 AND event_date <= 2019-06-30)",
      &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got, world_->Where([](const v1::Record& r) {
    return std::none_of(r.events().begin(), r.events().end(), InJune);
  }));
  // Under OR each comparison stands alone.
  got.clear();
  status = world_->List(
      "cities/-", "event_date <= 2019-04-30 OR event_date >= 2020-03-01", &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got, world_->Where([](const v1::Record& r) {
    return std::any_of(
        r.events().begin(), r.events().end(), [](const v1::Event& e) {
          return Overlaps(e, 0, 20190430) || Overlaps(e, 20200301, 99999999);
        });
  }));
}

// SummarizeRecords: with an event_date condition, the participants of the
// events that meet it.
TEST_F(PublishedTableTest, SummariesCountTheParticipantsOfMatchingEvents) {
  struct Totals {
    int records = 0;
    int participants = 0;
    int all_participants = 0;
  };
  std::map<std::string, Totals> want;
  for (const auto& [name, r] : world_->records) {
    if (std::none_of(r.events().begin(), r.events().end(), InJune)) continue;
    Totals& t = want[r.city().id()];
    ++t.records;
    for (const v1::Event& e : r.events()) {
      if (InJune(e)) t.participants += e.participants();
      t.all_participants += e.participants();
    }
  }
  int june = 0;
  int all = 0;
  for (const auto& [city, t] : want) {
    june += t.participants;
    all += t.all_participants;
  }
  ASSERT_GT(june, 0) << "the data must have participants in June";
  ASSERT_GT(all, june) << "the data must tell the sums apart";

  for (const std::string filter :
       {"event_date = 2019-06",
        "event_date >= 2019-06-01 AND event_date <= 2019-06-30"}) {
    SCOPED_TRACE(filter);
    v1::SummarizeRecordsResponse response;
    grpc::Status status =
        world_->Summarize("cities/-", filter, {"city"}, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.groups_size(), static_cast<int>(want.size()));
    int i = 0;
    int total = 0;
    for (const auto& [city, t] : want) {
      const v1::SummaryGroup& g = response.groups(i++);
      ASSERT_THAT(g.keys(), SizeIs(1));
      EXPECT_EQ(g.keys(0), city);
      EXPECT_EQ(g.record_count(), t.records) << city;
      EXPECT_EQ(g.participant_count(), t.participants) << city;
      total += t.records;
    }
    EXPECT_EQ(response.total_size(), total);
  }

  // Without an event_date condition every event of a matching record counts.
  v1::SummarizeRecordsResponse response;
  grpc::Status status =
      world_->Summarize("cities/-", "fiscal_year = 2019", {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int every = 0;
  for (const auto& [name, r] : world_->records) {
    for (const v1::Event& e : r.events()) every += e.participants();
  }
  ASSERT_THAT(response.groups(), SizeIs(1));
  EXPECT_EQ(response.groups(0).participant_count(), every);
  EXPECT_EQ(response.groups(0).record_count(), 36);
}

// ---------------------------------------------------------------------------
// Names of cities and bureaus in parents and filters.

TEST_F(PublishedTableTest, UnknownCityOrBureauInAParentIsNotFound) {
  struct Case {
    std::string parent;
    std::string reason;
    std::string named;  // What the message must name.
  };
  const std::vector<Case> cases = {
      {"cities/atlantis", "CITY_NOT_FOUND", "\"atlantis\""},
      {"cities/atlantis/bureaus/environment", "CITY_NOT_FOUND", "\"atlantis\""},
      {"cities/seoul/bureaus/kankyo", "BUREAU_NOT_FOUND", "\"kankyo\""},
      {"cities/-/bureaus/kankyo", "BUREAU_NOT_FOUND", "\"kankyo\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.parent);
    std::set<std::string> names;
    std::vector<std::pair<std::string, grpc::Status>> calls;
    calls.emplace_back("ListRecords", world_->List(c.parent, "", &names));
    calls.emplace_back("SearchRecords",
                       world_->Search("交流", c.parent, "", &names));
    v1::SummarizeRecordsResponse summary;
    calls.emplace_back("SummarizeRecords",
                       world_->Summarize(c.parent, "", {}, &summary));
    for (const auto& [method, status] : calls) {
      SCOPED_TRACE(method);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
          << status.error_message();
      EXPECT_EQ(DetailsOf(status).reason, c.reason);
      EXPECT_THAT(status.error_message(), HasSubstr(c.named));
    }
    EXPECT_THAT(names, IsEmpty());
  }
  // A city or bureau the gazetteer knows, without records, is an empty list.
  std::set<std::string> cities_with_records;
  std::set<std::string> bureaus_with_records;
  for (const auto& [name, r] : world_->records) {
    cities_with_records.insert(r.city().id());
    bureaus_with_records.insert(r.bureau().id());
  }
  const CityEntry* idle_city = nullptr;
  for (const CityEntry& c : Gazetteer::Builtin().cities()) {
    if (!cities_with_records.count(c.id)) idle_city = &c;
  }
  const BureauEntry* idle_bureau = nullptr;
  for (const BureauEntry& b : Gazetteer::Builtin().bureaus()) {
    if (!bureaus_with_records.count(b.id)) idle_bureau = &b;
  }
  ASSERT_NE(idle_city, nullptr);
  ASSERT_NE(idle_bureau, nullptr);
  for (const std::string& parent :
       {absl::StrCat("cities/", idle_city->id),
        absl::StrCat("cities/-/bureaus/", idle_bureau->id),
        absl::StrCat("cities/seoul/bureaus/", idle_bureau->id)}) {
    SCOPED_TRACE(parent);
    std::set<std::string> names;
    grpc::Status status = world_->List(parent, "", &names);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(names, IsEmpty());
  }
}

TEST_F(PublishedTableTest, FiltersTakeGazetteerNamesAsWellAsIds) {
  auto city_is = [](std::string id) {
    return [id](const v1::Record& r) { return r.city().id() == id; };
  };
  auto bureau_is = [](std::string id) {
    return [id](const v1::Record& r) { return r.bureau().id() == id; };
  };
  auto mentions = [](std::string id) {
    return [id](const v1::Record& r) {
      return std::any_of(r.mentioned_cities().begin(),
                         r.mentioned_cities().end(),
                         [&](const v1::City& c) { return c.id() == id; });
    };
  };
  struct Case {
    std::string filter;
    std::function<bool(const v1::Record&)> want;
  };
  const std::vector<Case> cases = {
      {"city = paris", city_is("paris")},
      {"city = Paris", city_is("paris")},
      {"city = PARIS", city_is("paris")},
      {"city = パリ市", city_is("paris")},
      {"city = パリ", city_is("paris")},
      {"city = \"New South Wales\"", city_is("new-south-wales")},
      {"city = NSW州", city_is("new-south-wales")},
      {"city = ＮＳＷ州", city_is("new-south-wales")},
      {"city != Seoul",
       [](const v1::Record& r) { return r.city().id() != "seoul"; }},
      {"city = unassigned", city_is("unassigned")},
      {"bureau = 環境局", bureau_is("environment")},
      {"bureau = \"Bureau of Environment\"", bureau_is("environment")},
      {"bureau = environment", bureau_is("environment")},
      {"bureau = 港湾局 AND city = ソウル市",
       [](const v1::Record& r) {
         return r.bureau().id() == "port-harbor" && r.city().id() == "seoul";
       }},
      {"mentioned_city = 北京", mentions("beijing")},
      {"mentioned_city = Beijing", mentions("beijing")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.filter);
    const std::set<std::string> want = world_->Where(c.want);
    std::set<std::string> got;
    grpc::Status status = world_->List("cities/-", c.filter, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got, want);
  }
  // The data gives these something to find.
  EXPECT_FALSE(world_->Where(city_is("paris")).empty());
  EXPECT_FALSE(world_->Where(bureau_is("environment")).empty());
  EXPECT_FALSE(world_->Where(mentions("beijing")).empty());
}

TEST_F(PublishedTableTest, UnknownNameInAFilterIsInvalidArgument) {
  struct Case {
    std::string filter;
    std::string description;  // A substring of the violation.
  };
  const std::vector<Case> cases = {
      {"city = Atlantis", "column 8: no city is named \"Atlantis\""},
      {"fiscal_year = 2019 AND bureau = 環境",
       "column 33: no bureau is named \"環境\""},
      {"mentioned_city = narnia", "column 18: no city is named \"narnia\""},
      {"city != \"Paris, Texas\"",
       "column 9: no city is named \"Paris, Texas\""},
      // A bureau's name is not a city's, nor the other way round.
      {"city = 環境局", "column 8: no city is named \"環境局\""},
      {"bureau = seoul", "column 10: no bureau is named \"seoul\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.filter);
    std::set<std::string> names;
    std::vector<std::pair<std::string, grpc::Status>> calls;
    calls.emplace_back("ListRecords",
                       world_->List("cities/-", c.filter, &names));
    calls.emplace_back("SearchRecords",
                       world_->Search("交流", "", c.filter, &names));
    v1::SummarizeRecordsResponse summary;
    calls.emplace_back("SummarizeRecords",
                       world_->Summarize("", c.filter, {}, &summary));
    for (const auto& [method, status] : calls) {
      SCOPED_TRACE(method);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << status.error_message();
      const ErrorDetails details = DetailsOf(status);
      EXPECT_EQ(details.reason, "INVALID_FILTER");
      ASSERT_THAT(details.fields, SizeIs(1));
      EXPECT_EQ(details.fields[0], "filter");
      EXPECT_THAT(details.descriptions[0], HasSubstr(c.description));
    }
    EXPECT_THAT(names, IsEmpty());
  }
}

// Ingest with a gazetteer that knows a city the query service's does not:
// the city's records make it known (by ID and by the names they carry), and
// a gazetteer given to the query service makes its aliases known too.
TEST(NamesFromRecordsTest, CitiesWithRecordsAreKnownWithoutTheGazetteer) {
  const std::string tsv = absl::StrCat(
      ReadFile(KOURYU_SOURCE_DIR "/data/gazetteer.tsv"),
      "city\tmilan\tミラノ市\tMilan\tIT\tイタリア共和国\tミラノ\n");
  absl::StatusOr<std::unique_ptr<Gazetteer>> extended = Gazetteer::Parse(tsv);
  ASSERT_TRUE(extended.ok()) << extended.status();
  v1::RawRecord milan;
  milan.set_category("①姉妹・友好都市及び政策提携都市との交流");
  milan.set_department("生活文化局文化振興部");
  milan.set_title("イタリア共和国ミラノ市との文化交流");
  milan.set_results("<p>6月3日 ミラノ市の代表団(5名)を受入れ</p>");
  milan.set_fiscal_year(2019);

  for (const bool query_knows : {false, true}) {
    SCOPED_TRACE(query_knows ? "query gazetteer knows milan"
                             : "built-in query gazetteer");
    World world;
    ASSERT_NO_FATAL_FAILURE(world.Build(
        **extended, query_knows ? extended->get() : nullptr, {milan}));
    const std::set<std::string> want = world.Where(
        [](const v1::Record& r) { return r.city().id() == "milan"; });
    ASSERT_THAT(want, SizeIs(1));
    std::vector<std::string> filters = {"city = milan", "city = Milan",
                                        "city = ミラノ市"};
    if (query_knows) filters.push_back("city = ミラノ");  // an alias
    for (const std::string& filter : filters) {
      SCOPED_TRACE(filter);
      std::set<std::string> got;
      grpc::Status status = world.List("cities/-", filter, &got);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(got, want);
    }
    std::set<std::string> got;
    grpc::Status status = world.List("cities/milan", "", &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got, want);
    if (!query_knows) {
      got.clear();
      status = world.List("cities/-", "city = ミラノ", &got);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    }
  }
}

}  // namespace
}  // namespace kouryu::query
