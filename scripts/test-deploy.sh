#!/usr/bin/env bash
# `npm run test:deploy` (opt-in; needs Go, not Docker or a cluster): the Helm
# chart deploy/helm/opamp-fleet linted and rendered with Helm, for the default
# values (plus the three required backend settings) and values-production.yaml,
# and the rendered manifests checked (scripts/deploy/chart-check.js rendered).
# Also: values the apps would refuse stop the render with a clear message, and
# the image's launcher and health check work on the built apps
# (scripts/deploy/image-roles-check.js; needs `npm run infra:up`). With
# OPAMP_DEPLOY_IMAGE=<tag> also the built image, each role in a read-only
# container (scripts/deploy/image-smoke-check.sh; needs Docker).
#
# Helm is built from the Go module proxy when missing (HELM_VERSION, into
# tmp/go/bin; ~11 min cold on 2 cores, seconds once the Go build cache has it).
# HELM=/path/to/helm uses another one. `promtool check rules` on the chart's
# alert rules, with PROMTOOL, promtool on PATH, or Debian's prometheus package
# unpacked into tmp/promtool (apt-get download, ~20 MB). Every rendering is
# then validated by a real kube-apiserver (scripts/deploy/kube-dry-run.sh;
# kube-apiserver and kubectl built the same way by scripts/deploy/kube-tools.sh,
# ~14 min cold; OPAMP_DEPLOY_SKIP_KUBE=1 leaves it out).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
say() { printf '== %s\n' "$*"; }
die() { printf 'test-deploy: %s\n' "$*" >&2; exit 1; }

helm_version="${HELM_VERSION:-v3.22.0}"
helm="${HELM:-$root/tmp/go/bin/helm}"
if [ ! -x "$helm" ]; then
  command -v go >/dev/null || die "go is needed to build Helm (or set HELM=/path/to/helm)"
  say "building Helm $helm_version from the Go module proxy into tmp/go/bin (cold: ~11 min)"
  mkdir -p "$root/tmp/go/bin"
  GOBIN="$root/tmp/go/bin" nice -n 10 go install "helm.sh/helm/v3/cmd/helm@$helm_version"
fi
say "$("$helm" version --short)"

chart=deploy/helm/opamp-fleet
# A Helm built with `go install` does not know a cluster's version (it assumes
# 1.20); render for a current one. The chart needs >= 1.25.
kube_version="${KUBE_VERSION:-1.33.0}"
out=tmp/deploy
rm -rf "$out" && mkdir -p "$out"
# What an install must always say: where Kafka, Redis and PostgreSQL are.
required=(--set 'kafka.brokers[0]=kafka.example.internal:9092'
  --set 'postgresql.url=postgres://opamp:secret@pg.example.internal:5432/opamp'
  --set 'redis.url=redis://redis.example.internal:6379')

passed=0
failed=0
step() {
  local name=$1; shift
  if "$@" > "$out/$name.log" 2>&1; then
    passed=$((passed + 1)); say "ok   $name"
  else
    failed=$((failed + 1)); say "FAIL $name"; sed 's/^/     /' "$out/$name.log"
  fi
}
# helm template into $out/<file>.yaml
render() {
  local file=$1; shift
  "$helm" template opamp-fleet "$chart" --namespace opamp --kube-version "$kube_version" "$@" > "$out/$file.yaml"
}
# A render that must be refused, with this message.
refused() {
  local name=$1 message=$2; shift 2
  if "$helm" template opamp-fleet "$chart" --kube-version "$kube_version" "$@" > "$out/$name.log" 2>&1; then
    failed=$((failed + 1)); say "FAIL $name: rendered, should have been refused"
  elif grep -qF "$message" "$out/$name.log"; then
    passed=$((passed + 1)); say "ok   $name"
  else
    failed=$((failed + 1)); say "FAIL $name: refused without \"$message\""; sed 's/^/     /' "$out/$name.log"
  fi
}

say "static check (templates and values against the apps' config modules)"
step static node scripts/deploy/chart-check.js static

promtool="${PROMTOOL:-$(command -v promtool || true)}"
local_promtool="$root/tmp/promtool/usr/bin/promtool"
if [ -z "$promtool" ] && [ ! -x "$local_promtool" ] && command -v apt-get >/dev/null; then
  say "promtool from Debian's prometheus package into tmp/promtool (apt-get download, ~20 MB)"
  rm -rf "$root/tmp/promtool" && mkdir -p "$root/tmp/promtool"
  (cd "$root/tmp/promtool" && apt-get download -q prometheus >/dev/null 2>&1 && dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb) || true
