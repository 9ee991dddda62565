#include "ingest-service/watchdog.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <utility>

namespace kouryu::ingest {

Watchdog::Watchdog() : thread_([this] { Loop(); }) {}

Watchdog::~Watchdog() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  thread_.join();
}

uint64_t Watchdog::Arm(absl::Time deadline,
                       absl::AnyInvocable<void() &&> expire) {
  absl::MutexLock lock(&mutex_);
  uint64_t id = next_id_++;
  armed_.emplace(id, Armed{deadline, std::move(expire)});
  return id;
}

void Watchdog::Disarm(uint64_t id) {
  if (id == 0) return;
  absl::MutexLock lock(&mutex_);
  armed_.erase(id);
  if (std::this_thread::get_id() == thread_.get_id()) return;
  struct NotRunning {
    const uint64_t* running;
    uint64_t id;
    bool Check() const { return *running != id; }
  } not_running{&running_, id};
  mutex_.Await(absl::Condition(&not_running, &NotRunning::Check));
}

void Watchdog::Loop() {
  absl::MutexLock lock(&mutex_);
  while (!stop_) {
    // Deadlines are a stream's idle limit: a second late is soon enough, and
    // the thread need not wake for every Arm.
    absl::Time now = absl::Now();
    auto due = armed_.end();
    for (auto it = armed_.begin(); it != armed_.end(); ++it) {
      if (it->second.deadline <= now) {
        due = it;
        break;
      }
    }
    if (due == armed_.end()) {
      mutex_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(250));
      continue;
    }
    running_ = due->first;
    absl::AnyInvocable<void() &&> expire = std::move(due->second.expire);
    armed_.erase(due);
    mutex_.Unlock();
    std::move(expire)();
    mutex_.Lock();
    running_ = 0;
  }
}

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mutex_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::Run(absl::AnyInvocable<void() &&> work) {
  absl::MutexLock lock(&mutex_);
  queue_.push_back(std::move(work));
}

void WorkerPool::RunParts(int parts, absl::FunctionRef<void(int)> part) {
  struct Shared {
    std::atomic<int> next{0};
    absl::Mutex mutex;
    int done ABSL_GUARDED_BY(mutex) = 0;
  };
  auto shared = std::make_shared<Shared>();
  // A worker that starts after every part is taken finds nothing to do and
  // never calls `part`, which may be gone by then.
  auto take_parts = [shared, part, parts] {
    for (int i; (i = shared->next.fetch_add(1)) < parts;) {
      part(i);
      absl::MutexLock lock(&shared->mutex);
      ++shared->done;
    }
  };
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int helpers = std::min({parts - 1, static_cast<int>(threads_.size()),
                                std::max(cores, 1) - 1});
  for (int i = 0; i < helpers; ++i) Run(take_parts);
  take_parts();
  absl::MutexLock lock(&shared->mutex);
  struct AllDone {
    const Shared* shared;
    int parts;
    bool Check() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared->mutex) {
      return shared->done >= parts;
    }
  } all_done{shared.get(), parts};
  shared->mutex.Await(absl::Condition(&all_done, &AllDone::Check));
}

void WorkerPool::Loop() {
  while (true) {
    absl::AnyInvocable<void() &&> work;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(
          +[](WorkerPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mutex_) {
            return p->stop_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) return;
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    std::move(work)();
  }
}

}  // namespace kouryu::ingest
