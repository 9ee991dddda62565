// ImportTable through a real gRPC server on loopback, over a real store in a
// temporary directory: every input form the published tables come in, and
// every kind of bad input, each rejected with a violation that names where.

#include <grpcpp/grpcpp.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/gazetteer.h"
#include "common/server.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "ingest-service/ingest_service.h"
#include "ingest-service/normalizer.h"
#include "ingest-service/results.h"
#include "ingest-service/store.h"

namespace kouryu::ingest {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Published() {
  return ReadFile(KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv");
}

// The published table without the two characters CP932 cannot hold
// (鷗 U+9DD7 and the em dash U+2014), so every encoding carries one text.
std::string PublishedCp932Safe() {
  return absl::StrReplaceAll(Published(),
                             {{"鷗", "鴎"}, {"\xE2\x80\x94", "\xE2\x80\x95"}});
}

std::string ToCp932(const std::string& utf8) {
  UErrorCode error = U_ZERO_ERROR;
  UConverter* converter = ucnv_open("windows-31j", &error);
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(utf8);
  std::string out(utf8.size() * 2 + 16, '\0');
  int32_t n = text.extract(out.data(), static_cast<int32_t>(out.size()),
                           converter, error);
  ucnv_close(converter);
  EXPECT_TRUE(U_SUCCESS(error)) << u_errorName(error);
  out.resize(n);
  return out;
}

// The published rows as CSV: every cell quoted, quotes doubled, CRLF.
std::string ToCsv(const std::string& tsv) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(tsv, '\n')) {
    std::vector<std::string> cells;
    for (absl::string_view cell : absl::StrSplit(line, '\t')) {
      cells.push_back(absl::StrCat(
          "\"", absl::StrReplaceAll(cell, {{"\"", "\"\""}}), "\""));
    }
    lines.push_back(line.empty() ? "" : absl::StrJoin(cells, ","));
  }
  return absl::StrJoin(lines, "\r\n");
}

struct Problem {
  grpc::StatusCode code;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> violations;
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
      for (const auto& v : bad.field_violations()) {
        p.violations.emplace_back(v.field(), v.description());
      }
    }
  }
  return p;
}

class ImportTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "import-XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    auto store = Store::Open(dir_, {});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ingest_ = std::make_unique<IngestServiceImpl>(normalizer_, *store_);
    auto server = Server::Start({.listen = "127.0.0.1:0", .name = "test"},
                                {ingest_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::IngestService::NewStub(grpc::CreateChannel(
        server_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    stub_.reset();
    if (server_) server_->Shutdown([this] { store_->StopWaiting(); });
    server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  grpc::Status Import(const v1::ImportTableRequest& request,
                      v1::ImportTableResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
    return stub_->ImportTable(&context, request, response);
  }

  v1::ImportTableResponse ImportOk(const std::string& content,
                                   const std::string& encoding = "") {
    v1::ImportTableRequest request;
    request.set_content(content);
    request.set_encoding(encoding);
    v1::ImportTableResponse response;
    grpc::Status status = Import(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  Problem ImportFails(const std::string& content, bool atomic = false) {
    v1::ImportTableRequest request;
    request.set_content(content);
    request.set_atomic(atomic);
    v1::ImportTableResponse response;
    grpc::Status status = Import(request, &response);
    EXPECT_FALSE(status.ok());
    return ProblemOf(status);
  }

  std::set<std::string> Names(const v1::ImportTableResponse& response) {
    std::set<std::string> names;
    for (const auto& r : response.results()) names.insert(r.name());
    return names;
  }

  std::string dir_;
  Normalizer normalizer_{Gazetteer::Builtin()};
  std::unique_ptr<Store> store_;
  std::unique_ptr<IngestServiceImpl> ingest_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::IngestService::Stub> stub_;
};

TEST_F(ImportTableTest, EveryEncodingAndSeparatorGivesTheSameRecords) {
  const std::string tsv = PublishedCp932Safe();
  v1::ImportTableResponse first = ImportOk(tsv);
  ASSERT_EQ(first.created_count(), 36);
  EXPECT_EQ(first.encoding(), "UTF-8");
  const std::set<std::string> names = Names(first);
  ASSERT_EQ(names.size(), 36u);

  struct Form {
    std::string label;
    std::string content;
    std::string encoding;
    std::string detected;
  };
  const std::vector<Form> forms = {
      {"BOM", "\xEF\xBB\xBF" + tsv, "", "UTF-8"},
      {"CRLF", absl::StrReplaceAll(tsv, {{"\n", "\r\n"}}), "", "UTF-8"},
      {"CSV quoted, CRLF", ToCsv(tsv), "", "UTF-8"},
      {"CP932 detected", ToCp932(tsv), "", "CP932"},
      {"CP932 named Shift_JIS", ToCp932(tsv), "Shift_JIS", "CP932"},
      {"CP932 CSV", ToCp932(ToCsv(tsv)), "", "CP932"},
      {"no blank lines", absl::StrReplaceAll(tsv, {{"\n\n", "\n"}}), "", "UTF-8"},
  };
  for (const Form& form : forms) {
    SCOPED_TRACE(form.label);
    v1::ImportTableResponse again = ImportOk(form.content, form.encoding);
    EXPECT_EQ(again.encoding(), form.detected);
    EXPECT_EQ(again.unchanged_count(), 36);
    EXPECT_EQ(again.created_count() + again.updated_count(), 0);
    EXPECT_EQ(Names(again), names);
  }
}

TEST_F(ImportTableTest, QuotedCellsHoldSeparatorsQuotesAndLineBreaks) {
  std::string csv =
      "①分野,②担当(関係)部所名,③項目名,④実績(令和2年度)\r\n"
      "\r\n"
      "\"②姉妹港交流\",港湾局港湾経営部,\"海外主要港, 情報共有\","
      "\"<p>【港湾】</p>・6月18日 \"\"記念\"\"行事\r\n・港湾会議に職員2名を派遣\"\r\n"
      "②姉妹港交流,港湾局港湾経営部,次の行,・10月16日 円卓会議\r\n";
  v1::ImportTableResponse response = ImportOk(csv);
  EXPECT_EQ(response.fiscal_year(), 2020);
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).row(), 3);
  // The quoted cell spans lines 3 and 4, so the next row is on line 5.
  EXPECT_EQ(response.results(1).row(), 5);
  EXPECT_EQ(response.created_count(), 2);
}

TEST_F(ImportTableTest, HeaderYearsInEveryForm) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"④実績(R元年度)", 2019},   {"④実績(R2年度)", 2020},
      {"④実績(令和2年度)", 2020}, {"④実績(H30年度)", 2018},
      {"④実績(平成30年度)", 2018}, {"④実績(2019年度)", 2019},
      {"④実績(Ｒ３年度)", 2021},
  };
  for (const auto& [header, year] : cases) {
    SCOPED_TRACE(header);
    std::string table = absl::StrCat(
        "①分野\t②担当(関係)部所名\t③項目名\t", header,
        "\n①姉妹・友好都市及び政策提携都市との交流\t政策企画局外務部\t"
        "大韓民国ソウル特別市\t4月1日、職員2名を受入\n");
    v1::ImportTableResponse response = ImportOk(table);
    EXPECT_EQ(response.fiscal_year(), year);
  }
}

