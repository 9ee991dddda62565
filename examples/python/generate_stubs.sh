#!/usr/bin/env bash
# Generates kouryu's Python stubs into DIR (default ./gen), with Debian's
# python3-grpc-tools. Run from anywhere; see docs/clients.md.
set -euo pipefail
out=${1:-gen}
repo=$(cd "$(dirname "$0")/../.." && pwd)
googleapis=/usr/share/gocode/src/github.com/gogo/googleapis   # golang-github-gogo-googleapis-dev
mkdir -p "$out"
/usr/bin/python3 -m grpc_tools.protoc \
  -I"$repo/proto" -I"$googleapis" -I/usr/share/grpc-proto \
  --python_out="$out" --grpc_python_out="$out" \
  "$repo"/proto/kouryu/v1/*.proto \
  "$googleapis/google/rpc/status.proto" \
  "$googleapis/google/rpc/error_details.proto" \
  "$googleapis/google/type/date.proto"
