#ifndef KOURYU_TESTS_SUPPORT_GENERATOR_H_
#define KOURYU_TESTS_SUPPORT_GENERATOR_H_

// Synthetic exchange tables for tests and benchmarks, deterministic from a
// seed: the same options and index always give the same row. Rows look like
// the published ones: the real categories, departments of real bureaus,
// items naming gazetteer cities (and some naming none), and Japanese results
// text with HTML fragments, 【】 and ○ headings, ・ bullets, dates (single
// days, ranges, months) and head counts (N名).

#include <cstdint>
#include <string>

#include "kouryu/v1/record.pb.h"

namespace kouryu::testing {

struct GeneratorOptions {
  uint64_t seed = 1;
  // Fiscal years are drawn from [first_fiscal_year, last_fiscal_year].
  int first_fiscal_year = 2015;
  int last_fiscal_year = 2024;
};

class TableGenerator {
 public:
  explicit TableGenerator(const GeneratorOptions& options);

  // Row `index`: every field set, fiscal_year included. Distinct indexes
  // give distinct natural keys (fiscal year, department, item).
  v1::RawRecord Row(uint64_t index) const;

  // The published header for `fiscal_year`, naming it in the Japanese era
  // (④実績(R元年度), ④実績(H30年度)).
  static std::string Header(int fiscal_year);

  // A TSV table in the published layout (header, then one line per row,
  // LF) holding rows [begin, end) with their fiscal year forced to
  // `fiscal_year`, so that the header names the year of every row.
  std::string Table(int fiscal_year, uint64_t begin, uint64_t end) const;

 private:
  GeneratorOptions options_;
};

}  // namespace kouryu::testing

#endif  // KOURYU_TESTS_SUPPORT_GENERATOR_H_
