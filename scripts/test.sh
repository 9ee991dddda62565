#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: first the optimized build,
# then the same unit, integration, end-to-end and fault tests built with
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer, then the
# tests labelled tsan built with clang under ThreadSanitizer (that build
# also checks the thread-safety annotations). Extra arguments go to every
# ctest run (for example -R EndToEnd). KOURYU_SANITIZE=0 skips both
# sanitizer runs; KOURYU_TSAN=0 skips the ThreadSanitizer run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

scripts/build.sh
ctest --preset release "$@"

if [[ ${KOURYU_SANITIZE:-1} != 0 ]]; then
  cmake --preset sanitize >/dev/null
  cmake --build --preset sanitize
  ctest --preset sanitize "$@"

  if [[ ${KOURYU_TSAN:-1} != 0 ]]; then
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan
    ctest --preset tsan "$@"
  fi
fi
