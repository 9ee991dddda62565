#include "bench/load.h"

#include <unistd.h>

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace kouryu::bench {
namespace {

// gRPC may run a callback on the thread that starts a call (when the call
// fails at once, say with the server gone). A loop that starts the next
// call from the callback would then recurse; past this depth the next call
// is handed to the thread running RunLoad instead.
constexpr int kMaxNesting = 8;
thread_local int nesting = 0;

// The state of one RunLoad: calls in flight, the window, what was measured.
class ClosedLoop {
 public:
  explicit ClosedLoop(const AsyncCall& call) : call_(call) {}

  void Start(int slot) {
    uint64_t i;
    {
      absl::MutexLock lock(&mutex_);
      ++in_flight_;
      i = next_++;
    }
    const Clock::time_point start = Clock::now();
    ++nesting;
    call_(i, slot, [this, slot, start](const grpc::Status& status) {
      Done(slot, start, status);
    });
    --nesting;
  }

  // Starts the calls handed over by deeply nested callbacks, until `until`.
  void ServeHandOffs(absl::Time until) {
    while (absl::Now() < until) {
      std::vector<int> handed;
      {
        absl::MutexLock lock(&mutex_);
        mutex_.AwaitWithDeadline(absl::Condition(&HasHandOffs, &handed_off_),
                                 until);
        handed.swap(handed_off_);
      }
      for (int slot : handed) Start(slot);
    }
  }

  void BeginWindow() {
    absl::MutexLock lock(&mutex_);
    measuring_ = true;
  }

  void EndWindow() {
    absl::MutexLock lock(&mutex_);
    measuring_ = false;
    stopping_ = true;
  }

  // After EndWindow: waits for every call in flight (hand-offs are
  // dropped).
  void Drain() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(this, &ClosedLoop::Idle));
  }

  void Collect(Figures& figures) {
    absl::MutexLock lock(&mutex_);
    figures.ops = ok_in_window_;
    figures.p50_us = Percentile(samples_, 0.50);
    figures.p99_us = Percentile(samples_, 0.99);
    figures.errors = errors_;
  }

 private:
  static bool HasHandOffs(std::vector<int>* handed_off) {
    return !handed_off->empty();
  }
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return in_flight_ == 0;
  }

  void Done(int slot, Clock::time_point start, const grpc::Status& status) {
    const double micros =
        std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    {
      absl::MutexLock lock(&mutex_);
      --in_flight_;
      if (!status.ok()) {
        AddError(errors_, CodeName(status.error_code()),
                 status.error_message());
      } else if (measuring_) {
        ++ok_in_window_;
        samples_.push_back(micros);
      }
      if (stopping_) return;
      if (nesting >= kMaxNesting) {
        handed_off_.push_back(slot);
        return;
      }
    }
    Start(slot);
  }

  const AsyncCall& call_;
  absl::Mutex mutex_;
  uint64_t next_ ABSL_GUARDED_BY(mutex_) = 0;
  // Calls started and not ended; the slots of the calls handed off to
  // ServeHandOffs.
  int in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<int> handed_off_ ABSL_GUARDED_BY(mutex_);
  bool measuring_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t ok_in_window_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<double> samples_ ABSL_GUARDED_BY(mutex_);
  Errors errors_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

AsyncCall PerSlot(std::vector<AsyncCall> calls) {
  return [calls = std::move(calls)](uint64_t i, int slot, CallDone done) {
    calls[static_cast<size_t>(slot) % calls.size()](i, slot, std::move(done));
  };
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC's codes are the canonical codes, numbered as absl's are.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

Figures RunLoad(const std::string& name, const LoadOptions& options,
                const AsyncCall& call) {
  ClosedLoop loop(call);
  for (int slot = 0; slot < options.concurrency; ++slot) loop.Start(slot);
  loop.ServeHandOffs(absl::Now() + options.warmup);

  const int64_t cpu_start = ProcessCpuMicros(options.cpu_pids);
  const int64_t client_cpu_start = ProcessCpuMicros(getpid());
  const Clock::time_point window_start = Clock::now();
  loop.BeginWindow();
  loop.ServeHandOffs(absl::Now() + options.duration);
  loop.EndWindow();
  const Clock::time_point window_end = Clock::now();
  const int64_t cpu_end = ProcessCpuMicros(options.cpu_pids);
  const int64_t client_cpu_end = ProcessCpuMicros(getpid());
  loop.Drain();

  Figures figures{.name = name, .concurrency = options.concurrency};
  figures.seconds =
      std::chrono::duration<double>(window_end - window_start).count();
  loop.Collect(figures);
  if (!options.timed) figures.p50_us = figures.p99_us = std::nullopt;
  if (!options.cpu_pids.empty()) SetCpuPerOp(cpu_start, cpu_end, figures);
  if (figures.ops > 0 && client_cpu_start >= 0 && client_cpu_end >= 0) {
    figures.client_cpu_us_per_op =
        static_cast<double>(client_cpu_end - client_cpu_start) / figures.ops;
  }
  return figures;
}

}  // namespace kouryu::bench
