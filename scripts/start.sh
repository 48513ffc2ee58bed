#!/usr/bin/env bash
# `npm start`: the whole server in one process (embedded mode: no Kafka, Redis
# or PostgreSQL server; its data stays in .opamp-data/). Installs the locked
# Node packages when missing or older than the lockfile (`npm ci`: exactly the
# locked tree, the lockfile never rewritten), builds, runs; says what it is
# doing, since a first start takes minutes. The distributed mode has its own script.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
step() { echo "== $*"; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing the locked Node packages (npm ci; a few minutes the first time)"
  npm ci --no-audit --no-fund
fi

step "building the server and the web console"
mkdir -p tmp
log=tmp/start-build.log
# One line per build task as it starts; the whole output only when the build fails.
set +e
npx nx run fleet-server:build --output-style=static --skip-nx-cache=false 2>&1 | tee "$log" | sed -un 's/^> nx run \([^ ]*\).*/   \1/p'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  cat "$log" >&2
  step "build failed (output above, also in $log)" >&2
  exit "$rc"
fi

step "starting"
exec node -r ./dist/out-tsc/register-aliases.js dist/out-tsc/apps/fleet-server/src/main.js
