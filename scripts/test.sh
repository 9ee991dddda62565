#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: first the optimized build,
# then the same unit, integration, end-to-end and fault tests built with
# AddressSanitizer and UndefinedBehaviorSanitizer. Extra arguments go to
# ctest (for example -R EndToEnd). KOURYU_SANITIZE=0 skips the second run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/build.sh
ctest --preset release "$@"

if [[ ${KOURYU_SANITIZE:-1} != 0 ]]; then
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize
  ctest --preset sanitize "$@"
fi
