#!/usr/bin/env bash
# Builds what a server-side dry run of the chart needs, when missing, into
# tmp/go/bin: kube-apiserver and kubectl of KUBE_SOURCE_VERSION from the Go
# module proxy (no release download is reachable here), and installs etcd from
# Debian (etcd-server). Cold: ~12 min for kube-apiserver and ~2 min more for
# kubectl on 2 cores; seconds once the Go build cache has them.
#
# k8s.io/kubernetes cannot be built as a dependency as it is: its go.mod points
# the staging modules (k8s.io/api, k8s.io/client-go, ...) at ./staging folders
# that a module download does not have. A module of our own requires it and
# replaces each staging module with its published v0.<minor>.<patch> release;
# the list is read from that version's go.mod, and staging modules without a
# release of that version (sample-*) are left out.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
version="${KUBE_SOURCE_VERSION:-v1.37.2}"
staging_version="v0.${version#v1.}"
bin="$root/tmp/go/bin"
say() { printf '== %s\n' "$*"; }
die() { printf 'kube-tools: %s\n' "$*" >&2; exit 1; }

if ! command -v etcd >/dev/null; then
  say "installing etcd from Debian (etcd-server)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null || die "apt-get install etcd-server failed"
fi

stamp() {
  # kubectl refuses a server whose version it cannot parse: stamp both builds.
  local major=1 minor=${version#v1.}; minor=${minor%%.*}
  local flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

if [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] && "$bin/kubectl" version --client 2>/dev/null | grep -qF "$version"; then
  exit 0
fi
command -v go >/dev/null || die "go is needed to build kube-apiserver and kubectl"
mod="$root/tmp/kube-build"
mkdir -p "$mod" "$bin"
cd "$mod"
if [ ! -f go.mod ] || ! grep -qF "k8s.io/kubernetes $version" go.mod; then
  say "module for k8s.io/kubernetes $version (staging modules at $staging_version)"
  rm -f go.mod go.sum
  go mod init opamp-fleet/kube-build >/dev/null 2>&1
  upstream_mod=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [ -f "$upstream_mod" ] || die "no go.mod for k8s.io/kubernetes@$version from the module proxy"
  {
    printf 'require k8s.io/kubernetes %s\n\n' "$version"
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$upstream_mod" | while read -r m; do
      if GOFLAGS=-mod=mod go list -m "$m@$staging_version" >/dev/null 2>&1; then
        printf 'replace %s => %s %s\n' "$m" "$m" "$staging_version"
      fi
    done
  } >> go.mod
  printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n)\n' > tools.go
  GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
fi
ldflags=$(stamp)
say "building kube-apiserver $version (cold: ~12 min on 2 cores)"
GOFLAGS=-mod=mod nice -n 10 go build -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
say "building kubectl $version"
GOFLAGS=-mod=mod nice -n 10 go build -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl
"$bin/kubectl" version --client
