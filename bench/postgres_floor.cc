#include "bench/postgres_floor.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace kouryu::bench {
namespace {

// Longest wait for the server to accept connections, and for a finished
// pgbench's backends to exit.
constexpr absl::Duration kStartLimit = absl::Seconds(60);
constexpr absl::Duration kBackendExitLimit = absl::Seconds(10);

absl::StatusOr<PostgresFloor::Identity> PostgresIdentity() {
  using Identity = PostgresFloor::Identity;
  if (geteuid() != 0) return Identity{getuid(), getgid(), false};
  const passwd* user = getpwnam("postgres");
  if (user == nullptr) {
    return absl::FailedPreconditionError(
        "PostgreSQL will not run as root, and there is no user postgres to "
        "run it as (Debian's postgresql package creates it)");
  }
  return Identity{user->pw_uid, user->pw_gid, true};
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The last lines of a tool's output, for an error message.
std::string Tail(const std::string& text) {
  constexpr size_t kTail = 2000;
  return text.size() <= kTail ? text : text.substr(text.size() - kTail);
}

using Identity = PostgresFloor::Identity;

// Starts argv[0] as `who`, standard input from `stdin_path` (or
// /dev/null), standard output and error to `out_path` (made theirs).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const Identity& who, const std::string& out_path,
                            const std::string& stdin_path = "/dev/null") {
  const int in = open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return absl::NotFoundError(absl::StrCat("cannot read ", stdin_path));
  const int out =
      open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    close(in);
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", out_path));
  }
  if (who.switch_user && fchown(out, who.uid, who.gid) != 0) {
    close(in);
    close(out);
    return absl::PermissionDeniedError(absl::StrCat("cannot chown ", out_path));
  }
  // Everything the child needs is made before fork: after it, only
  // async-signal-safe calls (this process has other threads).
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    if (who.switch_user &&
        (setgroups(0, nullptr) != 0 || setgid(who.gid) != 0 ||
         setuid(who.uid) != 0)) {
      _exit(126);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  close(in);
  close(out);
  if (pid < 0) return absl::InternalError("fork failed");
  return pid;
}

struct Finished {
  int exit_code = -1;
  rusage usage = {};
  std::string output;
};

// Runs a tool to its end.
absl::StatusOr<Finished> RunTool(const std::vector<std::string>& argv,
                                 const Identity& who,
                                 const std::string& out_path,
                                 const std::string& stdin_path = "/dev/null") {
  absl::StatusOr<pid_t> pid = Spawn(argv, who, out_path, stdin_path);
  if (!pid.ok()) return pid.status();
  Finished finished;
  int status = 0;
  while (wait4(*pid, &status, 0, &finished.usage) < 0) {
    if (errno != EINTR) return absl::InternalError("wait4 failed");
  }
  finished.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  finished.output = ReadFile(out_path);
  return finished;
}

absl::Status Succeeded(absl::string_view what,
                       const absl::StatusOr<Finished>& finished) {
  if (!finished.ok()) return finished.status();
  if (finished->exit_code == 0) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      what, " exited with ", finished->exit_code, ": ", Tail(finished->output)));
}

// A port on 127.0.0.1 that nothing listens on now.
absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok =
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!ok) return absl::InternalError("no free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

// The child processes of `parent` (PostgreSQL's backends and helpers).
std::vector<pid_t> Children(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const std::vector<std::string> fields = ProcStatFields(pid);
    // fields[1] is field 4, the parent's pid.
    if (fields.size() > 1 && fields[1] == absl::StrCat(parent)) {
      children.push_back(pid);
    }
  }
  return children;
}

// CPU time (user + system) of a process with its children, the reaped
// ones included: fields 14 to 17.
int64_t TreeCpuTicks(pid_t pid) {
  const std::vector<std::string> fields = ProcStatFields(pid);
  if (fields.size() < 15) return 0;
  int64_t ticks = 0;
  for (int field = 14; field <= 17; ++field) {
    int64_t value = 0;
    if (absl::SimpleAtoi(fields[field - 3], &value)) ticks += value;
  }
  return ticks;
}

