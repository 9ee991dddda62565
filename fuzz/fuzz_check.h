#ifndef KOURYU_FUZZ_FUZZ_CHECK_H_
#define KOURYU_FUZZ_FUZZ_CHECK_H_

// Invariant checks for the fuzz targets.
//
// A target states what must hold for every input with FUZZ_CHECK(id, cond).
// What a failed check does depends on the binary the target is linked into:
//   * a libFuzzer binary (check_abort.cc) prints the check and aborts, so
//     libFuzzer saves the input as a crash artifact; checks whose id is
//     listed in the environment variable KOURYU_FUZZ_IGNORE (comma
//     separated, e.g. "events.end_before_start") are reported once and
//     otherwise ignored, so that fuzzing can go on past a known bug;
//   * the corpus replay test (corpus_replay_test.cc) records a GoogleTest
//     failure naming the check and goes on with the next input.

namespace kouryu::fuzz {

// Called when the check `id` (the expression `expr`, at file:line) fails.
void CheckFailed(const char* id, const char* expr, const char* file, int line);

}  // namespace kouryu::fuzz

#define FUZZ_CHECK(id, cond)                                          \
  do {                                                                \
    if (!(cond)) ::kouryu::fuzz::CheckFailed(id, #cond, __FILE__, __LINE__); \
  } while (false)

#endif  // KOURYU_FUZZ_FUZZ_CHECK_H_
