#ifndef KOURYU_INGEST_SERVICE_WATCHDOG_H_
#define KOURYU_INGEST_SERVICE_WATCHDOG_H_

// Two small helpers of the ingest service's streams: a Watchdog that runs a
// callback when a deadline passes (ends streams that stay idle), and a
// WorkerPool that runs blocking work (normalizing, writing) off gRPC's
// threads.

#include <cstdint>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kouryu::ingest {

// Runs each armed callback once its deadline passes, unless it is disarmed
// first. Callbacks run one at a time on the watchdog's one thread, so each
// must be short (end a call, not wait for one). Thread-safe.
class Watchdog {
 public:
  Watchdog();
  // Drops what is armed without running it, then joins.
  ~Watchdog();

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Returns an id for Disarm (never 0).
  uint64_t Arm(absl::Time deadline, absl::AnyInvocable<void() &&> expire);
  // When it returns, the callback of `id` has run or never will: it waits
  // for a callback that is running, except when called from inside one.
  // An id of 0 or one already run or disarmed is ignored.
  void Disarm(uint64_t id);

 private:
  struct Armed {
    absl::Time deadline;
    absl::AnyInvocable<void() &&> expire;
  };
  void Loop();

  absl::Mutex mutex_;
  std::map<uint64_t, Armed> armed_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 1;
  uint64_t running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

// A fixed set of threads running queued work in order. Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  // Runs what is queued, then joins.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Run(absl::AnyInvocable<void() &&> work);

  // Runs part(0) to part(parts - 1), each once, on the calling thread and
  // on as many workers as the machine has other cores, and returns when all
  // have run. The calling thread takes every part no worker has started,
  // so it never waits for a worker that is busy with other work (a full
  // pool, or a call from one of its own workers, cannot deadlock).
  void RunParts(int parts, absl::FunctionRef<void(int)> part);

 private:
  void Loop();

  absl::Mutex mutex_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mutex_);
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_WATCHDOG_H_
