#include "common/metrics.h"

#include <google/protobuf/descriptor.h>

#include <dirent.h>
#include <grpcpp/support/server_interceptor.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <rocksdb/db.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc_method.h"

ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT serving Prometheus metrics at /metrics (plaintext "
          "HTTP); port 0 picks a free port; empty: no metrics endpoint");

namespace kouryu {

// go-grpc-prometheus's server metrics, and per method the metrics of each
// label set, looked up once.
class GrpcServerMetrics {
 public:
  struct Method {
    prometheus::Counter* started;
    prometheus::Counter* received;
    prometheus::Counter* sent;
    prometheus::Histogram* seconds;
    prometheus::Labels labels;
    // By grpc::StatusCode (0 to 16), made on first use.
    std::array<std::atomic<prometheus::Counter*>, 17> handled{};
  };

  explicit GrpcServerMetrics(prometheus::Registry& registry)
      : started_(prometheus::BuildCounter()
                     .Name("grpc_server_started_total")
                     .Help("Total number of RPCs started on the server.")
                     .Register(registry)),
        handled_(prometheus::BuildCounter()
                     .Name("grpc_server_handled_total")
                     .Help("Total number of RPCs completed on the server, "
                           "regardless of success or failure.")
                     .Register(registry)),
        received_(prometheus::BuildCounter()
                      .Name("grpc_server_msg_received_total")
                      .Help("Total number of RPC stream messages received on "
                            "the server.")
                      .Register(registry)),
        sent_(prometheus::BuildCounter()
                  .Name("grpc_server_msg_sent_total")
                  .Help("Total number of gRPC stream messages sent by the "
                        "server.")
                  .Register(registry)),
        seconds_(prometheus::BuildHistogram()
                     .Name("grpc_server_handling_seconds")
                     .Help("Histogram of response latency (seconds) of gRPC "
                           "that had been application-level handled by the "
                           "server.")
                     .Register(registry)) {}

  Method& For(const char* path, grpc::experimental::ServerRpcInfo::Type type) {
    absl::MutexLock lock(&mutex_);
    std::unique_ptr<Method>& method = methods_[path];
    if (method == nullptr) {
      const RpcMethod name = SplitRpcMethod(path);
      method = std::make_unique<Method>();
      method->labels = {{"grpc_type", TypeName(type)},
                        {"grpc_service", name.service},
                        {"grpc_method", name.method}};
      method->started = &started_.Add(method->labels);
      method->received = &received_.Add(method->labels);
      method->sent = &sent_.Add(method->labels);
      // Prometheus's default buckets, as go-grpc-prometheus uses.
      method->seconds = &seconds_.Add(
          method->labels, prometheus::Histogram::BucketBoundaries{
                              .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10});
    }
    return *method;
  }

  prometheus::Counter& Handled(Method& method, grpc::StatusCode code) {
    const int index = code >= 0 && code <= 16 ? code : 2;  // UNKNOWN
    prometheus::Counter* counter = method.handled[index].load();
    if (counter != nullptr) return *counter;
    absl::MutexLock lock(&mutex_);
    prometheus::Labels labels = method.labels;
    labels["grpc_code"] = CodeName(index);
    counter = &handled_.Add(labels);
    method.handled[index].store(counter);
    return *counter;
  }

 private:
  static const char* TypeName(grpc::experimental::ServerRpcInfo::Type type) {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    switch (type) {
      case Type::UNARY: return "unary";
      case Type::CLIENT_STREAMING: return "client_stream";
      case Type::SERVER_STREAMING: return "server_stream";
      case Type::BIDI_STREAMING: return "bidi_stream";
    }
    return "unary";
  }

  // Go's codes.Code.String(), which go-grpc-prometheus puts in grpc_code.
  static const char* CodeName(int code) {
    static constexpr const char* kNames[] = {
        "OK",           "Canceled",          "Unknown",
        "InvalidArgument", "DeadlineExceeded", "NotFound",
        "AlreadyExists", "PermissionDenied", "ResourceExhausted",
        "FailedPrecondition", "Aborted",     "OutOfRange",
        "Unimplemented", "Internal",         "Unavailable",
        "DataLoss",     "Unauthenticated"};
    return kNames[code];
  }

  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_
      ABSL_GUARDED_BY(mutex_);
};

namespace {

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics& metrics,
                     grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics),
        method_(metrics.For(info->method(), info->type())),
        start_(std::chrono::steady_clock::now()) {
    method_.started->Increment();
  }

