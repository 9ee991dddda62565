#include "cli/commands.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/errors.h"
#include "kouryu/v1/admin_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"

namespace kouryu::cli {
namespace {

using google::protobuf::util::TimeUtil;

std::unique_ptr<grpc::ClientContext> Context(const CallOptions& call) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + call.timeout));
  return context;
}

int Fail(const grpc::Status& status) {
  std::fprintf(stderr, "%s\n", FormatRpcError(status).c_str());
  return 1;
}

int Fail(const absl::Status& status) {
  PrintError(status);
  return 1;
}

absl::StatusOr<v1::RecordView> ParseView(const std::string& view) {
  std::string upper = absl::AsciiStrToUpper(view);
  if (absl::StartsWith(upper, "RECORD_VIEW_")) upper = upper.substr(12);
  if (upper.empty()) return v1::RECORD_VIEW_UNSPECIFIED;
  if (upper == "BASIC") return v1::RECORD_VIEW_BASIC;
  if (upper == "FULL") return v1::RECORD_VIEW_FULL;
  return absl::InvalidArgumentError(
      absl::StrCat("--view=", view, ": use basic or full"));
}

std::string CityName(const v1::City& city) {
  return city.name_ja().empty() ? city.id() : city.name_ja();
}

std::vector<std::string> RecordCells(const v1::Record& r) {
  return {r.name(), absl::StrCat(r.fiscal_year()), CityName(r.city()),
          r.bureau().name_ja(), r.title()};
}

const std::vector<std::string> kRecordColumns = {"NAME", "FY", "CITY", "BUREAU",
                                                 "TITLE"};

std::string Timestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? "" : TimeUtil::ToString(t);
}

// Under a table: where the next page starts.
void NotePaging(const CallOptions& call, const std::string& token, int total,
                int shown, absl::string_view noun) {
  if (call.format == Format::kJson) return;  // The JSON says it.
  std::string note = absl::StrCat("shown ", shown, " of ", total, " ", noun);
  if (!token.empty()) {
    absl::StrAppend(&note, "; next page: --page_token=", token, " (or --all)");
  }
  std::fprintf(stderr, "%s\n", note.c_str());
}

std::string JsonString(const std::string& s) {
  return nlohmann::json(s).dump();
}

}  // namespace

int RunGet(const std::shared_ptr<grpc::Channel>& channel,
           const std::string& name, const CallOptions& call) {
  auto stub = v1::QueryService::NewStub(channel);
  v1::GetRecordRequest request;
  request.set_name(name);
  request.set_min_sequence(call.min_sequence);
  v1::Record r;
  grpc::Status status = stub->GetRecord(Context(call).get(), request, &r);
  if (!status.ok()) return Fail(status);
  std::vector<std::string> mentioned;
  for (const v1::City& c : r.mentioned_cities()) mentioned.push_back(c.id());
  std::vector<std::string> events;
  for (const v1::Event& e : r.events()) {
    events.push_back(absl::StrFormat(
        "%04d-%02d-%02d%s %s", e.start_date().year(), e.start_date().month(),
        e.start_date().day(),
        e.participants() > 0 ? absl::StrCat(" (", e.participants(), "名)") : "",
        e.text()));
  }
  PrintObject(
      call.format, r,
      {{"name", r.name()},
       {"fiscal_year", absl::StrCat(r.fiscal_year())},
       {"category", r.category_label()},
       {"city", absl::StrCat(r.city().id(), " ", r.city().name_ja())},
       {"mentioned", absl::StrJoin(mentioned, ", ")},
       {"bureau", absl::StrCat(r.bureau().id(), " ", r.bureau().name_ja())},
       {"department", r.department()},
       {"title", r.title()},
       {"results", r.results_text()},
       {"events", absl::StrJoin(events, "\n")},
       {"source",
        r.source().file_name().empty()
            ? ""
            : absl::StrCat(r.source().file_name(), ":", r.source().row())},
       {"update_time", Timestamp(r.update_time())},
       {"etag", r.etag()}});
  return 0;
}

int RunRecords(const std::shared_ptr<grpc::Channel>& channel,
               const ListOptions& list, const CallOptions& call) {
  absl::StatusOr<v1::RecordView> view = ParseView(list.view);
  if (!view.ok()) return Fail(view.status());
  auto stub = v1::QueryService::NewStub(channel);
  v1::ListRecordsRequest request;
  request.set_parent(list.parent);
  request.set_filter(list.filter);
  request.set_order_by(list.order_by);
  request.set_view(*view);
  request.set_page_size(list.page_size);
  request.set_page_token(list.page_token);
  request.set_min_sequence(call.min_sequence);
  ListPrinter printer(call.format, "records", kRecordColumns);
  int total = 0;
  std::string next;
  do {
    v1::ListRecordsResponse response;
    grpc::Status status =
        stub->ListRecords(Context(call).get(), request, &response);
    if (!status.ok()) return Fail(status);
    for (const v1::Record& r : response.records())
      printer.Add(r, RecordCells(r));
    total = response.total_size();
    next = response.next_page_token();
    request.set_page_token(next);
  } while (list.all && !next.empty());
  printer.Finish({{"nextPageToken", JsonString(next)},
                  {"totalSize", absl::StrCat(total)}});
  NotePaging(call, next, total, printer.count(), "records");
  return 0;
}

