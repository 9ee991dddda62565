#ifndef KOURYU_QUERY_SERVICE_CALL_RUNNER_H_
#define KOURYU_QUERY_SERVICE_CALL_RUNNER_H_

// Where the query service's callback methods do work that must not run on
// gRPC's own threads: reads that may take long (scans with a filter or a
// sort), and calls waiting for a min_sequence the replica has not applied
// yet. A fixed pool of worker threads runs them; waiting calls hold no
// thread until the replica reaches their sequence or their deadline passes.

#include <cstdint>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "query-service/replica.h"

namespace kouryu::query {

class CallRunner {
 public:
  // `replica` must outlive the runner, which listens to its progress.
  CallRunner(Replica& replica, int threads);
  // Runs what is queued (waiting work fails with UNAVAILABLE), then joins.
  ~CallRunner();

  CallRunner(const CallRunner&) = delete;
  CallRunner& operator=(const CallRunner&) = delete;

  // Runs `work` on a worker thread.
  void Run(absl::AnyInvocable<void() &&> work);

  // Runs `work(OkStatus())` on a worker thread once the replica has applied
  // `sequence` (at once if it has), or `work(error)` when `deadline` passes
  // first (Replica::SequenceNotReached: DEADLINE_EXCEEDED, or UNAVAILABLE
  // after Replica::StopWaiting).
  void RunAt(uint64_t sequence, absl::Time deadline,
             absl::AnyInvocable<void(absl::Status) &&> work);

  // Calls waiting for a sequence (for tests and status).
  size_t waiting() const;

 private:
  struct Waiting {
    absl::Time deadline;
    absl::AnyInvocable<void(absl::Status) &&> work;
  };

  void OnProgress(uint64_t applied, bool stopped);
  // Runs work until the runner is done and nothing is queued.
  void Loop() ABSL_LOCKS_EXCLUDED(mutex_);
  // The next work to run, once there is some (the lock is not held while it
  // runs); empty once the runner is done and nothing is queued.
  absl::AnyInvocable<void() &&> NextWork() ABSL_LOCKS_EXCLUDED(mutex_);
  // Moves waiting work that is due (sequence reached, deadline passed or
  // replica stopped) to the queue.
  void ReleaseDue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Time NextDeadline() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  Replica& replica_;
  mutable absl::Mutex mutex_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mutex_);
  std::multimap<uint64_t, Waiting> waiting_ ABSL_GUARDED_BY(mutex_);
  uint64_t applied_ ABSL_GUARDED_BY(mutex_);
  bool replica_stopped_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  // The deadline idle workers sleep until, and whether work that is due
  // earlier has arrived since (they then wake to sleep less).
  absl::Time wake_at_ ABSL_GUARDED_BY(mutex_) = absl::InfiniteFuture();
  bool rewake_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
  int listener_;
};

}  // namespace kouryu::query

#endif  // KOURYU_QUERY_SERVICE_CALL_RUNNER_H_
