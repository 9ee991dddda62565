#!/usr/bin/python3
"""Runs examples/python/kouryu_client.py against real servers.

Starts kouryu-ingest and kouryu-query on port 0 with temporary data
directories, imports the published table with kouryu-cli, generates the
Python stubs as docs/clients.md says (examples/python/generate_stubs.sh),
runs the example and checks what it printed.

Usage: python_client_test.py --repo DIR --ingest BIN --query BIN --cli BIN
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile


def start(argv):
    """A server process and the address it prints once it listens."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    for line in process.stdout:
        m = re.search(r"listening on (\S+)", line)
        if m:
            return process, m.group(1)
    process.kill()
    raise SystemExit(f"{argv[0]} did not print its address")


def main():
    parser = argparse.ArgumentParser()
    for name in ("repo", "ingest", "query", "cli"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as root:
        ingest, ingest_addr = start([args.ingest, "--listen=127.0.0.1:0",
                                     f"--data_dir={root}/ingest"])
        query, query_addr = start([args.query, "--listen=127.0.0.1:0",
                                   f"--data_dir={root}/query", f"--ingest={ingest_addr}"])
        try:
            subprocess.run([args.cli, ingest_addr, "import",
                            f"{args.repo}/data/tokyo-exchange-r1.tsv"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run([f"{args.repo}/examples/python/generate_stubs.sh", f"{root}/gen"],
                           check=True)
            run = subprocess.run(
                ["/usr/bin/python3", f"{args.repo}/examples/python/kouryu_client.py",
                 "--stubs", f"{root}/gen", "--ingest", ingest_addr, "--query", query_addr],
                capture_output=True, text=True, timeout=120)
            print(run.stdout, end="")
            print(run.stderr, end="", file=sys.stderr)
            if run.returncode != 0:
                failures.append(f"the example exited {run.returncode}")
            expected = [
                r"^upserted cities/seoul/bureaus/port-harbor/records/fy2020-[0-9a-f]{16}: "
                r"OUTCOME_CREATED, sequence 37$",
                r"^read back cities/seoul/bureaus/port-harbor/records/fy2020-[0-9a-f]{16}: "
                r"Seoul, Bureau of Port and Harbor, 1 event\(s\), etag [0-9a-f]{16}$",
                r"^listed 37 records in 4 pages \(total_size 37\)$",
                r"^search Seoul: cities/seoul/bureaus/\S+ score \S+: .*«Seoul»",
                r"^rejected: INVALID_ARGUMENT \(INVALID_RECORD\)$",
                r"^  record\.title: is required$",
                r"^  record\.fiscal_year: 1800 is outside 1989\.\.2100$",
                r"^  record\.department: \"架空局\" does not begin with a bureau",
            ]
            for pattern in expected:
                if not re.search(pattern, run.stdout, re.M):
                    failures.append(f"no line matches {pattern}")
        finally:
            for p in (query, ingest):
                p.terminate()
                p.wait(timeout=30)
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
