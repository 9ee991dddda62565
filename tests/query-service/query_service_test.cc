// The query service end to end in one process: rows from the synthetic
// generator, normalized and written by a real ingest::Store, their changes
// read back and applied to a real query::Replica, served by QueryServiceImpl
// over a real gRPC server on port 0 and called through a real stub. Every
// answer is checked against what the test computes by itself from the
// records it wrote (brute-force search, counts, sorting), never against the
// service's own helpers.

#include "query-service/query_service.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/gazetteer.h"
#include "common/keys.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/store.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "query-service/replica.h"
#include "query-service/search_text.h"
#include "tests/support/generator.h"
#include "tests/support/temp_dir.h"

namespace kouryu::query {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::Contains;
using ::testing::IsEmpty;

constexpr uint64_t kSeed = 20190401;
constexpr uint64_t kRows = 3000;
// Bounds every paging loop, so a service that never ends a listing fails
// the test instead of hanging it.
constexpr int kMaxPages = 5000;

using ::kouryu::testing::ScopedTempDir;

// The AIP-193 details of a failed call.
struct ErrorDetails {
  std::string reason;
  std::vector<std::string> fields;  // BadRequest field violations.
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
      }
    }
  }
  return out;
}

// Name order as README defines it: city, bureau, record (component-wise).
using NameTuple = std::tuple<std::string, std::string, std::string>;
NameTuple NameOrder(const std::string& name) {
  absl::StatusOr<RecordName> parsed = ParseRecordName(name);
  EXPECT_TRUE(parsed.ok()) << name;
  if (!parsed.ok()) return {};
  return {parsed->city, parsed->bureau, parsed->record};
}
// Order of cities/-/bureaus/{b}: bureau, city, record.
NameTuple BureauOrder(const std::string& name) {
  auto [city, bureau, record] = NameOrder(name);
  return {bureau, city, record};
}

// Non-overlapping occurrences of `needle` in `haystack`, written here
// rather than borrowed from search_text.h.
int Occurrences(absl::string_view haystack, absl::string_view needle) {
  int count = 0;
  size_t at = 0;
  while ((at = haystack.find(needle, at)) != absl::string_view::npos) {
    ++count;
    at += needle.size();
  }
  return count;
}

std::vector<std::string> CodePoints(absl::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t n = 1;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0xF0) {
      n = 4;
    } else if (c >= 0xE0) {
      n = 3;
    } else if (c >= 0xC0) {
      n = 2;
    }
    out.emplace_back(text.substr(i, n));
    i += n;
  }
  return out;
}

