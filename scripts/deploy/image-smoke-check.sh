#!/usr/bin/env bash
# The built image (deploy/Dockerfile) run as Kubernetes runs it: read-only root
# filesystem, a tmpfs on /tmp, its own user, host networking (an engine started
# with --bridge=none; engineering notes A3) on the PostgreSQL, Redis and Kafka
# of `npm run infra:up`. Each role in turn:
#   - an unknown role exits 64;
#   - migrate applies the schema to a new database and exits 0;
#   - config-service, status-ingest and a gateway become healthy by the image's
#     own HEALTHCHECK (on a run's own database, topics and consumer groups);
#   - the gateway stops with exit 0 on `docker stop` (drained);
#   - fleet-server writes only its /data volume and becomes healthy.
# Usage: scripts/deploy/image-smoke-check.sh [image]   (default opamp-fleet:local)
# Prints one line per check and the image's size; removes what it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
image="${1:-opamp-fleet:local}"
run="smoke$$"
pg_admin="${OPAMP_TEST_DATABASE_URL:-postgres://opamp:opamp@127.0.0.1:${OPAMP_PG_PORT:-54320}/opamp_test}"
db_url="${pg_admin%/*}/deploy_$run"
failed=0
ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; failed=$((failed + 1)); }
containers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f -v "$c" >/dev/null 2>&1 || true; done
  docker volume rm -f "$run-data" >/dev/null 2>&1 || true
  node -e "
    const { Client } = require('pg');
    const c = new Client({ connectionString: process.argv[1] });
    c.connect().then(() => c.query('DROP DATABASE IF EXISTS deploy_$run')).finally(() => c.end());
  " "$pg_admin" || true
  node -e "
    const { Kafka, logLevel } = require('kafkajs');
    const admin = new Kafka({ brokers: ['127.0.0.1:${OPAMP_KAFKA_PORT:-19092}'], logLevel: logLevel.NOTHING }).admin();
    admin.connect().then(() => admin.listTopics()).then((all) => admin.deleteTopics({ topics: all.filter((t) => t.includes('$run')) })).finally(() => admin.disconnect());
  " || true
}
trap cleanup EXIT

# docker run as the chart runs the pods; extra arguments before the role
start() {
  local name=$1; shift
  containers+=("$run-$name")
  docker run -d --name "$run-$name" --network host --read-only --tmpfs /tmp "$@" >/dev/null
}
healthy() {
  local name=$1 deadline=$((SECONDS + ${2:-120})) state
  while [ $SECONDS -lt $deadline ]; do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$run-$name" 2>/dev/null || echo gone)
    [ "$state" = healthy ] && return 0
    [ "$state" = gone ] && return 1
    [ "$(docker inspect -f '{{.State.Running}}' "$run-$name")" = true ] || return 1
    sleep 2
  done
  return 1
}

printf '== %s: %s\n' "$image" "$(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

set +e
docker run --rm --read-only "$image" no-such-role >/dev/null 2>&1
[ $? -eq 64 ] && ok "an unknown role exits 64" || bad "an unknown role exits 64"
set -e

node -e "
  const { Client } = require('pg');
  const c = new Client({ connectionString: process.argv[1] });
  c.connect().then(() => c.query('CREATE DATABASE deploy_$run')).finally(() => c.end());
" "$pg_admin"
if out=$(docker run --rm --network host --read-only --tmpfs /tmp -e OPAMP_DATABASE_URL="$db_url" "$image" migrate 2>&1) \
  && grep -q '"applied migrations"' <<<"$out"; then
  ok "migrate: applies the schema and exits 0"
else
  bad "migrate: $out"
fi

backend=(-e OPAMP_DATABASE_URL="$db_url")
start config-service "${backend[@]}" -e OPAMP_CONFIG_HTTP_PORT=14380 -e OPAMP_CONFIG_GRPC_PORT=14381 \
  -e OPAMP_CONFIG_EVENTS_TOPIC="opamp.$run.events" -e OPAMP_CONFIG_CONSUMER_GROUP="opamp.$run.config" "$image" config-service
healthy config-service && ok "config-service: healthy (read-only root)" || { bad "config-service: not healthy"; docker logs --tail 20 "$run-config-service"; }

start status-ingest "${backend[@]}" -e OPAMP_INGEST_METRICS_PORT=19464 -e OPAMP_INGEST_INBOUND_TOPIC="opamp.$run.inbound" \
  -e OPAMP_INGEST_EVENTS_TOPIC="opamp.$run.events" -e OPAMP_INGEST_GROUP_ID="opamp.$run.ingest" "$image" status-ingest
healthy status-ingest && ok "status-ingest: healthy (read-only root)" || { bad "status-ingest: not healthy"; docker logs --tail 20 "$run-status-ingest"; }

start gateway -e OPAMP_GATEWAY_PORT=14320 -e OPAMP_GATEWAY_ADMIN_PORT=14321 -e OPAMP_GATEWAY_ID="$run-gw" \
  -e OPAMP_GATEWAY_INBOUND_TOPIC="opamp.$run.inbound" -e OPAMP_DRAIN_WINDOW_MS=1000 "$image" gateway
healthy gateway && ok "gateway: healthy (read-only root)" || { bad "gateway: not healthy"; docker logs --tail 20 "$run-gateway"; }
docker stop -t 20 "$run-gateway" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$run-gateway")
if [ "$code" = 0 ] && docker logs "$run-gateway" 2>&1 | grep -q '"draining"'; then ok "gateway: drains and exits 0 on docker stop"; else bad "gateway: exit $code on docker stop"; fi

docker volume create "$run-data" >/dev/null
start fleet-server -v "$run-data:/data" -e OPAMP_GATEWAY_PORT=24320 -e OPAMP_GATEWAY_ADMIN_PORT=24321 \
  -e OPAMP_CONFIG_HTTP_PORT=24380 -e OPAMP_CONFIG_GRPC_PORT=24381 "$image" fleet-server
healthy fleet-server 180 && ok "fleet-server: healthy, data in the /data volume" || { bad "fleet-server: not healthy"; docker logs --tail 20 "$run-fleet-server"; }
user=$(docker exec "$run-fleet-server" node -e "process.stdout.write(String(process.getuid()))")
[ "$user" = 10001 ] && ok "runs as uid 10001" || bad "runs as uid $user"

printf '== image smoke: %s\n' "$([ $failed -eq 0 ] && echo 'all checks passed' || echo "$failed failed")"
[ $failed -eq 0 ]