int RunSearch(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& query, const ListOptions& list,
              const CallOptions& call) {
  absl::StatusOr<v1::RecordView> view = ParseView(list.view);
  if (!view.ok()) return Fail(view.status());
  auto stub = v1::QueryService::NewStub(channel);
  v1::SearchRecordsRequest request;
  request.set_query(query);
  if (list.parent != "cities/-") request.set_parent(list.parent);
  request.set_filter(list.filter);
  request.set_view(*view);
  request.set_page_size(list.page_size);
  request.set_page_token(list.page_token);
  request.set_min_sequence(call.min_sequence);
  ListPrinter printer(call.format, "results",
                      {"NAME", "SCORE", "TITLE", "SNIPPET"});
  int total = 0;
  bool estimated = false;
  std::string next;
  do {
    v1::SearchRecordsResponse response;
    grpc::Status status =
        stub->SearchRecords(Context(call).get(), request, &response);
    if (!status.ok()) return Fail(status);
    for (const v1::SearchResult& r : response.results()) {
      printer.Add(r, {r.record().name(), absl::StrCat(r.score()),
                      r.record().title(), r.snippet()});
    }
    total = response.total_size();
    estimated = response.total_size_estimated();
    next = response.next_page_token();
    request.set_page_token(next);
  } while (list.all && !next.empty());
  printer.Finish({{"nextPageToken", JsonString(next)},
                  {"totalSize", absl::StrCat(total)},
                  {"totalSizeEstimated", estimated ? "true" : "false"}});
  NotePaging(call, next, total, printer.count(),
             estimated ? "results (total estimated)" : "results");
  return 0;
}

int RunSummarize(const std::shared_ptr<grpc::Channel>& channel,
                 const ListOptions& list,
                 const std::vector<std::string>& group_by,
                 const CallOptions& call) {
  auto stub = v1::QueryService::NewStub(channel);
  v1::SummarizeRecordsRequest request;
  request.set_parent(list.parent);
  request.set_filter(list.filter);
  for (const std::string& g : group_by) request.add_group_by(g);
  request.set_min_sequence(call.min_sequence);
  v1::SummarizeRecordsResponse response;
  grpc::Status status =
      stub->SummarizeRecords(Context(call).get(), request, &response);
  if (!status.ok()) return Fail(status);
  std::vector<std::string> columns;
  for (const std::string& g : group_by)
    columns.push_back(absl::AsciiStrToUpper(g));
  columns.push_back("RECORDS");
  columns.push_back("PARTICIPANTS");
  ListPrinter printer(call.format, "groups", columns);
  for (const v1::SummaryGroup& group : response.groups()) {
    std::vector<std::string> cells(group.keys().begin(), group.keys().end());
    cells.resize(group_by.size());
    cells.push_back(absl::StrCat(group.record_count()));
    cells.push_back(absl::StrCat(group.participant_count()));
    printer.Add(group, std::move(cells));
  }
  printer.Finish({{"totalSize", absl::StrCat(response.total_size())}});
  return 0;
}

