#!/usr/bin/env bash
# Whether the embedded server's build (dist/out-tsc + dist/console) is that of
# the sources as they are now: `npm start` skips the 20-45 s build when it is.
# The stamp is a SHA-256 over the content of every build input (the server,
# the console, every lib, the .proto files, the build's own tools, the base
# tsconfig, the lockfile), written next to the output after a build that
# succeeded. Content, not mtimes: a checkout or a copy touches files without
# changing them. Generated code is left out (it is derived from proto/).
# A build of another app writes into the same dist/out-tsc, so any built file
# newer than the stamp makes it stale too.
#
#   build-stamp.sh hash  [ROOT]   print the inputs' hash
#   build-stamp.sh check [ROOT]   exit 0 and print "current", or exit 1 and print "stale: <why>"
#   build-stamp.sh write [ROOT]   record the inputs' hash as built
# (also sourced by scripts/start.sh for the same three functions)

BUILD_STAMP_FILE=dist/out-tsc/.fleet-server-build-stamp
BUILD_STAMP_INPUTS=(apps/fleet-server apps/console libs proto tools/runtime tsconfig.base.json package.json package-lock.json)
BUILD_STAMP_OUTPUTS=(dist/out-tsc/apps/fleet-server/src/main.js dist/out-tsc/register-aliases.js dist/console/index.html)

# sha256sum (GNU coreutils), or shasum on macOS.
if command -v sha256sum >/dev/null 2>&1; then BUILD_STAMP_SHA256=(sha256sum); else BUILD_STAMP_SHA256=(shasum -a 256); fi

build_inputs_hash() {
  local root=${1:-.} present=() p
  for p in "${BUILD_STAMP_INPUTS[@]}"; do [ -e "$root/$p" ] && present+=("$p"); done
  # Paths and contents both count (a rename is a change); NUL-separated, byte order.
  (cd "$root" && find "${present[@]}" -type f \
      -not -path '*/node_modules/*' -not -path '*/src/generated/*' -print0 \
    | LC_ALL=C sort -z | xargs -0 -r "${BUILD_STAMP_SHA256[@]}") | "${BUILD_STAMP_SHA256[@]}" | cut -d' ' -f1
}

build_stamp_check() {
  local root=${1:-.} out stamp
  stamp="$root/$BUILD_STAMP_FILE"
  for out in "${BUILD_STAMP_OUTPUTS[@]}"; do
    if [ ! -f "$root/$out" ]; then echo "stale: $out is missing"; return 1; fi
  done
  if [ ! -f "$stamp" ]; then echo "stale: no build stamp"; return 1; fi
  if [ "$(cat "$stamp")" != "$(build_inputs_hash "$root")" ]; then
    echo "stale: sources changed since the last build"; return 1
  fi
  if [ -n "$(find "$root/dist/out-tsc" "$root/dist/console" -newer "$stamp" -type f -print -quit)" ]; then
    echo "stale: another build wrote dist/ after the last start's build"; return 1
  fi
  echo "current"
}

build_stamp_write() {
  local root=${1:-.} hash
  hash=$(build_inputs_hash "$root")
  mkdir -p "$(dirname "$root/$BUILD_STAMP_FILE")"
  echo "$hash" >"$root/$BUILD_STAMP_FILE"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    hash) build_inputs_hash "${2:-.}" ;;
    check) build_stamp_check "${2:-.}" ;;
    write) build_stamp_write "${2:-.}" ;;
    *) echo "usage: $0 hash|check|write [ROOT]" >&2; exit 2 ;;
  esac
fi
