// Writes the seed corpora of the RPC fuzz targets: valid serialized
// requests of every RPC, as the targets read them (rpc_harness.h), into
// <dir>/ingest_rpc/ and <dir>/query_rpc/ (files seed-<Method>-<n>).
// Names, tokens and IDs come from the real servers of rpc_env.h, so the
// seeds reach past the first checks.
//
//   rpc_seed_writer fuzz/corpus

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "fuzz/rpc_env.h"
#include "fuzz/rpc_harness.h"
#include "ingest-service/store.h"
#include "kouryu/v1/admin_service.pb.h"
#include "kouryu/v1/change_feed.pb.h"
#include "kouryu/v1/ingest_service.pb.h"
#include "kouryu/v1/query_service.pb.h"
#include "query-service/replica.h"

namespace kouryu::fuzz {
namespace {

class SeedWriter {
 public:
  SeedWriter(std::filesystem::path dir, std::vector<RpcMethod> methods)
      : dir_(std::move(dir)), methods_(std::move(methods)) {
    std::filesystem::create_directories(dir_);
  }

  size_t Index(const std::string& name) const {
    for (size_t i = 0; i < methods_.size(); ++i) {
      if (methods_[i].descriptor->name() == name) return i;
    }
    std::fprintf(stderr, "no method %s\n", name.c_str());
    std::exit(1);
  }
  const RpcMethod& Method(const std::string& name) const {
    return methods_[Index(name)];
  }

  void Write(const std::string& method,
             const std::vector<const google::protobuf::Message*>& requests) {
    std::vector<std::string> messages;
    for (const auto* r : requests) messages.push_back(r->SerializeAsString());
    const std::string bytes = EncodeInput(Index(method), messages, methods_);
    const std::string name = absl::StrCat("seed-", method, "-", ++count_[method]);
    std::ofstream(dir_ / name, std::ios::binary) << bytes;
  }
  void Write(const std::string& method, const google::protobuf::Message& request) {
    Write(method, std::vector<const google::protobuf::Message*>{&request});
  }

 private:
  std::filesystem::path dir_;
  std::vector<RpcMethod> methods_;
  std::map<std::string, int> count_;
};

// The lines of the published table from its header on (blank lines come
// first).
std::vector<std::string> TableLines() {
  std::vector<std::string> lines = absl::StrSplit(PublishedTable(), '\n');
  while (!lines.empty() && lines.front().empty()) lines.erase(lines.begin());
  return lines;
}

// Rows of the published table with short results, as RawRecords.
std::vector<v1::RawRecord> ShortRows() {
  std::vector<v1::RawRecord> rows;
  const std::vector<std::string> lines = TableLines();
  for (size_t i = 1; i < lines.size() && rows.size() < 4; ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], '\t');
    if (cells.size() != 4 || cells[3].size() > 600) continue;
    v1::RawRecord& raw = rows.emplace_back();
    raw.set_category(cells[0]);
    raw.set_department(cells[1]);
    raw.set_title(cells[2]);
    raw.set_results(cells[3]);
    raw.set_fiscal_year(2019);
  }
  return rows;
}

// The header and the first `rows` rows of the table whose results are
// short.
std::string TableSlice(const std::string& separator, int rows) {
  const std::vector<std::string> lines = TableLines();
  std::vector<std::string> out = {lines[0]};
  for (size_t i = 1; i < lines.size() && static_cast<int>(out.size()) <= rows; ++i) {
    if (lines[i].size() <= 400) out.push_back(lines[i]);
  }
  std::string text = absl::StrJoin(out, "\n");
  if (separator != "\t") text = absl::StrReplaceAll(text, {{"\t", separator}});
  return text + "\n";
}

