#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite. Extra arguments go to ctest
# (for example -R EndToEnd).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ctest --preset release --output-on-failure "$@"
