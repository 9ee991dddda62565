// Runs every file of fuzz/corpus/<target>/ through its fuzz target, so the
// seed corpora and the reproducers of fixed crashes are regression tests in
// the ordinary build. Each target's entry point is compiled under its own
// name (see CMakeLists.txt); a FUZZ_CHECK that fails becomes a test failure
// naming the check and the corpus file.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "gtest/gtest.h"

extern "C" int TableReaderFuzz(const uint8_t* data, size_t size);
extern "C" int ResultsFuzz(const uint8_t* data, size_t size);
extern "C" int EventsFuzz(const uint8_t* data, size_t size);
extern "C" int FilterFuzz(const uint8_t* data, size_t size);
extern "C" int PageTokenFuzz(const uint8_t* data, size_t size);
extern "C" int IngestRpcFuzz(const uint8_t* data, size_t size);
extern "C" int QueryRpcFuzz(const uint8_t* data, size_t size);

namespace kouryu::fuzz {

void CheckFailed(const char* id, const char* expr, const char* file,
                 int line) {
  ADD_FAILURE_AT(file, line) << "FUZZ_CHECK " << id << " failed: " << expr;
}

namespace {

using Target = int (*)(const uint8_t*, size_t);

// Files of the target's corpus, sorted so that runs are repeatable.
std::vector<std::filesystem::path> CorpusFiles(const std::string& target) {
  const std::filesystem::path dir =
      std::filesystem::path(KOURYU_SOURCE_DIR) / KOURYU_FUZZ_CORPUS_DIR / target;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Replay(const std::string& target, Target fn) {
  const std::vector<std::filesystem::path> files = CorpusFiles(target);
  ASSERT_FALSE(files.empty()) << "no corpus for " << target;
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE("corpus file " + file.string());
    std::ifstream in(file, std::ios::binary);
    ASSERT_TRUE(in) << "cannot read " << file;
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    // A copy of exactly `size` bytes, as libFuzzer gives, so that reads past
    // the end are not hidden by the string's terminator under ASan.
    const std::vector<uint8_t> data(bytes.begin(), bytes.end());
    EXPECT_EQ(fn(data.data(), data.size()), 0);
  }
}

TEST(FuzzCorpusTest, TableReader) { Replay("table_reader", TableReaderFuzz); }
TEST(FuzzCorpusTest, Results) { Replay("results", ResultsFuzz); }
TEST(FuzzCorpusTest, Events) { Replay("events", EventsFuzz); }
TEST(FuzzCorpusTest, Filter) { Replay("filter", FilterFuzz); }
TEST(FuzzCorpusTest, PageToken) { Replay("page_token", PageTokenFuzz); }
// The request path of each server: every RPC, in-process, over real storage.
TEST(FuzzCorpusTest, IngestRpc) { Replay("ingest_rpc", IngestRpcFuzz); }
TEST(FuzzCorpusTest, QueryRpc) { Replay("query_rpc", QueryRpcFuzz); }

}  // namespace
}  // namespace kouryu::fuzz
