#!/usr/bin/env bash
# A Node.js 20 base image for deploy/Dockerfile without a container registry:
# Debian 13 (trixie, Node.js 20 with npm) from the Debian mirror by
# debootstrap, imported as local/node:20 (or $1), and the same without npm as
# local/node:20-runtime. Then:
#
#   docker build --network host -f deploy/Dockerfile --build-arg NODE_IMAGE=local/node:20 \
#     --build-arg RUNTIME_IMAGE=local/node:20-runtime -t opamp-fleet .
#
# This machine's extra trusted CAs (/usr/local/share/ca-certificates) are added
# to the image, so npm in the build trusts what the host trusts.
# Needs root, debootstrap and a running Docker engine (DOCKER_HOST is honoured).
# The root filesystem is kept in tmp/base-image/ (ignored by git); a second run
# re-imports it without debootstrapping again (remove that folder to refresh).
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-local/node:20}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
rootfs=tmp/base-image/rootfs
say() { printf '== %s\n' "$*"; }

# Importing again gives new image ids, which would void the build cache of
# deploy/Dockerfile: keep existing images unless asked (FORCE=1).
if [ "${FORCE:-}" != 1 ] && docker image inspect "$tag" "$tag-runtime" >/dev/null 2>&1; then
  say "$tag and $tag-runtime exist (FORCE=1 makes them again)"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "deploy-base-image: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
if [ ! -x "$rootfs/usr/bin/node" ]; then
  say "debootstrap trixie (minbase) from $mirror into $rootfs"
  rm -rf "$rootfs" && mkdir -p "$rootfs"
  debootstrap --variant=minbase --include=ca-certificates trixie "$rootfs" "$mirror"
  # npm's ~300 node-* packages are beyond debootstrap's resolver: apt inside
  say "apt-get install nodejs npm (in the new root)"
  mount -t proc proc "$rootfs/proc"
  trap 'umount "$rootfs/proc" 2>/dev/null || true' EXIT
  chroot "$rootfs" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null'
  umount "$rootfs/proc"
  trap - EXIT
  # an image needs no package lists, caches or docs
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
fi
# This machine's own trusted CAs (a TLS-inspecting egress proxy's, say) go in
# too, or npm inside the build cannot reach the registry. Node reads them
# through NODE_EXTRA_CA_CERTS (it does not use the system store by itself).
mkdir -p "$rootfs/usr/local/share/ca-certificates"
extra=0
for crt in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$crt" ] || continue
  cp "$crt" "$rootfs/usr/local/share/ca-certificates/" && extra=$((extra + 1))
done
chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
say "node $(chroot "$rootfs" node --version), npm $(chroot "$rootfs" npm --version), $extra local CA certificate(s) added"
import_rootfs() {
  tar -C "$1" -c . | docker import \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - "$2" >/dev/null
}
say "docker import as $tag (build: Node.js and npm)"
import_rootfs "$rootfs" "$tag"
# The runtime needs no npm: the same root without it and what only it needed.
runtime=tmp/base-image/runtime
rm -rf "$runtime" && cp -a "$rootfs" "$runtime"
chroot "$runtime" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq npm >/dev/null && apt-get autoremove -y -qq --purge >/dev/null' 2>&1 \
  | grep -v 'No such file or directory' || true
rm -rf "$runtime"/var/lib/apt/lists/* "$runtime"/var/cache/apt/* "$runtime"/var/log/*
say "docker import as $tag-runtime (Node.js only)"
import_rootfs "$runtime" "$tag-runtime"
docker image ls --filter "reference=${tag%%:*}"