int RunCities(const std::shared_ptr<grpc::Channel>& channel,
              const CallOptions& call) {
  auto stub = v1::QueryService::NewStub(channel);
  v1::ListCitiesRequest request;
  request.set_min_sequence(call.min_sequence);
  ListPrinter printer(call.format, "cities",
                      {"ID", "NAME_JA", "NAME_EN", "COUNTRY", "RECORDS"});
  do {
    v1::ListCitiesResponse response;
    grpc::Status status =
        stub->ListCities(Context(call).get(), request, &response);
    if (!status.ok()) return Fail(status);
    for (const v1::CityCount& c : response.cities()) {
      printer.Add(c, {c.city().id(), c.city().name_ja(), c.city().name_en(),
                      c.city().country_code(), absl::StrCat(c.record_count())});
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  printer.Finish();
  return 0;
}

int RunBureaus(const std::shared_ptr<grpc::Channel>& channel,
               const CallOptions& call) {
  auto stub = v1::QueryService::NewStub(channel);
  v1::ListBureausRequest request;
  request.set_min_sequence(call.min_sequence);
  ListPrinter printer(call.format, "bureaus",
                      {"ID", "NAME_JA", "NAME_EN", "RECORDS"});
  do {
    v1::ListBureausResponse response;
    grpc::Status status =
        stub->ListBureaus(Context(call).get(), request, &response);
    if (!status.ok()) return Fail(status);
    for (const v1::BureauCount& b : response.bureaus()) {
      printer.Add(b, {b.bureau().id(), b.bureau().name_ja(),
                      b.bureau().name_en(), absl::StrCat(b.record_count())});
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  printer.Finish();
  return 0;
}

int RunStatus(const std::shared_ptr<grpc::Channel>& channel,
              const CallOptions& call) {
  auto stub = v1::QueryService::NewStub(channel);
  v1::ReplicaStatus replica;
  grpc::Status status = stub->GetReplicaStatus(
      Context(call).get(), v1::GetReplicaStatusRequest(), &replica);
  if (!status.ok()) return Fail(status);
  v1::GetDigestRequest digest_request;
  digest_request.set_min_sequence(
      std::max(call.min_sequence, replica.applied_sequence()));
  v1::Digest digest;
  status = stub->GetDigest(Context(call).get(), digest_request, &digest);
  if (!status.ok()) return Fail(status);
  if (call.format == Format::kJson || call.format == Format::kJsonl) {
    nlohmann::ordered_json json = {
        {"replicaStatus", nlohmann::json::parse(ToJson(replica, true))},
        {"digest", nlohmann::json::parse(ToJson(digest, true))}};
    std::printf("%s\n",
                json.dump(call.format == Format::kJson ? 2 : -1).c_str());
    return 0;
  }
  v1::ReplicaStatus unused;
  PrintObject(call.format, unused,
              {{"applied_sequence", absl::StrCat(replica.applied_sequence())},
               {"head_sequence", absl::StrCat(replica.head_sequence())},
               {"lag_sequences", absl::StrCat(replica.lag_sequences())},
               {"lag_seconds", absl::StrFormat("%.3f", replica.lag_seconds())},
               {"last_change_time", Timestamp(replica.last_change_time())},
               {"connected", replica.connected() ? "true" : "false"},
               {"caught_up_once", replica.caught_up_once() ? "true" : "false"},
               {"stalled", replica.stalled() ? "true" : "false"},
               {"last_error", replica.last_error()},
               {"digest_sequence", absl::StrCat(digest.sequence())},
               {"record_count", absl::StrCat(digest.record_count())},
               {"digest", digest.digest()}});
  return 0;
}

int RunBackup(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& action, uint32_t backup_id,
              const CallOptions& call) {
  auto stub = v1::AdminService::NewStub(channel);
  // A server without AdminService answers UNIMPLEMENTED with no message.
  auto Fail = [&action](const grpc::Status& status) -> int {
    if (status.error_code() != grpc::StatusCode::UNIMPLEMENTED) {
      return cli::Fail(status);
    }
    return cli::Fail(grpc::Status(
        status.error_code(),
        absl::StrCat(
            "the server does not offer kouryu.v1.AdminService (backup ", action,
            "): is it kouryu-ingest, and one with backups? ",
            status.error_message()),
        status.error_details()));
  };
  const std::vector<std::string> columns = {"ID", "SEQUENCE", "RECORDS",
                                            "BYTES", "CREATED"};
  auto cells = [](const v1::Backup& b) -> std::vector<std::string> {
    return {absl::StrCat(b.backup_id()), absl::StrCat(b.sequence()),
            absl::StrCat(b.record_count()), absl::StrCat(b.size_bytes()),
            Timestamp(b.create_time())};
  };
  if (action == "create") {
    v1::Backup backup;
    grpc::Status status = stub->CreateBackup(
        Context(call).get(), v1::CreateBackupRequest(), &backup);
    if (!status.ok()) return Fail(status);
    ListPrinter printer(call.format, "backups", columns);
    printer.Add(backup, cells(backup));
    printer.Finish();
    return 0;
  }
  if (action == "list") {
    v1::ListBackupsResponse response;
    grpc::Status status = stub->ListBackups(
        Context(call).get(), v1::ListBackupsRequest(), &response);
    if (!status.ok()) return Fail(status);
    ListPrinter printer(call.format, "backups", columns);
    for (const v1::Backup& b : response.backups()) printer.Add(b, cells(b));
    printer.Finish();
    return 0;
  }
  if (action == "delete") {
    v1::DeleteBackupRequest request;
    request.set_backup_id(backup_id);
    v1::DeleteBackupResponse response;
    grpc::Status status =
        stub->DeleteBackup(Context(call).get(), request, &response);
    if (!status.ok()) return Fail(status);
    std::fprintf(stderr, "deleted backup %u\n", backup_id);
    return 0;
  }
  return cli::Fail(absl::InvalidArgumentError(
      absl::StrCat("backup ", action,
                   ": use backup create, backup list or backup delete ID")));
}

}  // namespace kouryu::cli
