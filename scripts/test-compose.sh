#!/usr/bin/env bash
# `npm run test:compose` (opt-in; needs root and the Debian mirror, not a
# container registry): the distributed system of docker-compose.yml (profile
# apps) run for real on Debian's docker.io engine, then driven by simulated
# agents through its HAProxy (scripts/deploy/compose-agents.js):
#   kill -9 of a gateway container -> every agent back and in sync;
#   rolling restart of both gateways -> no agent lost, disconnects counted.
#
# 1. docker.io, docker-compose (v1) and debootstrap from apt, if missing.
# 2. Its own dockerd (own data-root, exec-root, socket under tmp/compose-e2e)
#    with --iptables=false --ip-forward=false --bridge=none: the host's
#    firewall, forwarding and bridges stay as they are; containers use the
#    host's network (engineering-notes §A3).
# 3. The base images by debootstrap + docker import (scripts/deploy-base-image.sh),
#    the app image from deploy/Dockerfile on them, Kafka/Redis/PostgreSQL/HAProxy
#    from deploy/compose/local/local.Dockerfile (Kafka's jars: those
#    deploy/infra/infra.sh fetched, .infra/kafka/libs).
# 4. docker-compose -f docker-compose.yml -f deploy/compose/local/docker-compose.local.yml
#    --profile apps up, on loopback ports 253xx/254xx (OPAMP_E2E_*_PORT).
# 5. The agents' checks; then everything down (containers, volumes, dockerd).
#
# COMPOSE_E2E_AGENTS (200) agents; COMPOSE_E2E_KEEP=1 leaves the stack up; COMPOSE_E2E_SKIP_KILL=1
# runs only checks 1 and 3;
# OPAMP_E2E_KAFKA_LIBS: the Kafka jars (default .infra/kafka/libs of infra.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
t0=$SECONDS
say() { printf '== [%4ds] %s\n' "$((SECONDS - t0))" "$*"; }
die() { printf 'test-compose: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (dockerd, debootstrap)"

out=$root/tmp/compose-e2e
mkdir -p "$out"
# ---------------------------------------------------------------- 1. tools
missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$out/apt.log" 2>&1 || { tail -20 "$out/apt.log"; die "apt-get install failed"; }
fi
# Debian's client: it speaks the engine's API version and builds with BuildKit
docker() { /usr/bin/docker "$@"; }
export -f docker

# ---------------------------------------------------------------- 2. dockerd
d=$out/docker
mkdir -p "$d"
export DOCKER_HOST=unix://$d/docker.sock
started_dockerd=
if ! docker info >/dev/null 2>&1; then
  say "dockerd (--iptables=false --ip-forward=false --bridge=none, data in $d)"
  nohup /usr/sbin/dockerd --iptables=false --ip-forward=false --bridge=none --data-root "$d/data" --exec-root "$d/exec" \
    -H "$DOCKER_HOST" --pidfile "$d/dockerd.pid" >"$d/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$d/dockerd.log"; die "dockerd did not start"; }
fi

project=opamp-e2e
# Compose v1 merges the override's network_mode: host with the base file's
# `ports:`, which the engine refuses on the host network, and v1 cannot reset a
# list: so the merged configuration (`config`) without the port bindings is what runs,
# and without HAProxy's nofile ulimit, above this machine's hard limit (20,000).
merged=$out/compose.merged.yml
compose=(docker-compose -p "$project" --project-directory "$root" -f "$merged" --profile apps)
merge_compose() {
  docker-compose -p "$project" -f docker-compose.yml -f deploy/compose/local/docker-compose.local.yml --profile apps config \
    | node -e "const Y = require('yaml'); let t = ''; process.stdin.on('data', (c) => (t += c)).on('end', () => {
        const c = Y.parse(t, { version: '1.1' }); for (const s of Object.values(c.services)) { delete s.ports; delete s.ulimits; } process.stdout.write(Y.stringify(c, { version: '1.1' })); })" >"$merged"
  chmod 600 "$merged"   # it holds the run's tokens
}
teardown() {
  local status=$?
  if [ "${COMPOSE_E2E_KEEP:-}" = 1 ]; then
    say "left running (COMPOSE_E2E_KEEP=1): DOCKER_HOST=$DOCKER_HOST ${compose[*]} down -v"
    exit $status
  fi
  if [ $status -ne 0 ] && docker info >/dev/null 2>&1; then
    "${compose[@]}" logs --no-color >"$out/compose.log" 2>&1 || true
    say "logs of every container in $out/compose.log"
  fi
  say "tear down: containers and volumes"
  "${compose[@]}" down -v --remove-orphans >"$out/down.log" 2>&1 || true
  if [ -n "$started_dockerd" ]; then
    say "stopping dockerd (pid $started_dockerd)"
    kill "$started_dockerd" 2>/dev/null || true
    wait "$started_dockerd" 2>/dev/null || true
  fi
  exit $status
}
trap teardown EXIT