fi
[ -z "$promtool" ] && [ -x "$local_promtool" ] && promtool=$local_promtool
if [ -n "$promtool" ]; then
  say "the alert rules with $("$promtool" --version 2>&1 | head -1)"
  step promtool-rules "$promtool" check rules "$chart/monitoring/alerts.yaml"
else
  say "skipped: promtool check rules (set PROMTOOL=/path/to/promtool; Debian: apt-get download prometheus && dpkg-deb -x prometheus_*.deb dir)"
fi

say "default values"
step lint-default "$helm" lint --strict --kube-version "$kube_version" "$chart" "${required[@]}"
step template-default render default "${required[@]}"
step check-default node scripts/deploy/chart-check.js rendered "$out/default.yaml" --expect-load-balancer

say "values-production.yaml"
step lint-production "$helm" lint --strict --kube-version "$kube_version" "$chart" -f "$chart/values-production.yaml"
step template-production render production -f "$chart/values-production.yaml"
step check-production node scripts/deploy/chart-check.js rendered "$out/production.yaml"

say "every option on (gateway TLS, client identity, a terminator sidecar in front, Gateway API, PodMonitor, alert rules, dashboards, network policies, extra CA)"
step template-options render options "${required[@]}" \
  --set gateway.tls.secretName=opamp-tls --set gateway.clientIdentity.header=x-client-cert-subject \
  --set 'gateway.clientIdentity.trustedProxies[0]=10.0.0.10' --set gateway.clientIdentity.required=true \
  --set gateway.httpRoute.enabled=true --set 'gateway.httpRoute.parentRefs[0].name=public' \
  --set metrics.podMonitor.enabled=true --set networkPolicy.enabled=true --set extraCA.secretName=backends-ca \
  --set metrics.prometheusRule.enabled=true --set metrics.prometheusRule.labels.release=kube-prometheus-stack \
  --set metrics.grafanaDashboards.enabled=true --set metrics.grafanaDashboards.annotations.grafana_folder=OpAMP \
  --set secrets.agentTokens=default=abcdefghijklmnopqrstuvwx \
  --set 'gateway.extraContainers[0].name=mtls-terminator' --set 'gateway.extraContainers[0].image=example/terminator:1' \
  --set 'gateway.extraContainers[0].env[0].name=UPSTREAM' --set 'gateway.extraContainers[0].env[0].value=127.0.0.1:4320' \
  --set 'gateway.extraContainers[0].ports[0].name=mtls' --set 'gateway.extraContainers[0].ports[0].containerPort=8443' \
  --set gateway.service.targetPort=mtls \
  --set 'gateway.extraVolumes[0].name=client-ca' --set 'gateway.extraVolumes[0].secret.secretName=client-ca'
step check-options node scripts/deploy/chart-check.js rendered "$out/options.yaml" --expect-load-balancer --expect-monitoring

say "mutual TLS at ingress-nginx (client certificates verified by the controller, passed to the gateways)"
mtls=(--set gateway.ingress.enabled=true --set gateway.ingress.className=nginx --set gateway.ingress.tlsSecretName=opamp-tls
  --set gateway.ingress.clientCertificates.enabled=true --set gateway.ingress.clientCertificates.caSecret=opamp-agent-cas)
step template-mtls render mtls "${required[@]}" "${mtls[@]}" --set 'gateway.clientIdentity.trustedProxies[0]=10.42.0.0/16' \
  --set gateway.clientIdentity.required=true --set gateway.service.type=ClusterIP
step check-mtls node scripts/deploy/chart-check.js rendered "$out/mtls.yaml"
step mtls-annotations grep -q 'nginx.ingress.kubernetes.io/auth-tls-secret: opamp/opamp-agent-cas' "$out/mtls.yaml"
step mtls-gateway-env grep -q 'value: "ssl-client-cert"' "$out/mtls.yaml"
refused refused-mtls-no-proxies 'gateway.clientIdentity.trustedProxies is required' "${required[@]}" "${mtls[@]}"
refused refused-mtls-no-ca 'clientCertificates.caSecret is required' "${required[@]}" "${mtls[@]}" --set gateway.ingress.clientCertificates.caSecret= \
  --set 'gateway.clientIdentity.trustedProxies[0]=10.42.0.0/16'
