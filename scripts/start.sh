#!/usr/bin/env bash
# `npm start`: the whole server in one process (embedded mode: no Kafka, Redis
# or PostgreSQL server; its data stays in .opamp-data/). Installs the Node
# packages when missing, builds, runs. The distributed mode has its own script.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npx nx run fleet-server:build --output-style=static --skip-nx-cache=false | tail -2
exec node -r ./dist/out-tsc/register-aliases.js dist/out-tsc/apps/fleet-server/src/main.js