  // A call that ends without sending a status was cancelled.
  ~MetricsInterceptor() override {
    if (!handled_) Handle(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    // A null message is the end of the client's stream, or one that did
    // not parse.
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      method_.received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      method_.sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS) &&
        !handled_) {
      Handle(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Handle(grpc::StatusCode code) {
    handled_ = true;
    metrics_.Handled(method_, code).Increment();
    method_.seconds->Observe(std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start_)
                                 .count());
  }

  GrpcServerMetrics& metrics_;
  GrpcServerMetrics::Method& method_;
  const std::chrono::steady_clock::time_point start_;
  bool handled_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(std::shared_ptr<GrpcServerMetrics> metrics)
      : metrics_(std::move(metrics)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(*metrics_, info);
  }

 private:
  std::shared_ptr<GrpcServerMetrics> metrics_;
};

class Collector final : public prometheus::Collectable {
 public:
  explicit Collector(std::function<std::vector<prometheus::MetricFamily>()> collect)
      : collect_(std::move(collect)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return collect_();
  }

 private:
  std::function<std::vector<prometheus::MetricFamily>()> collect_;
};

prometheus::MetricFamily Family(
    prometheus::MetricType type, std::string name, std::string help,
    std::vector<std::pair<prometheus::Labels, double>> samples) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  for (auto& [labels, value] : samples) {
    prometheus::ClientMetric metric;
    for (const auto& [label, label_value] : labels) {
      metric.label.push_back({label, label_value});
    }
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
  }
  return family;
}

// The host part of HOST:PORT ("[::1]:0" -> "[::1]").
std::string HostOf(const std::string& listen) {
  size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

// Fields of /proc/self/stat after the command name.
std::vector<std::string> ProcStat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  return absl::StrSplit(line.substr(close + 2), ' ');
}

double OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // The directory stream's own descriptor.
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      grpc_(std::make_shared<GrpcServerMetrics>(*registry_)) {}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Serve(const std::string& listen) {
  auto metrics = std::make_unique<Metrics>();
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on --metrics_listen=", listen, ": ", e.what()));
  }
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  if (ports.empty() || ports.front() == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on --metrics_listen=", listen));
  }
  metrics->address_ = absl::StrCat(HostOf(listen), ":", ports.front());
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  return metrics;
}

Metrics::~Metrics() { exposer_.reset(); }

void Metrics::AddCollector(
    std::function<std::vector<prometheus::MetricFamily>()> collect) {
  auto collector = std::make_shared<Collector>(std::move(collect));
  collectors_.push_back(collector);
  if (exposer_ != nullptr) exposer_->RegisterCollectable(collector);
}

void Metrics::CountRefused(const std::string& path, grpc::StatusCode code) {
  using Type = grpc::experimental::ServerRpcInfo::Type;
  const RpcMethod name = SplitRpcMethod(path);
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrCat(name.service, ".", name.method));
  // The path is the client's: a method no descriptor knows is not counted
  // (as the interceptor never sees unknown methods), so that made-up paths
  // cannot add series without end.
  if (method == nullptr) return;
  const Type type = method->client_streaming()
                        ? (method->server_streaming() ? Type::BIDI_STREAMING
                                                      : Type::CLIENT_STREAMING)
                        : (method->server_streaming() ? Type::SERVER_STREAMING
                                                      : Type::UNARY);
  GrpcServerMetrics::Method& counted = grpc_->For(path.c_str(), type);
  counted.started->Increment();
  grpc_->Handled(counted, code).Increment();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::ServerInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(grpc_);
}

prometheus::MetricFamily GaugeFamily(
    std::string name, std::string help,
    std::vector<std::pair<prometheus::Labels, double>> samples) {
  return Family(prometheus::MetricType::Gauge, std::move(name), std::move(help),
                std::move(samples));
}

prometheus::MetricFamily CounterFamily(
    std::string name, std::string help,
    std::vector<std::pair<prometheus::Labels, double>> samples) {
  return Family(prometheus::MetricType::Counter, std::move(name),
                std::move(help), std::move(samples));
}

