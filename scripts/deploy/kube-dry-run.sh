#!/usr/bin/env bash
# A real Kubernetes API server for the chart's manifests (issue 16 item 4b):
# etcd and kube-apiserver on loopback (no kubelet, no controllers), the CRDs the
# chart's optional kinds need (Gateway API HTTPRoute, prometheus-operator
# PodMonitor/ServiceMonitor/PrometheusRule: their published CRDs, read from their
# Go modules through the module proxy), then each rendered file applied with
# `kubectl apply --dry-run=server --validate=strict` (the server validates
# every field and saves nothing), a manifest with an unknown field that must be
# refused, and `helm install --dry-run=server`; all in the namespace dry-run. Then the
# newcomer's walk of deploy/README.md (scripts/deploy/readme-walk.js: its kubectl and helm
# commands as printed, which really create the namespaces opamp and otel, the Secrets, the
# release and the Collector DaemonSet) and both Collector examples by server-side dry run.
#
#   scripts/deploy/kube-dry-run.sh HELM OUT_DIR RENDERED.yaml... -- HELM_INSTALL_ARGS...
#
# Tools from scripts/deploy/kube-tools.sh. Prints one "ok"/"FAIL" line per check
# and exits 1 when any failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
helm=$1 out=$2; shift 2
files=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
[ $# -gt 0 ] && shift
install_args=("$@")
bin="$root/tmp/go/bin"
gateway_api="${GATEWAY_API_VERSION:-v1.6.3}"
prometheus_operator="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
say() { printf '== %s\n' "$*"; }
die() { printf 'kube-dry-run: %s\n' "$*" >&2; exit 1; }

work="$root/tmp/kube-dry-run"
rm -rf "$work" && mkdir -p "$work/certs"
# Ports of our own below the ephemeral range, so that a busy machine's outgoing connections do not take them.
base=$((20000 + RANDOM % 12000))
etcd_port=$base api_port=$((base + 2))
pids=()
# kube-apiserver first (it hangs in its shutdown once etcd is gone), each given 10 s before SIGKILL.
stop() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() { for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[i]}"; done; wait 2>/dev/null || true; }
trap cleanup EXIT

etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$((base + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((base + 1))" \
  --initial-cluster "default=http://127.0.0.1:$((base + 1))" > "$work/etcd.log" 2>&1 &
pids+=($!)
openssl genrsa -out "$work/sa.key" 2048 2>/dev/null
openssl rsa -in "$work/sa.key" -pubout -out "$work/sa.pub" 2>/dev/null
token=$(openssl rand -hex 24)
printf '%s,admin,admin,system:masters\n' "$token" > "$work/tokens.csv"
"$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
  --secure-port "$api_port" --cert-dir "$work/certs" --token-auth-file "$work/tokens.csv" --authorization-mode AlwaysAllow \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$work/sa.pub" \
  --service-account-signing-key-file "$work/sa.key" --service-cluster-ip-range 10.96.0.0/16 \
  --endpoint-reconciler-type none > "$work/kube-apiserver.log" 2>&1 &
pids+=($!)

cat > "$work/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: dry-run, cluster: {server: "https://127.0.0.1:$api_port", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: dry-run, context: {cluster: dry-run, user: admin}}]
current-context: dry-run
KUBECONFIG
export KUBECONFIG="$work/kubeconfig"
kubectl() { "$bin/kubectl" "$@"; }
for _ in $(seq 1 120); do
  kubectl get --raw /readyz >/dev/null 2>&1 && break
  kill -0 "${pids[1]}" 2>/dev/null || { tail -20 "$work/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
  sleep 0.5
done
kubectl get --raw /readyz >/dev/null 2>&1 || { tail -20 "$work/kube-apiserver.log" >&2; die "kube-apiserver not ready after 60 s"; }
say "kube-apiserver $(kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1) on 127.0.0.1:$api_port (etcd $(etcd --version | head -1 | awk '{print $3}'))"

passed=0 failed=0
check() {
  local name=$1; shift
  if "$@" > "$out/$name.log" 2>&1; then passed=$((passed + 1)); say "ok   $name"
  else failed=$((failed + 1)); say "FAIL $name"; sed 's/^/     /' "$out/$name.log"; fi
}
refused() {
  local name=$1 message=$2; shift 2
  if "$@" > "$out/$name.log" 2>&1; then failed=$((failed + 1)); say "FAIL $name: accepted, should have been refused"
  elif grep -qF "$message" "$out/$name.log"; then passed=$((passed + 1)); say "ok   $name"
  else failed=$((failed + 1)); say "FAIL $name: refused without \"$message\""; sed 's/^/     /' "$out/$name.log"; fi
}

# The dry runs' namespace and its default ServiceAccount (no controller-manager creates it
# here); "opamp" is left for the README's walk, which creates it as a reader would.
ns=dry-run
kubectl create namespace "$ns" >/dev/null
kubectl -n "$ns" create serviceaccount default >/dev/null
module_dir() { (cd "$work" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p'); }
gw_dir=$(module_dir "sigs.k8s.io/gateway-api@$gateway_api")
po_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$prometheus_operator")
check crds kubectl apply --server-side \
  -f "$gw_dir/config/crd/standard/gateway.networking.k8s.io_httproutes.yaml" \
  -f "$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
  -f "$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
  -f "$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
check crds-established kubectl wait --for condition=established --timeout=60s \
  crd/httproutes.gateway.networking.k8s.io crd/podmonitors.monitoring.coreos.com crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com

for f in "${files[@]}"; do
  check "server-dry-run-$(basename "$f" .yaml)" kubectl apply -n "$ns" --dry-run=server --validate=strict -f "$f"
done
# The server really validates: an unknown field in a Deployment is refused.
sed '0,/^  replicas:/s//  replicaz:/' "${files[0]}" > "$work/unknown-field.yaml"
grep -q '^  replicaz:' "$work/unknown-field.yaml" || die "no Deployment replicas line in ${files[0]} to break"
refused server-dry-run-refuses-unknown-field 'unknown field "spec.replicaz"' kubectl apply -n "$ns" --dry-run=server --validate=strict -f "$work/unknown-field.yaml"
check helm-install-dry-run-server "$helm" install opamp-fleet deploy/helm/opamp-fleet --namespace "$ns" --kubeconfig "$KUBECONFIG" --dry-run=server "${install_args[@]}"

# deploy/README.md as a newcomer runs it, then what it left: the release with the values the
# walk's upgrades set, the Collector DaemonSet beside it.
check readme-walk node scripts/deploy/readme-walk.js "$helm" "$bin/kubectl" "$work/readme-walk"
walked() {
  local image env
  image=$(kubectl -n opamp get deploy opamp-fleet-gateway -o jsonpath='{.spec.template.spec.containers[0].image}')
  env=$(kubectl -n opamp get deploy opamp-fleet-status-ingest -o jsonpath='{.spec.template.spec.containers[0].env[*].name}')
  echo "gateway image: $image; status-ingest env: $env"
  [ "$image" = registry.example.com/opamp-fleet:0.2.0 ] || { echo "not the image of the README's upgrade"; return 1; }
  [[ " $env " == *" OPAMP_KAFKA_SASL_PASSWORD_FILE "* ]] || { echo "no Kafka SASL of the README's TLS choices"; return 1; }
  kubectl -n opamp get prometheusrule opamp-fleet && kubectl -n opamp get servicemonitor opamp-fleet
  kubectl -n otel get daemonset otelcol
}
check readme-walk-result walked
check readme-walk-secrets node scripts/deploy/readme-walk.js secrets "$bin/kubectl" opamp otel
kubectl get namespace otel >/dev/null 2>&1 || kubectl create namespace otel >/dev/null
for f in deploy/examples/collector-daemonset.yaml deploy/examples/collector-supervisor-daemonset.yaml; do
  check "server-dry-run-$(basename "$f" .yaml)" kubectl apply --dry-run=server --validate=strict -f "$f"
done

say "kube dry run: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
