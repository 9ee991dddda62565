#ifndef KOURYU_BENCH_REPORT_H_
#define KOURYU_BENCH_REPORT_H_

// The benchmark's output: one Markdown table of every measurement with
// each figure's ratio to its floor, the goals met or not, the failures by
// code, and the machine it ran on.

#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "bench/measure.h"

namespace kouryu::bench {

class Report {
 public:
  // Adds a row and returns it (the reference stays valid). When `floor`
  // (a row added earlier) is given, the row shows its figures divided by
  // the floor's.
  const Figures& Add(Figures figures, const Figures* floor = nullptr);
  // Adds another row for `figures` (returned by Add) against another floor.
  void Compare(const Figures& figures, const Figures& floor);

  // A goal: what it asks, what was measured, whether it was met.
  void AddGoal(std::string goal, std::string measured, bool met);

  // Prints the table, notes, failures and goals as Markdown.
  void Print(std::FILE* out) const;

 private:
  struct Row {
    const Figures* figures;
    const Figures* floor;
  };
  struct Goal {
    std::string goal, measured;
    bool met;
  };

  std::deque<Figures> figures_;
  std::vector<Row> rows_;
  std::vector<Goal> goals_;
};

// The row's label in tables and goals: its name and concurrency
// ("GetRecord ×16").
std::string Label(const Figures& figures);

// A few lines on the machine and libraries (CPU model, logical CPUs,
// memory, kernel, gRPC and RocksDB versions), Markdown list items.
std::string DescribeMachine();

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_REPORT_H_
