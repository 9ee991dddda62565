#include "bench/report.h"

#include <grpcpp/grpcpp.h>
#include <rocksdb/version.h>
#include <sys/utsname.h>

#include <fstream>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace kouryu::bench {
namespace {

std::string Number(std::optional<double> value) {
  if (!value) return "—";
  if (*value < 10) return absl::StrFormat("%.2f", *value);
  if (*value < 100) return absl::StrFormat("%.1f", *value);
  return absl::StrFormat("%.0f", *value);
}

std::string Ratio(std::optional<double> value, std::optional<double> floor) {
  if (!value || !floor || *floor <= 0) return "—";
  return absl::StrFormat("%.2f", *value / *floor);
}

std::optional<double> Qps(const Figures& f) {
  if (f.ops == 0) return std::nullopt;
  return f.qps();
}

// The value of the first line of `path` that starts with `key`, after the
// separator (": " in /proc/cpuinfo).
std::string ProcField(const std::string& path, absl::string_view key) {
  std::ifstream file(path);
  std::string line;
  while (std::getline(file, line)) {
    if (!absl::StartsWith(line, key)) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) return "";
    return std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return "";
}

}  // namespace

std::string Label(const Figures& figures) {
  return absl::StrCat(figures.name, " ×", figures.concurrency);
}

const Figures& Report::Add(Figures figures, const Figures* floor) {
  figures_.push_back(std::move(figures));
  rows_.push_back({&figures_.back(), floor});
  return figures_.back();
}

void Report::Compare(const Figures& figures, const Figures& floor) {
  rows_.push_back({&figures, &floor});
}

void Report::AddGoal(std::string goal, std::string measured, bool met) {
  goals_.push_back({std::move(goal), std::move(measured), met});
}

void Report::Print(std::FILE* out) const {
  std::fprintf(
      out,
      "| scenario | ×conc | QPS | p50 µs | p99 µs | CPU µs/op | client CPU µs/op "
      "| errors | floor | QPS ÷ floor | p50 ÷ floor | p99 ÷ floor | CPU ÷ floor |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
  for (const Row& row : rows_) {
    const Figures& f = *row.figures;
    std::string ratios = "| | — | — | — | — |";
    if (row.floor != nullptr) {
      const Figures& floor = *row.floor;
      ratios = absl::StrCat(
          "| ", Label(floor), " | ", Ratio(Qps(f), Qps(floor)), " | ",
          Ratio(f.p50_us, floor.p50_us), " | ", Ratio(f.p99_us, floor.p99_us),
          " | ", Ratio(f.cpu_us_per_op, floor.cpu_us_per_op), " |");
    }
    std::fprintf(out, "| %s | %d | %s | %s | %s | %s | %s | %lld %s\n",
                 f.name.c_str(), f.concurrency, Number(Qps(f)).c_str(),
                 Number(f.p50_us).c_str(), Number(f.p99_us).c_str(),
                 Number(f.cpu_us_per_op).c_str(),
                 Number(f.client_cpu_us_per_op).c_str(),
                 static_cast<long long>(ErrorTotal(f.errors)), ratios.c_str());
  }

  std::vector<std::string> notes, failures;
  for (const Figures& f : figures_) {
    if (!f.note.empty())
      notes.push_back(absl::StrCat("- ", Label(f), ": ", f.note));
    for (const auto& [code, entry] : f.errors) {
      failures.push_back(absl::StrCat("- ", Label(f), ": ", code, " × ",
                                      entry.count,
                                      " (first: ", entry.first_message, ")"));
    }
  }
  if (!notes.empty()) {
    std::fprintf(out, "\nNotes:\n%s\n", absl::StrJoin(notes, "\n").c_str());
  }
  std::fprintf(out, "\nFailed operations: %s\n",
               failures.empty()
                   ? "none"
                   : absl::StrCat("\n", absl::StrJoin(failures, "\n")).c_str());

  std::fprintf(out, "\n| goal | measured | met |\n|---|---|---|\n");
  for (const Goal& goal : goals_) {
    std::fprintf(out, "| %s | %s | %s |\n", goal.goal.c_str(),
                 goal.measured.c_str(), goal.met ? "yes" : "**no**");
  }
  std::fflush(out);
}

std::string DescribeMachine() {
  utsname name{};
  uname(&name);
  std::string memory = ProcField("/proc/meminfo", "MemTotal");
  return absl::StrCat("- CPU: ", ProcField("/proc/cpuinfo", "model name"), ", ",
                      std::thread::hardware_concurrency(), " logical CPUs\n",
                      "- memory: ", memory, "\n", "- kernel: ", name.sysname,
                      " ", name.release, " ", name.machine, "\n", "- gRPC ",
                      grpc::Version(), ", RocksDB ", ROCKSDB_MAJOR, ".",
                      ROCKSDB_MINOR, ".", ROCKSDB_PATCH, "\n");
}

}  // namespace kouryu::bench