// A store, a replica fed from its changelog, the query service over a real
// gRPC server, and the records as the test knows them (`records`, by name,
// as the store returned them).
class World {
 public:
  World() = default;
  ~World() {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Generates `rows` rows from `seed` and writes them. Use with
  // ASSERT_NO_FATAL_FAILURE.
  void Build(uint64_t rows, uint64_t seed) {
    testing::GeneratorOptions options;
    options.seed = seed;
    generator_ = std::make_unique<testing::TableGenerator>(options);
    absl::StatusOr<std::unique_ptr<ingest::Store>> store =
        ingest::Store::Open(ingest_dir_.path() + "/db", {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    absl::StatusOr<std::unique_ptr<Replica>> replica =
        Replica::Open(replica_dir_.path() + "/db", {});
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);

    constexpr uint64_t kBatch = 500;
    for (uint64_t begin = 0; begin < rows; begin += kBatch) {
      std::vector<v1::RawRecord> raws;
      for (uint64_t i = begin; i < std::min(rows, begin + kBatch); ++i) {
        raws.push_back(generator_->Row(i));
      }
      ASSERT_NO_FATAL_FAILURE(Upsert(raws, begin));
    }
    next_index_ = rows;
    // Distinct indexes give distinct natural keys, hence distinct names.
    ASSERT_EQ(records.size(), rows);

    service_ = std::make_unique<QueryServiceImpl>(*replica_,
                                                  QueryServiceOptions{});
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.name = "query_service_test";
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(server_options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::QueryService::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  // Normalizes, writes and applies `raws`; `first_row` numbers their source
  // rows.
  void Upsert(const std::vector<v1::RawRecord>& raws, uint64_t first_row) {
    ingest::Normalizer normalizer(Gazetteer::Builtin());
    std::vector<v1::Record> normalized;
    for (size_t i = 0; i < raws.size(); ++i) {
      v1::SourceRef source;
      source.set_file_name("synthetic.tsv");
      source.set_row(static_cast<int32_t>(first_row + i + 2));
      std::string prefix = absl::StrCat("rows[", first_row + i, "].");
      absl::StatusOr<ingest::NormalizedRecord> n =
          normalizer.Normalize(raws[i], source, {prefix});
      ASSERT_TRUE(n.ok()) << n.status() << "\n" << raws[i].DebugString();
      normalized.push_back(std::move(n->record));
    }
    absl::StatusOr<ingest::UpsertBatchResult> results =
        store_->Upsert(std::move(normalized), /*dry_run=*/false);
    ASSERT_TRUE(results.ok()) << results.status();
    ASSERT_EQ(results->records.size(), raws.size());
    for (size_t i = 0; i < raws.size(); ++i) {
      const v1::Record& record = results->records[i].record;
      records[record.name()] = record;
      raws_[record.name()] = raws[i];
    }
    ASSERT_NO_FATAL_FAILURE(Sync());
  }

  void Delete(const std::string& name) {
    absl::StatusOr<uint64_t> sequence = store_->Delete(name, "");
    ASSERT_TRUE(sequence.ok()) << sequence.status();
    records.erase(name);
    raws_.erase(name);
    ASSERT_NO_FATAL_FAILURE(Sync());
  }

  // Applies every change the replica has not applied yet.
  void Sync() {
    for (;;) {
      absl::StatusOr<std::vector<v1::Change>> changes =
          store_->ReadChanges(replica_->applied_sequence(), 1000);
      ASSERT_TRUE(changes.ok()) << changes.status();
      if (changes->empty()) break;
      absl::Status applied = replica_->Apply(*changes);
      ASSERT_TRUE(applied.ok()) << applied;
    }
    ASSERT_EQ(replica_->applied_sequence(), store_->HeadSequence());
  }

  uint64_t head() const { return store_->HeadSequence(); }
  uint64_t NextIndex() { return next_index_++; }
  const testing::TableGenerator& generator() const { return *generator_; }
  const v1::RawRecord& RawOf(const std::string& name) const {
    return raws_.at(name);
  }
  v1::QueryService::Stub& stub() { return *stub_; }

  std::map<std::string, v1::Record> records;

 private:
  ScopedTempDir ingest_dir_;
  ScopedTempDir replica_dir_;
  std::unique_ptr<testing::TableGenerator> generator_;
  std::unique_ptr<ingest::Store> store_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<QueryServiceImpl> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::QueryService::Stub> stub_;
  std::map<std::string, v1::RawRecord> raws_;
  uint64_t next_index_ = 0;
};

// A record with its searched fields folded by the test: title, results
// and the names (Japanese and English) of its city, unless it is
// `unassigned`, of the cities it mentions and of its bureau, each distinct
// folded name once.
struct Folded {
  std::string name;
  std::string title;
  std::string results;
  std::vector<std::string> names;
  const v1::Record* record;
};

std::vector<std::string> FoldedNames(const v1::Record& record) {
  std::vector<const v1::City*> cities;
  if (record.city().id() != "unassigned") cities.push_back(&record.city());
  for (const v1::City& c : record.mentioned_cities()) cities.push_back(&c);
  std::vector<std::string> originals;
  for (const v1::City* c : cities) {
    originals.push_back(c->name_ja());
    originals.push_back(c->name_en());
  }
  originals.push_back(record.bureau().name_ja());
  originals.push_back(record.bureau().name_en());
  std::set<std::string> distinct;
  for (const std::string& o : originals) {
    if (!FoldForSearch(o).empty()) distinct.insert(FoldForSearch(o));
  }
  return {distinct.begin(), distinct.end()};
}

// The expected score of a record for a folded query: 3 per occurrence in
// the title, 1 per occurrence in the results and in each name.
int ExpectedScore(const Folded& f, absl::string_view folded_query) {
  int score = 3 * Occurrences(f.title, folded_query) +
              Occurrences(f.results, folded_query);
  for (const std::string& n : f.names) score += Occurrences(n, folded_query);
  return score;
}

// The text a snippet marks «like this», and the snippet without its marks
// and ellipses; empty when there is no mark.
struct SnippetParts {
  std::string marked;
  std::string plain;
};
SnippetParts PartsOf(absl::string_view snippet) {
  const size_t open = snippet.find("«");
  if (open == absl::string_view::npos) return {};
  const size_t close = snippet.find("»", open);
  if (close == absl::string_view::npos) return {};
  const absl::string_view marked =
      snippet.substr(open + strlen("«"), close - open - strlen("«"));
  std::string plain = absl::StrCat(snippet.substr(0, open), marked,
                                   snippet.substr(close + strlen("»")));
  if (absl::StartsWith(plain, "…")) plain.erase(0, strlen("…"));
  if (absl::EndsWith(plain, "…")) plain.erase(plain.size() - strlen("…"));
  return {std::string(marked), plain};
}

// A snippet shows one searched field of `record` as the record holds it
// (white space shown as single spaces), with the part that folds to the
// query marked.
void ExpectSnippetShowsOriginal(const std::string& snippet,
                                const std::string& folded_query,
                                const v1::Record& record) {
  SnippetParts parts = PartsOf(snippet);
  EXPECT_THAT(FoldForSearch(parts.marked), ::testing::HasSubstr(folded_query))
      << "snippet " << snippet;
  std::vector<std::string> texts = {record.title(), record.results_text(),
                                    record.bureau().name_ja(),
                                    record.bureau().name_en()};
  for (const v1::City& c : record.mentioned_cities()) {
    texts.push_back(c.name_ja());
    texts.push_back(c.name_en());
  }
  texts.push_back(record.city().name_ja());
  texts.push_back(record.city().name_en());
  // Compared with every run of white space as one space.
  auto one_line = [](const std::string& text) {
    std::string out;
    for (const std::string& cp : CodePoints(text)) {
      const bool space = cp == " " || cp == "\n" || cp == "\r" || cp == "\t" ||
                         cp == "\u3000";
      if (space && absl::EndsWith(out, " ")) continue;
      out += space ? " " : cp;
    }
    return out;
  };
  bool shown = false;
  for (const std::string& text : texts) {
    if (absl::StrContains(one_line(text), one_line(parts.plain))) shown = true;
  }
  EXPECT_TRUE(shown) << "snippet " << snippet << " is not the text of a searched field";
}

// The shared, read-only world of 3000 records.
class QueryServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    world_->Build(kRows, kSeed);
    ready_ = !::testing::Test::HasFatalFailure();
    if (!ready_) return;
    for (const auto& [name, record] : world_->records) {
      folded_->push_back({name, FoldForSearch(record.title()),
                          FoldForSearch(record.results_text()),
                          FoldedNames(record), &record});
    }
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
    folded_->clear();
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the world failed to build"; }

  static World* world_;
  static bool ready_;
  static std::vector<Folded>* folded_;
};
World* QueryServiceTest::world_ = nullptr;
bool QueryServiceTest::ready_ = false;
std::vector<Folded>* QueryServiceTest::folded_ = new std::vector<Folded>();

// The fixture's data comes from the generator; it must be the same on every
// run and every machine for failures to be reproducible.
TEST(GeneratorTest, DeterministicFromSeedAndIndex) {
  testing::GeneratorOptions options;
  options.seed = kSeed;
  testing::TableGenerator a(options);
  testing::TableGenerator b(options);
  options.seed = kSeed + 1;
  testing::TableGenerator other(options);
  int differing = 0;
  for (uint64_t i : {0ull, 1ull, 2ull, 999ull, 123456789ull}) {
    EXPECT_TRUE(MessageDifferencer::Equals(a.Row(i), b.Row(i))) << i;
    if (!MessageDifferencer::Equals(a.Row(i), other.Row(i))) ++differing;
  }
  EXPECT_EQ(differing, 5);
  EXPECT_EQ(a.Table(2020, 10, 20), b.Table(2020, 10, 20));
  EXPECT_TRUE(absl::StartsWith(a.Table(2019, 0, 1),
                               "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n"));
  EXPECT_EQ(testing::TableGenerator::Header(2020),
            "①分野\t②担当(関係)部所名\t③項目名\t④実績(R2年度)");
  EXPECT_EQ(testing::TableGenerator::Header(2018),
            "①分野\t②担当(関係)部所名\t③項目名\t④実績(H30年度)");
}

// ---------------------------------------------------------------------------
// (a) Search equals brute force.

using RecordPredicate = std::function<bool(const v1::Record&)>;

bool Everything(const v1::Record&) { return true; }

class SearchTest : public QueryServiceTest {
 protected:
  // Pages through SearchRecords for `query` and checks the answer against a
  // scan of every record: the same names, each once, the right scores in
  // non-increasing order (ties in creation order), total_size on every
  // page (exact, or close when marked estimated), and
  // snippets showing a searched field's own text with the match marked.
  void ExpectSearchMatchesBruteForce(const std::string& query,
                                     const std::string& parent,
                                     const std::string& filter,
                                     const RecordPredicate& in_scope) {
    SCOPED_TRACE(absl::StrCat("query \"", query, "\" parent \"", parent,
                              "\" filter \"", filter, "\""));
    const std::string folded = FoldForSearch(query);
    ASSERT_FALSE(folded.empty());
    std::map<std::string, int> expected;  // name -> score
    for (const Folded& f : *folded_) {
      if (!in_scope(*f.record)) continue;
      const int score = ExpectedScore(f, folded);
      if (score > 0) expected[f.name] = score;
    }
    // Small pages; larger ones for queries that match a large share of
    // the records, to keep the number of calls bounded.
    const int page_size =
        std::max<int>(7, static_cast<int>(expected.size() / 6) + 1);

    std::vector<v1::SearchResult> results;
    std::string token;
    int pages = 0;
    do {
      v1::SearchRecordsRequest request;
      request.set_query(query);
      request.set_parent(parent);
      request.set_filter(filter);
      request.set_page_size(page_size);
      request.set_page_token(token);
      v1::SearchRecordsResponse response;
      grpc::ClientContext context;
      grpc::Status status =
          world_->stub().SearchRecords(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_code() << " "
                               << status.error_message();
      if (response.total_size_estimated()) {
        // Only a search with more candidates than it checks exactly
        // estimates; the estimate is extrapolated from those it checked
        // and a sample (within 2x here without a filter; a filter that
        // correlates with where the query occurs makes it rougher).
        ++estimated_totals_;
        const int slack = filter.empty() ? 2 : 3;
        EXPECT_GE(response.total_size(), static_cast<int>(expected.size()) / slack)
            << "page " << pages;
        EXPECT_LE(response.total_size(), static_cast<int>(expected.size()) * slack)
            << "page " << pages;
      } else {
        ASSERT_EQ(response.total_size(), static_cast<int>(expected.size()))
            << "page " << pages;
      }
      ASSERT_LE(response.results_size(), page_size);
      if (!response.next_page_token().empty()) {
        ASSERT_GT(response.results_size(), 0) << "an empty page that is not the last";
      }
      for (const v1::SearchResult& r : response.results()) results.push_back(r);
      token = response.next_page_token();
      ASSERT_LT(++pages, kMaxPages);
    } while (!token.empty());

    std::set<std::string> seen;
    for (size_t i = 0; i < results.size(); ++i) {
      const v1::SearchResult& r = results[i];
      const std::string& name = r.record().name();
      EXPECT_TRUE(seen.insert(name).second) << "returned twice: " << name;
      auto want = expected.find(name);
      if (want == expected.end()) {
        ADD_FAILURE() << "returned but does not match: " << name;
        continue;
      }
      EXPECT_EQ(r.score(), want->second) << name;
      ExpectSnippetShowsOriginal(r.snippet(), folded, world_->records.at(name));
      // BASIC unless asked otherwise.
      EXPECT_EQ(r.record().sections_size(), 0) << name;
      EXPECT_EQ(r.record().events_size(), 0) << name;
      EXPECT_EQ(r.record().source_html(), "") << name;
      EXPECT_EQ(r.record().title(), world_->records.at(name).title());
      if (i > 0) {
        const v1::SearchResult& prev = results[i - 1];
        EXPECT_GE(prev.score(), r.score()) << "at result " << i;
        if (prev.score() == r.score()) {
          EXPECT_LT(prev.record().create_sequence(), r.record().create_sequence())
              << "ties in creation order, at result " << i;
        }
      }
    }
    std::set<std::string> want_names;
    for (const auto& [name, score] : expected) want_names.insert(name);
    EXPECT_EQ(seen.size(), want_names.size());
    std::vector<std::string> missing;
    std::set_difference(want_names.begin(), want_names.end(), seen.begin(),
                        seen.end(), std::back_inserter(missing));
    EXPECT_THAT(missing, IsEmpty()) << "matching records not returned";
  }

  // Pages whose total_size was marked estimated.
  int estimated_totals_ = 0;
};

// Substrings of `length` code points of titles and results of random
// records, starting with a non-ASCII character.
std::vector<std::string> SampleSubstrings(
    const std::vector<Folded>& records, std::mt19937_64& rng,
    int length, int count, bool from_title) {
  std::vector<std::string> out;
  int attempts = 0;
  while (static_cast<int>(out.size()) < count && ++attempts < 10000) {
    const v1::Record& record = *records[rng() % records.size()].record;
    std::vector<std::string> cps =
        CodePoints(from_title ? record.title() : record.results_text());
    if (static_cast<int>(cps.size()) < length) continue;
    size_t at = rng() % (cps.size() - length + 1);
    if (cps[at].size() == 1) continue;  // Japanese first.
    std::string query;
    for (int i = 0; i < length; ++i) query += cps[at + i];
    if (FoldForSearch(query).empty()) continue;
    out.push_back(query);
  }
  return out;
}

TEST_F(SearchTest, EqualsBruteForceForManyQueries) {
  std::mt19937_64 rng(7);
  std::vector<std::string> queries;
  for (int length : {1, 2, 3, 6}) {
    for (bool from_title : {true, false}) {
      std::vector<std::string> sample =
          SampleSubstrings(*folded_, rng, length, 6, from_title);
      ASSERT_EQ(sample.size(), 6u);
      queries.insert(queries.end(), sample.begin(), sample.end());
    }
  }
  // Around a space of a results text: queries holding a space.
  int with_space = 0;
  for (const Folded& f : *folded_) {
    if (with_space == 3) break;
    std::vector<std::string> cps = CodePoints(f.record->results_text());
    for (size_t i = 2; i + 2 < cps.size(); ++i) {
      if (cps[i] == " " && cps[i - 1].size() > 1 && cps[i + 1].size() > 1) {
        queries.push_back(
            absl::StrCat(cps[i - 2], cps[i - 1], " ", cps[i + 1], cps[i + 2]));
        ++with_space;
        break;
      }
    }
  }
  ASSERT_EQ(with_space, 3) << "no results text holds a space";
  const std::vector<std::string> fixed = {
      // Cities, as names and aliases.
      "ソウル", "ソウル特別市", "パリ市", "北京", "NSW州", "nsw州",
      "ニューサウスウェールズ州", "ロッテルダム港", "ベルリン", "カイロ県",
      // Latin, in any case and width.
      "rwc", "RWC", "Rwc2019", "ＲＷＣ", "Summer", "summer programme",
      "SUMMER   Programme", "jst", "Tokyo Forum", "smart CITY", "sicorp",
      // English and Japanese names of cities and bureaus, in any case.
      "Paris", "paris", "PARIS", "Seoul", "New South Wales", "new south",
      "nEw YoRk", "São Paulo", "SÃO PAULO", "Tomsk Oblast", "Port of",
      "Bureau of", "Board of Education", "of", "o", "教育庁", "港湾局",
      // Nowhere: not in any one field (names are searched one by one, the
      // placeholder city's names not at all).
      "存在しない語句", "zzqxj", "量子もつれ", "ソウル市パリ市", "パリ市Paris",
      "Paris Bureau", "Unassigned", "該当なし",
      // Spaces at the ends fold away.
      "  派遣 ", "\u3000交流\u3000",
  };
  queries.insert(queries.end(), fixed.begin(), fixed.end());
  ASSERT_GE(queries.size(), 60u);

  for (const std::string& query : queries) {
    ExpectSearchMatchesBruteForce(query, "", "", Everything);
  }
  // The Latin and city queries above found something (the generator's
  // material is there), and the nowhere ones nothing.
  int latin = 0;
  for (const Folded& f : *folded_) {
    if (absl::StrContains(f.results, "rwc")) ++latin;
  }
  EXPECT_GT(latin, 0);
  // Some queries had more candidates than a search checks exactly.
  EXPECT_GT(estimated_totals_, 0);
}

TEST_F(SearchTest, ScopedByParentAndFilter) {
  struct Case {
    std::string query;
    std::string parent;
    std::string filter;
    RecordPredicate in_scope;
  };
  auto city = [](std::string id) {
    return [id](const v1::Record& r) { return r.city().id() == id; };
  };
  auto bureau = [](std::string id) {
    return [id](const v1::Record& r) { return r.bureau().id() == id; };
  };
  const std::vector<Case> cases = {
      {"交流", "cities/seoul", "", city("seoul")},
      {"派遣", "cities/-/bureaus/education", "", bureau("education")},
      {"名", "cities/-/bureaus/education", "", bureau("education")},
      {"派", "cities/paris", "", city("paris")},
      {"名", "cities/beijing/bureaus/policy-planning", "",
       [](const v1::Record& r) {
         return r.city().id() == "beijing" && r.bureau().id() == "policy-planning";
       }},
      {"都政説明", "cities/-", "fiscal_year >= 2020",
       [](const v1::Record& r) { return r.fiscal_year() >= 2020; }},
      {"港", "", "category = SISTER_PORT_EXCHANGE",
       [](const v1::Record& r) {
         return r.category() == v1::CATEGORY_SISTER_PORT_EXCHANGE;
       }},
      {"rwc", "cities/-/bureaus/citizens-culture", "fiscal_year = 2019 OR fiscal_year = 2021",
       [](const v1::Record& r) {
         return r.bureau().id() == "citizens-culture" &&
                (r.fiscal_year() == 2019 || r.fiscal_year() == 2021);
       }},
      {"ソウル", "", "city = unassigned",
       [](const v1::Record& r) { return r.city().id() == "unassigned"; }},
      {"会談", "cities/-", "NOT bureau = policy-planning",
       [](const v1::Record& r) { return r.bureau().id() != "policy-planning"; }},
  };
  for (const Case& c : cases) {
    ExpectSearchMatchesBruteForce(c.query, c.parent, c.filter, c.in_scope);
  }
}

TEST_F(SearchTest, PageTokenIsBoundToTheQuery) {
  v1::SearchRecordsRequest request;
  request.set_query("交流");
  request.set_page_size(5);
  v1::SearchRecordsResponse first;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(world_->stub().SearchRecords(&context, request, &first).ok());
  }
  ASSERT_FALSE(first.next_page_token().empty());
  for (auto change : std::vector<std::function<void(v1::SearchRecordsRequest&)>>{
           [](v1::SearchRecordsRequest& r) { r.set_query("派遣"); },
           [](v1::SearchRecordsRequest& r) { r.set_parent("cities/seoul"); },
           [](v1::SearchRecordsRequest& r) { r.set_filter("fiscal_year = 2019"); },
       }) {
    v1::SearchRecordsRequest next = request;
    next.set_page_token(first.next_page_token());
    change(next);
    v1::SearchRecordsResponse response;
    grpc::ClientContext context;
    grpc::Status status = world_->stub().SearchRecords(&context, next, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << next.DebugString();
    ErrorDetails details = DetailsOf(status);
    EXPECT_EQ(details.reason, "INVALID_PAGE_TOKEN");
    EXPECT_THAT(details.fields, Contains("page_token"));
  }
}

// ---------------------------------------------------------------------------
// (b) Summaries equal independent counts.

struct Totals {
  int records = 0;
  int participants = 0;
};

std::string KeyOf(const v1::Record& r, const std::string& field) {
  if (field == "city") return r.city().id();
  if (field == "bureau") return r.bureau().id();
  if (field == "fiscal_year") return absl::StrCat(r.fiscal_year());
  if (field == "category") return v1::Category_Name(r.category());
  ADD_FAILURE() << "unknown group_by " << field;
  return "";
}

TEST_F(QueryServiceTest, SummariesEqualIndependentCounts) {
  struct Case {
    std::vector<std::string> group_by;
    std::string parent;
    std::string filter;
    RecordPredicate in_scope;
  };
  const std::vector<Case> cases = {
      {{}, "", "", Everything},
      {{"city"}, "", "", Everything},
      {{"bureau"}, "", "", Everything},
      {{"fiscal_year"}, "", "", Everything},
      {{"category"}, "", "", Everything},
      {{"city", "fiscal_year"}, "", "", Everything},
      {{"fiscal_year", "city"}, "cities/-", "", Everything},
      {{"bureau", "category"}, "", "category = SISTER_PORT_EXCHANGE",
       [](const v1::Record& r) {
         return r.category() == v1::CATEGORY_SISTER_PORT_EXCHANGE;
       }},
      {{"city"}, "", "fiscal_year >= 2018 AND fiscal_year < 2021",
       [](const v1::Record& r) {
         return r.fiscal_year() >= 2018 && r.fiscal_year() < 2021;
       }},
      {{"fiscal_year"}, "cities/-/bureaus/education", "",
       [](const v1::Record& r) { return r.bureau().id() == "education"; }},
      {{"bureau"}, "cities/seoul", "NOT bureau = policy-planning",
       [](const v1::Record& r) {
         return r.city().id() == "seoul" && r.bureau().id() != "policy-planning";
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("group_by [", absl::StrJoin(c.group_by, ","),
                              "] parent \"", c.parent, "\" filter \"", c.filter,
                              "\""));
    std::map<std::vector<std::string>, Totals> want;
    int total = 0;
    for (const auto& [name, r] : world_->records) {
      if (!c.in_scope(r)) continue;
      ++total;
      std::vector<std::string> key;
      for (const std::string& field : c.group_by) key.push_back(KeyOf(r, field));
      Totals& t = want[key];
      ++t.records;
      for (const v1::Event& e : r.events()) t.participants += e.participants();
    }
    v1::SummarizeRecordsRequest request;
    for (const std::string& field : c.group_by) request.add_group_by(field);
    request.set_parent(c.parent);
    request.set_filter(c.filter);
    v1::SummarizeRecordsResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        world_->stub().SummarizeRecords(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.total_size(), total);
    ASSERT_EQ(response.groups_size(), static_cast<int>(want.size()));
    int i = 0;
    for (const auto& [key, totals] : want) {
      const v1::SummaryGroup& g = response.groups(i++);
      EXPECT_EQ(std::vector<std::string>(g.keys().begin(), g.keys().end()), key);
      EXPECT_EQ(g.record_count(), totals.records) << absl::StrJoin(key, ",");
      EXPECT_EQ(g.participant_count(), totals.participants)
          << absl::StrJoin(key, ",");
    }
  }
  // The data gives the summaries something to count.
  int participants = 0;
  for (const auto& [name, r] : world_->records) {
    for (const v1::Event& e : r.events()) participants += e.participants();
  }
  EXPECT_GT(participants, 0);
}

// ---------------------------------------------------------------------------
// (c) ListCities and ListBureaus.

TEST_F(QueryServiceTest, ListCitiesCountsAndPaging) {
  std::map<std::string, std::pair<v1::City, int>> want;
  for (const auto& [name, r] : world_->records) {
    auto& entry = want[r.city().id()];
    entry.first = r.city();
    ++entry.second;
  }
  ASSERT_GT(want.size(), 3u);
  std::vector<v1::CityCount> got;
  std::string token;
  int pages = 0;
  do {
    v1::ListCitiesRequest request;
    request.set_page_size(3);
    request.set_page_token(token);
    v1::ListCitiesResponse response;
    grpc::ClientContext context;
    grpc::Status status = world_->stub().ListCities(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(response.cities_size(), 3);
    for (const v1::CityCount& c : response.cities()) got.push_back(c);
    token = response.next_page_token();
    ASSERT_LT(++pages, kMaxPages);
  } while (!token.empty());
  EXPECT_EQ(pages, static_cast<int>((want.size() + 2) / 3));
  ASSERT_EQ(got.size(), want.size());
  size_t i = 0;
  for (const auto& [id, entry] : want) {
    EXPECT_EQ(got[i].city().id(), id);
    EXPECT_TRUE(MessageDifferencer::Equals(got[i].city(), entry.first))
        << got[i].city().DebugString() << " vs " << entry.first.DebugString();
    EXPECT_EQ(got[i].record_count(), entry.second) << id;
    ++i;
  }
  EXPECT_TRUE(want.count("unassigned"));
}

TEST_F(QueryServiceTest, ListBureausCountsAndPaging) {
  std::map<std::string, std::pair<v1::Bureau, int>> want;
  for (const auto& [name, r] : world_->records) {
    auto& entry = want[r.bureau().id()];
    entry.first = r.bureau();
    ++entry.second;
  }
  ASSERT_GT(want.size(), 3u);
  std::vector<v1::BureauCount> got;
  std::string token;
  int pages = 0;
  do {
    v1::ListBureausRequest request;
    request.set_page_size(3);
    request.set_page_token(token);
    v1::ListBureausResponse response;
    grpc::ClientContext context;
    grpc::Status status =
        world_->stub().ListBureaus(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(response.bureaus_size(), 3);
    for (const v1::BureauCount& b : response.bureaus()) got.push_back(b);
    token = response.next_page_token();
    ASSERT_LT(++pages, kMaxPages);
  } while (!token.empty());
  ASSERT_EQ(got.size(), want.size());
  size_t i = 0;
  for (const auto& [id, entry] : want) {
    EXPECT_EQ(got[i].bureau().id(), id);
    EXPECT_TRUE(MessageDifferencer::Equals(got[i].bureau(), entry.first));
    EXPECT_EQ(got[i].record_count(), entry.second) << id;
    ++i;
  }
}

TEST_F(QueryServiceTest, CityAndBureauTokensAreNotInterchangeable) {
  v1::ListCitiesRequest cities;
  cities.set_page_size(2);
  v1::ListCitiesResponse cities_page;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(world_->stub().ListCities(&context, cities, &cities_page).ok());
  }
  ASSERT_FALSE(cities_page.next_page_token().empty());
  v1::ListBureausRequest bureaus;
  bureaus.set_page_token(cities_page.next_page_token());
  v1::ListBureausResponse response;
  grpc::ClientContext context;
  grpc::Status status = world_->stub().ListBureaus(&context, bureaus, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsOf(status).reason, "INVALID_PAGE_TOKEN");
  EXPECT_THAT(DetailsOf(status).fields, Contains("page_token"));
}

// ---------------------------------------------------------------------------
// (e) ListRecords: filters, order_by, total_size, views, tokens, errors.

struct ListResult {
  std::vector<v1::Record> records;
  std::vector<int> totals;  // total_size of every page.
  int pages = 0;
};

// Pages through ListRecords with `request` (page_token is overwritten).
void ListAll(v1::QueryService::Stub& stub, v1::ListRecordsRequest request,
             ListResult& out) {
  std::string token;
  do {
    request.set_page_token(token);
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub.ListRecords(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_code() << " "
                             << status.error_message() << " page " << out.pages;
    ASSERT_LE(response.records_size(),
              request.page_size() == 0 ? 50 : request.page_size());
    for (const v1::Record& r : response.records()) out.records.push_back(r);
    out.totals.push_back(response.total_size());
    token = response.next_page_token();
    ASSERT_LT(++out.pages, kMaxPages);
  } while (!token.empty());
}

TEST_F(QueryServiceTest, ListRecordsWithFiltersInNameOrder) {
  struct Case {
    std::string parent;
    std::string filter;
    RecordPredicate in_scope;
  };
  auto city_is = [](std::string id) {
    return [id](const v1::Record& r) { return r.city().id() == id; };
  };
  const std::vector<Case> cases = {
      {"cities/-", "", Everything},
      {"cities/seoul", "", city_is("seoul")},
      {"cities/seoul/bureaus/policy-planning", "",
       [](const v1::Record& r) {
         return r.city().id() == "seoul" && r.bureau().id() == "policy-planning";
       }},
      {"cities/-/bureaus/port-harbor", "",
       [](const v1::Record& r) { return r.bureau().id() == "port-harbor"; }},
      {"cities/-", "fiscal_year = 2019",
       [](const v1::Record& r) { return r.fiscal_year() == 2019; }},
      {"cities/-", "category = SISTER_PORT_EXCHANGE",
       [](const v1::Record& r) {
         return r.category() == v1::CATEGORY_SISTER_PORT_EXCHANGE;
       }},
      {"cities/-", "city = seoul OR city = paris",
       [](const v1::Record& r) {
         return r.city().id() == "seoul" || r.city().id() == "paris";
       }},
      {"cities/-", "bureau = education AND fiscal_year >= 2020",
       [](const v1::Record& r) {
         return r.bureau().id() == "education" && r.fiscal_year() >= 2020;
       }},
      {"cities/-", "mentioned_city = beijing",
       [](const v1::Record& r) {
         for (const v1::City& c : r.mentioned_cities()) {
           if (c.id() == "beijing") return true;
         }
         return false;
       }},
      {"cities/-/bureaus/education", "fiscal_year < 2018",
       [](const v1::Record& r) {
         return r.bureau().id() == "education" && r.fiscal_year() < 2018;
       }},
      {"cities/unassigned", "NOT category = SISTER_CITY_EXCHANGE",
       [](const v1::Record& r) {
         return r.city().id() == "unassigned" &&
                r.category() != v1::CATEGORY_SISTER_CITY_EXCHANGE;
       }},
  };
  // Each case in its own function call: a fatal failure ends only its case.
  auto check = [&](const Case& c) {
    SCOPED_TRACE(absl::StrCat("parent \"", c.parent, "\" filter \"", c.filter, "\""));
    const bool by_bureau = absl::StartsWith(c.parent, "cities/-/bureaus/");
    std::vector<std::string> want;
    for (const auto& [name, r] : world_->records) {
      if (c.in_scope(r)) want.push_back(name);
    }
    std::sort(want.begin(), want.end(), [&](const auto& a, const auto& b) {
      return by_bureau ? BureauOrder(a) < BureauOrder(b) : NameOrder(a) < NameOrder(b);
    });
    ASSERT_FALSE(want.empty());
    v1::ListRecordsRequest request;
    request.set_parent(c.parent);
    request.set_filter(c.filter);
    request.set_page_size(23);
    ListResult got;
    ASSERT_NO_FATAL_FAILURE(ListAll(world_->stub(), request, got));
    std::vector<std::string> names;
    for (const v1::Record& r : got.records) names.push_back(r.name());
    EXPECT_EQ(names, want);
    std::vector<std::string> wrong_totals;
    for (size_t page = 0; page < got.totals.size(); ++page) {
      if (got.totals[page] != static_cast<int>(want.size())) {
        wrong_totals.push_back(absl::StrCat("page ", page, ": ", got.totals[page]));
      }
    }
    EXPECT_THAT(wrong_totals, IsEmpty())
        << "total_size must be " << want.size() << " on every page";
  };
  for (const Case& c : cases) check(c);
}

TEST_F(QueryServiceTest, ListRecordsOrderBy) {
  struct Case {
    std::string parent;
    std::string order_by;
    std::string filter;
    RecordPredicate in_scope;
    // Sort value of a record, as a comparable string, ascending.
    std::function<std::string(const v1::Record&)> value;
    bool descending;
  };
  auto year = [](const v1::Record& r) { return absl::StrCat(r.fiscal_year()); };
  auto title = [](const v1::Record& r) { return r.title(); };
  auto update = [](const v1::Record& r) {
    char buffer[64];
    snprintf(buffer, sizeof(buffer), "%020lld.%09d",
             static_cast<long long>(r.update_time().seconds()),
             r.update_time().nanos());
    return std::string(buffer);
  };
  const std::vector<Case> cases = {
      {"cities/-", "fiscal_year desc", "", Everything, year, true},
      {"cities/-", "fiscal_year", "category = SISTER_PORT_EXCHANGE",
       [](const v1::Record& r) {
         return r.category() == v1::CATEGORY_SISTER_PORT_EXCHANGE;
       },
       year, false},
      {"cities/-", "title asc", "", Everything, title, false},
      {"cities/-", "title desc", "fiscal_year >= 2020",
       [](const v1::Record& r) { return r.fiscal_year() >= 2020; }, title, true},
      {"cities/-", "update_time", "", Everything, update, false},
      {"cities/seoul", "fiscal_year desc", "",
       [](const v1::Record& r) { return r.city().id() == "seoul"; }, year, true},
      {"cities/-/bureaus/education", "title", "",
       [](const v1::Record& r) { return r.bureau().id() == "education"; }, title,
       false},
      {"cities/-/bureaus/port-harbor", "fiscal_year desc", "fiscal_year != 2019",
       [](const v1::Record& r) {
         return r.bureau().id() == "port-harbor" && r.fiscal_year() != 2019;
       },
       year, true},
  };
  // Each case in its own function call: a fatal failure ends only its case.
  auto check = [&](const Case& c) {
    SCOPED_TRACE(absl::StrCat("parent \"", c.parent, "\" order_by \"", c.order_by,
                              "\" filter \"", c.filter, "\""));
    std::vector<std::string> want_values;
    std::set<std::string> want_names;
    for (const auto& [name, r] : world_->records) {
      if (!c.in_scope(r)) continue;
      want_values.push_back(c.value(r));
      want_names.insert(name);
    }
    std::sort(want_values.begin(), want_values.end());
    if (c.descending) std::reverse(want_values.begin(), want_values.end());
    ASSERT_FALSE(want_values.empty());

    v1::ListRecordsRequest request;
    request.set_parent(c.parent);
    request.set_order_by(c.order_by);
    request.set_filter(c.filter);
    request.set_page_size(97);
    ListResult got;
    ASSERT_NO_FATAL_FAILURE(ListAll(world_->stub(), request, got));
    std::vector<std::string> got_values;
    std::set<std::string> got_names;
    for (const v1::Record& r : got.records) {
      got_values.push_back(c.value(r));
      EXPECT_TRUE(got_names.insert(r.name()).second) << "twice: " << r.name();
    }
    EXPECT_EQ(got_values, want_values);
    EXPECT_EQ(got_names, want_names);
    std::vector<std::string> wrong_totals;
    for (size_t page = 0; page < got.totals.size(); ++page) {
      if (got.totals[page] != static_cast<int>(want_names.size())) {
        wrong_totals.push_back(absl::StrCat("page ", page, ": ", got.totals[page]));
      }
    }
    EXPECT_THAT(wrong_totals, IsEmpty())
        << "total_size must be " << want_names.size() << " on every page";
  };
  for (const Case& c : cases) check(c);
}

// Every order_by field in both directions, with and without "asc", under
// every kind of parent, with and without a filter, across pages: the whole
// sequence of names equals the test's own sort of the records in scope.
// Ties are broken by name (city, bureau, record), and "desc" is the exact
// reverse of "asc".
TEST_F(QueryServiceTest, ListRecordsOrderByEveryFieldAndDirection) {
  using SortValue = std::tuple<int64_t, int64_t, std::string>;
  const std::map<std::string, std::function<SortValue(const v1::Record&)>>
      fields = {
          {"name", [](const v1::Record&) { return SortValue{}; }},
          {"fiscal_year",
           [](const v1::Record& r) {
             return SortValue{r.fiscal_year(), 0, ""};
           }},
          {"update_time",
           [](const v1::Record& r) {
             return SortValue{r.update_time().seconds(),
                              r.update_time().nanos(), ""};
           }},
          {"title",
           [](const v1::Record& r) {
             return SortValue{0, 0, r.title()};
           }},
      };
  struct Scope {
    std::string parent;
    RecordPredicate in_parent;
    int page_size;
  };
  const std::vector<Scope> scopes = {
      {"cities/-", Everything, 700},
      {"cities/seoul",
       [](const v1::Record& r) { return r.city().id() == "seoul"; }, 9},
      {"cities/seoul/bureaus/policy-planning",
       [](const v1::Record& r) {
         return r.city().id() == "seoul" &&
                r.bureau().id() == "policy-planning";
       },
       4},
      {"cities/-/bureaus/education",
       [](const v1::Record& r) { return r.bureau().id() == "education"; }, 11},
  };
  const std::vector<std::pair<std::string, RecordPredicate>> filters = {
      {"", Everything},
      {"fiscal_year >= 2018",
       [](const v1::Record& r) { return r.fiscal_year() >= 2018; }},
  };
  auto check = [&](const Scope& scope, const std::string& filter,
                   const RecordPredicate& in_filter, const std::string& field,
                   const std::string& direction) {
    const std::string order_by =
        direction.empty() ? field : absl::StrCat(field, " ", direction);
    SCOPED_TRACE(absl::StrCat("parent \"", scope.parent, "\" order_by \"",
                              order_by, "\" filter \"", filter, "\""));
    const auto& value = fields.at(field);
    std::vector<std::pair<SortValue, NameTuple>> want_keys;
    for (const auto& [name, r] : world_->records) {
      if (scope.in_parent(r) && in_filter(r))
        want_keys.emplace_back(value(r), NameOrder(name));
    }
    ASSERT_GT(want_keys.size(), static_cast<size_t>(scope.page_size) * 2)
        << "too few records to page";
    std::sort(want_keys.begin(), want_keys.end());
    if (direction == "desc") std::reverse(want_keys.begin(), want_keys.end());
    std::vector<std::string> want;
    for (const auto& [v, n] : want_keys) {
      want.push_back(absl::StrCat("cities/", std::get<0>(n), "/bureaus/",
                                  std::get<1>(n), "/records/", std::get<2>(n)));
    }

    v1::ListRecordsRequest request;
    request.set_parent(scope.parent);
    request.set_order_by(order_by);
    request.set_filter(filter);
    request.set_page_size(scope.page_size);
    ListResult got;
    ASSERT_NO_FATAL_FAILURE(ListAll(world_->stub(), request, got));
    std::vector<std::string> names;
    for (const v1::Record& r : got.records) names.push_back(r.name());
    EXPECT_EQ(names, want);
    EXPECT_EQ(got.pages, static_cast<int>((want.size() + scope.page_size - 1) /
                                          scope.page_size));
    std::vector<std::string> wrong_totals;
    for (size_t page = 0; page < got.totals.size(); ++page) {
      if (got.totals[page] != static_cast<int>(want.size())) {
        wrong_totals.push_back(
            absl::StrCat("page ", page, ": ", got.totals[page]));
      }
    }
    EXPECT_THAT(wrong_totals, IsEmpty())
        << "total_size must be " << want.size() << " on every page";
  };
  for (const Scope& scope : scopes) {
    for (const auto& [filter, in_filter] : filters) {
      for (const auto& [field, value] : fields) {
        for (const std::string direction : {"", "asc", "desc"}) {
          check(scope, filter, in_filter, field, direction);
        }
      }
    }
  }
}

TEST_F(QueryServiceTest, ViewsAndGetRecord) {
  v1::ListRecordsRequest request;
  request.set_parent("cities/paris");
  request.set_page_size(1000);
  request.set_view(v1::RECORD_VIEW_FULL);
  ListResult full;
  ASSERT_NO_FATAL_FAILURE(ListAll(world_->stub(), request, full));
  request.set_view(v1::RECORD_VIEW_BASIC);
  ListResult basic;
  ASSERT_NO_FATAL_FAILURE(ListAll(world_->stub(), request, basic));
  ASSERT_EQ(full.records.size(), basic.records.size());
  ASSERT_FALSE(full.records.empty());
  // Without a view, BASIC (as ListRecordsRequest.view says).
  request.clear_view();
  ListResult unspecified;
  ASSERT_NO_FATAL_FAILURE(ListAll(world_->stub(), request, unspecified));
  ASSERT_EQ(unspecified.records.size(), basic.records.size());
  for (size_t i = 0; i < basic.records.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(unspecified.records[i],
                                           basic.records[i]))
        << "no view is not BASIC: " << basic.records[i].name();
  }
  int with_events = 0;
  for (size_t i = 0; i < full.records.size(); ++i) {
    const v1::Record& want = world_->records.at(full.records[i].name());
    EXPECT_TRUE(MessageDifferencer::Equals(full.records[i], want))
        << "FULL differs from the stored record " << want.name();
    if (want.events_size() > 0) ++with_events;

    v1::Record stripped = want;
    stripped.clear_sections();
    stripped.clear_events();
    stripped.clear_source_html();
    EXPECT_TRUE(MessageDifferencer::Equals(basic.records[i], stripped))
        << "BASIC is not FULL without sections, events and source_html: "
        << want.name();
  }
  EXPECT_GT(with_events, 0);

  // GetRecord returns the whole record.
  std::mt19937_64 rng(11);
  auto it = world_->records.begin();
  for (int i = 0; i < 20; ++i) {
    std::advance(it, rng() % 100);
    if (it == world_->records.end()) break;
    v1::GetRecordRequest get;
    get.set_name(it->first);
    get.set_min_sequence(world_->head());
    v1::Record record;
    grpc::ClientContext context;
    grpc::Status status = world_->stub().GetRecord(&context, get, &record);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(record, it->second)) << it->first;
  }
  v1::GetRecordRequest missing;
  missing.set_name("cities/seoul/bureaus/policy-planning/records/fy2019-0000000000000000");
  v1::Record record;
  grpc::ClientContext context;
  EXPECT_EQ(world_->stub().GetRecord(&context, missing, &record).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(QueryServiceTest, PageTokenIsBoundToItsRequest) {
  v1::ListRecordsRequest request;
  request.set_parent("cities/-");
  request.set_filter("fiscal_year >= 2016");
  request.set_page_size(5);
  v1::ListRecordsResponse first;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(world_->stub().ListRecords(&context, request, &first).ok());
  }
  ASSERT_FALSE(first.next_page_token().empty());
  // The same request with its token works.
  {
    v1::ListRecordsRequest next = request;
    next.set_page_token(first.next_page_token());
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(world_->stub().ListRecords(&context, next, &response).ok());
  }
  struct Case {
    std::string what;
    std::function<void(v1::ListRecordsRequest&)> change;
  };
  const std::vector<Case> cases = {
      {"another filter", [](auto& r) { r.set_filter("fiscal_year >= 2017"); }},
      {"no filter", [](auto& r) { r.clear_filter(); }},
      {"another parent", [](auto& r) { r.set_parent("cities/seoul"); }},
      {"a bureau parent", [](auto& r) { r.set_parent("cities/-/bureaus/education"); }},
      {"another order_by", [](auto& r) { r.set_order_by("title"); }},
      {"a garbled token", [](auto& r) { r.set_page_token("not-a-token"); }},
      {"a truncated token",
       [](auto& r) { r.set_page_token(r.page_token().substr(0, 6)); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::ListRecordsRequest next = request;
    next.set_page_token(first.next_page_token());
    c.change(next);
    v1::ListRecordsResponse response;
    grpc::ClientContext context;
    grpc::Status status = world_->stub().ListRecords(&context, next, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    ErrorDetails details = DetailsOf(status);
    EXPECT_EQ(details.reason, "INVALID_PAGE_TOKEN");
    EXPECT_EQ(details.fields, std::vector<std::string>{"page_token"});
  }
}

TEST_F(QueryServiceTest, BadArgumentsNameTheirField) {
  struct Case {
    std::string what;
    std::function<grpc::Status(v1::QueryService::Stub&)> call;
    std::string field;
  };
  auto list = [](std::function<void(v1::ListRecordsRequest&)> set) {
    return [set](v1::QueryService::Stub& stub) {
      v1::ListRecordsRequest request;
      request.set_parent("cities/-");
      set(request);
      v1::ListRecordsResponse response;
      grpc::ClientContext context;
      return stub.ListRecords(&context, request, &response);
    };
  };
  auto search = [](std::function<void(v1::SearchRecordsRequest&)> set) {
    return [set](v1::QueryService::Stub& stub) {
      v1::SearchRecordsRequest request;
      request.set_query("交流");
      set(request);
      v1::SearchRecordsResponse response;
      grpc::ClientContext context;
      return stub.SearchRecords(&context, request, &response);
    };
  };
  auto summarize = [](std::function<void(v1::SummarizeRecordsRequest&)> set) {
    return [set](v1::QueryService::Stub& stub) {
      v1::SummarizeRecordsRequest request;
      set(request);
      v1::SummarizeRecordsResponse response;
      grpc::ClientContext context;
      return stub.SummarizeRecords(&context, request, &response);
    };
  };
  const std::vector<Case> cases = {
      {"filter missing value", list([](auto& r) { r.set_filter("fiscal_year ="); }),
       "filter"},
      {"filter unknown field", list([](auto& r) { r.set_filter("colour = red"); }),
       "filter"},
      {"filter unbalanced", list([](auto& r) { r.set_filter("(city = seoul"); }),
       "filter"},
      {"order_by unknown field", list([](auto& r) { r.set_order_by("colour"); }),
       "order_by"},
      {"order_by bad direction", list([](auto& r) { r.set_order_by("title sideways"); }),
       "order_by"},
      {"order_by three words", list([](auto& r) { r.set_order_by("title asc desc"); }),
       "order_by"},
      {"negative page_size", list([](auto& r) { r.set_page_size(-1); }), "page_size"},
      {"parent not cities", list([](auto& r) { r.set_parent("planets/mars"); }),
       "parent"},
      {"parent record", list([](auto& r) {
         r.set_parent("cities/seoul/bureaus/policy-planning/records/x");
       }),
       "parent"},
      {"parent bad id", list([](auto& r) { r.set_parent("cities/Seoul!"); }), "parent"},
      {"parent bureau without id", list([](auto& r) { r.set_parent("cities/-/bureaus/"); }),
       "parent"},
      {"search empty query", search([](auto& r) { r.set_query(" \u3000 "); }), "query"},
      {"search bad parent", search([](auto& r) { r.set_parent("towns/x"); }), "parent"},
      {"search bad filter", search([](auto& r) { r.set_filter("city ~ seoul"); }),
       "filter"},
      {"search negative page_size", search([](auto& r) { r.set_page_size(-5); }),
       "page_size"},
      {"summary bad group_by", summarize([](auto& r) { r.add_group_by("colour"); }),
       "group_by[0]"},
      {"summary repeated group_by", summarize([](auto& r) {
         r.add_group_by("city");
         r.add_group_by("city");
       }),
       "group_by[1]"},
      {"summary bad filter", summarize([](auto& r) { r.set_filter("AND"); }), "filter"},
      {"summary bad parent", summarize([](auto& r) { r.set_parent("cities"); }),
       "parent"},
      {"cities negative page_size",
       [](v1::QueryService::Stub& stub) {
         v1::ListCitiesRequest request;
         request.set_page_size(-1);
         v1::ListCitiesResponse response;
         grpc::ClientContext context;
         return stub.ListCities(&context, request, &response);
       },
       "page_size"},
      {"bureaus bad token",
       [](v1::QueryService::Stub& stub) {
         v1::ListBureausRequest request;
         request.set_page_token("@@@");
         v1::ListBureausResponse response;
         grpc::ClientContext context;
         return stub.ListBureaus(&context, request, &response);
       },
       "page_token"},
      {"get bad name",
       [](v1::QueryService::Stub& stub) {
         v1::GetRecordRequest request;
         request.set_name("cities/seoul");
         v1::Record response;
         grpc::ClientContext context;
         return stub.GetRecord(&context, request, &response);
       },
       "name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    grpc::Status status = c.call(world_->stub());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    ErrorDetails details = DetailsOf(status);
    EXPECT_FALSE(details.reason.empty());
    EXPECT_THAT(details.fields, Contains(c.field));
  }
}

// A bad name of any length is a short INVALID_ARGUMENT that a client with
// gRPC's default limits (the stub's channel) can read: the error quotes only
// a prefix of the name.
TEST_F(QueryServiceTest, HugeNamesGetAShortError) {
  for (size_t size : {size_t{10} * 1024, size_t{4} * 1024 * 1024}) {
    for (const std::string& name :
         {std::string(size, 'a'),
          absl::StrCat("cities/seoul/bureaus/policy-planning/records/",
                       std::string(size, 'x'))}) {
      SCOPED_TRACE(size);
      v1::GetRecordRequest request;
      request.set_name(name);
      v1::Record response;
      grpc::ClientContext context;
      grpc::Status status = world_->stub().GetRecord(&context, request, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << status.error_message().substr(0, 200);
      EXPECT_LE(status.error_message().size(), 300u)
          << status.error_message().substr(0, 200);
      EXPECT_LE(status.error_details().size(), 1000u);
      EXPECT_THAT(DetailsOf(status).fields, Contains("name"));
    }
  }
}

// ---------------------------------------------------------------------------
// (f) min_sequence beyond the applied sequence.

TEST_F(QueryServiceTest, MinSequenceBeyondAppliedExceedsDeadline) {
  const uint64_t ahead = world_->head() + 1000;
  const std::string name = world_->records.begin()->first;
  auto deadline = [](grpc::ClientContext& context) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(300));
  };
  std::vector<std::pair<std::string, std::function<grpc::Status(uint64_t)>>> calls = {
      {"GetRecord",
       [&](uint64_t seq) {
         v1::GetRecordRequest request;
         request.set_name(name);
         request.set_min_sequence(seq);
         v1::Record response;
         grpc::ClientContext context;
         deadline(context);
         return world_->stub().GetRecord(&context, request, &response);
       }},
      {"ListRecords",
       [&](uint64_t seq) {
         v1::ListRecordsRequest request;
         request.set_parent("cities/-");
         request.set_min_sequence(seq);
         v1::ListRecordsResponse response;
         grpc::ClientContext context;
         deadline(context);
         return world_->stub().ListRecords(&context, request, &response);
       }},
      {"SearchRecords",
       [&](uint64_t seq) {
         v1::SearchRecordsRequest request;
         request.set_query("ソウル");
         request.set_min_sequence(seq);
         v1::SearchRecordsResponse response;
         grpc::ClientContext context;
         deadline(context);
         return world_->stub().SearchRecords(&context, request, &response);
       }},
      {"ListCities",
       [&](uint64_t seq) {
         v1::ListCitiesRequest request;
         request.set_min_sequence(seq);
         v1::ListCitiesResponse response;
         grpc::ClientContext context;
         deadline(context);
         return world_->stub().ListCities(&context, request, &response);
       }},
      {"ListBureaus",
       [&](uint64_t seq) {
         v1::ListBureausRequest request;
         request.set_min_sequence(seq);
         v1::ListBureausResponse response;
         grpc::ClientContext context;
         deadline(context);
         return world_->stub().ListBureaus(&context, request, &response);
       }},
      {"SummarizeRecords",
       [&](uint64_t seq) {
         v1::SummarizeRecordsRequest request;
         request.add_group_by("city");
         request.set_min_sequence(seq);
         v1::SummarizeRecordsResponse response;
         grpc::ClientContext context;
         deadline(context);
         return world_->stub().SummarizeRecords(&context, request, &response);
       }},
  };
  for (const auto& [method, call] : calls) {
    SCOPED_TRACE(method);
    EXPECT_EQ(call(ahead).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    // At the applied sequence the same call answers.
    grpc::Status at_head = call(world_->head());
    EXPECT_TRUE(at_head.ok()) << at_head.error_code() << " " << at_head.error_message();
  }
}

// ---------------------------------------------------------------------------
// (d) Paging through every record exactly once while writes happen.

class PagingWhileWritingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(world_.Build(700, 99)); }

  // Pages through ListRecords(parent, filter, page_size 17); between pages
  // upserts new rows, updates one existing record and deletes one. Every
  // record in scope before the first page and never deleted is seen exactly
  // once; a record deleted before a page is not on it; nothing is seen
  // twice; pages follow the scan order.
  void PageWhileWriting(const std::string& parent, const std::string& filter,
                        const RecordPredicate& in_scope) {
    SCOPED_TRACE(absl::StrCat("parent \"", parent, "\" filter \"", filter, "\""));
    const bool by_bureau = absl::StartsWith(parent, "cities/-/bureaus/");
    std::mt19937_64 rng(5);
    std::set<std::string> before;
    for (const auto& [name, r] : world_.records) {
      if (in_scope(r)) before.insert(name);
    }
    ASSERT_GT(before.size(), 17u * 3) << "too few records in scope to page";
    std::set<std::string> added;
    std::map<std::string, int> deleted_after_page;
    std::map<std::string, int> seen_on_page;
    std::vector<std::string> order;
    std::string token;
    int page = 0;
    int updated = 0;
    do {
      v1::ListRecordsRequest request;
      request.set_parent(parent);
      request.set_filter(filter);
      request.set_page_size(17);
      request.set_page_token(token);
      request.set_min_sequence(world_.head());
      v1::ListRecordsResponse response;
      grpc::ClientContext context;
      grpc::Status status = world_.stub().ListRecords(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message() << " page " << page;
      for (const v1::Record& r : response.records()) {
        EXPECT_TRUE(seen_on_page.emplace(r.name(), page).second)
            << "seen twice: " << r.name() << " on page " << page;
        EXPECT_TRUE(in_scope(r)) << r.name();
        order.push_back(r.name());
      }
      token = response.next_page_token();
      ASSERT_LT(++page, kMaxPages);
      if (token.empty()) break;

      // Writes between pages: three new rows, one update, one delete.
      std::vector<v1::RawRecord> rows;
      for (int i = 0; i < 3; ++i) rows.push_back(world_.generator().Row(world_.NextIndex()));
      auto pick = world_.records.begin();
      std::advance(pick, rng() % world_.records.size());
      v1::RawRecord changed = world_.RawOf(pick->first);
      changed.set_results(absl::StrCat(changed.results(), " ・追加の取組(第", page,
                                       "回)に", page % 7 + 1, "名参加"));
      const std::string changed_name = pick->first;
      rows.push_back(changed);
      const size_t size_before = world_.records.size();
      ASSERT_NO_FATAL_FAILURE(world_.Upsert(rows, 100000 + page * 10));
      ASSERT_EQ(world_.records.size(), size_before + 3)
          << "the update must keep its name " << changed_name;
      ++updated;
      for (const auto& [name, r] : world_.records) {
        if (!before.count(name) && !deleted_after_page.count(name)) added.insert(name);
      }
      auto victim = world_.records.begin();
      std::advance(victim, rng() % world_.records.size());
      const std::string victim_name = victim->first;
      ASSERT_NO_FATAL_FAILURE(world_.Delete(victim_name));
      deleted_after_page[victim_name] = page - 1;
    } while (!token.empty());

    ASSERT_GT(updated, 0);
    for (const std::string& name : before) {
      auto deleted = deleted_after_page.find(name);
      if (deleted != deleted_after_page.end()) continue;
      EXPECT_TRUE(seen_on_page.count(name)) << "never seen: " << name;
    }
    for (const auto& [name, on_page] : seen_on_page) {
      EXPECT_TRUE(before.count(name) || added.count(name)) << "phantom: " << name;
      auto deleted = deleted_after_page.find(name);
      if (deleted != deleted_after_page.end()) {
        EXPECT_LE(on_page, deleted->second)
            << name << " seen on page " << on_page << " after its deletion";
      }
    }
    for (size_t i = 1; i < order.size(); ++i) {
      if (by_bureau) {
        EXPECT_LT(BureauOrder(order[i - 1]), BureauOrder(order[i])) << i;
      } else {
        EXPECT_LT(NameOrder(order[i - 1]), NameOrder(order[i])) << i;
      }
    }

    // Afterwards the counts still agree with the records.
    std::map<std::string, int> want;
    for (const auto& [name, r] : world_.records) ++want[r.city().id()];
    v1::ListCitiesRequest cities;
    cities.set_page_size(1000);
    v1::ListCitiesResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(world_.stub().ListCities(&context, cities, &response).ok());
    std::map<std::string, int> got;
    for (const v1::CityCount& c : response.cities()) got[c.city().id()] = c.record_count();
    EXPECT_EQ(got, want);
  }

  World world_;
};

TEST_F(PagingWhileWritingTest, AllCities) {
  PageWhileWriting("cities/-", "", Everything);
}

TEST_F(PagingWhileWritingTest, OneBureauAcrossCities) {
  // The bureau with the most records.
  std::map<std::string, int> counts;
  for (const auto& [name, r] : world_.records) ++counts[r.bureau().id()];
  auto most = std::max_element(counts.begin(), counts.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  const std::string bureau = most->first;
  PageWhileWriting(absl::StrCat("cities/-/bureaus/", bureau), "",
                   [bureau](const v1::Record& r) { return r.bureau().id() == bureau; });
}

TEST_F(PagingWhileWritingTest, WithFilter) {
  PageWhileWriting("cities/-", "fiscal_year >= 2019",
                   [](const v1::Record& r) { return r.fiscal_year() >= 2019; });
}

}  // namespace
}  // namespace kouryu::query
