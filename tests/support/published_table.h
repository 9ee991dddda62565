#ifndef KOURYU_TESTS_SUPPORT_PUBLISHED_TABLE_H_
#define KOURYU_TESTS_SUPPORT_PUBLISHED_TABLE_H_

// The published table (data/tokyo-exchange-r1.tsv) for the tests that
// import it, and what a person counted in it by hand (data lines 4-42;
// lines 1, 2, 14, 24 and 37 are blank, line 3 is the header). Tests that
// include this are built with KOURYU_SOURCE_DIR (kouryu_test).

#include <fstream>
#include <sstream>
#include <string>

namespace kouryu::testing {

inline constexpr int kPublishedRecords = 36;
// 大韓民国ソウル特別市 (4), ソウル市 items on lines 15, 22, 32, 33.
inline constexpr int kSeoulRecords = 5;
// 北京市 on lines 5, 12, 13, 19, 21, 27, 31, 41.
inline constexpr int kBeijingRecords = 8;
// パリ市 on lines 6, 18, 20, 26, 29.
inline constexpr int kParisRecords = 5;
// Items naming no city: lines 10, 28, 35, 38, 39, 42.
inline constexpr int kUnassignedRecords = 6;
// オリンピック・パラリンピック準備局: lines 20-23 and 25-28.
inline constexpr int kOlympicBureauRecords = 8;
// 教育庁: lines 36, 38, 39, 40, 41.
inline constexpr int kEducationBureauRecords = 5;

// The file's bytes.
inline std::string PublishedTable() {
  std::ifstream in(KOURYU_SOURCE_DIR "/data/tokyo-exchange-r1.tsv",
                   std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace kouryu::testing

#endif  // KOURYU_TESTS_SUPPORT_PUBLISHED_TABLE_H_
