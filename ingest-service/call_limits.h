#ifndef KOURYU_INGEST_SERVICE_CALL_LIMITS_H_
#define KOURYU_INGEST_SERVICE_CALL_LIMITS_H_

// How the ingest server's services bound the calls they run at once: each
// call holds a Slot, and one that finds none free fails with Busy.

#include <grpcpp/support/status.h>

#include <atomic>

#include "absl/strings/string_view.h"

namespace kouryu::ingest {

// Holds one of `limit` slots while alive; ok() is false when none was free.
// Not thread-safe itself; `used` is shared by every slot of one limit.
class Slot {
 public:
  Slot(std::atomic<int>& used, int limit)
      : used_(used), ok_(used.fetch_add(1) < limit) {}
  ~Slot() { Release(); }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  bool ok() const { return ok_; }
  // Gives the slot back before the destructor would (once).
  void Release() {
    if (held_) used_.fetch_sub(1);
    held_ = false;
  }

 private:
  std::atomic<int>& used_;
  const bool ok_;
  bool held_ = true;
};

// RESOURCE_EXHAUSTED with ErrorInfo `reason`: `limit` `what` are running.
grpc::Status Busy(absl::string_view what, int limit, absl::string_view reason);

}  // namespace kouryu::ingest

#endif  // KOURYU_INGEST_SERVICE_CALL_LIMITS_H_
