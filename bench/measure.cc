#include "bench/measure.h"

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kouryu::bench {

void AddError(Errors& errors, absl::string_view code,
              absl::string_view message) {
  ErrorCount& entry = errors[std::string(code)];
  if (entry.count++ == 0) entry.first_message = std::string(message);
}

void AddErrors(Errors& errors, const Errors& more) {
  for (const auto& [code, entry] : more) {
    ErrorCount& mine = errors[code];
    if (mine.count == 0) mine.first_message = entry.first_message;
    mine.count += entry.count;
  }
}

int64_t ErrorTotal(const Errors& errors) {
  int64_t total = 0;
  for (const auto& [code, entry] : errors) total += entry.count;
  return total;
}

std::vector<std::string> ProcStatFields(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(file, line)) return {};
  // The command name, field 2, is in parentheses and may hold spaces; the
  // fields after it start with field 3 (state).
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 > line.size()) return {};
  std::istringstream stream(line.substr(paren + 2));
  std::vector<std::string> fields;
  for (std::string field; stream >> field;) fields.push_back(field);
  return fields;
}

int64_t ProcessCpuMicros(pid_t pid) {
  // utime and stime are fields 14 and 15.
  const std::vector<std::string> fields = ProcStatFields(pid);
  long long utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[14 - 3], &utime) ||
      !absl::SimpleAtoi(fields[15 - 3], &stime)) {
    return -1;
  }
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  return (utime + stime) * 1'000'000 / ticks_per_second;
}

int64_t ProcessCpuMicros(const std::vector<pid_t>& pids) {
  int64_t total = 0;
  for (pid_t pid : pids) {
    int64_t used = ProcessCpuMicros(pid);
    if (used < 0) return -1;
    total += used;
  }
  return total;
}

void SetCpuPerOp(int64_t cpu_start, int64_t cpu_end, Figures& figures) {
  if (figures.ops > 0 && cpu_start >= 0 && cpu_end >= 0) {
    figures.cpu_us_per_op =
        static_cast<double>(cpu_end - cpu_start) / figures.ops;
  }
}

std::string AwaitIdle(const std::vector<pid_t>& pids, absl::Duration limit,
                      double idle_share) {
  const absl::Time start = absl::Now();
  const int64_t cpu_start = ProcessCpuMicros(pids);
  int64_t before = cpu_start;
  bool idle = false;
  while (!idle && absl::Now() - start < limit) {
    absl::SleepFor(absl::Seconds(1));
    const int64_t now = ProcessCpuMicros(pids);
    if (now < 0 || before < 0) break;
    idle = now - before < static_cast<int64_t>(idle_share * 1e6);
    before = now;
  }
  return absl::StrFormat(
      "%s after %.0f s, in which the server used %.1f CPU s",
      idle ? "idle" : "still busy", absl::ToDoubleSeconds(absl::Now() - start),
      (before - cpu_start) / 1e6);
}

std::optional<double> Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return std::nullopt;
  size_t i = static_cast<size_t>(p * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + i, samples.end());
  return samples[i];
}

Figures RunThreads(const std::string& name, const LoadOptions& options,
                   int ops_per_call,
                   const std::function<absl::Status(int thread)>& op) {
  enum Phase { kWarmup, kMeasure, kStop };
  std::atomic<int> phase{kWarmup};
  struct PerThread {
    std::vector<double> samples;
    int64_t ops = 0;
    Errors errors;
  };
  std::vector<PerThread> per_thread(options.concurrency);
  std::vector<std::thread> threads;
  for (int t = 0; t < options.concurrency; ++t) {
    threads.emplace_back([&, t] {
      PerThread& mine = per_thread[t];
      while (phase.load(std::memory_order_relaxed) != kStop) {
        const Clock::time_point start = Clock::now();
        absl::Status status = op(t);
        if (!status.ok()) {
          AddError(mine.errors, absl::StatusCodeToString(status.code()),
                   status.message());
          continue;
        }
        if (phase.load(std::memory_order_relaxed) != kMeasure) continue;
        mine.ops += ops_per_call;
        if (options.timed) {
          mine.samples.push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - start)
                  .count());
        }
      }
    });
  }
  absl::SleepFor(options.warmup);
  const int64_t cpu_start = ProcessCpuMicros(options.cpu_pids);
  const Clock::time_point window_start = Clock::now();
  phase = kMeasure;
  absl::SleepFor(options.duration);
  phase = kStop;
  const Clock::time_point window_end = Clock::now();
  const int64_t cpu_end = ProcessCpuMicros(options.cpu_pids);
  for (std::thread& t : threads) t.join();

  Figures figures{.name = name, .concurrency = options.concurrency};
  figures.seconds =
      std::chrono::duration<double>(window_end - window_start).count();
  std::vector<double> samples;
  for (PerThread& t : per_thread) {
    figures.ops += t.ops;
    samples.insert(samples.end(), t.samples.begin(), t.samples.end());
    AddErrors(figures.errors, t.errors);
  }
  if (options.timed) {
    figures.p50_us = Percentile(samples, 0.50);
    figures.p99_us = Percentile(samples, 0.99);
  }
  if (!options.cpu_pids.empty()) SetCpuPerOp(cpu_start, cpu_end, figures);
  return figures;
}

}  // namespace kouryu::bench