// CPU time of the postmaster and every process under it, in microseconds.
int64_t ServerCpuMicros(pid_t postmaster) {
  int64_t ticks = TreeCpuTicks(postmaster);
  for (pid_t child : Children(postmaster)) ticks += TreeCpuTicks(child);
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  return ticks * 1'000'000 / ticks_per_second;
}

// Whether a client backend is left under the postmaster, or an exited
// child it has not reaped yet.
bool BackendsLeft(pid_t postmaster) {
  for (pid_t child : Children(postmaster)) {
    const std::string command =
        ReadFile(absl::StrCat("/proc/", child, "/cmdline"));
    // "postgres: bench postgres 127.0.0.1(port) idle"; an exited one not
    // yet reaped (state Z) has no command line left.
    const std::vector<std::string> fields = ProcStatFields(child);
    if (absl::StartsWith(command, "postgres: bench ") ||
        (!fields.empty() && fields[0] == "Z")) {
      return true;
    }
  }
  return false;
}

// ServerCpuMicros once a finished pgbench's connections have ended (they
// end asynchronously) and their CPU time has moved to the postmaster's
// reaped-children figure: no backend left, and the same figure twice
// 50 ms apart (a child in the middle of exiting can be unreadable).
int64_t SettledServerCpuMicros(pid_t postmaster) {
  const absl::Time limit = absl::Now() + kBackendExitLimit;
  int64_t last = -1;
  while (absl::Now() < limit) {
    if (!BackendsLeft(postmaster)) {
      const int64_t now = ServerCpuMicros(postmaster);
      if (now == last) return now;
      last = now;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return last;
}

// The number after `label` in pgbench's report, if present.
std::optional<double> ReportValue(const std::string& report,
                                  absl::string_view label) {
  const size_t at = report.find(label.data(), 0, label.size());
  if (at == std::string::npos) return std::nullopt;
  std::istringstream rest(report.substr(at + label.size()));
  double value = 0;
  if (!(rest >> value)) return std::nullopt;
  return value;
}

double Seconds(absl::Duration duration) {
  return std::max(1.0, std::ceil(absl::ToDoubleSeconds(duration)));
}

void AppendHex(absl::string_view bytes, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
}

}  // namespace

void AppendCopyRow(int64_t no, int city, absl::string_view name,
                   absl::string_view record, std::string& out) {
  absl::StrAppend(&out, no, "\t", city, "\t");
  for (char c : name) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out.push_back(c);
    }
  }
  // bytea's hex input "\x...", its backslash escaped for COPY.
  out += "\t\\\\x";
  AppendHex(record, out);
  out.push_back('\n');
}

