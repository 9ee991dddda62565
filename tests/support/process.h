#ifndef KOURYU_TESTS_SUPPORT_PROCESS_H_
#define KOURYU_TESTS_SUPPORT_PROCESS_H_

// Helpers that run the real binaries as child processes, for the
// end-to-end tests and the benchmarks.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kouryu::testing {

// A server child process. Start() returns once the server has printed
// "... listening on HOST:PORT", so the address is known and it is serving.
class ServerProcess {
 public:
  // With `stderr_path`, the process's standard error goes to that file
  // (created or truncated) instead of the test's.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::vector<std::string>& argv, const std::string& stderr_path = "");
  ~ServerProcess();  // Kills the process if it still runs.

  const std::string& address() const { return address_; }
  // The next line the server prints to standard output after the address
  // line (such as "... metrics on HOST:PORT" or "... health listening on
  // HOST:PORT"), without its "\n", waiting up to a minute.
  absl::StatusOr<std::string> ReadLine();
  pid_t pid() const { return pid_; }

  // SIGTERM, then waits; returns the exit code (or 128 + signal).
  int Terminate();
  // SIGKILL, then waits.
  void Kill();
  // Waits for the process to exit (after a signal sent to pid()); returns
  // the exit code (or 128 + signal).
  int Wait();

 private:
  ServerProcess(pid_t pid, int stdout_fd, std::string address)
      : pid_(pid), stdout_fd_(stdout_fd), address_(std::move(address)) {}

  pid_t pid_;
  int stdout_fd_;
  std::string address_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // Standard output; standard error goes to the test log.
};

// Runs `argv` to completion with `input` on its standard input.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& input = "");

// A fresh directory under $TEST_TMPDIR, $TMPDIR or /tmp.
std::string MakeTempDir();

}  // namespace kouryu::testing

#endif  // KOURYU_TESTS_SUPPORT_PROCESS_H_
