#ifndef KOURYU_BENCH_MEASURE_H_
#define KOURYU_BENCH_MEASURE_H_

// What one benchmark run measures, and the two ways the benchmark drives an
// operation: calls kept in flight through an asynchronous API (load.h), and
// plain threads calling a blocking function (RunThreads, below; the floors
// use it). Both measure over a window after a warm-up and report the same
// Figures, so a scenario and its floor are compared figure by figure.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kouryu::bench {

using Clock = std::chrono::steady_clock;

// Failed operations by status code name ("UNAVAILABLE"), with the first
// message seen for each.
struct ErrorCount {
  int64_t count = 0;
  std::string first_message;
};
using Errors = std::map<std::string, ErrorCount>;

void AddError(Errors& errors, absl::string_view code,
              absl::string_view message);
void AddErrors(Errors& errors, const Errors& more);
int64_t ErrorTotal(const Errors& errors);

// The figures of one measurement. An operation is what the row says it is:
// a call, a record written, a TCP round trip.
struct Figures {
  std::string name = {};
  int concurrency = 1;
  // Successful operations in the measured window, and the window's length.
  int64_t ops = 0;
  double seconds = 0;
  // Latency of one operation; unset where operations are not timed one by
  // one (streams, batches, a whole table).
  std::optional<double> p50_us = std::nullopt;
  std::optional<double> p99_us = std::nullopt;
  // CPU time (user + system) of the measured processes over the window,
  // per operation; unset when not measured.
  std::optional<double> cpu_us_per_op = std::nullopt;
  // CPU time of the benchmark process itself (the load generator's
  // clients) over the window, per operation: it shares the machine's cores
  // with the servers. Unset where the benchmark is not the client.
  std::optional<double> client_cpu_us_per_op = std::nullopt;
  // Every failure, warm-up and drain included.
  Errors errors = {};
  // Anything else the reader needs to interpret the row.
  std::string note = {};

  double qps() const { return seconds > 0 ? ops / seconds : 0; }
};

// The fields of /proc/<pid>/stat from field 3 (state) on, so field N is
// element N - 3; empty when the process is gone or unreadable.
std::vector<std::string> ProcStatFields(pid_t pid);

// CPU time (user + system) `pid` has used so far, in microseconds, from
// /proc/<pid>/stat; threads that have exited are included. Its resolution
// is the kernel's clock tick (usually 10 ms). -1 when unreadable.
int64_t ProcessCpuMicros(pid_t pid);
// The sum over `pids`; -1 when any is unreadable.
int64_t ProcessCpuMicros(const std::vector<pid_t>& pids);

// Sets figures.cpu_us_per_op from ProcessCpuMicros readings taken at the
// start and end of the window; leaves it unset when either is unreadable
// or nothing succeeded.
void SetCpuPerOp(int64_t cpu_start, int64_t cpu_end, Figures& figures);

// Waits until the processes are idle: their CPU use over one second below
// `idle_share` of one core (RocksDB's background flushes and compactions
// after a bulk load have ended), at most `limit`. Returns how long it
// waited and the CPU seconds they used meanwhile, as a note.
std::string AwaitIdle(const std::vector<pid_t>& pids, absl::Duration limit,
                      double idle_share = 0.05);

// The p-quantile (0 <= p <= 1) of `samples`, which it reorders; unset when
// there are none.
std::optional<double> Percentile(std::vector<double>& samples, double p);

struct LoadOptions {
  // Operations kept in flight (threads, for RunThreads).
  int concurrency = 1;
  // Operations in the warm-up are run but not measured.
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(5);
  // Processes whose CPU time over the window is divided among the
  // operations (the servers; getpid() for in-process floors).
  std::vector<pid_t> cpu_pids = {};
  // Whether each operation's latency is recorded.
  bool timed = true;
};

// Calls `op(thread)` in a loop on `options.concurrency` threads; each call
// does `ops_per_call` operations, or fails with its status. Operations
// count, and are timed, when they end inside the window.
Figures RunThreads(const std::string& name, const LoadOptions& options,
                   int ops_per_call,
                   const std::function<absl::Status(int thread)>& op);

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_MEASURE_H_
