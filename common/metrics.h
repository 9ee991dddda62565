#ifndef KOURYU_COMMON_METRICS_H_
#define KOURYU_COMMON_METRICS_H_

// Prometheus metrics, served in the text format on a plaintext HTTP port of
// their own (--metrics_listen=HOST:PORT, path /metrics), with prometheus-cpp.
//
// Both servers register here:
//   - the gRPC server metrics of go-grpc-prometheus, same names and labels
//     (ServerInterceptorFactory; Server::Start installs it), so that its
//     dashboards work;
//   - process_resident_memory_bytes, process_open_fds, process_max_fds,
//     process_start_time_seconds (AddProcessMetrics);
//   - RocksDB properties of their database (AddRocksDbMetrics) and the free
//     space of its disk (AddDiskMetrics);
//   - what each service adds (ingest-service/ingest_metrics.h,
//     query-service/query_metrics.h).
// Gauges read from elsewhere (RocksDB, the changelog, the follower) are
// computed when /metrics is scraped, by collectors (AddCollector).
//
// Thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/support/status_code_enum.h>

#include <prometheus/labels.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// --metrics_listen=HOST:PORT, defined once here for both servers; empty
// (the default) serves no metrics.
ABSL_DECLARE_FLAG(std::string, metrics_listen);

namespace grpc::experimental {
class ServerInterceptorFactoryInterface;
}  // namespace grpc::experimental
namespace prometheus {
class Exposer;
}  // namespace prometheus
namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace kouryu {

class GrpcServerMetrics;

class Metrics {
 public:
  // A registry that is not served (for tests, or without --metrics_listen).
  Metrics();
  // Serves /metrics on `listen` (HOST:PORT; port 0 picks a free port).
  // Unavailable when it cannot bind.
  static absl::StatusOr<std::unique_ptr<Metrics>> Serve(const std::string& listen);
  // Stops serving. Collectors are not called afterwards.
  ~Metrics();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  // The bound HOST:PORT; "" when not serving.
  const std::string& address() const { return address_; }

  // Adds families computed at every scrape, on the HTTP server's threads:
  // `collect` must be thread-safe, and what it reads must live as long as
  // this object (or until the server has stopped serving).
  void AddCollector(std::function<std::vector<prometheus::MetricFamily>()> collect);

  // For ServerBuilder::experimental().SetInterceptorCreators, every call of
  // every service (sync and callback API alike), with go-grpc-prometheus's
  // names and labels (grpc_type unary|client_stream|server_stream|
  // bidi_stream, grpc_service the full service name, grpc_method, and
  // grpc_code the Go name of the code: OK, InvalidArgument, ...):
  //   grpc_server_started_total       calls started
  //   grpc_server_handled_total       calls finished, by grpc_code
  //   grpc_server_handling_seconds    histogram, start to status
  //   grpc_server_msg_received_total  request messages received
  //   grpc_server_msg_sent_total      response messages sent
  // Calls gRPC refuses once it has accepted them count too (the thread
  // quota's RESOURCE_EXHAUSTED, requests that do not parse); streams the
  // HTTP/2 transport refuses (max_concurrent_streams, the memory quota)
  // and calls to unknown methods never reach an interceptor and do not.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  ServerInterceptorFactory();
  // Counts a call refused before any interceptor saw it (the authorization
  // policy's PERMISSION_DENIED) as started and handled with `code`; the
  // method's type comes from its descriptor; a path no descriptor knows
  // is not counted. Thread-safe.
  void CountRefused(const std::string& path, grpc::StatusCode code);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<GrpcServerMetrics> grpc_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectors_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string address_;
};

// A gauge family with one sample per entry (labels, value), for collectors.
prometheus::MetricFamily GaugeFamily(
    std::string name, std::string help,
    std::vector<std::pair<prometheus::Labels, double>> samples);
// A counter family likewise.
prometheus::MetricFamily CounterFamily(
    std::string name, std::string help,
    std::vector<std::pair<prometheus::Labels, double>> samples);

// process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds and
// process_cpu_seconds_total, from /proc/self at every scrape.
void AddProcessMetrics(Metrics& metrics);

// kouryu_disk_free_bytes and kouryu_disk_size_bytes{path}: the file system
// holding `path` (statvfs; free is what an unprivileged writer may use).
void AddDiskMetrics(Metrics& metrics, const std::string& path);

// kouryu_rocksdb_*{db="<name>"} from `db`'s properties at every scrape:
// estimate_num_keys, cur_size_all_mem_tables_bytes,
// estimate_pending_compaction_bytes (summed over column families),
// block_cache_usage_bytes, block_cache_capacity_bytes,
// num_running_compactions, actual_delayed_write_rate_bytes,
// is_write_stopped, background_errors. `db` must outlive `metrics`.
void AddRocksDbMetrics(Metrics& metrics, absl::string_view name,
                       rocksdb::DB* db);

}  // namespace kouryu

#endif  // KOURYU_COMMON_METRICS_H_
