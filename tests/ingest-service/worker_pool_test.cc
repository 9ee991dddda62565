// WorkerPool::RunParts: every part runs once, the call returns only after
// all have run, and it finishes on the calling thread alone when every
// worker is busy, or when a worker itself calls it.

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "ingest-service/watchdog.h"

namespace kouryu::ingest {
namespace {

TEST(WorkerPoolTest, RunPartsRunsEveryPartOnceBeforeItReturns) {
  WorkerPool pool(4);
  for (int parts : {0, 1, 2, 7, 100}) {
    std::vector<std::atomic<int>> runs(static_cast<size_t>(parts));
    pool.RunParts(parts, [&](int part) { runs[part].fetch_add(1); });
    for (int i = 0; i < parts; ++i) {
      EXPECT_EQ(runs[i].load(), 1) << "part " << i << " of " << parts;
    }
  }
}

TEST(WorkerPoolTest, RunPartsDoesNotWaitForBusyWorkers) {
  WorkerPool pool(1);
  absl::Notification release;
  pool.Run([&] { release.WaitForNotification(); });
  int runs = 0;  // Only this thread may run the parts: no atomic needed.
  pool.RunParts(10, [&](int) { ++runs; });
  EXPECT_EQ(runs, 10);
  release.Notify();
}

TEST(WorkerPoolTest, RunPartsFromAWorkerOfThePool) {
  WorkerPool pool(1);
  absl::Notification done;
  std::atomic<int> runs{0};
  pool.Run([&] {
    pool.RunParts(5, [&](int) { runs.fetch_add(1); });
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(runs.load(), 5);
}

}  // namespace
}  // namespace kouryu::ingest
