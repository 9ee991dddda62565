// kouryu-cli against the real servers: every subcommand and output format
// on the published table (expected outputs written below), import with
// its progress, summaries and exit codes, errors a person can act on, and
// the export round trip into an empty pair of servers.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/generator.h"
#include "tests/support/process.h"

namespace kouryu {
namespace {

using ::kouryu::testing::CommandResult;
using ::kouryu::testing::RunCommand;
using ::kouryu::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

const std::string kPublished = KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// A kouryu-ingest and a kouryu-query following it, on fresh directories.
struct Pair {
  std::unique_ptr<ServerProcess> ingest;
  std::unique_ptr<ServerProcess> query;

  static Pair Start(const std::string& root) {
    Pair p;
    std::filesystem::create_directories(root);
    auto ingest =
        ServerProcess::Start({KOURYU_INGEST_BIN, "--listen=127.0.0.1:0",
                              "--data_dir=" + root + "/ingest"});
    EXPECT_TRUE(ingest.ok()) << ingest.status();
    if (!ingest.ok()) return p;
    p.ingest = *std::move(ingest);
    auto query = ServerProcess::Start({KOURYU_QUERY_BIN, "--listen=127.0.0.1:0",
                                       "--data_dir=" + root + "/query",
                                       "--ingest=" + p.ingest->address()});
    EXPECT_TRUE(query.ok()) << query.status();
    if (query.ok()) p.query = *std::move(query);
    return p;
  }

  // Every record's name and etag (the content's hash), read at `sequence`.
  std::map<std::string, std::string> Etags(uint64_t sequence) const {
    auto stub = v1::QueryService::NewStub(grpc::CreateChannel(
        query->address(), grpc::InsecureChannelCredentials()));
    std::map<std::string, std::string> out;
    v1::ListRecordsRequest request;
    request.set_parent("cities/-");
    request.set_page_size(1000);
    request.set_min_sequence(sequence);
    do {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(60));
      v1::ListRecordsResponse response;
      grpc::Status status = stub->ListRecords(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::Record& r : response.records()) out[r.name()] = r.etag();
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return out;
  }
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir();
    ASSERT_FALSE(root_.empty());
    pair_ = Pair::Start(root_ + "/a");
    ASSERT_TRUE(pair_.query != nullptr);
  }

  void TearDown() override {
    pair_ = {};
    other_ = {};
    std::filesystem::remove_all(root_);
  }

