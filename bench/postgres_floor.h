#ifndef KOURYU_BENCH_POSTGRES_FLOOR_H_
#define KOURYU_BENCH_POSTGRES_FLOOR_H_

// PostgreSQL beside kouryu-query: the same records (the bytes GetRecord
// answers with), read the same two ways — one record by its key, a page of
// one city's records in name order — at the same concurrency, driven by
// PostgreSQL's own cheapest client (pgbench with prepared statements).
//
// The server is Debian's PostgreSQL (15), started in a temporary directory
// on 127.0.0.1 and stopped when the floor is destroyed. PostgreSQL will not
// run as root: as root, the server and its tools run as the user
// `postgres` (which Debian's package creates).
//
//   CREATE TABLE records (no int PRIMARY KEY, city int, name text,
//                         record bytea);
//   CREATE INDEX ON records (city, name);
//   point get: SELECT record FROM records WHERE no = :random
//   page:      SELECT name, record FROM records WHERE city = :random
//              ORDER BY name LIMIT page_size

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/measure.h"

namespace kouryu::bench {

// The rows to load, in PostgreSQL's COPY text format (no, city, name,
// record as \\x hex), one record per line, in a file; `records` lines,
// cities numbered 0 .. cities - 1.
struct PostgresTable {
  std::string copy_file;
  int64_t records = 0;
  int cities = 0;
};

// Appends one row of a PostgresTable's COPY file to `out`.
void AppendCopyRow(int64_t no, int city, absl::string_view name,
                   absl::string_view record, std::string& out);

class PostgresFloor {
 public:
  // Who runs PostgreSQL's programs: this process's user, or `postgres` when
  // this process is root (initdb and postgres refuse root).
  struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    bool switch_user = false;
  };

  // Starts a server (initdb, then postgres) with the binaries in `bin_dir`
  // (e.g. /usr/lib/postgresql/15/bin) and loads `table`. Fails with the
  // tool's output when a step fails.
  static absl::StatusOr<std::unique_ptr<PostgresFloor>> Start(
      const std::string& bin_dir, const PostgresTable& table);
  // Stops the server (fast shutdown) and removes its directory.
  ~PostgresFloor();
  PostgresFloor(const PostgresFloor&) = delete;
  PostgresFloor& operator=(const PostgresFloor&) = delete;

  // pgbench runs of the point get and of the page: an unmeasured run of
  // load.warmup, then the measured run of load.duration (whole seconds),
  // load.concurrency connections. Server CPU is the postmaster's and its
  // backends'; client CPU is pgbench's.
  Figures PointGets(const std::string& name, const LoadOptions& load);
  Figures Pages(const std::string& name, int page_size,
                const LoadOptions& load);

  // "PostgreSQL 15.x" as the server reports it.
  const std::string& version() const { return version_; }

 private:
  PostgresFloor(std::string bin_dir, std::string dir, int port, Identity who)
      : bin_dir_(std::move(bin_dir)),
        dir_(std::move(dir)),
        port_(port),
        who_(who) {}

  // `script` is a file of the floor's directory; `variables` are
  // pgbench's -D options.
  Figures Bench(const std::string& name, const std::string& script,
                const std::vector<std::string>& variables,
                const LoadOptions& load);

  const std::string bin_dir_;
  const std::string dir_;
  const int port_;
  const Identity who_;
  pid_t postmaster_ = -1;
  std::string version_;
};

}  // namespace kouryu::bench

#endif  // KOURYU_BENCH_POSTGRES_FLOOR_H_
