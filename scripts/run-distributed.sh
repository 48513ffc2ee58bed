#!/usr/bin/env bash
# Distributed mode on one machine (ARCHITECTURE.md, "One codebase, two ways to
# run"): builds gateway, status-ingest and config-service, starts the local
# Kafka, Redis and PostgreSQL (deploy/infra/infra.sh), then runs
#
#   gateway-1       OpAMP :4320  admin :4321
#   gateway-2       OpAMP :4322  admin :4323
#   status-ingest   Kafka consumer; metrics/health :9464
#   config-service  REST :4380 (/api/v1)  gRPC :4381
#
# as separate processes. Output goes to the terminal, prefixed per process, and
# to .infra/distributed/logs/<name>.log (the previous run's in <name>.log.1).
# Ctrl-C (or SIGTERM) stops everything; if a process dies, the others are
# stopped and the script exits non-zero.
#
# Tokens: generated on the first run and kept (mode 600) in .infra/agent-token
# (agents, tenant "default") and .infra/admin-token (REST/gRPC API). They are
# never printed; the banner says where they are. OPAMP_AGENT_TOKENS and
# OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS ("tenant=token,...") override them.
#
# Environment (all optional):
#   OPAMP_TENANT=default          tenant of the generated tokens
#   OPAMP_GATEWAY_PORT=4320       first gateway; the second uses +2 (admin ports +1)
#   OPAMP_CONFIG_HTTP_PORT=4380   OPAMP_CONFIG_GRPC_PORT=4381
#   OPAMP_DRAIN_WINDOW_MS=2000    gateway drain on stop (the app default is 30 s)
#   OPAMP_START_TIMEOUT_S=120     how long each process may take to become ready
#   OPAMP_SKIP_BUILD=1            use the existing dist/out-tsc
# Plus every variable of the apps' config modules (apps/*/src/config/*.config.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

say() { printf '== %s\n' "$*"; }
die() { printf 'run-distributed: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- build, infra
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the locked Node packages (npm ci)"
  npm ci --no-audit --no-fund
fi
if [ "${OPAMP_SKIP_BUILD:-}" != "1" ]; then
  say "building gateway, status-ingest, config-service"
  npx nx run-many -t build -p gateway status-ingest config-service --output-style=stream
fi
for app in gateway status-ingest config-service; do
  [ -f "dist/out-tsc/apps/$app/src/main.js" ] || die "dist/out-tsc/apps/$app/src/main.js is missing (build failed?)"
done

say "infrastructure (Kafka, Redis, PostgreSQL)"
bash deploy/infra/infra.sh up
set -a
# shellcheck disable=SC1091
. .infra/env
set +a

# ---------------------------------------------------------------- tokens
tenant="${OPAMP_TENANT:-default}"
new_token() {
  local file=$1
  if [ ! -s "$file" ]; then
    (umask 077 && node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url'))" > "$file")
  fi
  chmod 600 "$file"
}
agent_token_file=.infra/agent-token
admin_token_file=.infra/admin-token
new_token "$agent_token_file"
new_token "$admin_token_file"
export OPAMP_AGENT_TOKENS="${OPAMP_AGENT_TOKENS:-$tenant=$(cat "$agent_token_file")}"
export OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS="${OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS:-$tenant=$(cat "$admin_token_file")}"

# ---------------------------------------------------------------- ports
gw1_port="${OPAMP_GATEWAY_PORT:-4320}"
gw1_admin=$((gw1_port + 1))
gw2_port=$((gw1_port + 2))
gw2_admin=$((gw1_port + 3))
api_port="${OPAMP_CONFIG_HTTP_PORT:-4380}"
grpc_port="${OPAMP_CONFIG_GRPC_PORT:-4381}"
unset OPAMP_GATEWAY_PORT OPAMP_GATEWAY_ADMIN_PORT OPAMP_GATEWAY_ID OPAMP_CONFIG_HTTP_PORT OPAMP_CONFIG_GRPC_PORT
for port in "$gw1_port" "$gw1_admin" "$gw2_port" "$gw2_admin" "$api_port" "$grpc_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (another server running? stop it or choose other ports)"
  fi
done
export OPAMP_DRAIN_WINDOW_MS="${OPAMP_DRAIN_WINDOW_MS:-2000}"
start_timeout="${OPAMP_START_TIMEOUT_S:-120}"

# ---------------------------------------------------------------- first run of status-ingest
# A new consumer group reads opamp.agent-inbound from the beginning. On a dev
# machine that topic also holds what the integration tests wrote (other
# tenants): start a brand-new group at the end of the topic instead.
ingest_group="${OPAMP_INGEST_GROUP_ID:-opamp.status-ingest}"
node - "$ingest_group" <<'EOF'
const { Kafka, logLevel } = require('kafkajs');
const [group] = process.argv.slice(2);
const topic = 'opamp.agent-inbound';
const kafka = new Kafka({ brokers: (process.env.OPAMP_KAFKA_BROKERS || '127.0.0.1:19092').split(','), clientId: 'run-distributed', logLevel: logLevel.NOTHING });
(async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return;
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    if (committed.partitions.some((p) => p.offset !== '-1')) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId: group, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    console.log(`== new consumer group ${group}: starts at the end of ${topic} (earlier records there are not this server's)`);
  } finally {
    await admin.disconnect();
  }
})().catch((err) => { console.error(`run-distributed: preparing consumer group ${group}: ${err.message}`); process.exit(1); });
EOF

