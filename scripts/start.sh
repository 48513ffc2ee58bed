#!/usr/bin/env bash
# `npm start`: the whole server in one process (embedded mode: no Kafka, Redis
# or PostgreSQL server; its data stays in .opamp-data/). Installs the locked
# Node packages when missing or older than the lockfile (`npm ci`: exactly the
# locked tree, the lockfile never rewritten), builds when the sources changed
# since the last build (scripts/build-stamp.sh), runs; says what it is doing
# with a line per step, since a first start takes minutes and a restart should
# not. `--plan` prints what it would do and stops (the start-up test uses it).
# The distributed mode has its own script.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
# shellcheck source=build-stamp.sh
source scripts/build-stamp.sh
started=$SECONDS
step() { echo "== $*"; }
elapsed() { echo "$((SECONDS - started)) s"; }
plan=false
[ "${1:-}" = "--plan" ] && plan=true

install_reason=""
if [ ! -f node_modules/.package-lock.json ]; then install_reason="no node_modules yet"
elif [ package-lock.json -nt node_modules/.package-lock.json ]; then install_reason="package-lock.json changed"
fi
if [ -n "$install_reason" ]; then
  build_reason="stale: the packages are (re)installed first"
elif build_reason=$(build_stamp_check .); then
  build_reason=""
fi

if $plan; then
  echo "install: ${install_reason:-no}"
  echo "build: ${build_reason:-no (unchanged since the last build)}"
  exit 0
fi

if [ -n "$install_reason" ]; then
  packages=$(grep -c '"resolved":' package-lock.json || true)
  step "installing the locked Node packages ($install_reason): npm ci, $packages packages from package-lock.json; a few minutes the first time"
  npm ci --no-audit --no-fund
  step "installed ($(elapsed))"
fi

if [ -n "$build_reason" ]; then
  step "building the server and the web console (${build_reason#stale: }); one line per build task"
  mkdir -p tmp
  log=tmp/start-build.log
  rm -f "$BUILD_STAMP_FILE"
  describe() {
    case "$1" in
      *:codegen) echo "generating the protobuf code from proto/" ;;
      console:build) echo "bundling the web console (vite)" ;;
      fleet-server:build) echo "compiling the server and its libs (tsc), copying migrations and protos" ;;
      *) echo "building" ;;
    esac
  }
  # One line per build task as it starts; the whole output only when the build fails.
  set +e
  npx nx run fleet-server:build --output-style=static --skip-nx-cache=false 2>&1 | tee "$log" |
    while IFS= read -r line; do
      if [[ $line =~ ^\>\ nx\ run\ ([^ ]+) ]]; then
        task=${BASH_REMATCH[1]}
        echo "   [$(elapsed)] $task: $(describe "$task")"
      fi
    done
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    step "build failed (output above, also in $log)" >&2
    exit "$rc"
  fi
  build_stamp_write .
  step "built ($(elapsed))"
else
  step "build is up to date (the sources, protos and lockfile are unchanged since the last build): not rebuilding"
fi

step "starting"
exec node -r ./dist/out-tsc/register-aliases.js dist/out-tsc/apps/fleet-server/src/main.js