absl::StatusOr<std::unique_ptr<PostgresFloor>> PostgresFloor::Start(
    const std::string& bin_dir, const PostgresTable& table) {
  if (access((bin_dir + "/postgres").c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "no PostgreSQL server in ", bin_dir, " (Debian's postgresql-15)"));
  }
  absl::StatusOr<Identity> who = PostgresIdentity();
  if (!who.ok()) return who.status();
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  // A directory of its own under /tmp: the bench's own may be closed to
  // the postgres user.
  std::string dir = "/tmp/kouryu-bench-pg-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError("cannot make a directory under /tmp");
  }
  if (who->switch_user && chown(dir.c_str(), who->uid, who->gid) != 0) {
    std::filesystem::remove_all(dir);
    return absl::PermissionDeniedError(absl::StrCat("cannot chown ", dir));
  }
  std::unique_ptr<PostgresFloor> floor(
      new PostgresFloor(bin_dir, dir, *port, *who));

  const std::string data = dir + "/data";
  absl::Status status = Succeeded(
      "initdb", RunTool({bin_dir + "/initdb", "-D", data, "-U", "bench",
                         "--auth=trust", "-E", "UTF8", "--locale=C",
                         "--no-sync"},
                        *who, dir + "/initdb.log"));
  if (!status.ok()) return status;

  // Defaults but for durability, which reads do not touch and the load
  // does not need.
  absl::StatusOr<pid_t> postmaster = Spawn(
      {bin_dir + "/postgres", "-D", data, "-h", "127.0.0.1", "-p",
       absl::StrCat(*port), "-k", dir, "-c", "fsync=off", "-c",
       "synchronous_commit=off", "-c", "max_connections=100"},
      *who, dir + "/postgres.log");
  if (!postmaster.ok()) return postmaster.status();
  floor->postmaster_ = *postmaster;

  const std::vector<std::string> connect = {
      "-h", "127.0.0.1", "-p", absl::StrCat(*port), "-U", "bench", "-d",
      "postgres"};
  auto tool = [&](const std::string& name, std::vector<std::string> args) {
    std::vector<std::string> argv = {bin_dir + "/" + name};
    argv.insert(argv.end(), connect.begin(), connect.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  const absl::Time limit = absl::Now() + kStartLimit;
  while (true) {
    absl::StatusOr<Finished> ready =
        RunTool(tool("pg_isready", {}), *who, dir + "/isready.log");
    if (ready.ok() && ready->exit_code == 0) break;
    int exited = 0;
    if (waitpid(floor->postmaster_, &exited, WNOHANG) == floor->postmaster_) {
      floor->postmaster_ = -1;
      return absl::UnavailableError(absl::StrCat(
          "postgres exited at start: ", Tail(ReadFile(dir + "/postgres.log"))));
    }
    if (absl::Now() > limit) {
      return absl::DeadlineExceededError("postgres did not accept connections");
    }
    absl::SleepFor(absl::Milliseconds(100));
  }

  status = Succeeded(
      "psql (load)",
      RunTool(tool("psql",
                   {"-q", "-v", "ON_ERROR_STOP=1", "-c",
                    "CREATE TABLE records (no int PRIMARY KEY, city int NOT "
                    "NULL, name text NOT NULL, record bytea NOT NULL)",
                    "-c", "\\copy records FROM pstdin", "-c",
                    "CREATE INDEX records_city_name ON records (city, name)",
                    "-c", "VACUUM ANALYZE records"}),
              *who, dir + "/load.log", table.copy_file));
  if (!status.ok()) return status;
  absl::StatusOr<Finished> version =
      RunTool(tool("psql", {"-At", "-c", "SHOW server_version"}), *who,
              dir + "/version.log");
  if (Succeeded("psql (version)", version).ok()) {
    floor->version_ = absl::StrCat(
        "PostgreSQL ", absl::StripAsciiWhitespace(version->output));
  }

  // pgbench's scripts: every call another random key.
  std::ofstream(dir + "/get.sql")
      << "\\set no random(0, " << table.records - 1 << ")\n"
      << "SELECT record FROM records WHERE no = :no;\n";
  std::ofstream(dir + "/page.sql")
      << "\\set city random(0, " << std::max(0, table.cities - 1) << ")\n"
      << "SELECT name, record FROM records WHERE city = :city "
         "ORDER BY name LIMIT :page_size;\n";
  return floor;
}

PostgresFloor::~PostgresFloor() {
  if (postmaster_ > 0) {
    kill(postmaster_, SIGINT);  // Fast shutdown.
    int status = 0;
    waitpid(postmaster_, &status, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Figures PostgresFloor::PointGets(const std::string& name,
                                 const LoadOptions& load) {
  return Bench(name, "get.sql", {}, load);
}

Figures PostgresFloor::Pages(const std::string& name, int page_size,
                             const LoadOptions& load) {
  return Bench(name, "page.sql", {"-D", absl::StrCat("page_size=", page_size)},
               load);
}

Figures PostgresFloor::Bench(const std::string& name,
                             const std::string& script,
                             const std::vector<std::string>& variables,
                             const LoadOptions& load) {
  const int threads = std::max(
      1, std::min<int>(load.concurrency, std::thread::hardware_concurrency()));
  Figures figures{
      .name = name,
      .concurrency = load.concurrency,
      .note = absl::StrCat("pgbench -M prepared -c ", load.concurrency, " -j ",
                           threads, ", ", version_)};
  std::vector<std::string> argv = {
      bin_dir_ + "/pgbench", "-h", "127.0.0.1", "-p", absl::StrCat(port_),
      "-U", "bench", "-n", "-M", "prepared", "-c",
      absl::StrCat(load.concurrency), "-j", absl::StrCat(threads)};
  argv.insert(argv.end(), variables.begin(), variables.end());
  argv.push_back("-f");
  argv.push_back(absl::StrCat(dir_, "/", script));
  auto run = [&](absl::Duration duration, bool logged) {
    std::vector<std::string> args = argv;
    args.push_back("-T");
    args.push_back(absl::StrCat(Seconds(duration)));
    if (logged) {
      args.push_back("-l");
      args.push_back("--log-prefix=" + dir_ + "/latency");
    }
    args.push_back("postgres");
    return RunTool(args, who_, dir_ + "/pgbench.log");
  };

  if (load.warmup > absl::ZeroDuration()) {
    absl::StatusOr<Finished> warmup = run(load.warmup, false);
    if (absl::Status status = Succeeded("pgbench", warmup); !status.ok()) {
      AddError(figures.errors, absl::StatusCodeToString(status.code()),
               status.message());
      return figures;
    }
  }
  const int64_t cpu_start = SettledServerCpuMicros(postmaster_);
  absl::StatusOr<Finished> measured = run(load.duration, true);
  const int64_t cpu_end = SettledServerCpuMicros(postmaster_);
  if (absl::Status status = Succeeded("pgbench", measured); !status.ok()) {
    AddError(figures.errors, absl::StatusCodeToString(status.code()),
             status.message());
    return figures;
  }

  const std::optional<double> processed =
      ReportValue(measured->output, "number of transactions actually processed:");
  const std::optional<double> tps = ReportValue(measured->output, "tps = ");
  const std::optional<double> failed =
      ReportValue(measured->output, "number of failed transactions:");
  if (!processed || !tps || *tps <= 0) {
    AddError(figures.errors, "UNKNOWN",
             absl::StrCat("unreadable pgbench report: ", Tail(measured->output)));
    return figures;
  }
  figures.ops = static_cast<int64_t>(*processed);
  figures.seconds = *processed / *tps;
  if (failed && *failed > 0) {
    figures.errors["ABORTED"] = {
        .count = static_cast<int64_t>(*failed),
        .first_message = "pgbench reported failed transactions"};
  }
  SetCpuPerOp(cpu_start, cpu_end, figures);
  const rusage& usage = measured->usage;
  const double client_us =
      (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
      usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
  if (figures.ops > 0) figures.client_cpu_us_per_op = client_us / figures.ops;

  // Per-transaction logs, one file per pgbench thread: "client_id
  // transaction_no latency_us script_no epoch epoch_us".
  std::vector<double> latencies;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (!absl::StartsWith(entry.path().filename().string(), "latency.")) continue;
    std::ifstream file(entry.path());
    std::string client, transaction;
    double latency = 0;
    std::string rest;
    while (file >> client >> transaction >> latency) {
      latencies.push_back(latency);
      std::getline(file, rest);
    }
    std::filesystem::remove(entry.path());
  }
  figures.p50_us = Percentile(latencies, 0.5);
  figures.p99_us = Percentile(latencies, 0.99);
  return figures;
}

}  // namespace kouryu::bench