# ---------------------------------------------------------------- 3. images
s=$SECONDS
say "base images (debootstrap + docker import; kept once made)"
bash scripts/deploy-base-image.sh >"$out/base-image.log" 2>&1 || { tail -20 "$out/base-image.log"; die "base image failed"; }
say "app image opamp-fleet:local from deploy/Dockerfile on local/node:20"
DOCKER_BUILDKIT=1 docker build --network host -f deploy/Dockerfile --build-arg NODE_IMAGE=local/node:20 \
  --build-arg RUNTIME_IMAGE=local/node:20-runtime -t opamp-fleet:local . >"$out/image-build.log" 2>&1 \
  || { tail -30 "$out/image-build.log"; die "image build failed"; }
say "  opamp-fleet:local: $(( $(docker image inspect -f '{{.Size}}' opamp-fleet:local) / 1000000 )) MB"
ctx=deploy/compose/local
# the broker's jars as deploy/infra/infra.sh fetched them from Maven Central
kafka_libs="${OPAMP_E2E_KAFKA_LIBS:-.infra/kafka/libs}"
ls "$kafka_libs"/kafka_*.jar >/dev/null 2>&1 || die "no Kafka jars in $kafka_libs: run deploy/infra/infra.sh up once (or set OPAMP_E2E_KAFKA_LIBS)"
rm -rf "$ctx/kafka-libs" && mkdir -p "$ctx/kafka-libs" && cp "$kafka_libs"/*.jar "$ctx/kafka-libs/"
cp deploy/kafka/tools-log4j.properties "$ctx/kafka-log4j.properties"
for target in postgres redis kafka haproxy; do
  say "image opamp-local/$target (Debian packages)"
  DOCKER_BUILDKIT=1 docker build --network host -f "$ctx/local.Dockerfile" --target "$target" -t "opamp-local/$target" "$ctx" \
    >"$out/build-$target.log" 2>&1 || { tail -30 "$out/build-$target.log"; die "image $target failed"; }
done
say "images in $((SECONDS - s)) s"

# ---------------------------------------------------------------- 4. up
token() { node -e "process.stdout.write(require('crypto').randomBytes(24).toString('base64url'))"; }
agent_token=$(token)
admin_token=$(token)
export OPAMP_AGENT_TOKENS="default=$agent_token"
export OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS="default=$admin_token"
export OPAMP_CREDENTIAL_KEY="" OPAMP_PACKAGE_URL_KEY=""
# a short drain keeps the rolling restart quick; it still spreads the closes
export OPAMP_DRAIN_WINDOW_MS="${OPAMP_DRAIN_WINDOW_MS:-5000}"
merge_compose || die "compose config does not validate"
"${compose[@]}" config -q || die "the merged compose configuration does not validate"
"${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
s=$SECONDS
say "compose up: postgres, redis, kafka, migrate, gateway-1, gateway-2, status-ingest, config-service, lb"
"${compose[@]}" up -d >"$out/up.log" 2>&1 || { cat "$out/up.log"; die "compose up failed"; }
for svc in postgres redis kafka gateway-1 gateway-2 status-ingest config-service; do
  for _ in $(seq 240); do
    state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$("${compose[@]}" ps -q "$svc")" 2>/dev/null || true)
    [ "$state" = "running healthy" ] && break
    sleep 0.5
  done
  [ "$state" = "running healthy" ] || die "$svc: $state"
  say "  $svc healthy"
done
[ "$(docker inspect -f '{{.State.ExitCode}}' "$("${compose[@]}" ps -q migrate)")" = 0 ] || die "migrate did not exit 0"
say "the whole system up in $((SECONDS - s)) s"

# ---------------------------------------------------------------- 5. agents
say "building the swarm app (simulated agents from the host)"
NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx nx run swarm:build --output-style=static >"$out/swarm-build.log" 2>&1 \
  || { tail -20 "$out/swarm-build.log"; die "swarm build failed"; }
s=$SECONDS
COMPOSE_E2E_API="http://127.0.0.1:${OPAMP_E2E_CONFIG_HTTP_PORT:-25380}/api/v1" \
COMPOSE_E2E_ENDPOINT="ws://127.0.0.1:${OPAMP_E2E_LB_PORT:-25330}/v1/opamp" \
COMPOSE_E2E_LB_STATS="http://127.0.0.1:${OPAMP_E2E_LB_STATS_PORT:-25404}" \
COMPOSE_E2E_ADMIN_TOKEN="$admin_token" COMPOSE_E2E_AGENT_TOKEN="$agent_token" \
COMPOSE_E2E_COMPOSE="${compose[*]}" COMPOSE_E2E_OUT="$out" \
COMPOSE_E2E_SWARM_MAIN="$root/dist/out-tsc/apps/swarm/src/main.js" COMPOSE_E2E_SWARM_ALIASES="$root/dist/out-tsc/register-aliases.js" \
  node scripts/deploy/compose-agents.js
say "agents' checks in $((SECONDS - s)) s; test-compose passed"
