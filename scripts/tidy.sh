#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) on C++ sources of the project: the files
# given, or else the .cc files changed since the merge base with
# $KOURYU_TIDY_BASE (default main), with the .cc beside each changed
# header. It reads the compile commands of the tsan preset (clang) and
# configures that build and generates the protos first when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/tsan
[[ -f $build/compile_commands.json ]] || cmake --preset tsan >/dev/null
cmake --build "$build" --target kouryu_proto >/dev/null  # generated headers

files=("$@")
if ((${#files[@]} == 0)); then
  base=$(git merge-base HEAD "${KOURYU_TIDY_BASE:-main}")
  while read -r f; do
    case $f in
      *.cc) files+=("$f") ;;
      *.h) [[ -f ${f%.h}.cc ]] && files+=("${f%.h}.cc") ;;
    esac
  done < <(git diff --name-only --diff-filter=d "$base" -- '*.cc' '*.h')
fi
# Only sources the build compiles (and each once).
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u |
  while read -r f; do
    grep -q "\"file\": \".*/${f}\"" "$build/compile_commands.json" && echo "$f"
  done)
if ((${#files[@]} == 0)); then
  echo "tidy: no C++ sources to check" >&2
  exit 0
fi
echo "tidy: ${#files[@]} file(s)" >&2
clang-tidy-14 -p "$build" --quiet "${files[@]}"
