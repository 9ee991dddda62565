#!/usr/bin/env bash
# Runs every benchmark scenario and the floors beneath it in one go
# (kouryu-bench) and prints the table; docs/benchmarks.md explains it.
#
#   scripts/bench.sh quick    # smoke run: 5,000 rows, 2 s per scenario (a few minutes)
#   scripts/bench.sh full     # the figures to publish: 100,000 rows, 10 s per scenario
#   scripts/bench.sh full --concurrency=32   # further flags go to kouryu-bench
#
# Builds kouryu-bench and both servers in build/release (the release preset)
# unless KOURYU_BUILD_DIR names another build directory. The report goes to
# standard output and to bench-<mode>.md in <build dir>/bench; progress to
# standard error; the servers' logs to bench-<mode>.log beside the report. Run it on an otherwise idle machine:
# the benchmark and the servers share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case $mode in
  quick) args=(--records=5000 --import_rows=5000 --seconds=2 --warmup_seconds=0.5) ;;
  full) args=(--records=100000 --import_rows=100000 --seconds=10 --warmup_seconds=2) ;;
  *)
    echo "usage: scripts/bench.sh quick|full [kouryu-bench flags]" >&2
    exit 2
    ;;
esac
shift

scripts/setup.sh
# The PostgreSQL rows (bench/postgres_floor.h) run Debian's PostgreSQL 15,
# which only the benchmark needs.
if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed"; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  echo "bench: installing postgresql-15" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi
build_dir=${KOURYU_BUILD_DIR:-build/release}
if [[ $build_dir == build/release ]]; then
  cmake --preset release >/dev/null
elif [[ ! -f $build_dir/CMakeCache.txt ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build_dir" --target kouryu-bench >&2

report=$build_dir/bench/bench-$mode.md
log=$build_dir/bench/bench-$mode.log
echo "kouryu-bench ${args[*]}${*:+ $*} (progress below; server logs in $log)" >&2
# Standard error (the servers' logs and the benchmark's progress lines) goes
# to the log; the progress lines are shown as well.
if ! "$build_dir/bench/kouryu-bench" "${args[@]}" "$@" \
    2> >(tee "$log" | grep --line-buffered '^kouryu-bench:' >&2) | tee "$report"; then
  sleep 1  # Let the log catch up.
  tail -n 30 "$log" >&2
  exit 1
fi
