#!/usr/bin/env bash
# Builds the container images kouryu-ingest and kouryu-query with podman
# from deploy/images/Containerfile.
#
#   scripts/image.sh              compile the binaries inside the build stage
#   scripts/image.sh --prebuilt   take the release binaries already built in
#                                 build/release (scripts/build.sh), stripped
#
# Options: --tag TAG (default: the version from git describe), --base-only
# (only make sure debian:bookworm-slim exists). Run as root. When
# debian:bookworm-slim is not in local storage (no registry reachable), it is
# made with debootstrap from the Debian mirror apt uses and tagged under that
# name, so the same Containerfile builds unchanged where a registry exists.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

prebuilt=0
base_only=0
tag=""
while (($#)); do
  case $1 in
    --prebuilt) prebuilt=1 ;;
    --base-only) base_only=1 ;;
    --tag) tag=$2; shift ;;
    *) echo "image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $(id -u) -ne 0 ]]; then
  echo "image.sh: run as root (rootful podman)" >&2
  exit 2
fi
scripts/setup.sh
export CONTAINERS_CONF="$root/deploy/images/containers.conf"
podman=(podman --cgroup-manager cgroupfs --runtime runc)

base=docker.io/library/debian:bookworm-slim

# The Debian mirror apt is configured with (deb822 or one-line sources).
debian_mirror() {
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list \
          | grep -v security | head -n1 | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//; s/ .*//')
  echo "${uri:-http://deb.debian.org/debian}"
}

make_base() {
  local mirror rootfs started=$SECONDS
  mirror=$(debian_mirror)
  rootfs=$(mktemp -d /tmp/kouryu-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  echo "image.sh: $base not present; debootstrap --variant=minbase bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 20 "$rootfs.log" >&2; rm -f "$rootfs.log"; return 1; }
  rm -f "$rootfs.log"
  # As in Debian's own slim image: no docs, man pages or translations, no
  # recommended packages, and the same suites (updates, security).
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/99slim"
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
  rm -rf "$rootfs"/usr/share/{man,info}/* "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/var/log/* "$rootfs"/tmp/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias \
    -exec rm -rf {} + 2>/dev/null || true
  tar -C "$rootfs" --numeric-owner -c . |
    "${podman[@]}" import --change 'CMD ["bash"]' - "$base" >/dev/null
  echo "image.sh: made $base in $((SECONDS - started)) s" >&2
}

if ! "${podman[@]}" image exists "$base"; then
  make_base
fi
((base_only)) && exit 0

source=$(git remote get-url origin 2>/dev/null || echo unknown)
version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
tag=${tag:-$version}

build_args=(--build-arg "SOURCE=$source" --build-arg "VERSION=$version" --build-arg "REVISION=$revision")
if ((prebuilt)); then
  # Stripped copies of the release build's binaries, inside the build
  # context (the .containerignore lets only this folder of build/ in).
  staged=build/release/image-bin
  mkdir -p "$staged"
  for binary in ingest-service/kouryu-ingest query-service/kouryu-query cli/kouryu-cli; do
    if [[ ! -x build/release/$binary ]]; then
      echo "image.sh: build/release/$binary missing; run scripts/build.sh first" >&2
      exit 1
    fi
    strip --strip-unneeded -o "$staged/${binary##*/}" "build/release/$binary"
  done
  build_args+=(--build-arg BINARIES=prebuilt)
else
  # Passed even though it is the default: buildah 1.28 skips the stages a
  # FROM names through an argument unless the argument is given.
  build_args+=(--build-arg BINARIES=compiled)
fi

started=$SECONDS
for target in ingest query; do
  "${podman[@]}" build --isolation chroot --pull=never \
    --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
    -f deploy/images/Containerfile --target "$target" "${build_args[@]}" \
    -t "localhost/kouryu-$target:$tag" -t "localhost/kouryu-$target:latest" . >&2
done
# Images of ours that the new ones replaced (untagged now).
"${podman[@]}" image prune -f --filter label=org.opencontainers.image.vendor=kouryu >/dev/null
echo "image.sh: built in $((SECONDS - started)) s ($( ((prebuilt)) && echo prebuilt || echo compiled) binaries)"
for target in ingest query; do
  "${podman[@]}" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "localhost/kouryu-$target:$tag"
done
