#ifndef KOURYU_BENCH_INGEST_LOAD_H_
#define KOURYU_BENCH_INGEST_LOAD_H_

// Write loads that are not a closed loop of unary calls (load.h covers
// those): a stream of rows, a whole table, and writes at a fixed rate whose
// replication lag is measured on a query replica. All on gRPC's callback
// API.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/measure.h"
#include "kouryu/v1/ingest_service.grpc.pb.h"
#include "kouryu/v1/query_service.grpc.pb.h"
#include "tests/support/generator.h"

namespace kouryu::bench {

// Deadline of a stream or a table import, which run far longer than a call.
inline constexpr absl::Duration kBulkCallTimeout = absl::Minutes(30);

// Sends `requests` over one IngestRecords stream, as fast as the stream
// takes them, and waits for the answer, which it stores in `*response`.
// An operation is a row written; the window is the whole call; rejected
// rows count as errors (REJECTED).
Figures StreamRecords(const std::string& name, v1::IngestService::Stub& stub,
                      const std::vector<v1::IngestRecordsRequest>& requests,
                      const std::vector<pid_t>& cpu_pids,
                      v1::IngestRecordsResponse* response);

// One ImportTable call of `table` (TSV). An operation is a row written;
// the window is the whole call; rejected rows count as errors.
Figures ImportTable(const std::string& name, v1::IngestService::Stub& stub,
                    const std::string& table,
                    const std::vector<pid_t>& cpu_pids);

struct LagOptions {
  // Writes started per second, whether or not earlier ones have ended
  // (an open loop, as clients that do not wait for each other).
  double writes_per_second = 1000;
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(5);
  // The next generated row to write, advanced by each write (required).
  std::atomic<uint64_t>* next_row = nullptr;
  // Writes in flight at most; a write due beyond this is not sent and
  // counts as an error (NOT_SENT). Below the ingest server's thread limit
  // (64), so that a server falling behind shows as NOT_SENT rather than as
  // its RESOURCE_EXHAUSTED.
  int max_in_flight = 48;
  // Probes in flight at most (each holds a query server thread while it
  // waits for its sequence).
  int probe_slots = 4;
  std::vector<pid_t> cpu_pids;
};

// Writes generated rows with UpsertRecord at a fixed rate and, as a write
// is acknowledged while a probe slot is free, asks the replica for that
// record at the write's sequence (GetRecord with min_sequence, which the
// replica answers as soon as it has applied the sequence). The lag of a
// write is the time from its acknowledgement to that answer: the
// replication lag plus one GetRecord round trip. Operations are the writes
// acknowledged in the window; p50/p99 are of the probed writes' lag.
Figures ReplicationLag(const std::string& name, v1::IngestService::Stub& ingest,
                       v1::QueryService::Stub& query,
                       const testing::TableGenerator& generator,
                       const LagOptions& options);

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_INGEST_LOAD_H_
