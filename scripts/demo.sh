#!/usr/bin/env bash
# Sets up and builds kouryu, starts kouryu-ingest and kouryu-query on a local
# data directory, imports the published table and answers example queries.
# The services keep running afterwards; `scripts/demo.sh stop` stops them.
#
# Environment: KOURYU_DATA (default .kouryu), KOURYU_INGEST_ADDR
# (127.0.0.1:50051), KOURYU_QUERY_ADDR (127.0.0.1:50052).
set -euo pipefail
cd "$(dirname "$0")/.."

data=${KOURYU_DATA:-.kouryu}
ingest_addr=${KOURYU_INGEST_ADDR:-127.0.0.1:50051}
query_addr=${KOURYU_QUERY_ADDR:-127.0.0.1:50052}
bin=build/release

stop() {
  for service in query ingest; do
    pidfile="$data/$service.pid"
    [[ -f $pidfile ]] || continue
    pid=$(<"$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      echo "stopped kouryu-$service (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

# Starts a service in the background and waits until it has printed its
# address ("... listening on HOST:PORT").
start() {
  local service=$1
  shift
  "$@" >"$data/$service.out" 2>"$data/$service.log" &
  echo $! >"$data/$service.pid"
  for _ in $(seq 1 300); do
    if grep -q "listening on" "$data/$service.out"; then
      echo "started $(cat "$data/$service.out") (pid $!, log $data/$service.log)"
      return 0
    fi
    if ! kill -0 "$!" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "kouryu-$service did not start; its log:" >&2
  cat "$data/$service.log" >&2
  exit 1
}

cli() { "$bin/cli/kouryu-cli" "$@"; }

if [[ ${1:-} == stop ]]; then
  stop
  exit 0
fi

scripts/setup.sh
scripts/build.sh --target kouryu-ingest kouryu-query kouryu-cli
mkdir -p "$data"
stop
start ingest "$bin/ingest-service/kouryu-ingest" --listen="$ingest_addr" --data_dir="$data/ingest" --log_format=text
start query "$bin/query-service/kouryu-query" --listen="$query_addr" --data_dir="$data/query" --ingest="$ingest_addr" --log_format=text

# kouryu-query is NOT_SERVING until it has caught up with ingest.
for _ in $(seq 1 100); do
  if cli "$query_addr" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; then break; fi
  sleep 0.1
done

echo
echo "== health"
for addr in "$ingest_addr" "$query_addr"; do
  printf '%s: ' "$addr"
  cli "$addr" grpc.health.v1.Health/Check | tr -d '\n '
  echo
done

echo
echo "== import data/tokyo-exchange-r1.tsv"
import=$(cli "$ingest_addr" import data/tokyo-exchange-r1.tsv)
echo "$import"
sequence=${import##*sequence }
sequence=${sequence%% *}

echo
echo "== records per city, read at min_sequence $sequence"
for parent in cities/- cities/seoul cities/beijing cities/paris cities/unassigned \
              cities/-/bureaus/olympic-paralympic; do
  total=$(cli -d "{\"parent\":\"$parent\",\"pageSize\":1,\"minSequence\":\"$sequence\"}" \
            "$query_addr" kouryu.v1.QueryService/ListRecords | grep totalSize || true)
  printf '%-40s %s\n' "$parent" "${total:-\"totalSize\": 0}"
done

echo
echo "== the first Paris record (ListRecords, BASIC view)"
cli -d "{\"parent\":\"cities/paris\",\"pageSize\":1,\"view\":\"RECORD_VIEW_BASIC\",\"minSequence\":\"$sequence\"}" \
  "$query_addr" kouryu.v1.QueryService/ListRecords

echo
echo "== search 「ソウル歴史博物館」"
cli -d "{\"query\":\"ソウル歴史博物館\",\"minSequence\":\"$sequence\"}" \
  "$query_addr" kouryu.v1.QueryService/SearchRecords | grep -E '"(name|snippet|totalSize)"'

echo
echo "== participants per city in FY2019 events (SummarizeRecords)"
cli -d "{\"groupBy\":[\"city\"],\"minSequence\":\"$sequence\"}" \
  "$query_addr" kouryu.v1.QueryService/SummarizeRecords | tr -d ' \n' | sed 's/},{/},\n{/g'
echo

echo
echo "The services keep running: ingest on $ingest_addr, query on $query_addr."
echo "Try: $bin/cli/kouryu-cli $query_addr list"
echo "Stop them with: scripts/demo.sh stop"