// Shift_JIS has no circled digits: the published table passed through
// such a tool arrives with 分野, 担当(関係)部所名, ... or (1)分野, 1分野.
TEST_F(ImportTableTest, HeaderWithoutCircledDigitsGivesTheSameRecords) {
  const std::string tsv = PublishedCp932Safe();
  v1::ImportTableResponse first = ImportOk(tsv);
  ASSERT_EQ(first.created_count(), 36);
  const std::set<std::string> names = Names(first);
  // The header is line 3 (after two blank lines); keep every line number.
  const size_t header_begin = tsv.find("①分野");
  ASSERT_NE(header_begin, std::string::npos);
  const std::string before = tsv.substr(0, header_begin);
  const std::string body = tsv.substr(tsv.find('\n', header_begin));
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"分野\t担当(関係)部所名\t項目名\t実績(R元年度)", ""},
      {"分野\t担当(関係)部所名\t項目名\t実績(R元年度)", "Shift_JIS"},
      {"1分野\t2担当(関係)部所名\t3項目名\t4実績(R元年度)", ""},
      {"(1)分野\t(2)担当(関係)部所名\t(3)項目名\t(4)実績(R元年度)", "Shift_JIS"},
  };
  for (const auto& [header, encoding] : forms) {
    SCOPED_TRACE(header + " " + encoding);
    const std::string table = before + header + body;
    v1::ImportTableResponse again =
        ImportOk(encoding.empty() ? table : ToCp932(table), encoding);
    EXPECT_EQ(again.fiscal_year(), 2019);
    EXPECT_EQ(again.unchanged_count(), 36);
    EXPECT_EQ(Names(again), names);
  }
  Problem p = ImportFails(before + "分類\t担当\t項目名\t実績(R元年度)" + body);
  EXPECT_EQ(p.reason, "UNRECOGNIZED_HEADER");
  ASSERT_FALSE(p.violations.empty());
  EXPECT_EQ(p.violations[0].first, "rows[3].column[1]");
  EXPECT_THAT(p.violations[0].second, HasSubstr("①分野, 分野, 1分野 or (1)分野"));
}

// The convention written in ingest_service.proto: an index into a repeated
// field of the request counts from 0; a line, a cell of a line, counts
// from 1 as people count them.
TEST_F(ImportTableTest, FieldPathsCountRequestEntriesFromZeroAndLinesFromOne) {
  v1::ImportTableRequest request;
  request.set_content("a\tb\tc\td\n");
  for (const char* c : {"category", "department", "title", "body"}) {
    request.add_columns(c);
  }
  v1::ImportTableResponse response;
  Problem p = ProblemOf(Import(request, &response));
  EXPECT_EQ(p.reason, "INVALID_COLUMNS");
  ASSERT_FALSE(p.violations.empty());
  EXPECT_EQ(p.violations[0].first, "columns[3]");  // "body", the 4th entry

  // Line 3 of the file (after a blank line and the header), its 2nd cell.
  p = ImportFails(
      "\n①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n"
      "①姉妹\t\xff\t題\t実績\n");
  EXPECT_EQ(p.reason, "INVALID_ENCODING");
  ASSERT_FALSE(p.violations.empty());
  EXPECT_EQ(p.violations[0].first, "rows[3].column[2]");
}

