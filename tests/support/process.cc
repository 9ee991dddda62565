#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace kouryu::testing {
namespace {

// How long a server may take to print its address.
constexpr int kStartTimeoutMs = 60'000;

std::vector<char*> CArgs(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::vector<std::string>& argv) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  pid_t pid = 0;
  std::vector<char*> args = CArgs(argv);
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0]));
  }
  std::string line;
  char c;
  while (true) {
    pollfd pfd{out[0], POLLIN, 0};
    if (poll(&pfd, 1, kStartTimeoutMs) <= 0 || read(out[0], &c, 1) != 1) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(out[0]);
      return absl::UnavailableError(
          absl::StrCat(argv[0], " did not print its address; got \"", line, "\""));
    }
    if (c == '\n') break;
    line.push_back(c);
  }
  size_t at = line.rfind(' ');
  if (line.find(" listening on ") == std::string::npos) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(out[0]);
    return absl::UnavailableError(absl::StrCat("unexpected first line: ", line));
  }
  return std::unique_ptr<ServerProcess>(
      new ServerProcess(pid, out[0], line.substr(at + 1)));
}

absl::StatusOr<std::string> ServerProcess::ReadLine() {
  std::string line;
  char c;
  while (true) {
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, kStartTimeoutMs) <= 0 || read(stdout_fd_, &c, 1) != 1) {
      return absl::UnavailableError(absl::StrCat(
          "no further line on standard output; got \"", line, "\""));
    }
    if (c == '\n') return line;
    line.push_back(c);
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

int ServerProcess::Wait() {
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  close(stdout_fd_);
  return ExitCode(status);
}

int ServerProcess::Terminate() {
  kill(pid_, SIGTERM);
  return Wait();
}

void ServerProcess::Kill() {
  kill(pid_, SIGKILL);
  Wait();
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::string& input) {
  signal(SIGPIPE, SIG_IGN);  // A child that exits early must not kill us.
  int out[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  pid_t pid = 0;
  std::vector<char*> args = CArgs(argv);
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(in[0]);
  CommandResult result;
  if (rc != 0) {
    close(out[0]);
    close(in[1]);
    return result;
  }
  // Feed the input from another thread so a large output cannot deadlock.
  std::thread writer([fd = in[1], &input] {
    size_t done = 0;
    while (done < input.size()) {
      ssize_t n = write(fd, input.data() + done, input.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    close(fd);
  });
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof buffer)) > 0) result.out.append(buffer, n);
  close(out[0]);
  writer.join();
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = ExitCode(status);
  return result;
}

std::string MakeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  if (base == nullptr || *base == '\0') base = std::getenv("TMPDIR");
  if (base == nullptr || *base == '\0') base = "/tmp";
  std::string pattern = absl::StrCat(base, "/kouryu-XXXXXX");
  char* dir = mkdtemp(pattern.data());
  return dir != nullptr ? std::string(dir) : std::string();
}

}  // namespace kouryu::testing
