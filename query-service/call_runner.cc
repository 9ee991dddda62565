#include "query-service/call_runner.h"

#include <algorithm>
#include <utility>

namespace kouryu::query {

CallRunner::CallRunner(const Replica& replica, int threads)
    : replica_(replica), applied_(replica.applied_sequence()) {
  listener_ = replica_.AddProgressListener(
      [this](uint64_t applied, bool stopped) { OnProgress(applied, stopped); });
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

CallRunner::~CallRunner() {
  replica_.RemoveProgressListener(listener_);
  {
    absl::MutexLock lock(&mutex_);
    done_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void CallRunner::Run(absl::AnyInvocable<void() &&> work) {
  absl::MutexLock lock(&mutex_);
  queue_.push_back(std::move(work));
}

void CallRunner::RunAt(uint64_t sequence, absl::Time deadline,
                       absl::AnyInvocable<void(absl::Status) &&> work) {
  absl::MutexLock lock(&mutex_);
  // Registered under the lock that progress takes: no advance is missed.
  waiting_.emplace(sequence, Waiting{deadline, std::move(work)});
  if (deadline < wake_at_) rewake_ = true;
  ReleaseDue();
}

size_t CallRunner::waiting() const {
  absl::MutexLock lock(&mutex_);
  return waiting_.size();
}

void CallRunner::OnProgress(uint64_t applied, bool stopped) {
  absl::MutexLock lock(&mutex_);
  applied_ = std::max(applied_, applied);
  replica_stopped_ = replica_stopped_ || stopped;
  ReleaseDue();
}

void CallRunner::ReleaseDue() {
  const absl::Time now = absl::Now();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    absl::Status status;
    if (it->first > applied_) {
      if (!replica_stopped_ && !done_ && it->second.deadline > now) {
        ++it;
        continue;
      }
      status = Replica::SequenceNotReached(it->first, applied_,
                                           replica_stopped_ || done_);
    }
    queue_.push_back([work = std::move(it->second.work),
                      status = std::move(status)]() mutable {
      std::move(work)(std::move(status));
    });
    it = waiting_.erase(it);
  }
}

bool CallRunner::HasWork() const {
  if (done_ || rewake_ || !queue_.empty()) return true;
  if (waiting_.empty()) return false;
  return waiting_.begin()->first <= applied_ || replica_stopped_;
}

absl::Time CallRunner::NextDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [sequence, waiting] : waiting_) {
    next = std::min(next, waiting.deadline);
  }
  return next;
}

absl::AnyInvocable<void() &&> CallRunner::TakeWork() {
  absl::MutexLock lock(&mutex_);
  for (;;) {
    wake_at_ = NextDeadline();
    mutex_.AwaitWithDeadline(absl::Condition(this, &CallRunner::HasWork),
                             wake_at_);
    rewake_ = false;
    ReleaseDue();
    if (!queue_.empty()) {
      absl::AnyInvocable<void() &&> work = std::move(queue_.front());
      queue_.pop_front();
      return work;
    }
    if (done_) return nullptr;
  }
}

void CallRunner::Loop() {
  while (absl::AnyInvocable<void() &&> work = TakeWork()) std::move(work)();
}

}  // namespace kouryu::query