void WriteIngestSeeds(const std::filesystem::path& dir) {
  IngestEnv env;
  SeedWriter w(dir, IngestEnv::Methods());
  const std::vector<v1::RawRecord> rows = ShortRows();

  for (const v1::RawRecord& row : rows) {
    v1::UpsertRecordRequest r;
    *r.mutable_record() = row;
    w.Write("UpsertRecord", r);
  }
  {
    v1::UpsertRecordRequest r;
    *r.mutable_record() = rows[0];
    r.mutable_record()->set_title("ロシア連邦モスクワ市");
    r.mutable_record()->set_fiscal_year(2020);
    r.set_validate_only(true);
    w.Write("UpsertRecord", r);
    r.set_validate_only(false);
    r.set_strict(true);
    r.mutable_record()->set_results("<p>【文化交流】</p><ul><li>5月10日から12日、代表団3名を派遣");
    w.Write("UpsertRecord", r);
    w.Write("UpsertRecord", v1::UpsertRecordRequest());
  }

  {
    std::vector<v1::IngestRecordsRequest> stream(rows.size());
    std::vector<const google::protobuf::Message*> ptrs;
    for (size_t i = 0; i < rows.size(); ++i) {
      *stream[i].mutable_record() = rows[i];
      stream[i].mutable_source()->set_row(static_cast<int32_t>(i + 2));
      ptrs.push_back(&stream[i]);
    }
    w.Write("IngestRecords", ptrs);
    stream[0].set_validate_only(true);
    stream[1].mutable_record()->clear_title();
    w.Write("IngestRecords", {&stream[0], &stream[1]});
    v1::IngestRecordsRequest strict;
    *strict.mutable_record() = rows[2];
    strict.set_strict(true);
    w.Write("IngestRecords", {&strict});
  }

  {
    v1::ImportTableRequest r;
    r.set_content(TableSlice("\t", 3));
    r.set_file_name("tokyo-exchange-r1.tsv");
    w.Write("ImportTable", r);
    r.set_content(TableSlice(",", 2));
    r.set_file_name("table.csv");
    r.set_atomic(true);
    w.Write("ImportTable", r);
    r.set_validate_only(true);
    r.set_fiscal_year(2021);
    r.set_encoding("utf-8");
    w.Write("ImportTable", r);
    v1::ImportTableRequest columns;
    std::string body = TableSlice("\t", 2);
    columns.set_content(body.substr(body.find('\n') + 1));
    columns.set_no_header(true);
    columns.set_fiscal_year(2019);
    for (const char* c : {"category", "department", "title", "results"}) {
      columns.add_columns(c);
    }
    columns.set_strict(true);
    w.Write("ImportTable", columns);
  }

  {
    auto snapshot = env.store().OpenSnapshot();
    std::vector<std::pair<std::string, std::string>> names;
    if (snapshot.ok()) {
      (void)(*snapshot)->ForEach([&](absl::string_view, v1::Record& record) {
        names.emplace_back(record.name(), record.etag());
        return names.size() < 3;
      });
    }
    for (size_t i = 0; i < names.size(); ++i) {
      v1::DeleteRecordRequest r;
      r.set_name(names[i].first);
      if (i == 1) r.set_etag(names[i].second);
      if (i == 2) r.set_etag("stale");
      w.Write("DeleteRecord", r);
    }
    v1::DeleteRecordRequest missing;
    missing.set_name("cities/seoul/bureaus/policy-planning/records/none");
    w.Write("DeleteRecord", missing);
  }

  {
    v1::SubscribeRequest r;
    r.set_until_head(true);
    w.Write("Subscribe", r);
    r.set_after_sequence(env.store().HeadSequence() - 1);
    r.set_history_id(env.store().history().id);
    w.Write("Subscribe", r);
    r.set_until_head(false);
    r.set_after_sequence(env.store().HeadSequence());
    w.Write("Subscribe", r);
    r.set_history_id("00000000000000000000000000000000");
    r.set_after_sequence(5);
    w.Write("Subscribe", r);
  }
  w.Write("GetDigest", v1::GetDigestRequest());
  w.Write("CreateBackup", v1::CreateBackupRequest());
  w.Write("ListBackups", v1::ListBackupsRequest());
  for (uint32_t id : {1u, 7u}) {
    v1::DeleteBackupRequest r;
    r.set_backup_id(id);
    w.Write("DeleteBackup", r);
  }
}

// The next_page_token the server answers to `request`.
template <typename Response>
std::string NextToken(QueryEnv& env, const RpcMethod& method,
                      const google::protobuf::Message& request) {
  RpcResult result =
      env.server().Call(method, {request.SerializeAsString()}, absl::Seconds(10));
  Response response;
  if (result.code != 0 || result.responses.size() != 1 ||
      !response.ParseFromString(result.responses[0])) {
    return "";
  }
  return response.next_page_token();
}

