// The JSON log line: the fixed members, then the event's fields in order,
// byte for byte as nlohmann-json writes the whole object.

#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace kouryu {
namespace {

// What Log writes to standard error while `write` runs.
template <typename Write>
std::string CaptureStderr(const std::string& path, Write write) {
  std::fflush(stderr);
  const int saved = dup(2);
  const int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(file, 2);
  close(file);
  write();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(LogTest, JsonLineHasTheFixedMembersThenTheFieldsAsTheLibraryWritesThem) {
  testing::ScopedTempDir dir;
  InitLogging({.program = "kouryu-test", .format = LogFormat::kJson,
               .level = LogLevel::kDebug});
  const LogFields fields = {{"service", "kouryu.v1.QueryService"},
                            {"quoted", "a \"b\"\n\\ c"},
                            {"bad_utf8", "peer \xff\xfe"},
                            {"japanese", "ソウル"},
                            {"count", 42},
                            {"duration_ms", 0.4125},
                            {"ok", true},
                            {"none", nullptr},
                            {"list", {1, "two"}}};
  const std::string line = CaptureStderr(dir.path() + "/stderr", [&] {
    LogWarn("an_event", fields);
  });
  ASSERT_FALSE(line.empty());
  ASSERT_EQ(line.back(), '\n');
  const LogFields parsed = LogFields::parse(line.substr(0, line.size() - 1));
  // The whole object built and written by the library, with the same time.
  LogFields expected = LogFields::object();
  expected["time"] = parsed["time"];
  expected["level"] = "warn";
  expected["logger"] = "kouryu-test";
  expected["msg"] = "an_event";
  for (const auto& [key, value] : fields.items()) expected[key] = value;
  EXPECT_EQ(line, expected.dump(-1, ' ', false, LogFields::error_handler_t::replace) + "\n");
  EXPECT_EQ(parsed["bad_utf8"], "peer \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(parsed["time"].get<std::string>().size(),
            std::string("2026-12-02T01:02:03.456789Z").size());

  const std::string bare = CaptureStderr(dir.path() + "/stderr", [] {
    LogInfo("no_fields");
  });
  EXPECT_EQ(bare.substr(bare.find(",\"level\"")),
            ",\"level\":\"info\",\"logger\":\"kouryu-test\",\"msg\":\"no_fields\"}\n");
}

}  // namespace
}  // namespace kouryu