  // kouryu-cli ARGS; with `merge_stderr`, standard error follows standard
  // output in `out`.
  static CommandResult Cli(const std::vector<std::string>& args,
                           bool merge_stderr = false,
                           const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), env.begin(), env.end());
    if (merge_stderr) {
      argv.insert(argv.end(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1"});
    }
    argv.push_back(KOURYU_CLI_BIN);
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  // The published table imported through the CLI; its sequence.
  uint64_t ImportPublished(const Pair& pair) {
    CommandResult r =
        Cli({pair.ingest->address(), "import", kPublished, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    Json summary = Json::parse(r.out);
    EXPECT_EQ(summary["createdCount"].get<int>() +
                  summary["unchangedCount"].get<int>(),
              36);
    return summary["sequence"].get<uint64_t>();
  }

  Json QueryJson(std::vector<std::string> args) {
    args.insert(args.begin(), pair_.query->address());
    args.insert(args.end(), {"-o", "json", "--min_sequence=36"});
    CommandResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }

  std::string Query(std::vector<std::string> args) {
    args.insert(args.begin(), pair_.query->address());
    args.push_back("--min_sequence=36");
    CommandResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    return r.out;
  }

  std::string root_;
  Pair pair_;
  Pair other_;
};

TEST_F(CliTest, QuerySubcommandsInEveryFormat) {
  ASSERT_EQ(ImportPublished(pair_), 36u);

  // cities and bureaus, as counted by hand in the published table.
  EXPECT_EQ(
      Query({"cities", "-o", "tsv"}),
      "ID\tNAME_JA\tNAME_EN\tCOUNTRY\tRECORDS\n"
      "beijing\t北京市\tBeijing\tCN\t8\n"
      "berlin\tベルリン市\tBerlin\tDE\t1\n"
      "cairo\tカイロ県\tCairo Governorate\tEG\t1\n"
      "jakarta\tジャカルタ首都特別州\tJakarta\tID\t1\n"
      "london\tロンドン市\tLondon\tGB\t1\n"
      "los-angeles\tロサンゼルス市\tLos Angeles\tUS\t1\n"
      "moscow\tモスクワ市\tMoscow\tRU\t2\n"
      "new-south-wales\tニューサウスウェールズ州\tNew South Wales\tAU\t3\n"
      "paris\tパリ市\tParis\tFR\t5\n"
      "seoul\tソウル特別市\tSeoul\tKR\t5\n"
      "tomsk\tトムスク州\tTomsk Oblast\tRU\t2\n"
      "unassigned\t該当なし\tUnassigned\t\t6\n");
  // A table aligns by display width: kanji and kana take two columns.
  EXPECT_EQ(
      Query({"bureaus", "-o", "table"}),
      "ID                            NAME_JA                             "
      "NAME_EN                                                       RECORDS\n"
      "citizens-culture              生活文化局                          "
      "Bureau of Citizens and Cultural Affairs                       6\n"
      "education                     教育庁                              Board "
      "of Education                                            5\n"
      "environment                   環境局                              "
      "Bureau of Environment                                         3\n"
      "general-affairs               総務局                              "
      "Bureau of General Affairs                                     2\n"
      "industrial-labor              産業労働局                          "
      "Bureau of Industrial and Labor Affairs                        2\n"
      "olympic-paralympic            オリンピック・パラリンピック準備局  "
      "Bureau of Olympic and Paralympic Games Tokyo 2020 Preparati…  8\n"
      "policy-planning               政策企画局                          "
      "Office of the Governor for Policy Planning                    7\n"
      "port-harbor                   港湾局                              "
      "Bureau of Port and Harbor                                     1\n"
      "sewerage                      下水道局                            "
      "Bureau of Sewerage                                            1\n"
      "social-welfare-public-health  福祉保健局                          "
      "Bureau of Social Welfare and Public Health                    1\n");
  EXPECT_EQ(Query({"summarize", "--group_by=category", "-o", "csv"}),
            "CATEGORY,RECORDS,PARTICIPANTS\n"
            "CATEGORY_SISTER_CITY_EXCHANGE,35,128\n"
            "CATEGORY_SISTER_PORT_EXCHANGE,1,0\n");
  const std::string seoul =
      "NAME\tFY\tCITY\tBUREAU\tTITLE\n"
      "cities/seoul/bureaus/citizens-culture/records/"
      "fy2019-"
      "ef70bd6fb7f8e018\t2019\tソウル特別市\t生活文化局\t大韓民国ソウル市との交"
      "流・協力に関わる取組\n"
      "cities/seoul/bureaus/industrial-labor/records/"
      "fy2019-"
      "9b830a41ea07a977\t2019\tソウル特別市\t産業労働局\t大韓民国ソウル市との交"
      "流・協力に関わる取組\n"
      "cities/seoul/bureaus/olympic-paralympic/records/"
      "fy2019-"
      "8d98112afc301879\t2019\tソウル特別市\tオリンピック・パラリンピック準備局"
      "\t大韓民国ソウル市との交流・協力に関わる取組\n"
      "cities/seoul/bureaus/policy-planning/records/"
      "fy2019-"
      "cb5c3ae744633793\t2019\tソウル特別市\t政策企画局\t大韓民国ソウル特別市\n"
      "cities/seoul/bureaus/social-welfare-public-health/records/"
      "fy2019-"
      "83b1667a082fd0c7\t2019\tソウル特別市\t福祉保健局\t大韓民国ソウル市との交"
      "流・協力に関わる取組\n";
  EXPECT_EQ(Query({"records", "cities/seoul", "-o", "tsv"}), seoul);
  // csv: the same cells, comma-separated.
  EXPECT_THAT(Query({"records", "cities/seoul", "-o", "csv"}),
              HasSubstr("cities/seoul/bureaus/policy-planning/records/"
                        "fy2019-cb5c3ae744633793,2019,ソウル特別市,政策企画局,"
                        "大韓民国ソウル特別市\n"));

  // records: json is the response's shape; --all follows the pages.
  Json page = QueryJson({"records", "--page_size=7"});
  EXPECT_EQ(page["records"].size(), 7u);
  EXPECT_EQ(page["totalSize"], 36);
  EXPECT_FALSE(page["nextPageToken"].get<std::string>().empty());
  Json all = QueryJson({"records", "--page_size=7", "--all", "--view=full"});
  std::set<std::string> names;
  for (const Json& r : all["records"])
    names.insert(r["name"].get<std::string>());
  EXPECT_EQ(names.size(), 36u);
  EXPECT_TRUE(all["records"][0].contains("sourceHtml")) << "--view=full";
  EXPECT_EQ(all["nextPageToken"], "");
  EXPECT_EQ(QueryJson({"records",
                       "cities/-/bureaus/olympic-paralympic"})["totalSize"],
            8);
  EXPECT_EQ(QueryJson({"records", "--filter=city = Paris"})["totalSize"], 5);
  Json ordered =
      QueryJson({"records", "cities/beijing", "--order_by=name desc"});
  EXPECT_GT(ordered["records"][0]["name"], ordered["records"][7]["name"]);
  // jsonl: one record per line.
  std::vector<std::string> lines =
      absl::StrSplit(Query({"records", "cities/paris", "-o", "jsonl"}), '\n',
                     absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  for (const std::string& line : lines) {
    EXPECT_THAT(Json::parse(line)["name"].get<std::string>(),
                HasSubstr("cities/paris/"));
  }
  // table: the header and one line per record.
  std::string table = Query({"records", "cities/seoul", "-o", "table"});
  EXPECT_THAT(table, HasSubstr("NAME "));
  EXPECT_THAT(
      table,
      HasSubstr("cities/seoul/bureaus/policy-planning/records/"
                "fy2019-cb5c3ae744633793               2019  ソウル特別市  "
                "政策企画局                          大韓民国ソウル特別市\n"));

  // get: the record in full.
  Json record = QueryJson({"get",
                           "cities/seoul/bureaus/policy-planning/records/"
                           "fy2019-cb5c3ae744633793"});
  EXPECT_EQ(record["title"], "大韓民国ソウル特別市");
  EXPECT_EQ(record["department"], "外務部");
  EXPECT_EQ(record["source"]["row"], 4);
  EXPECT_EQ(record["source"]["fileName"], "tokyo-exchange-r1.tsv");
  std::string got = Query({"get",
                           "cities/seoul/bureaus/policy-planning/records/"
                           "fy2019-cb5c3ae744633793",
                           "-o", "table"});
  EXPECT_THAT(got, HasSubstr("title        大韓民国ソウル特別市\n"));
  EXPECT_THAT(got, HasSubstr("source       tokyo-exchange-r1.tsv:4\n"));

  // search: ranked results with snippets, and scoped.
  Json found = QueryJson({"search", "ソウル歴史博物館"});
  ASSERT_GE(found["results"].size(), 1u);
  EXPECT_THAT(found["results"][0]["snippet"].get<std::string>(),
              HasSubstr("«ソウル歴史博物館»"));
  EXPECT_EQ(QueryJson({"search", "Paris"})["totalSize"], 5);
  EXPECT_EQ(
      QueryJson({"search", "Paris", "--filter=bureau = 環境局"})["totalSize"],
      1);
  EXPECT_THAT(Query({"search", "RWC", "-o", "tsv"}),
              HasSubstr("NAME\tSCORE\tTITLE\tSNIPPET\n"));

  // summarize: by city and fiscal year unless told otherwise.
  Json summary = QueryJson({"summarize"});
  int records = 0;
  for (const Json& g : summary["groups"]) {
    EXPECT_EQ(g["keys"].size(), 2u);
    records += g["recordCount"].get<int>();
  }
  EXPECT_EQ(records, 36);

  // status: the replica at the head, and its digest.
  Json status = QueryJson({"status"});
  EXPECT_EQ(status["replicaStatus"]["appliedSequence"], "36");
  EXPECT_EQ(status["digest"]["recordCount"], "36");
  EXPECT_THAT(Query({"status", "-o", "table"}),
              HasSubstr("record_count      36\n"));
}

TEST_F(CliTest, AddressesComeFromTheEnvironment) {
  const std::vector<std::string> env = {
      "KOURYU_INGEST=" + pair_.ingest->address(),
      "KOURYU_QUERY=" + pair_.query->address()};
  CommandResult imported = Cli({"import", kPublished}, false, env);
  EXPECT_EQ(imported.exit_code, 0);
  CommandResult listed =
      Cli({"records", "--min_sequence=36", "-o", "json"}, false, env);
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_EQ(Json::parse(listed.out)["totalSize"], 36);
  CommandResult called =
      Cli({"-d", R"({"minSequence":"36"})", "kouryu.v1.QueryService/GetDigest"},
          false, env);
  ASSERT_EQ(called.exit_code, 0);
  EXPECT_EQ(Json::parse(called.out)["recordCount"], "36");
  CommandResult none = Cli({"records"}, true);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.out, HasSubstr("set $KOURYU_QUERY"));
}

TEST_F(CliTest, ImportSummaryProgressAndExitCodes) {
  // Not a terminal: plain progress lines, no control characters.
  CommandResult first = Cli(
      {pair_.ingest->address(), "import", kPublished, "--progress_interval=0s"},
      true);
  ASSERT_EQ(first.exit_code, 0) << first.out;
  EXPECT_THAT(first.out,
              HasSubstr("import " + kPublished + ": 1 of 36 rows sent (2%), "));
  EXPECT_THAT(first.out, HasSubstr("import " + kPublished +
                                   ": 36 of 36 rows sent (100%), "));
  EXPECT_THAT(
      first.out,
      HasSubstr(
          "imported " + kPublished +
          " (UTF-8, fiscal year 2019): 36 rows: "
          "36 created, 0 updated, 0 unchanged, 0 rejected; sequence 36 ("));
  EXPECT_EQ(first.out.find_first_of("\r\033"), std::string::npos);

  // A bad row: rejected with its line and field, the rest written, exit 3.
  std::string table = ReadFile(kPublished);
  size_t at = table.find("政策企画局外務部\t中華人民共和国北京市");
  ASSERT_NE(at, std::string::npos);
  table.replace(at, std::string("政策企画局").size(), "架空局");
  const std::string bad = root_ + "/bad.tsv";
  WriteFile(bad, table);
  CommandResult checked =
      Cli({"--validate_only", pair_.ingest->address(), "import", bad});
  EXPECT_EQ(checked.exit_code, 3);
  EXPECT_THAT(checked.out, Not(HasSubstr("imported")));
  EXPECT_THAT(checked.out,
              HasSubstr("nothing written: 0 would be created, 0 updated, "
                        "35 unchanged, 1 rejected"));
  EXPECT_THAT(checked.out,
              HasSubstr("  line 5: rejected: rows[5].department: "));
  CommandResult atomic =
      Cli({pair_.ingest->address(), "import", "--atomic", bad}, true);
  EXPECT_EQ(atomic.exit_code, 1);
  EXPECT_THAT(atomic.out, HasSubstr("ERROR: INVALID_ARGUMENT: "));
  EXPECT_THAT(atomic.out, HasSubstr("  reason: INVALID_ROWS (kouryu.v1)"));
  EXPECT_THAT(atomic.out,
              HasSubstr("\n  - rows[5].department: \"架空局外務部\""));
  CommandResult allowed = Cli({pair_.ingest->address(), "import",
                               "--allow_rejected", "-o", "json", bad});
  EXPECT_EQ(allowed.exit_code, 0);
  Json summary = Json::parse(allowed.out);
  EXPECT_EQ(summary["rejectedCount"], 1);
  EXPECT_EQ(summary["unchangedCount"], 35);
  EXPECT_EQ(summary["problems"][0]["line"], 5);
  EXPECT_EQ(summary["problems"][0]["field"], "rows[5].department");

  // The table's options: no header, own columns, the year given.
  const std::string plain = root_ + "/plain.csv";
  WriteFile(plain, "東京都とパリ市の港湾交流,②姉妹港交流,港湾局港湾経営部\n");
  CommandResult columns = Cli({pair_.ingest->address(), "import", "--no_header",
                               "--columns=title,category,department",
                               "--fiscal_year=2021", "-o", "json", plain});
  ASSERT_EQ(columns.exit_code, 0) << columns.out;
  EXPECT_EQ(Json::parse(columns.out)["createdCount"], 1);
  CommandResult no_year = Cli({pair_.ingest->address(), "import", "--no_header",
                               "--columns=title,category,department", plain},
                              true);
  EXPECT_EQ(no_year.exit_code, 1);
  EXPECT_THAT(no_year.out, HasSubstr("FISCAL_YEAR_UNKNOWN"));
  // CP932 read by the server's own reader, here.
  CommandResult cp932 =
      Cli({pair_.ingest->address(), "import", "--encoding=CP932", kPublished},
          true);
  EXPECT_EQ(cp932.exit_code, 1);
  EXPECT_THAT(cp932.out, HasSubstr("rows[3].column[1]"));
}

TEST_F(CliTest, MessagesAPersonCanActOn) {
  CommandResult help = Cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command :
       {"list", "describe", "get", "records", "search", "summarize", "cities",
        "bureaus", "status", "export", "import", "backup"}) {
    EXPECT_THAT(help.out, HasSubstr(absl::StrCat("\n  ", command, " ")));
  }
  CommandResult import_help = Cli({"help", "import"});
  EXPECT_EQ(import_help.exit_code, 0);
  for (const char* flag :
       {"--columns", "--no_header", "--encoding", "--fiscal_year", "--atomic",
        "--validate_only", "--strict"}) {
    EXPECT_THAT(import_help.out, HasSubstr(flag));
  }
  CommandResult json =
      Cli({"-d", "{\"parent\": \"cities/-\",\n \"pageSize\": x}",
           pair_.query->address(), "kouryu.v1.QueryService/ListRecords"},
          true);
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_THAT(json.out,
              HasSubstr("-d: invalid JSON at line 2, column 14 (byte 37)"));
  CommandResult missing =
      Cli({pair_.ingest->address(), "import", root_ + "/none.tsv"}, true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("none.tsv: No such file or directory"));
  CommandResult filter = Cli(
      {pair_.query->address(), "records", "--filter=city = Atlantis"}, true);
  EXPECT_EQ(filter.exit_code, 1);
  EXPECT_THAT(filter.out,
              HasSubstr("ERROR: INVALID_ARGUMENT: invalid filter: column 8"));
  EXPECT_THAT(filter.out, HasSubstr("  reason: INVALID_FILTER (kouryu.v1)"));
  EXPECT_THAT(filter.out, HasSubstr("\n  - filter: column 8: "));
  EXPECT_THAT(filter.out, Not(HasSubstr("@type")));
  CommandResult unknown = Cli({pair_.query->address(), "frobnicate"}, true);
  EXPECT_EQ(unknown.exit_code, 2);
  // TLS flags: parsed, and a file that cannot be read says why.
  CommandResult cacert = Cli(
      {"-cacert", root_ + "/ca.pem", pair_.query->address(), "status"}, true);
  EXPECT_EQ(cacert.exit_code, 2);
  EXPECT_THAT(cacert.out, HasSubstr("ca.pem: No such file or directory"));
  CommandResult both =
      Cli({"-plaintext", "-insecure", pair_.query->address(), "status"}, true);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_THAT(both.out, HasSubstr("-plaintext cannot be combined"));
  // TLS towards a plaintext server: the handshake fails, and says so.
  CommandResult tls = Cli({"-insecure", "-servername", "kouryu-query",
                           "--timeout=5s", pair_.query->address(), "status"},
                          true);
  EXPECT_EQ(tls.exit_code, 1);
  EXPECT_THAT(tls.out, HasSubstr("ERROR: UNAVAILABLE"));
}

// kouryu-ingest has no AdminService yet: backup says so clearly.
TEST_F(CliTest, BackupCreateListDelete) {
  // Without --backup_dir the server says so, for every action.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"backup", "list"},
        {"backup", "create"},
        {"backup", "delete", "1"}}) {
    std::vector<std::string> argv = {pair_.ingest->address()};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = Cli(argv, true);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.out, HasSubstr("ERROR: FAILED_PRECONDITION"));
    EXPECT_THAT(r.out, HasSubstr("reason: BACKUPS_DISABLED"));
  }
  EXPECT_EQ(Cli({pair_.ingest->address(), "backup", "delete"}).exit_code, 2);

