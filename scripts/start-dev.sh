#!/usr/bin/env bash
# `npm start` for now: the local infrastructure plus one gateway, with an agent
# token made on first start and kept in .infra/agent-token. The embedded
# single-process server replaces this (issue 6).
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
bash deploy/infra/infra.sh up
token_file=.infra/agent-token
if [ ! -s "$token_file" ]; then
  node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url'))" > "$token_file"
  chmod 600 "$token_file"
fi
export OPAMP_AGENT_TOKENS="${OPAMP_AGENT_TOKENS:-default=$(cat "$token_file")}"
port="${OPAMP_GATEWAY_PORT:-4320}"
echo "OpAMP endpoint: ws://127.0.0.1:${port}/v1/opamp and http://127.0.0.1:${port}/v1/opamp"
echo "Agent token (tenant 'default'): stored in $token_file — send it as 'Authorization: Bearer <token>'"
echo "Admin: http://127.0.0.1:${OPAMP_GATEWAY_ADMIN_PORT:-4321}/metrics, /healthz, /readyz"
exec npx nx run gateway:serve --output-style=stream
