#include "bench/bench_run.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/ingest_load.h"
#include "bench/load.h"
#include "bench/postgres_floor.h"
#include "bench/report.h"
#include "bench/rocksdb_floor.h"
#include "bench/scenarios.h"
#include "bench/tcp_floor.h"
#include "common/status.h"
#include "tests/support/generator.h"
#include "tests/support/process.h"

namespace kouryu::bench {
namespace {

using testing::ServerProcess;

// The imported table's rows carry this fiscal year, which no generated
// row has of its own, so every imported row is a new record.
constexpr int kImportFiscalYear = 2030;
// Longest wait for a server to go idle after a bulk load (AwaitIdle).
constexpr absl::Duration kSettleLimit = absl::Seconds(120);
// How often to ask again while the replica catches up (each ask waits up
// to the server's own limit, 30 s).
constexpr int kCatchUpAsks = 60;

absl::Status CallFailed(absl::string_view what, const grpc::Status& status) {
  const absl::Status converted = FromGrpcStatus(status);
  return absl::Status(converted.code(),
                      absl::StrCat(what, ": ", converted.message()));
}

// The answers to a whole stream or table (a RowResult per row) outgrow
// gRPC's default 4 MiB; the servers accept 64 MiB.
grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  return args;
}

std::shared_ptr<grpc::Channel> Connect(const ServerProcess& server) {
  return grpc::CreateCustomChannel(server.address(),
                                   grpc::InsecureChannelCredentials(),
                                   ChannelArgs());
}

// `n` channels to `server`, each over a TCP connection of its own (channels
// with equal arguments otherwise share one connection through gRPC's global
// subchannel pool), for the scenarios with one call per connection.
std::vector<std::shared_ptr<grpc::Channel>> Connections(
    const ServerProcess& server, int n) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int k = 0; k < n; ++k) {
    grpc::ChannelArguments args = ChannelArgs();
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(
        server.address(), grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// The benchmark's state across its phases (see bench_run.h).
class Run {
 public:
  Run(const BenchOptions& options, std::string dir)
      : options_(options),
        dir_(std::move(dir)),
        generator_({.seed = options.seed}),
        next_row_(static_cast<uint64_t>(options.records)) {}

  absl::Status Floors();
  absl::Status Writes();
  absl::Status Queries();
  absl::Status Lag();
  absl::Status Durable();
  absl::Status Postgres();
  void Goals();
  void Stop();

  const Report& report() const { return report_; }

 private:
  LoadOptions Load(int concurrency, std::vector<pid_t> cpu_pids) const {
    return {.concurrency = concurrency,
            .warmup = options_.warmup,
            .duration = options_.duration,
            .cpu_pids = std::move(cpu_pids)};
  }
  // Adds a row to the report and says so on stderr, for progress.
  const Figures& Record(Figures figures, const Figures* floor = nullptr) {
    std::fprintf(stderr, "kouryu-bench: %s: %.0f/s, %lld failed",
                 Label(figures).c_str(), figures.qps(),
                 static_cast<long long>(ErrorTotal(figures.errors)));
    if (figures.cpu_us_per_op) {
      std::fprintf(stderr, ", %.1f µs CPU/op", *figures.cpu_us_per_op);
    }
    std::fprintf(stderr, "\n");
    return report_.Add(std::move(figures), floor);
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> StartIngest(
      const std::string& data_dir, bool sync);
  // Writes one more generated row; returns its sequence.
  absl::StatusOr<uint64_t> WriteOne();
  // Waits until the replica has applied `sequence`.
  absl::Status CatchUp(uint64_t sequence);
  // Writes every record the replica holds (FULL, as GetRecord answers) to
  // a PostgreSQL COPY file, and the replica's cities to city_parents_.
  absl::Status ExportRecords();
  // Waits until the server's health is SERVING (a replica turns SERVING
  // just after it first reaches the head).
  absl::Status AwaitServing(grpc::health::v1::Health::Stub& health);

  const BenchOptions& options_;
  const std::string dir_;
  const testing::TableGenerator generator_;
  // The next generated row to write: rows [0, records) are streamed in,
  // unary writes take the rows after them.
  std::atomic<uint64_t> next_row_;
  Report report_;

  // Floors.
  const Figures *tcp_1_ = nullptr, *tcp_n_ = nullptr;
  const Figures *rocksdb_batch_ = nullptr, *rocksdb_put_1_ = nullptr,
                *rocksdb_put_n_ = nullptr, *rocksdb_get_1_ = nullptr,
                *rocksdb_get_n_ = nullptr;
  std::map<int, const Figures*> rocksdb_sync_;
  const Figures *null_1_ = nullptr, *null_n_ = nullptr;
  // Scenarios the goals look at.
  const Figures *stream_ = nullptr, *following_ = nullptr, *get_1_ = nullptr,
                *get_n_ = nullptr, *list_full_n_ = nullptr, *lag_ = nullptr,
                *list_city_1_ = nullptr, *list_city_n_ = nullptr,
                *catch_up_ = nullptr, *get_conn_n_ = nullptr,
                *list_city_conn_n_ = nullptr;
  // PostgreSQL's rows, beside the scenarios they are compared with.
  const Figures *pg_get_1_ = nullptr, *pg_get_n_ = nullptr,
                *pg_page_1_ = nullptr, *pg_page_n_ = nullptr;
  PostgresTable pg_table_;
  std::map<int, const Figures*> durable_;

  std::unique_ptr<ServerProcess> ingest_, query_;
  std::unique_ptr<v1::IngestService::Stub> ingest_stub_;
  std::shared_ptr<grpc::Channel> query_channel_;
  std::unique_ptr<v1::QueryService::Stub> query_stub_;
  // Names of the streamed records, which GetRecord reads.
  std::vector<std::string> names_;
  // "cities/seoul", ...: every city of the replica's records (the parents of
  // the one-city ListRecords, PostgreSQL's page of one city).
  std::vector<std::string> city_parents_;
  uint64_t head_sequence_ = 0;
};

absl::Status Run::Floors() {
  const int n = options_.concurrency;
  const std::string tcp_name =
      absl::StrCat("TCP round trip, ", options_.tcp_message_bytes, " B");
  {
    auto echo = ServerProcess::Start(
        {options_.self_bin, "--tcp_echo_server",
         absl::StrCat("--tcp_message_bytes=", options_.tcp_message_bytes)});
    if (!echo.ok()) return echo.status();
    const std::string& address = (*echo)->address();
    const pid_t pid = (*echo)->pid();
    tcp_1_ = &Record(TcpRoundTrips(tcp_name, address,
                                   options_.tcp_message_bytes, Load(1, {pid})));
    tcp_n_ = &Record(TcpRoundTrips(tcp_name, address,
                                   options_.tcp_message_bytes, Load(n, {pid})));
    (*echo)->Kill();
  }

  const pid_t self = getpid();
  {
    // Synced writes in an empty database of their own, as the fresh
    // kouryu-ingest --sync they are the floor of.
    const std::string db_dir = dir_ + "/rocksdb-floor-sync";
    auto floor = RocksDbFloor::Create(db_dir, generator_, options_.records,
                                      /*fill=*/false);
    if (!floor.ok()) return floor.status();
    for (int writers : options_.sync_writers) {
      rocksdb_sync_[writers] =
          &Record((*floor)->Write("RocksDB write + fsync, 1 record/batch", 1,
                                  true, Load(writers, {self})));
    }
    floor->reset();
    std::filesystem::remove_all(db_dir);
  }

  const std::string db_dir = dir_ + "/rocksdb-floor";
  auto floor = RocksDbFloor::Create(db_dir, generator_, options_.records,
                                    /*fill=*/true);
  if (!floor.ok()) return floor.status();
  rocksdb_batch_ = &Record((*floor)->Write("RocksDB write, 512 records/batch",
                                           512, false, Load(1, {self})));
  rocksdb_put_1_ = &Record((*floor)->Write("RocksDB write, 1 record/batch", 1,
                                           false, Load(1, {self})));
  rocksdb_put_n_ = &Record((*floor)->Write("RocksDB write, 1 record/batch", 1,
                                           false, Load(n, {self})));
  rocksdb_get_1_ = &Record((*floor)->Read("RocksDB get", Load(1, {self})));
  rocksdb_get_n_ = &Record((*floor)->Read("RocksDB get", Load(n, {self})));
  floor->reset();
  std::filesystem::remove_all(db_dir);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServerProcess>> Run::StartIngest(
    const std::string& data_dir, bool sync) {
  std::vector<std::string> argv = {options_.ingest_bin, "--listen=127.0.0.1:0",
                                   "--data_dir=" + data_dir};
  if (sync) argv.push_back("--sync");
  return ServerProcess::Start(argv);
}

absl::Status Run::Writes() {
  auto ingest = StartIngest(dir_ + "/ingest", false);
  if (!ingest.ok()) return ingest.status();
  ingest_ = *std::move(ingest);
  ingest_stub_ = v1::IngestService::NewStub(Connect(*ingest_));
  const std::vector<pid_t> pids = {ingest_->pid()};

  // The stream loads the records the queries read later.
  std::vector<v1::IngestRecordsRequest> requests(options_.records);
  for (int64_t i = 0; i < options_.records; ++i) {
    *requests[i].mutable_record() = generator_.Row(static_cast<uint64_t>(i));
  }
  v1::IngestRecordsResponse streamed;
  Figures stream = StreamRecords(
      absl::StrCat("IngestRecords, one stream of ", options_.records, " rows"),
      *ingest_stub_, requests, pids, &streamed);
  requests.clear();
  if (stream.ops == 0) {
    return absl::UnavailableError(absl::StrCat(
        "the stream wrote nothing; failures: ", ErrorTotal(stream.errors)));
  }
  // The stream's flushes and compactions are not the next rows' cost.
  stream.note = absl::StrCat("then ", AwaitIdle(pids, kSettleLimit));
  stream_ = &Record(std::move(stream), rocksdb_batch_);
  for (const v1::RowResult& row : streamed.results()) {
    if (!row.name().empty()) names_.push_back(row.name());
  }

  AsyncCall upsert = UpsertRecords(*ingest_stub_, generator_, &next_row_);
  Record(RunLoad("UpsertRecord", Load(1, pids), upsert), rocksdb_put_1_);
  Record(RunLoad("UpsertRecord", Load(options_.concurrency, pids), upsert),
         rocksdb_put_n_);

  const std::string table = generator_.Table(
      kImportFiscalYear, 0, static_cast<uint64_t>(options_.import_rows));
  Record(ImportTable(absl::StrCat("ImportTable, ", options_.import_rows,
                                  " rows (", table.size() >> 20, " MiB)"),
                     *ingest_stub_, table, pids),
         rocksdb_batch_);

  absl::StatusOr<uint64_t> head = WriteOne();
  if (!head.ok()) return head.status();
  head_sequence_ = *head;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Run::WriteOne() {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
  v1::UpsertRecordRequest request;
  *request.mutable_record() = generator_.Row(next_row_++);
  v1::UpsertRecordResponse response;
  grpc::Status status =
      ingest_stub_->UpsertRecord(&context, request, &response);
  if (!status.ok()) return CallFailed("UpsertRecord", status);
  return response.sequence();
}

absl::Status Run::CatchUp(uint64_t sequence) {
  for (int ask = 0; ask < kCatchUpAsks; ++ask) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
    v1::ListRecordsRequest request;
    request.set_parent("cities/-");
    request.set_page_size(1);
    request.set_min_sequence(sequence);
    v1::ListRecordsResponse response;
    grpc::Status status =
        query_stub_->ListRecords(&context, request, &response);
    if (status.ok()) return absl::OkStatus();
    if (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return CallFailed("waiting for the replica", status);
    }
  }
  return absl::DeadlineExceededError("the replica did not catch up");
}

absl::Status Run::ExportRecords() {
  pg_table_ = {.copy_file = dir_ + "/postgres.copy"};
  std::ofstream copy(pg_table_.copy_file, std::ios::binary);
  std::map<std::string, int> cities;
  v1::ListRecordsRequest request;
  request.set_parent("cities/-");
  request.set_view(v1::RECORD_VIEW_FULL);
  request.set_page_size(1000);
  std::string rows;
  do {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
    v1::ListRecordsResponse response;
    grpc::Status status =
        query_stub_->ListRecords(&context, request, &response);
    if (!status.ok()) return CallFailed("exporting the records", status);
    rows.clear();
    for (const v1::Record& record : response.records()) {
      // "cities/seoul/bureaus/.../records/..." → "cities/seoul".
      const std::string city =
          record.name().substr(0, record.name().find('/', sizeof("cities")));
      const int number =
          cities.emplace(city, static_cast<int>(cities.size())).first->second;
      AppendCopyRow(pg_table_.records++, number, record.name(),
                    record.SerializeAsString(), rows);
    }
    copy << rows;
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  copy.close();
  if (!copy) return absl::DataLossError("cannot write " + pg_table_.copy_file);
  pg_table_.cities = static_cast<int>(cities.size());
  city_parents_.assign(cities.size(), "");
  for (const auto& [city, number] : cities) city_parents_[number] = city;
  return absl::OkStatus();
}

absl::Status Run::AwaitServing(grpc::health::v1::Health::Stub& health) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallTimeout));
  auto reader = health.Watch(&context, grpc::health::v1::HealthCheckRequest());
  grpc::health::v1::HealthCheckResponse response;
  while (reader->Read(&response)) {
    if (response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      context.TryCancel();
      reader->Finish();
      return absl::OkStatus();
    }
  }
  return CallFailed("watching the replica's health", reader->Finish());
}

absl::Status Run::Queries() {
  // A new replica copies the whole changelog: its apply rate.
  const Clock::time_point start = Clock::now();
  auto query = ServerProcess::Start({options_.query_bin, "--listen=127.0.0.1:0",
                                     "--data_dir=" + dir_ + "/query",
                                     "--ingest=" + ingest_->address()});
  if (!query.ok()) return query.status();
  query_ = *std::move(query);
  query_channel_ = Connect(*query_);
  query_stub_ = v1::QueryService::NewStub(query_channel_);
  auto health = grpc::health::v1::Health::NewStub(query_channel_);
  if (absl::Status caught_up = CatchUp(head_sequence_); !caught_up.ok()) {
    return caught_up;
  }
  const int64_t cpu = ProcessCpuMicros(query_->pid());
  Figures catch_up{
      .name = absl::StrCat("replica catch-up, ", head_sequence_, " changes"),
      .ops = static_cast<int64_t>(head_sequence_),
      .seconds = std::chrono::duration<double>(Clock::now() - start).count(),
      .note = "from the query server's start to its applying the head"};
  if (cpu >= 0 && head_sequence_ > 0) {
    catch_up.cpu_us_per_op = static_cast<double>(cpu) / head_sequence_;
  }
  if (absl::Status serving = AwaitServing(*health); !serving.ok())
    return serving;
  // Reads are measured on a settled replica: the compactions that the
  // catch-up leaves behind are its cost, not theirs.
  catch_up.note = absl::StrCat(catch_up.note, "; then ",
                               AwaitIdle({query_->pid()}, kSettleLimit));
  catch_up_ = &Record(std::move(catch_up));

  const std::vector<pid_t> pids = {query_->pid()};
  const int n = options_.concurrency;
  AsyncCall null_rpc = NullRpc(*health);
  const std::string null_name = "null RPC (Health/Check)";
  null_1_ = &Record(RunLoad(null_name, Load(1, pids), null_rpc), tcp_1_);
  null_n_ = &Record(RunLoad(null_name, Load(n, pids), null_rpc), tcp_n_);

  AsyncCall get = GetRecords(query_channel_, names_);
  get_1_ = &Record(RunLoad("GetRecord", Load(1, pids), get), null_1_);
  report_.Compare(*get_1_, *rocksdb_get_1_);
  get_n_ = &Record(RunLoad("GetRecord", Load(n, pids), get), null_n_);
  report_.Compare(*get_n_, *rocksdb_get_n_);

  const int page = options_.page_size;
  AsyncCall basic = ListRecords(query_channel_, v1::RECORD_VIEW_BASIC, page);
  const std::string basic_name = absl::StrCat("ListRecords ", page, " BASIC");
  Record(RunLoad(basic_name, Load(1, pids), basic), null_1_);
  Record(RunLoad(basic_name, Load(n, pids), basic), null_n_);
  AsyncCall full = ListRecords(query_channel_, v1::RECORD_VIEW_FULL, page);
  const std::string full_name = absl::StrCat("ListRecords ", page, " FULL");
  Record(RunLoad(full_name, Load(1, pids), full), null_1_);
  list_full_n_ = &Record(RunLoad(full_name, Load(n, pids), full), null_n_);
  if (absl::Status exported = ExportRecords(); !exported.ok()) return exported;
  AsyncCall city = ListRecords(query_channel_, v1::RECORD_VIEW_FULL, page,
                               city_parents_);
  const std::string city_name = absl::StrCat(full_name, ", one city");
  list_city_1_ = &Record(RunLoad(city_name, Load(1, pids), city), null_1_);
  list_city_n_ = &Record(RunLoad(city_name, Load(n, pids), city), null_n_);
  // The two reads compared with PostgreSQL once more, with one call per
  // connection as pgbench drives it (above, all calls share one channel).
  std::vector<AsyncCall> gets, pages;
  for (const auto& channel : Connections(*query_, n)) {
    gets.push_back(GetRecords(channel, names_));
    pages.push_back(
        ListRecords(channel, v1::RECORD_VIEW_FULL, page, city_parents_));
  }
  const std::string per_connection = ", a connection per call";
  get_conn_n_ = &Record(RunLoad(absl::StrCat("GetRecord", per_connection),
                                Load(n, pids), PerSlot(std::move(gets))),
                        null_n_);
  list_city_conn_n_ =
      &Record(RunLoad(absl::StrCat(city_name, per_connection), Load(n, pids),
                      PerSlot(std::move(pages))),
              null_n_);
  AsyncCall search = SearchRecords(*query_stub_, page);
  const std::string search_name = absl::StrCat("SearchRecords ", page);
  Record(RunLoad(search_name, Load(1, pids), search), null_1_);
  Record(RunLoad(search_name, Load(n, pids), search), null_n_);
  return absl::OkStatus();
}

absl::Status Run::Lag() {
  // The most the pair sustains: UpsertRecord with the replica following
  // (and sharing the machine). Then, once the replica has caught up again,
  // half of that.
  const std::vector<pid_t> pids = {ingest_->pid(), query_->pid()};
  Figures following = RunLoad(
      "UpsertRecord, replica following", Load(options_.concurrency, pids),
      UpsertRecords(*ingest_stub_, generator_, &next_row_));
  following.note = "CPU of both servers per write";
  following_ = &Record(std::move(following), rocksdb_put_n_);
  absl::StatusOr<uint64_t> head = WriteOne();
  if (!head.ok()) return head.status();
  if (absl::Status caught_up = CatchUp(*head); !caught_up.ok()) {
    return caught_up;
  }
  const double rate = options_.lag_writes_per_second > 0
                          ? options_.lag_writes_per_second
                          : std::max(1.0, following_->qps() / 2);
  lag_ = &Record(ReplicationLag(
      "replication lag (UpsertRecord → GetRecord at its sequence)",
      *ingest_stub_, *query_stub_, generator_,
      {.writes_per_second = rate,
       .warmup = options_.warmup,
       .duration = options_.duration,
       .next_row = &next_row_,
       .cpu_pids = pids}));
  return absl::OkStatus();
}

absl::Status Run::Postgres() {
  if (options_.postgres_bin_dir.empty() || pg_table_.records == 0) {
    return absl::OkStatus();
  }
  auto floor = PostgresFloor::Start(options_.postgres_bin_dir, pg_table_);
  // Loaded (or not): the COPY file, twice the records' bytes, goes.
  std::filesystem::remove(pg_table_.copy_file);
  if (!floor.ok()) {
    // The comparison is missing, the rest of the report stands.
    std::fprintf(stderr, "kouryu-bench: no PostgreSQL rows: %s\n",
                 std::string(floor.status().message()).c_str());
    return absl::OkStatus();
  }
  const int n = options_.concurrency;
  const std::string get_name = absl::StrCat(
      "PostgreSQL point get (", pg_table_.records, " rows)");
  pg_get_1_ = &Record((*floor)->PointGets(get_name, Load(1, {})));
  pg_get_n_ = &Record((*floor)->PointGets(get_name, Load(n, {})));
  const std::string page_name =
      absl::StrCat("PostgreSQL page of ", options_.page_size, ", one city");
  pg_page_1_ =
      &Record((*floor)->Pages(page_name, options_.page_size, Load(1, {})));
  pg_page_n_ =
      &Record((*floor)->Pages(page_name, options_.page_size, Load(n, {})));
  if (get_1_) report_.Compare(*get_1_, *pg_get_1_);
  if (get_n_) report_.Compare(*get_n_, *pg_get_n_);
  if (list_city_1_) report_.Compare(*list_city_1_, *pg_page_1_);
  if (list_city_n_) report_.Compare(*list_city_n_, *pg_page_n_);
  if (get_conn_n_) report_.Compare(*get_conn_n_, *pg_get_n_);
  if (list_city_conn_n_) report_.Compare(*list_city_conn_n_, *pg_page_n_);
  return absl::OkStatus();
}

void Run::Stop() {
  query_stub_.reset();
  query_channel_.reset();
  if (query_) query_->Terminate();
  query_.reset();
  ingest_stub_.reset();
  if (ingest_) ingest_->Terminate();
  ingest_.reset();
}

absl::Status Run::Durable() {
  auto ingest = StartIngest(dir_ + "/ingest-sync", true);
  if (!ingest.ok()) return ingest.status();
  auto stub = v1::IngestService::NewStub(Connect(**ingest));
  AsyncCall upsert = UpsertRecords(*stub, generator_, &next_row_);
  for (int writers : options_.sync_writers) {
    durable_[writers] =
        &Record(RunLoad("UpsertRecord, --sync",
                        Load(writers, {(*ingest)->pid()}), upsert),
                rocksdb_sync_[writers]);
  }
  stub.reset();
  (*ingest)->Terminate();
  return absl::OkStatus();
}

// "0.91 (12345 / 13500)", or why there is no figure.
std::string RatioText(double value, double floor) {
  return absl::StrFormat("%.2f (%.0f / %.0f)", floor > 0 ? value / floor : 0,
                         value, floor);
}

std::string WithErrors(std::string text, const Figures& f) {
  const int64_t errors = ErrorTotal(f.errors);
  if (errors > 0) absl::StrAppend(&text, "; ", errors, " failed");
  return text;
}

void Run::Goals() {
  const std::string lag_goal = absl::StrCat(
      "replication lag p99 ≤ 50 ms at ",
      options_.lag_writes_per_second > 0
          ? absl::StrCat(options_.lag_writes_per_second, " writes/s")
          : "half the UpsertRecord rate with the replica following");
  const std::string n = absl::StrCat("×", options_.concurrency);
  auto ratio_goal = [&](std::string goal, const Figures* f,
                        const Figures* floor, double at_least) {
    if (f == nullptr || floor == nullptr) {
      report_.AddGoal(std::move(goal), "not measured", false);
      return;
    }
    const double ratio = floor->qps() > 0 ? f->qps() / floor->qps() : 0;
    report_.AddGoal(std::move(goal),
                    WithErrors(RatioText(f->qps(), floor->qps()), *f),
                    ratio >= at_least && ErrorTotal(f->errors) == 0);
  };
  ratio_goal(absl::StrCat("GetRecord QPS ≥ 0.85 × null-RPC QPS (", n, ")"),
             get_n_, null_n_, 0.85);
  if (get_1_ && null_1_ && get_1_->p50_us && null_1_->p50_us) {
    const double over = *get_1_->p50_us - *null_1_->p50_us;
    report_.AddGoal(
        "GetRecord p50 ≤ null-RPC p50 + 20 µs (×1)",
        WithErrors(absl::StrFormat("+%.1f µs (%.1f vs %.1f)", over,
                                   *get_1_->p50_us, *null_1_->p50_us),
                   *get_1_),
        over <= 20 && ErrorTotal(get_1_->errors) == 0);
  } else {
    report_.AddGoal("GetRecord p50 ≤ null-RPC p50 + 20 µs (×1)", "not measured",
                    false);
  }
  ratio_goal(absl::StrCat("ListRecords (", options_.page_size,
                          ", FULL) QPS ≥ 0.5 × null-RPC QPS (", n, ")"),
             list_full_n_, null_n_, 0.5);
  ratio_goal(absl::StrCat("GetRecord QPS ≥ 1.0 × PostgreSQL point get (", n,
                          ")"),
             get_n_, pg_get_n_, 1.0);
  ratio_goal(absl::StrCat("ListRecords (", options_.page_size,
                          ", FULL, one city) QPS ≥ 1.0 × PostgreSQL page (",
                          n, ")"),
             list_city_n_, pg_page_n_, 1.0);
  ratio_goal(absl::StrCat("GetRecord, a connection per call, QPS ≥ 1.0 × "
                          "PostgreSQL point get (", n, ")"),
             get_conn_n_, pg_get_n_, 1.0);
  ratio_goal(absl::StrCat("ListRecords (", options_.page_size,
                          ", FULL, one city), a connection per call, QPS ≥ "
                          "1.0 × PostgreSQL page (", n, ")"),
             list_city_conn_n_, pg_page_n_, 1.0);
  for (const Figures* f : {get_n_, list_full_n_, list_city_n_, get_conn_n_,
                           list_city_conn_n_}) {
    const std::string goal =
        absl::StrCat("load generator CPU per call < server's: ",
                     f ? Label(*f) : "a read scenario");
    if (f == nullptr || !f->cpu_us_per_op || !f->client_cpu_us_per_op) {
      report_.AddGoal(goal, "not measured", false);
      continue;
    }
    report_.AddGoal(goal,
                    absl::StrFormat("%.1f µs vs %.1f µs",
                                    *f->client_cpu_us_per_op, *f->cpu_us_per_op),
                    *f->client_cpu_us_per_op < *f->cpu_us_per_op);
  }
  if (catch_up_ != nullptr) {
    report_.AddGoal("replica catch-up ≥ 30,000 changes/s",
                    absl::StrFormat("%.0f changes/s", catch_up_->qps()),
                    catch_up_->qps() >= 30'000);
  } else {
    report_.AddGoal("replica catch-up ≥ 30,000 changes/s", "not measured",
                    false);
  }
  ratio_goal("streamed ingest rows/s ≥ 0.6 × RocksDB write rate (512/batch)",
             stream_, rocksdb_batch_, 0.6);
  ratio_goal(
      "durable ingest, 16 writers ≥ 0.8 × RocksDB fsynced writes, 16 threads",
      durable_.count(16) ? durable_[16] : nullptr,
      rocksdb_sync_.count(16) ? rocksdb_sync_[16] : nullptr, 0.8);
  if (lag_ != nullptr && lag_->p99_us) {
    report_.AddGoal(
        lag_goal,
        WithErrors(absl::StrFormat("%.1f ms", *lag_->p99_us / 1000), *lag_),
        *lag_->p99_us <= 50'000 && ErrorTotal(lag_->errors) == 0);
  } else {
    report_.AddGoal(lag_goal, "not measured", false);
  }
}

}  // namespace

absl::Status RunBench(const BenchOptions& options, std::FILE* out) {
  std::fprintf(out,
               "## kouryu-bench\n\n%s- run: --records=%lld --import_rows=%lld "
               "--seconds=%.1f --warmup_seconds=%.1f --concurrency=%d\n\n",
               DescribeMachine().c_str(),
               static_cast<long long>(options.records),
               static_cast<long long>(options.import_rows),
               absl::ToDoubleSeconds(options.duration),
               absl::ToDoubleSeconds(options.warmup), options.concurrency);
  std::fflush(out);

  const std::string dir = testing::MakeTempDir();
  absl::Status status;
  {
    Run run(options, dir);
    status = run.Floors();
    if (status.ok()) status = run.Writes();
    if (status.ok()) status = run.Queries();
    if (status.ok()) status = run.Lag();
    run.Stop();
    if (status.ok()) status = run.Durable();
    if (status.ok()) status = run.Postgres();
    run.Goals();
    run.report().Print(out);
  }
  std::filesystem::remove_all(dir);
  return status;
}

}  // namespace kouryu::bench
