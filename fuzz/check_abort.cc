// FUZZ_CHECK for the libFuzzer binaries: abort, unless the check is listed
// in KOURYU_FUZZ_IGNORE (see fuzz_check.h).

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "fuzz/fuzz_check.h"

namespace kouryu::fuzz {

void CheckFailed(const char* id, const char* expr, const char* file,
                 int line) {
  static const std::set<std::string>* const kIgnored = [] {
    auto* ids = new std::set<std::string>;
    if (const char* env = std::getenv("KOURYU_FUZZ_IGNORE")) {
      for (absl::string_view part : absl::StrSplit(env, ',')) {
        if (!part.empty()) ids->insert(std::string(part));
      }
    }
    return ids;
  }();
  if (kIgnored->count(id) != 0) {
    static std::set<std::string>* reported = new std::set<std::string>;
    if (reported->insert(id).second) {
      std::fprintf(stderr, "FUZZ_CHECK %s failed (ignored from now on): %s at %s:%d\n",
                   id, expr, file, line);
    }
    return;
  }
  std::fprintf(stderr, "FUZZ_CHECK %s failed: %s at %s:%d\n", id, expr, file,
               line);
  std::abort();
}

}  // namespace kouryu::fuzz