  // With it: create two, list them, delete one.
  std::filesystem::create_directories(root_ + "/b");
  auto ingest = ServerProcess::Start(
      {KOURYU_INGEST_BIN, "--listen=127.0.0.1:0", "--data_dir=" + root_ + "/b/ingest",
       "--backup_dir=" + root_ + "/b/backups"});
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  const std::string address = (*ingest)->address();
  ASSERT_EQ(Cli({address, "import", kPublished}).exit_code, 0);
  CommandResult first = Cli({address, "backup", "create", "-o", "json"});
  ASSERT_EQ(first.exit_code, 0) << first.out;
  // Shaped as a list, like `backup list`: one backup, the new one.
  const Json backup = Json::parse(first.out)["backups"][0];
  EXPECT_EQ(backup["backupId"], 1);
  EXPECT_EQ(backup["sequence"], "36");
  EXPECT_EQ(backup["recordCount"], "36");
  ASSERT_EQ(Cli({address, "backup", "create"}).exit_code, 0);
  CommandResult listed = Cli({address, "backup", "list", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  EXPECT_EQ(Json::parse(listed.out)["backups"].size(), 2u) << listed.out;
  EXPECT_EQ(Cli({address, "backup", "delete", "1"}).exit_code, 0);
  listed = Cli({address, "backup", "list", "-o", "json"});
  const Json left = Json::parse(listed.out)["backups"];
  ASSERT_EQ(left.size(), 1u) << listed.out;
  EXPECT_EQ(left[0]["backupId"], 2);
  CommandResult gone = Cli({address, "backup", "delete", "1"}, true);
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.out, HasSubstr("NOT_FOUND"));
}

// Export, then import into an empty pair: the same names and content.
TEST_F(CliTest, ExportedTablesImportIntoTheSameRecords) {
  // The published table and a generated one of another year.
  const uint64_t published = ImportPublished(pair_);
  testing::TableGenerator generator({.seed = 11});
  const std::string generated = root_ + "/generated.tsv";
  WriteFile(generated, generator.Table(2021, 0, 10'000));
  CommandResult imported =
      Cli({pair_.ingest->address(), "import", "-o", "json", generated});
  ASSERT_EQ(imported.exit_code, 0);
  const uint64_t sequence =
      Json::parse(imported.out)["sequence"].get<uint64_t>();
  ASSERT_EQ(sequence, published + 10'000);
  const std::map<std::string, std::string> before = pair_.Etags(sequence);
  ASSERT_EQ(before.size(), 10'036u);

  // Several years need a filter or one file per year.
  CommandResult mixed = Cli({pair_.query->address(), "export"}, true);
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_THAT(mixed.out, HasSubstr("span fiscal years 2019, 2021"));
  const std::string out = root_ + "/export-{fiscal_year}.tsv";
  CommandResult exported =
      Cli({pair_.query->address(), "export", "--out=" + out,
           absl::StrCat("--min_sequence=", sequence)},
          true);
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  const std::string table2019 = ReadFile(root_ + "/export-2019.tsv");
  EXPECT_EQ(table2019.substr(0, table2019.find('\n')),
            "①分野\t②担当(関係)部所名\t③項目名\t④実績(R元年度)");
  // One year to standard output, as CSV, is the same table.
  CommandResult csv = Cli({pair_.query->address(), "export", "--format=csv",
                           "--filter=fiscal_year = 2019", "--min_sequence=36"});
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')),
            "①分野,②担当(関係)部所名,③項目名,④実績(R元年度)");
  const std::string csv_file = root_ + "/published.csv";
  WriteFile(csv_file, csv.out);

  other_ = Pair::Start(root_ + "/b");
  ASSERT_TRUE(other_.query != nullptr);
  CommandResult again =
      Cli({other_.ingest->address(), "import", "-o", "json",
           root_ + "/export-2019.tsv", root_ + "/export-2021.tsv"});
  ASSERT_EQ(again.exit_code, 0) << again.out;
  std::vector<std::string> summaries = absl::StrSplit(again.out, "}\n{");
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(other_.Etags(sequence), before);
  // The CSV export imports into the same records too (nothing changes).
  CommandResult from_csv =
      Cli({other_.ingest->address(), "import", "-o", "json", csv_file});
  ASSERT_EQ(from_csv.exit_code, 0) << from_csv.out;
  EXPECT_EQ(Json::parse(from_csv.out)["unchangedCount"], 36);
}

// 100k generated rows (57 MB) through one IngestRecords stream: exit 0,
// every row counted, and the replica holds them all.
TEST_F(CliTest, ImportsAHundredThousandRows) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "100k rows take minutes under AddressSanitizer: run in the "
                  "optimized build";
#endif
  testing::TableGenerator generator({.seed = 5});
  const std::string file = root_ + "/100k.tsv";
  WriteFile(file, generator.Table(2020, 0, 100'000));
  CommandResult r = Cli({pair_.ingest->address(), "import", file}, true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(": 100,000 of 100,000 rows sent (100%)"));
  EXPECT_THAT(r.out, HasSubstr("imported " + file +
                               " (UTF-8, fiscal year 2020): "
                               "100,000 rows: 100,000 created, 0 updated, 0 "
                               "unchanged, 0 rejected; sequence 100000 ("));
  CommandResult status = Cli({pair_.query->address(), "status", "-o", "json",
                              "--min_sequence=100000", "--timeout=120s"});
  ASSERT_EQ(status.exit_code, 0);
  EXPECT_EQ(Json::parse(status.out)["digest"]["recordCount"], "100000");
}

}  // namespace
}  // namespace kouryu
