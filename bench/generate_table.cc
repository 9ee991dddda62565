// kouryu-generate: writes a synthetic exchange table
// (tests/support/generator.h) in the published TSV layout, for benchmarks and
// for trying the services with more data than the published 36 rows.
//
//   kouryu-generate --rows=10000 --seed=7 --fiscal_year=2020 --out=fy2020.tsv
//
// The same flags always write the same bytes.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tests/support/generator.h"

ABSL_FLAG(uint64_t, rows, 1000, "Number of rows to write.");
ABSL_FLAG(uint64_t, seed, 1, "Seed; the same seed gives the same table.");
ABSL_FLAG(int, fiscal_year, 2019,
          "Fiscal year of every row, named in the header (2019 = R元年度).");
ABSL_FLAG(std::string, out, "",
          "File to write; standard output when empty.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes a synthetic exchange table: kouryu-generate --rows=N --seed=S "
      "--fiscal_year=Y --out=FILE");
  absl::ParseCommandLine(argc, argv);

  const int fiscal_year = absl::GetFlag(FLAGS_fiscal_year);
  if (fiscal_year < 1989 || fiscal_year > 2100) {
    std::cerr << "kouryu-generate: --fiscal_year=" << fiscal_year
              << " is outside 1989..2100\n";
    return 2;
  }
  kouryu::testing::GeneratorOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  kouryu::testing::TableGenerator generator(options);
  const std::string table =
      generator.Table(fiscal_year, 0, absl::GetFlag(FLAGS_rows));

  const std::string path = absl::GetFlag(FLAGS_out);
  if (path.empty()) {
    std::cout.write(table.data(), static_cast<std::streamsize>(table.size()));
    std::cout.flush();
    return std::cout ? 0 : 1;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(table.data(), static_cast<std::streamsize>(table.size()));
  file.close();
  if (!file) {
    std::cerr << "kouryu-generate: cannot write " << path << "\n";
    return 1;
  }
  std::cerr << "kouryu-generate: wrote " << absl::GetFlag(FLAGS_rows)
            << " rows (" << table.size() << " bytes) to " << path << "\n";
  return 0;
}