TEST_F(ImportTableTest, UnrecognisedHeaderNeedsColumnsAndYear) {
  const std::string table =
      "分類\t部署\t項目\t実績\n"
      "①姉妹・友好都市及び政策提携都市との交流\t政策企画局外務部\t"
      "大韓民国ソウル特別市\t4月1日、職員2名を受入\n";
  Problem p = ImportFails(table);
  EXPECT_EQ(p.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(p.reason, "UNRECOGNIZED_HEADER");
  ASSERT_FALSE(p.violations.empty());
  EXPECT_EQ(p.violations[0].first, "rows[1].column[1]");

  v1::ImportTableRequest request;
  request.set_content(table);
  for (const char* c : {"category", "department", "title", "results"}) {
    request.add_columns(c);
  }
  v1::ImportTableResponse response;
  grpc::Status status = Import(request, &response);
  EXPECT_EQ(ProblemOf(status).reason, "FISCAL_YEAR_UNKNOWN");
  request.set_fiscal_year(2021);
  status = Import(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.created_count(), 1);
  EXPECT_EQ(response.fiscal_year(), 2021);
}

TEST_F(ImportTableTest, BadInputNamesWhereAndWritesNothing) {
  const std::string header =
      "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n";
  const std::string good =
      "①姉妹・友好都市及び政策提携都市との交流\t政策企画局外務部\t"
      "大韓民国ソウル特別市\t4月1日、職員2名を受入\n";
  struct Case {
    std::string label;
    std::string content;
    std::string reason;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"invalid UTF-8 in a cell", header + good +
           "①姉妹\t政策企画局外務部\t\xff\xfe\t実績\n",
       "INVALID_ENCODING", "rows[3].column[3]"},
      {"missing column", header + good + "①姉妹\t政策企画局外務部\t題\n",
       "WRONG_COLUMN_COUNT", "rows[3]"},
      {"extra column", header + good + "①姉妹\t政策企画局外務部\t題\t実績\t余分\n",
       "WRONG_COLUMN_COUNT", "rows[3]"},
      {"empty title", header + good + "①姉妹\t政策企画局外務部\t \t実績\n",
       "INVALID_ROWS", "rows[3].title"},
      {"empty category", header + good + "\t政策企画局外務部\t題\t実績\n",
       "INVALID_ROWS", "rows[3].category"},
      {"unknown bureau", header + good + "①姉妹\t架空局外務部\t題\t実績\n",
       "INVALID_ROWS", "rows[3].department"},
      {"oversize title", header + good + "①姉妹\t政策企画局外務部\t" +
           std::string(2000, 'x') + "\t実績\n",
       "INVALID_ROWS", "rows[3].title"},
      {"oversize results", header + good + "①姉妹\t政策企画局外務部\t題\t" +
           std::string(70000, 'x') + "\n",
       "INVALID_ROWS", "rows[3].results"},
      {"NUL byte", header + good + "①姉妹\t政策企画局外務部\t題\0x\t実績\n",
       "INVALID_ROWS", "rows[3].title"},
      {"control character", header + good +
           "①姉妹\t政策企画局外務部\t題\x07\t実績\n",
       "INVALID_ROWS", "rows[3].title"},
      {"unterminated quote", header + good + "①姉妹\t\"政策企画局外務部\t題\t実績\n",
       "UNTERMINATED_QUOTE", "rows[3].column[2]"},
      {"empty input", "", "EMPTY_TABLE", "rows[1]"},
      {"only blank lines", "\n\r\n\n", "EMPTY_TABLE", "rows[1]"},
  };
  // Fix the NUL case: a string literal stops at \0.
  std::vector<Case> all = cases;
  all[8].content = header + good + std::string("①姉妹\t政策企画局外務部\t題\0x\t実績\n", 
                                               sizeof("①姉妹\t政策企画局外務部\t題\0x\t実績\n") - 1);
  for (const Case& c : all) {
    SCOPED_TRACE(c.label);
    Problem p = ImportFails(c.content, /*atomic=*/true);
    EXPECT_EQ(p.code, grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(p.reason, c.reason);
    ASSERT_FALSE(p.violations.empty());
    EXPECT_EQ(p.violations[0].first, c.field);
    EXPECT_FALSE(p.violations[0].second.empty());
    EXPECT_EQ(store_->HeadSequence(), 0u) << "something was written";
  }
}

TEST_F(ImportTableTest, NonAtomicImportWritesTheGoodRowsAndReportsTheBad) {
  std::string table = Published();
  size_t at = table.find("政策企画局外務部\t中華人民共和国北京市");
  ASSERT_NE(at, std::string::npos);
  table.replace(at, std::string("政策企画局").size(), "架空局");
  v1::ImportTableResponse response = ImportOk(table);
  EXPECT_EQ(response.created_count(), 35);
  EXPECT_EQ(response.rejected_count(), 1);
  EXPECT_EQ(store_->HeadSequence(), 35u);
  bool seen = false;
  for (const auto& r : response.results()) {
    if (r.outcome() != v1::OUTCOME_REJECTED) continue;
    seen = true;
    EXPECT_EQ(r.row(), 5);
    ASSERT_EQ(r.violations_size(), 1);
    EXPECT_EQ(r.violations(0).field(), "rows[5].department");
  }
  EXPECT_TRUE(seen);
}

TEST_F(ImportTableTest, ValidateOnlyWritesNothing) {
  v1::ImportTableRequest request;
  request.set_content(Published());
  request.set_validate_only(true);
  v1::ImportTableResponse response;
  ASSERT_TRUE(Import(request, &response).ok());
  EXPECT_EQ(response.created_count(), 36);
  EXPECT_EQ(store_->HeadSequence(), 0u);
}

TEST_F(ImportTableTest, UnknownPlaceWarnsAndStrictRejects) {
  const std::string table =
      "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n"
      "①姉妹・友好都市及び政策提携都市との交流\t政策企画局外務部\t"
      "イタリア共和国ミラノ市との交流\t5月、職員3名を派遣\n";
  v1::ImportTableResponse response = ImportOk(table);
  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(response.results(0).outcome(), v1::OUTCOME_CREATED);
  ASSERT_EQ(response.results(0).warnings_size(), 1);
  EXPECT_EQ(response.results(0).warnings(0).field(), "rows[2].title");
  EXPECT_THAT(response.results(0).warnings(0).description(), HasSubstr("ミラノ市"));
  EXPECT_THAT(response.results(0).name(), HasSubstr("cities/unassigned/"));

  v1::ImportTableRequest request;
  request.set_content(table);
  request.set_strict(true);
  request.set_atomic(true);
  Problem p = ProblemOf(Import(request, &response));
  EXPECT_EQ(p.code, grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_FALSE(p.violations.empty());
  EXPECT_EQ(p.violations[0].first, "rows[2].title");
}

TEST_F(ImportTableTest, HostileInputDoesNotKnockTheServerOver) {
  std::mt19937 random(20191);
  for (int i = 0; i < 20; ++i) {
    std::string bytes(1 + random() % 5000, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    v1::ImportTableRequest request;
    request.set_content(bytes);
    v1::ImportTableResponse response;
    grpc::Status status = Import(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
  }
  // HTML nested far deeper than any recursion could go is refused before
  // the parser sees it (its work grows with the square of the depth)...
  std::string deeper;
  for (int i = 0; i < 20000; ++i) deeper += "<i>";
  Problem refused = ImportFails(absl::StrCat(
      "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n"
      "①姉妹・友好都市及び政策提携都市との交流\t政策企画局外務部\t"
      "入れ子の検査\t", deeper, "\n"), /*atomic=*/true);
  ASSERT_FALSE(refused.violations.empty());
  EXPECT_EQ(refused.violations[0].first, "rows[2].results");
  EXPECT_THAT(refused.violations[0].second, HasSubstr("20000 HTML tags"));
  // ...and the deepest accepted nesting parses without recursion, with
  // script and style content dropped.
  std::string deep;
  for (size_t i = 0; i + 4 < kMaxResultsTags; ++i) deep += "<div>";
  deep += "・5月1日、職員2名を派遣<script>alert('x')</script><style>p{}</style>";
  ASSERT_LT(deep.size(), kMaxResultsBytes);
  std::string table = absl::StrCat(
      "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)\n"
      "①姉妹・友好都市及び政策提携都市との交流\t政策企画局外務部\t"
      "入れ子の検査\t", deep, "\n");
  v1::ImportTableResponse response = ImportOk(table);
  EXPECT_EQ(response.created_count(), 1);
  auto stored = store_->Get(response.results(0).name());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->results_text(), "・5月1日、職員2名を派遣");
  ASSERT_EQ(stored->events_size(), 1);
  EXPECT_EQ(stored->events(0).kind(), v1::EVENT_KIND_DISPATCHED);
  // Still serving.
  EXPECT_EQ(ImportOk(Published()).created_count(), 36);
}

}  // namespace
}  // namespace kouryu::ingest
