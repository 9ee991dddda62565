#ifndef KOURYU_QUERY_SERVICE_QUERY_METRICS_H_
#define KOURYU_QUERY_SERVICE_QUERY_METRICS_H_

// kouryu-query's own metrics (common/metrics.h has the shared ones), read
// from the follower at every scrape:
//   kouryu_replica_applied_sequence     last change applied
//   kouryu_replica_head_sequence        latest head the change feed reported
//   kouryu_replica_lag_sequences        head - applied (0 at the head)
//   kouryu_replica_lag_seconds          how long the replica has been behind
//                                       that head (0 at the head)
//   kouryu_replica_connected            1 while a change-feed stream is open
//   kouryu_replica_stalled              1 while stalled (GetReplicaStatus)
//   kouryu_replica_snapshots_received_total  snapshots loaded whole
// plus the replica's RocksDB properties (db="replica") and its disk.
//
// The lag is measured against the last head the replica heard of: while
// ingest is unreachable it shows what the replica knew to be missing when
// the feed ended, not writes made since.

#include <string>

#include "common/metrics.h"
#include "query-service/follower.h"
#include "query-service/replica.h"

namespace kouryu::query {

// `follower` and `replica` must outlive `metrics`.
void AddQueryMetrics(Metrics& metrics, const Follower& follower,
                     const Replica& replica, const std::string& data_dir);

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_QUERY_METRICS_H_
