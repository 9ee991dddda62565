#!/usr/bin/env bash
# Configures and builds kouryu (release preset: build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release "$@"
