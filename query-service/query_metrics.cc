#include "query-service/query_metrics.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace kouryu::query {

void AddQueryMetrics(Metrics& metrics, const Follower& follower,
                     const Replica& replica, const std::string& data_dir) {
  metrics.AddCollector([&follower] {
    const FollowerStatus status = follower.status();
    const uint64_t behind = status.head_sequence > status.applied_sequence
                                ? status.head_sequence - status.applied_sequence
                                : 0;
    const double behind_seconds =
        behind == 0 || status.behind_since == absl::InfiniteFuture()
            ? 0.0
            : std::max(0.0, absl::ToDoubleSeconds(absl::Now() -
                                                  status.behind_since));
    std::vector<prometheus::MetricFamily> out;
    out.push_back(GaugeFamily("kouryu_replica_applied_sequence",
                              "Sequence of the last change the replica applied.",
                              {{{}, static_cast<double>(status.applied_sequence)}}));
    out.push_back(GaugeFamily(
        "kouryu_replica_head_sequence",
        "Latest changelog head the change feed reported to the replica.",
        {{{}, static_cast<double>(status.head_sequence)}}));
    out.push_back(GaugeFamily(
        "kouryu_replica_lag_sequences",
        "Changes the replica knows of and has not applied: head - applied.",
        {{{}, static_cast<double>(behind)}}));
    out.push_back(GaugeFamily(
        "kouryu_replica_lag_seconds",
        "Seconds since the replica first saw a head beyond what it had "
        "applied, while it is behind; 0 at the head.",
        {{{}, behind_seconds}}));
    out.push_back(GaugeFamily(
        "kouryu_replica_connected",
        "1 while the replica has a change-feed stream open to ingest.",
        {{{}, status.connected ? 1.0 : 0.0}}));
    out.push_back(GaugeFamily(
        "kouryu_replica_stalled",
        "1 while the replica cannot make progress (GetReplicaStatus.stalled; "
        "health is NOT_SERVING).",
        {{{}, status.stalled ? 1.0 : 0.0}}));
    out.push_back(CounterFamily(
        "kouryu_replica_snapshots_received_total",
        "Snapshots the replica loaded whole since it started.",
        {{{}, static_cast<double>(status.snapshots_received)}}));
    return out;
  });
  AddRocksDbMetrics(metrics, "replica", replica.rocksdb());
  AddDiskMetrics(metrics, data_dir);
}

}  // namespace kouryu::query