# ---------------------------------------------------------------- processes
log_dir=.infra/distributed/logs
mkdir -p "$log_dir"
names=()
pids=()
stopping=0

start_app() { # name app [VAR=value ...]
  local name=$1 app=$2
  shift 2
  local log="$log_dir/$name.log"
  if [ -f "$log" ]; then mv -f "$log" "$log.1"; fi   # one previous run is kept
  env "$@" NO_COLOR=1 node -r ./dist/out-tsc/register-aliases.js "dist/out-tsc/apps/$app/src/main.js" \
    > >(tee -a "$log" | sed -u "s/^/[$name] /") 2>&1 &
  names+=("$name")
  pids+=("$!")
}

stop_all() {
  local code=${1:-0} i
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM
  say "stopping"
  for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  local deadline=$((SECONDS + 15 + OPAMP_DRAIN_WINDOW_MS / 1000))
  for i in "${!pids[@]}"; do
    while kill -0 "${pids[$i]}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run-distributed: ${names[$i]} did not stop in time, killing it" >&2
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  exit "$code"
}
trap 'stop_all 130' INT
trap 'stop_all 143' TERM

# Fails (and stops everything) if a process died; $1 = name to check, or all.
check_alive() {
  local i
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      local rc=0
      wait "${pids[$i]}" || rc=$?
      echo "run-distributed: ${names[$i]} exited (code $rc) during start; last lines of $log_dir/${names[$i]}.log:" >&2
      tail -n 20 "$log_dir/${names[$i]}.log" >&2 || true
      stop_all 1
    fi
  done
}

# wait_until <what> <command...>: polls the command while every process lives.
wait_until() {
  local what=$1 deadline=$((SECONDS + start_timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    check_alive
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "run-distributed: $what not ready after ${start_timeout}s" >&2
      stop_all 1
    fi
    sleep 0.5
  done
}
http_ok() { node -e "fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$1"; }
ingest_consuming() { grep -q 'consuming .* as ' "$log_dir/status-ingest.log"; }

say "starting status-ingest and config-service"
start_app status-ingest status-ingest
start_app config-service config-service OPAMP_CONFIG_HTTP_PORT="$api_port" OPAMP_CONFIG_GRPC_PORT="$grpc_port"
wait_until "config-service" http_ok "http://127.0.0.1:$api_port/api/v1/openapi.json"
wait_until "status-ingest" ingest_consuming

say "starting two gateways"
start_app gateway-1 gateway OPAMP_GATEWAY_ID=gateway-1 OPAMP_GATEWAY_PORT="$gw1_port" OPAMP_GATEWAY_ADMIN_PORT="$gw1_admin"
start_app gateway-2 gateway OPAMP_GATEWAY_ID=gateway-2 OPAMP_GATEWAY_PORT="$gw2_port" OPAMP_GATEWAY_ADMIN_PORT="$gw2_admin"
wait_until "gateway-1" http_ok "http://127.0.0.1:$gw1_admin/readyz"
wait_until "gateway-2" http_ok "http://127.0.0.1:$gw2_admin/readyz"

cat <<EOF

opamp-fleet, distributed mode: ready (Ctrl-C stops everything)
  Agents (OpAMP over WebSocket or plain HTTP, tenant '$tenant'):
      ws://127.0.0.1:$gw1_port/v1/opamp    http://127.0.0.1:$gw1_port/v1/opamp   (gateway-1, admin :$gw1_admin)
      ws://127.0.0.1:$gw2_port/v1/opamp    http://127.0.0.1:$gw2_port/v1/opamp   (gateway-2, admin :$gw2_admin)
      header  Authorization: Bearer <agent token>
  API:    http://127.0.0.1:$api_port/api/v1   (OpenAPI: /api/v1/openapi.json)   gRPC: 127.0.0.1:$grpc_port
      header  Authorization: Bearer <admin token>
  Tokens (not printed): agent token in $root/$agent_token_file
                        admin token in $root/$admin_token_file
      e.g. curl -H "Authorization: Bearer \$(cat $admin_token_file)" http://127.0.0.1:$api_port/api/v1/agents
  Logs:   $root/$log_dir/<process>.log

EOF

# Runs until Ctrl-C; a process that dies takes the others down with a non-zero exit.
while :; do
  if ! wait -n "${pids[@]}"; then :; fi
  [ "$stopping" = 1 ] && break
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "run-distributed: ${names[$i]} exited; stopping the others" >&2
      stop_all 1
    fi
  done
done