refused refused-mtls-no-tls 'needs gateway.ingress.tlsSecretName' "${required[@]}" "${mtls[@]}" --set gateway.ingress.tlsSecretName= \
  --set 'gateway.clientIdentity.trustedProxies[0]=10.42.0.0/16'

say "Kafka over TLS with SASL (CA and password from Secrets, into every app that talks to Kafka)"
kafka_sec=(--set kafka.tls.enabled=true --set kafka.tls.caSecret.name=kafka-ca --set kafka.sasl.mechanism=scram-sha-512
  --set kafka.sasl.username=opamp)
step template-kafka-security render kafka-security "${required[@]}" "${kafka_sec[@]}" --set kafka.sasl.password=kafka-secret
step check-kafka-security node scripts/deploy/chart-check.js rendered "$out/kafka-security.yaml" --expect-load-balancer
step kafka-security-env node scripts/deploy/kafka-security-check.js "$out/kafka-security.yaml" \
  --ca-secret kafka-ca --password-secret opamp-fleet --password-key kafka-sasl-password
step template-kafka-own-secret render kafka-own-secret "${required[@]}" "${kafka_sec[@]}" \
  --set kafka.sasl.passwordSecret.name=kafka-user --set kafka.sasl.passwordSecret.key=password
step kafka-own-secret-env node scripts/deploy/kafka-security-check.js "$out/kafka-own-secret.yaml" \
  --ca-secret kafka-ca --password-secret kafka-user --password-key password
refused refused-kafka-ca-no-tls 'kafka.tls.caSecret needs kafka.tls.enabled=true' "${required[@]}" --set kafka.tls.caSecret.name=kafka-ca
refused refused-kafka-mechanism 'kafka.sasl.mechanism must be plain, scram-sha-256 or scram-sha-512' "${required[@]}" \
  --set kafka.sasl.mechanism=gssapi --set kafka.sasl.username=opamp --set kafka.sasl.password=x
refused refused-kafka-no-password 'kafka.sasl needs a password' "${required[@]}" --set kafka.sasl.mechanism=plain --set kafka.sasl.username=opamp
refused refused-kafka-no-mechanism 'need kafka.sasl.mechanism' "${required[@]}" --set kafka.sasl.username=opamp

say "values the apps would refuse"
refused refused-no-kafka 'kafka.brokers is required'
refused refused-one-gateway 'gateway.replicas must be at least 2' "${required[@]}" --set gateway.replicas=1
refused refused-short-grace 'must exceed preStopSleepSeconds + drainWindowSeconds' "${required[@]}" --set gateway.terminationGracePeriodSeconds=30
# values.schema.json: a name values.yaml does not have is refused, not ignored
# (from a file: chart-check static refuses such a name in a --set of this script)
printf 'gateway:\n  replica: 3\n' > "$out/misspelt-values.yaml"
refused refused-unknown-value "at '/gateway': additional properties 'replica' not allowed" "${required[@]}" -f "$out/misspelt-values.yaml"
step values-schema-current node scripts/deploy/values-schema.js --check

say "server-side dry run on a real kube-apiserver (etcd + kube-apiserver on loopback; the CRDs of the optional kinds)"
if [ "${OPAMP_DEPLOY_SKIP_KUBE:-}" = 1 ]; then
  say "skipped: the server-side dry run (OPAMP_DEPLOY_SKIP_KUBE=1)"
else
  step kube-tools bash scripts/deploy/kube-tools.sh
  step kube-dry-run bash scripts/deploy/kube-dry-run.sh "$helm" "$out" "$out/default.yaml" "$out/production.yaml" \
    "$out/options.yaml" "$out/mtls.yaml" -- "${required[@]}"
  grep '^== ' "$out/kube-dry-run.log" | sed 's/^== /     /'
fi

say "the image's launcher and health check (built apps; PostgreSQL, Redis, Kafka of infra.sh)"
step build-apps env NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false npx nx run-many -t build -p gateway config-service --output-style=static
step image-roles node scripts/deploy/image-roles-check.js

if [ -n "${OPAMP_DEPLOY_IMAGE:-}" ]; then
  say "the image $OPAMP_DEPLOY_IMAGE, every role in a read-only container (Docker)"
  step image-smoke bash scripts/deploy/image-smoke-check.sh "$OPAMP_DEPLOY_IMAGE"
  sed -n 's/^== \(.* MB\)$/== \1/p' "$out/image-smoke.log" | head -1
else
  say "skipped: the image in Docker (set OPAMP_DEPLOY_IMAGE=opamp-fleet:local, with DOCKER_HOST if needed)"
fi

say "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
