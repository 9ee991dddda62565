// Waiting for a sequence number: the one way the store (its changelog
// head) and the replica (its applied sequence) let callers block until a
// sequence is reached.
#ifndef KOURYU_COMMON_SEQUENCE_WAIT_H_
#define KOURYU_COMMON_SEQUENCE_WAIT_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace kouryu {

// With `mutex` held (and held again on return), waits until
// `sequence >= target`, `stopped` is true or `deadline` passes, whichever
// comes first. `sequence` and `stopped` must be guarded by `mutex`: they
// are read only while it is held, and whoever changes them holds it too
// (absl::Mutex re-evaluates the condition on every unlock). Returns whether
// `sequence >= target`.
inline bool AwaitSequence(absl::Mutex& mutex, const uint64_t& sequence,
                          const bool& stopped, uint64_t target,
                          absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
  struct Args {
    const uint64_t* sequence;
    const bool* stopped;
    uint64_t target;
  } args{&sequence, &stopped, target};
  mutex.AwaitWithDeadline(
      absl::Condition(+[](Args* a) { return *a->sequence >= a->target || *a->stopped; },
                      &args),
      deadline);
  return sequence >= target;
}

}  // namespace kouryu

#endif  // KOURYU_COMMON_SEQUENCE_WAIT_H_