void WriteQuerySeeds(const std::filesystem::path& dir) {
  QueryEnv env;
  SeedWriter w(dir, QueryEnv::Methods());
  const uint64_t applied = env.replica().applied_sequence();

  // A few real names.
  std::vector<std::string> names;
  {
    v1::ListRecordsRequest r;
    r.set_parent("cities/-");
    r.set_page_size(3);
    RpcResult result = env.server().Call(w.Method("ListRecords"),
                                         {r.SerializeAsString()}, absl::Seconds(10));
    v1::ListRecordsResponse response;
    if (result.code == 0 && response.ParseFromString(result.responses.at(0))) {
      for (const v1::Record& record : response.records()) {
        names.push_back(record.name());
      }
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    v1::GetRecordRequest r;
    r.set_name(names[i]);
    if (i == 1) r.set_min_sequence(applied);
    w.Write("GetRecord", r);
  }
  {
    v1::GetRecordRequest r;
    r.set_name("cities/seoul/bureaus/-/records/x");
    w.Write("GetRecord", r);
  }

  const std::vector<std::pair<std::string, std::string>> lists = {
      {"cities/-", ""},
      {"cities/seoul", ""},
      {"cities/-/bureaus/policy-planning", "fiscal_year = 2019"},
      {"cities/unassigned", "category = SISTER_PORT_EXCHANGE OR city = パリ"},
      {"cities/-", "event_date >= 2019-06-01 AND event_date <= 2019-06-30"},
      {"cities/-", "NOT (bureau = 環境局) AND mentioned_city = seoul"},
  };
  const char* orders[] = {"", "fiscal_year desc", "title", "update_time asc",
                          "name desc", ""};
  for (size_t i = 0; i < lists.size(); ++i) {
    v1::ListRecordsRequest r;
    r.set_parent(lists[i].first);
    r.set_filter(lists[i].second);
    r.set_order_by(orders[i]);
    r.set_page_size(i == 0 ? 0 : 5);
    if (i == 4) r.set_view(v1::RECORD_VIEW_FULL);
    w.Write("ListRecords", r);
  }
  {
    v1::ListRecordsRequest r;
    r.set_parent("cities/-");
    r.set_page_size(4);
    r.set_page_token(
        NextToken<v1::ListRecordsResponse>(env, w.Method("ListRecords"), r));
    w.Write("ListRecords", r);
    r.set_order_by("title desc");
    r.set_page_token("");
    r.set_page_token(
        NextToken<v1::ListRecordsResponse>(env, w.Method("ListRecords"), r));
    w.Write("ListRecords", r);
  }

  for (const char* query : {"ソウル", "交流", "Seoul", "都政説明 4名"}) {
    v1::SearchRecordsRequest r;
    r.set_query(query);
    r.set_page_size(3);
    w.Write("SearchRecords", r);
  }
  {
    v1::SearchRecordsRequest r;
    r.set_query("交流");
    r.set_parent("cities/-/bureaus/policy-planning");
    r.set_filter("fiscal_year >= 2019");
    r.set_page_size(2);
    r.set_view(v1::RECORD_VIEW_FULL);
    r.set_page_token(
        NextToken<v1::SearchRecordsResponse>(env, w.Method("SearchRecords"), r));
    w.Write("SearchRecords", r);
  }

  {
    v1::ListCitiesRequest r;
    w.Write("ListCities", r);
    r.set_page_size(5);
    r.set_page_token(NextToken<v1::ListCitiesResponse>(env, w.Method("ListCities"), r));
    r.set_min_sequence(applied);
    w.Write("ListCities", r);
  }
  {
    v1::ListBureausRequest r;
    w.Write("ListBureaus", r);
    r.set_page_size(3);
    r.set_page_token(
        NextToken<v1::ListBureausResponse>(env, w.Method("ListBureaus"), r));
    w.Write("ListBureaus", r);
  }
  {
    v1::SummarizeRecordsRequest r;
    w.Write("SummarizeRecords", r);
    for (const char* g : {"city", "bureau", "fiscal_year", "category"}) {
      r.add_group_by(g);
      w.Write("SummarizeRecords", r);
    }
    r.clear_group_by();
    r.set_parent("cities/-/bureaus/policy-planning");
    r.set_filter("event_date >= 2019-10-01");
    r.add_group_by("category");
    w.Write("SummarizeRecords", r);
  }
  w.Write("GetReplicaStatus", v1::GetReplicaStatusRequest());
  {
    v1::GetDigestRequest r;
    w.Write("GetDigest", r);
    r.set_min_sequence(applied);
    w.Write("GetDigest", r);
  }
}

}  // namespace
}  // namespace kouryu::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  kouryu::fuzz::WriteIngestSeeds(dir / "ingest_rpc");
  kouryu::fuzz::WriteQuerySeeds(dir / "query_rpc");
  return 0;
}