void AddProcessMetrics(Metrics& metrics) {
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double boot_time = 0;
  {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
      if (key == "btime") {
        in >> boot_time;
        break;
      }
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
  }
  metrics.AddCollector([page, ticks, boot_time] {
    // Fields from state (3) on: utime is 14, stime 15, starttime 22,
    // vsize 23, rss 24 in proc(5)'s numbering.
    const std::vector<std::string> stat = ProcStat();
    auto field = [&stat](int number) {
      const size_t index = static_cast<size_t>(number - 3);
      return index < stat.size() ? std::strtod(stat[index].c_str(), nullptr) : 0.0;
    };
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    std::vector<prometheus::MetricFamily> out;
    out.push_back(GaugeFamily("process_resident_memory_bytes",
                              "Resident memory size in bytes.",
                              {{{}, field(24) * page}}));
    out.push_back(GaugeFamily("process_virtual_memory_bytes",
                              "Virtual memory size in bytes.", {{{}, field(23)}}));
    out.push_back(GaugeFamily("process_open_fds",
                              "Number of open file descriptors.",
                              {{{}, OpenFds()}}));
    out.push_back(GaugeFamily("process_max_fds",
                              "Maximum number of open file descriptors.",
                              {{{}, static_cast<double>(limit.rlim_cur)}}));
    out.push_back(GaugeFamily(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        {{{}, boot_time + field(22) / ticks}}));
    out.push_back(CounterFamily("process_cpu_seconds_total",
                                "Total user and system CPU time spent in "
                                "seconds.",
                                {{{}, (field(14) + field(15)) / ticks}}));
    return out;
  });
}

void AddDiskMetrics(Metrics& metrics, const std::string& path) {
  metrics.AddCollector([path] {
    struct statvfs fs {};
    std::vector<prometheus::MetricFamily> out;
    if (statvfs(path.c_str(), &fs) != 0) return out;
    out.push_back(GaugeFamily(
        "kouryu_disk_free_bytes",
        "Free space an unprivileged writer may use on the file system of "
        "the data directory.",
        {{{{"path", path}},
          static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize)}}));
    out.push_back(GaugeFamily(
        "kouryu_disk_size_bytes",
        "Size of the file system of the data directory.",
        {{{{"path", path}},
          static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize)}}));
    return out;
  });
}

void AddRocksDbMetrics(Metrics& metrics, absl::string_view name,
                       rocksdb::DB* db) {
  struct Property {
    const char* metric;
    const char* property;
    bool aggregated;  // Summed over column families.
    const char* help;
  };
  static constexpr Property kProperties[] = {
      {"kouryu_rocksdb_estimate_num_keys", "rocksdb.estimate-num-keys", true,
       "Estimated number of keys, all column families."},
      {"kouryu_rocksdb_cur_size_all_mem_tables_bytes",
       "rocksdb.cur-size-all-mem-tables", true,
       "Size of the active and unflushed immutable memtables."},
      {"kouryu_rocksdb_estimate_pending_compaction_bytes",
       "rocksdb.estimate-pending-compaction-bytes", true,
       "Estimated bytes compaction needs to rewrite to bring every level "
       "under its target size."},
      {"kouryu_rocksdb_block_cache_usage_bytes", "rocksdb.block-cache-usage",
       false, "Memory held by entries in the block cache."},
      {"kouryu_rocksdb_block_cache_pinned_usage_bytes",
       "rocksdb.block-cache-pinned-usage", false,
       "Memory of block cache entries that cannot be evicted now (pinned "
       "index and filter blocks, blocks in use)."},
      {"kouryu_rocksdb_estimate_table_readers_mem_bytes",
       "rocksdb.estimate-table-readers-mem", true,
       "Memory the open files' readers hold outside the block cache."},
      {"kouryu_rocksdb_block_cache_capacity_bytes",
       "rocksdb.block-cache-capacity", false, "Capacity of the block cache."},
      {"kouryu_rocksdb_num_running_compactions",
       "rocksdb.num-running-compactions", false,
       "Compactions running now."},
      {"kouryu_rocksdb_actual_delayed_write_rate_bytes",
       "rocksdb.actual-delayed-write-rate", false,
       "Rate writes are slowed to (bytes per second); 0: not slowed."},
      {"kouryu_rocksdb_is_write_stopped", "rocksdb.is-write-stopped", false,
       "1 while RocksDB stops writes (too many memtables or L0 files)."},
      {"kouryu_rocksdb_background_errors", "rocksdb.background-errors", false,
       "Background errors (flush, compaction) since the database opened."},
  };
  metrics.AddCollector([db, label = std::string(name)] {
    std::vector<prometheus::MetricFamily> out;
    for (const Property& p : kProperties) {
      uint64_t value = 0;
      const bool ok = p.aggregated
                          ? db->GetAggregatedIntProperty(p.property, &value)
                          : db->GetIntProperty(p.property, &value);
      if (!ok) continue;
      out.push_back(GaugeFamily(p.metric, p.help,
                                {{{{"db", label}}, static_cast<double>(value)}}));
    }
    return out;
  });
}

}  // namespace kouryu
