#!/usr/bin/env node
// Invariants of the Helm chart (deploy/helm/opamp-fleet), checked two ways:
//
//   node scripts/deploy/chart-check.js static [--chart DIR] [--doc FILE]...
//     without Helm: every OPAMP_* name the templates and values files set is
//     one that the app of that template reads (its config module), so a
//     renamed or misspelt setting fails here instead of being ignored; and
//     every value name in values-*.yaml and in the documents (deploy/README.md,
//     its --set options, YAML examples and `value.names`) is one values.yaml has.
//   node scripts/deploy/chart-check.js rendered FILE... [--expect-load-balancer] [--expect-monitoring]
//     on `helm template` output: the same per container, plus the shape of
//     item 2 of issue 16 (gateway replicas, drain vs grace period, probes,
//     spread, PDBs, the migrations hook, no StatefulSets, secrets by reference,
//     non-root with a read-only root filesystem), the links between objects
//     that the API server does not check (selectors, named ports, the HPA's
//     target, Ingress/HTTPRoute backends, network policies letting in what the
//     Services send, monitors' ports), and the PrometheusRule and
//     dashboard ConfigMaps are the chart's monitoring/ files as they are
//     (with --expect-monitoring: all of them are rendered).
//
// Prints one line per problem and exits 1 if there is any.
const fs = require('fs');
const path = require('path');
const util = require('util');
const YAML = require('yaml');

const REPO = path.join(__dirname, '..', '..');
const MONITORING = path.join(REPO, 'deploy', 'helm', 'opamp-fleet', 'monitoring');

// ---------------------------------------------------------------- what the apps read
const CONFIG_MODULES = {
  gateway: 'apps/gateway/src/config/gateway.config.ts',
  'status-ingest': 'apps/status-ingest/src/config/status-ingest.config.ts',
  'config-service': 'apps/config-service/src/config/config-service.config.ts',
  'fleet-server': 'apps/fleet-server/src/config/fleet-server.config.ts',
};
// migrate runs apps/config-service/src/migrate.ts, which loads config-service's config
const ROLE_SCHEMA = { gateway: 'gateway', 'status-ingest': 'status-ingest', 'config-service': 'config-service', 'fleet-server': 'fleet-server', migrate: 'config-service' };
// the env blocks apps spread: every *-env.ts of libs/config (backend-env.ts, client-identity-env.ts, ...)
const SHARED_DIR = 'libs/config/src';
const SHARED_MODULE = `${SHARED_DIR}/*-env.ts`;
// read by Node itself, not by an app's config module
const RUNTIME_ENV = new Set(['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']);

/** `export const nameEnv = { ... }` objects of a module: their keys and the objects they spread. */
function envBlocks(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/[^\n]*/gm, '');
  const blocks = {};
  const re = /export const (\w+)\s*=\s*\{/g;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    let depth = 1;
    let i = re.lastIndex;
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === '{') depth++;
      else if (code[i] === '}') depth--;
    }
    const body = code.slice(re.lastIndex, i - 1);
    blocks[m[1]] = {
      keys: [...body.matchAll(/(?:^|[{,])\s*(OPAMP_[A-Z0-9_]+)\s*:/g)].map((k) => k[1]),
      spreads: [...body.matchAll(/\.\.\.(\w+)/g)].map((k) => k[1]),
    };
  }
  return blocks;
}

function appEnvNames(repo = REPO) {
  const shared = Object.assign(
    {},
    ...fs
      .readdirSync(path.join(repo, SHARED_DIR))
      .filter((f) => f.endsWith('-env.ts'))
      .map((f) => envBlocks(fs.readFileSync(path.join(repo, SHARED_DIR, f), 'utf8'))),
  );
  const names = {};
  for (const [app, file] of Object.entries(CONFIG_MODULES)) {
    const own = envBlocks(fs.readFileSync(path.join(repo, file), 'utf8'));
    const blocks = { ...shared, ...own };
    const resolve = (name, seen = new Set()) => {
      const block = blocks[name];
      if (!block) throw new Error(`${file}: spreads ${name}, which is not an env block of ${SHARED_MODULE} or ${file}`);
      if (seen.has(name)) return [];
      seen.add(name);
      return [...block.keys, ...block.spreads.flatMap((s) => resolve(s, seen))];
    };
    const roots = Object.keys(own).filter((b) => b.endsWith('Env'));
    if (roots.length !== 1) throw new Error(`${file}: expected one exported env schema (…Env), found ${roots.length}`);
    names[app] = new Set(resolve(roots[0]));
    if (names[app].size === 0) throw new Error(`${file}: no OPAMP_ variables found`);
  }
  return names;
}

// ---------------------------------------------------------------- static: templates and values
const TEMPLATE_ROLE = [
  [/^gateway-/, 'gateway'],
  [/^status-ingest-/, 'status-ingest'],
  [/^config-service-/, 'config-service'],
  [/^migrations-/, 'migrate'],
];
const VALUES_ROLE = { gateway: 'gateway', statusIngest: 'status-ingest', configService: 'config-service' };

function staticProblems(chartDir, names, documents) {
  const problems = [];
  let checked = 0;
  const allNames = new Set(Object.values(names).flatMap((s) => [...s]));
  const templates = path.join(chartDir, 'templates');
  for (const file of fs.readdirSync(templates).sort()) {
    // template comments may name variables as examples
    const text = fs.readFileSync(path.join(templates, file), 'utf8').replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');
    const role = TEMPLATE_ROLE.find(([re]) => re.test(file))?.[1];
    // helpers are shared by every component: the rendered check attributes them exactly
    const known = role ? names[ROLE_SCHEMA[role]] : allNames;
    for (const m of text.matchAll(/["(\s]name["]?\s*[:]?\s*"?(OPAMP_[A-Z0-9_]+)/g)) {
      checked++;
      if (!known.has(m[1])) problems.push(`templates/${file}: sets ${m[1]}, which ${role ? `${role} does not read` : 'no app reads'}`);
    }
  }
  for (const file of fs.readdirSync(chartDir).filter((f) => /^values.*\.ya?ml$/.test(f)).sort()) {
    const values = YAML.parse(fs.readFileSync(path.join(chartDir, file), 'utf8')) ?? {};
    for (const [key, role] of Object.entries(VALUES_ROLE)) {
      for (const name of Object.keys(values[key]?.env ?? {})) {
        checked++;
        if (!names[ROLE_SCHEMA[role]].has(name) && !RUNTIME_ENV.has(name)) problems.push(`${file}: ${key}.env sets ${name}, which ${role} does not read`);
      }
    }
  }
  if (checked === 0) problems.push(`${chartDir}: found no OPAMP_ variable at all (is this the chart?)`);
  const documented = valueNameProblems(chartDir, documents);
  return { problems: [...problems, ...documented.problems], checked, valueNames: documented.checked };
}

// Helm ignores a value that values.yaml does not have: a misspelt name in a values file or a
// documented command would be a setting silently not made. Maps that are empty in values.yaml
// (env, annotations, labels, ...) and lists take any content.
const DOCUMENTS = ['deploy/README.md', 'deploy/monitoring/README.md', 'deploy/helm/opamp-fleet/values-production.yaml', 'scripts/test-deploy.sh'];

/** The first part of a dotted value path that values.yaml does not have, or null. */
function unknownValuePath(values, parts) {
  let node = values;
  for (let i = 0; i < parts.length; i++) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || Object.keys(node).length === 0) return null;
    if (!(parts[i] in node)) return parts.slice(0, i + 1).join('.');
    node = node[parts[i]];
  }
  return null;
}

/** Every key path of a values-like object, to its leaves (or its lists). */
function valuePaths(object, prefix = []) {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) return [prefix];
  const entries = Object.entries(object);
  return entries.length === 0 ? [prefix] : entries.flatMap(([k, v]) => valuePaths(v, [...prefix, k]));
}

function valueNameProblems(chartDir, documents = DOCUMENTS.map((d) => path.join(REPO, d))) {
  const values = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) ?? {};
  const top = new Set(Object.keys(values));
  const problems = [];
  let checked = 0;
  const check = (where, parts) => {
    checked++;
    const unknown = unknownValuePath(values, parts);
    if (unknown) problems.push(`${where}: ${unknown} is not a value of values.yaml`);
  };
  for (const file of fs.readdirSync(chartDir).filter((f) => /^values-.*\.ya?ml$/.test(f)).sort()) {
    for (const parts of valuePaths(YAML.parse(fs.readFileSync(path.join(chartDir, file), 'utf8')) ?? {})) check(file, parts);
  }
  for (const file of documents) {
    const doc = path.relative(REPO, file);
    const text = fs.readFileSync(file, 'utf8');
    // --set name=..., --set 'name[0].x=...'
    for (const m of text.matchAll(/--set(?:-string|-file)?[ =]'?"?([A-Za-z][\w.[\]-]*)=/g)) check(`${doc} (--set)`, m[1].replace(/\[\d+\]/g, '').split('.'));
    // YAML examples of values: blocks whose top keys are all values of the chart
    for (const m of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
      let block;
      try {
        block = YAML.parse(m[1]);
      } catch {
        continue;
      }
      if (!block || typeof block !== 'object' || Array.isArray(block) || !Object.keys(block).every((k) => top.has(k))) continue;
      for (const parts of valuePaths(block)) check(`${doc} (yaml)`, parts);
    }
    // `gateway.ingress.clientCertificates` in prose
    for (const m of text.matchAll(/`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)`/g)) {
      const parts = m[1].split('.');
      if (top.has(parts[0]) && !/\.(ya?ml|json|md|js|ts|sh)$/.test(m[1])) check(`${doc} (text)`, parts);
    }
  }
  return { problems, checked };
}

// ---------------------------------------------------------------- rendered output
function containersOf(doc) {
  return doc?.spec?.template?.spec?.containers ?? [];
}

function envValue(container, name) {
  return (container.env ?? []).find((e) => e.name === name);
}

function componentOf(doc) {
  return doc?.metadata?.labels?.['app.kubernetes.io/component'];
}

// settings that name a file the app reads at start: it must be in a volume of a Secret
const FILE_SETTINGS = ['OPAMP_KAFKA_TLS_CA_FILE', 'OPAMP_KAFKA_SASL_PASSWORD_FILE'];

/** Each FILE_SETTINGS path of a container lies under one of its mounts of a Secret volume. */
function fileProblems(doc, c) {
  const volumes = doc?.spec?.template?.spec?.volumes ?? [];
  const problems = [];
  for (const name of FILE_SETTINGS) {
    const file = envValue(c, name)?.value;
    if (!file) continue;
    const mount = (c.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
    const volume = mount && volumes.find((v) => v.name === mount.name);
    if (!mount) problems.push(`${name} ${file} is on no volume mount`);
    else if (!volume?.secret) problems.push(`${name} ${file} is on volume ${mount.name}, which is not a Secret`);
    else {
      const rel = file.slice(mount.mountPath.replace(/\/$/, '').length + 1);
      const items = volume.secret.items;
      if (items && !items.some((i) => i.path === rel)) problems.push(`${name} ${file}: Secret volume ${mount.name} has no item at ${rel}`);
    }
  }
  return problems;
}

function renderedProblems(docs, names, options = {}) {
  if (docs.length === 0) return ['no manifests rendered'];
  const problems = [];
  const kinds = (kind) => docs.filter((d) => d.kind === kind);
  const byComponent = (kind, component) => kinds(kind).find((d) => componentOf(d) === component);

  if (kinds('StatefulSet').length > 0) problems.push('StatefulSet rendered: Kafka, Redis and PostgreSQL are external or come from their own charts');

  // every container of the image: its role's variables only, secrets by reference, locked down
  const workloads = [...kinds('Deployment'), ...kinds('Job')];
  const chartImages = new Set(workloads.flatMap(containersOf).filter((c) => c.name in ROLE_SCHEMA).map((c) => c.image));
  for (const doc of workloads) {
    const podSecurity = doc.spec.template.spec.securityContext ?? {};
    for (const c of containersOf(doc)) {
      const where = `${doc.kind}/${doc.metadata.name} container ${c.name}`;
      const role = (c.args ?? [])[0];
      const schema = names[ROLE_SCHEMA[role]];
      // containers the user adds beside them (gateway.extraContainers) run other images
      if (!(c.name in ROLE_SCHEMA) && !chartImages.has(c.image)) continue;
      if (!schema) {
        problems.push(`${where}: args[0] is "${role}", not a role of the image`);
        continue;
      }
      for (const e of c.env ?? []) {
        if (!schema.has(e.name) && !RUNTIME_ENV.has(e.name)) problems.push(`${where}: sets ${e.name}, which ${role} does not read`);
      }
      for (const secret of ['OPAMP_DATABASE_URL', 'OPAMP_REDIS_URL', 'OPAMP_AGENT_TOKENS', 'OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS']) {
        const e = envValue(c, secret);
        if (e && !e.valueFrom?.secretKeyRef) problems.push(`${where}: ${secret} is inline, not from a Secret`);
      }
      if (envValue(c, 'OPAMP_KAFKA_SASL_PASSWORD')) problems.push(`${where}: OPAMP_KAFKA_SASL_PASSWORD in the env, not OPAMP_KAFKA_SASL_PASSWORD_FILE from a Secret volume`);
      for (const problem of fileProblems(doc, c)) problems.push(`${where}: ${problem}`);
      const security = c.securityContext ?? {};
      if (!(security.runAsNonRoot ?? podSecurity.runAsNonRoot)) problems.push(`${where}: not runAsNonRoot`);
      if (security.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem not read-only`);
    }
  }

  const gateway = byComponent('Deployment', 'gateway');
  if (!gateway) {
    problems.push('no gateway Deployment');
  } else {
    const hpa = byComponent('HorizontalPodAutoscaler', 'gateway');
    const replicas = hpa ? hpa.spec.minReplicas : gateway.spec.replicas;
    if (!(replicas >= 2)) problems.push(`gateway: ${hpa ? 'HPA minReplicas' : 'replicas'} is ${replicas}, must be >= 2`);
    const pod = gateway.spec.template.spec;
    const c = pod.containers.find((x) => (x.args ?? [])[0] === 'gateway');
    if (!c) {
      problems.push('gateway: no container with args ["gateway"]');
    } else {
      const drainMs = Number(envValue(c, 'OPAMP_DRAIN_WINDOW_MS')?.value ?? 30_000);
      const preStop = (c.lifecycle?.preStop?.exec?.command ?? []).join(' ');
      const preStopMs = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(preStop)?.[1] ?? NaN);
      if (!Number.isFinite(preStopMs)) problems.push(`gateway: no preStop pause found (${preStop || 'none'})`);
      const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1_000;
      if (!(graceMs > drainMs + (preStopMs || 0))) {
        problems.push(`gateway: terminationGracePeriodSeconds ${graceMs / 1_000} s is not longer than preStop ${preStopMs / 1_000} s + drain window ${drainMs / 1_000} s`);
      }
      if (c.readinessProbe?.httpGet?.path !== '/readyz') problems.push('gateway: readiness probe is not /readyz (false while draining)');
    }
    const keys = (pod.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
    for (const key of ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']) {
      if (!keys.includes(key)) problems.push(`gateway: not spread over ${key}`);
    }
  }

  const agentServices = kinds('Service').filter((s) => componentOf(s) === 'gateway' && (s.spec.ports ?? []).some((p) => p.name === 'opamp'));
  if (agentServices.length === 0) problems.push('no Service in front of the gateways\' agent port');
  if (options.expectLoadBalancer && !agentServices.some((s) => s.spec.type === 'LoadBalancer' && s.spec.ports.some((p) => p.port === 4320))) {
    problems.push('the gateways\' Service is not of type LoadBalancer on 4320');
  }

  for (const component of ['gateway', 'status-ingest', 'config-service']) {
    if (component !== 'gateway' && !byComponent('Deployment', component)) problems.push(`no ${component} Deployment`);
    if (!byComponent('PodDisruptionBudget', component)) problems.push(`no PodDisruptionBudget for ${component}`);
    const d = byComponent('Deployment', component);
    const c = d && containersOf(d)[0];
    if (c && !(c.readinessProbe && c.livenessProbe)) problems.push(`${component}: readiness and liveness probes are both needed`);
    if (c && !c.resources?.requests) problems.push(`${component}: no resource requests`);
  }

  const job = kinds('Job').find((j) => containersOf(j).some((c) => (c.args ?? [])[0] === 'migrate'));
  if (!job) {
    problems.push('no migrations Job (args ["migrate"])');
  } else {
    const hooks = String(job.metadata.annotations?.['helm.sh/hook'] ?? '').split(',');
    for (const hook of ['pre-install', 'pre-upgrade']) {
      if (!hooks.includes(hook)) problems.push(`migrations Job: not a ${hook} hook`);
    }
  }
  problems.push(...monitoringProblems(kinds, options.expectMonitoring));
  problems.push(...referenceProblems(docs));
  return problems;
}

// ---------------------------------------------------------------- references between manifests
// The API server accepts each object alone; these are the links it does not check, which
// fail only in a running cluster (a Service or PDB selecting nothing, a probe on a port the
// container does not have, a NetworkPolicy shutting out the port agents are sent to).
const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'];

function matchLabels(selector, labels) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

function podLabels(doc) {
  return doc?.spec?.template?.metadata?.labels ?? {};
}

function containerPorts(doc) {
  return containersOf(doc).flatMap((c) => c.ports ?? []);
}

/** The container port a Service's targetPort (a number or a port's name) reaches, or undefined. */
function resolvePort(doc, port) {
  return containerPorts(doc).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
}

/** Whether a NetworkPolicy ingress rule lets traffic in to this container port. */
function rulePorts(rule, containerPort) {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => p.port === undefined || p.port === containerPort.containerPort || p.port === containerPort.name);
}

function referenceProblems(docs) {
  const problems = [];
  const of = (kind) => docs.filter((d) => d.kind === kind);
  const deployments = of('Deployment');
  const selecting = (selector) => deployments.filter((d) => matchLabels(selector, podLabels(d)));

  for (const d of deployments) {
    for (const c of containersOf(d)) {
      const names = (c.env ?? []).map((e) => e.name);
      for (const dup of new Set(names.filter((n, i) => names.indexOf(n) !== i))) problems.push(`Deployment/${d.metadata.name} container ${c.name}: ${dup} set twice (one silently wins)`);
      for (const probe of PROBES) {
        const handler = c[probe]?.httpGet ?? c[probe]?.tcpSocket ?? c[probe]?.grpc;
        const port = handler?.port;
        if (typeof port === 'string' && !(c.ports ?? []).some((p) => p.name === port)) problems.push(`Deployment/${d.metadata.name} container ${c.name}: ${probe} on port ${port}, which the container does not name`);
      }
    }
  }

  for (const s of of('Service')) {
    if (!s.spec?.selector) continue;
    const targets = selecting(s.spec.selector);
    if (targets.length === 0) {
      problems.push(`Service/${s.metadata.name} selects no pod of the chart`);
      continue;
    }
    for (const p of s.spec.ports ?? []) {
      const target = p.targetPort ?? p.port;
      for (const d of targets) {
        const port = resolvePort(d, target);
        if (!port) {
          problems.push(`Service/${s.metadata.name} port ${p.name ?? p.port}: targetPort ${target} is no container port of Deployment/${d.metadata.name}`);
          continue;
        }
        for (const np of of('NetworkPolicy').filter((n) => matchLabels(n.spec?.podSelector?.matchLabels, podLabels(d)))) {
          if (!(np.spec.policyTypes ?? ['Ingress']).includes('Ingress')) continue;
          if (!(np.spec.ingress ?? []).some((rule) => rulePorts(rule, port))) {
            problems.push(`NetworkPolicy/${np.metadata.name} lets nothing in to port ${port.name ?? port.containerPort} (${port.containerPort}), where Service/${s.metadata.name} sends ${p.name ?? p.port}`);
          }
        }
      }
    }
  }

  for (const pdb of of('PodDisruptionBudget')) {
    if (selecting(pdb.spec?.selector?.matchLabels).length === 0) problems.push(`PodDisruptionBudget/${pdb.metadata.name} selects no Deployment`);
  }

  for (const hpa of of('HorizontalPodAutoscaler')) {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = deployments.find((d) => ref.kind === 'Deployment' && d.metadata.name === ref.name);
    if (!target) {
      problems.push(`HorizontalPodAutoscaler/${hpa.metadata.name} scales ${ref.kind}/${ref.name}, which is not rendered`);
      continue;
    }
    // with replicas in the manifest every helm upgrade puts the Deployment back to that count
    if (target.spec.replicas !== undefined) problems.push(`Deployment/${target.metadata.name} sets replicas beside HorizontalPodAutoscaler/${hpa.metadata.name}`);
    if (!(hpa.spec.metrics ?? []).some((m) => m.type === 'Resource' && m.resource?.name === 'cpu')) problems.push(`HorizontalPodAutoscaler/${hpa.metadata.name}: no CPU metric`);
  }

  const services = of('Service');
  const servicePort = (name, port) => {
    const s = services.find((x) => x.metadata.name === name);
    return s && (s.spec.ports ?? []).some((p) => p.name === port || p.port === port);
  };
  for (const ing of of('Ingress')) {
    for (const rule of ing.spec?.rules ?? []) {
      for (const { backend } of rule.http?.paths ?? []) {
        const svc = backend?.service;
        if (!svc || !servicePort(svc.name, svc.port?.name ?? svc.port?.number)) problems.push(`Ingress/${ing.metadata.name}: backend ${svc?.name}:${svc?.port?.name ?? svc?.port?.number} is no Service port of the chart`);
      }
    }
  }
  for (const route of of('HTTPRoute')) {
    for (const rule of route.spec?.rules ?? []) {
      for (const ref of rule.backendRefs ?? []) {
        if (!servicePort(ref.name, ref.port)) problems.push(`HTTPRoute/${route.metadata.name}: backend ${ref.name}:${ref.port} is no Service port of the chart`);
      }
    }
  }

  for (const sm of of('ServiceMonitor')) {
    const selected = services.filter((s) => matchLabels(sm.spec?.selector?.matchLabels, s.metadata.labels));
    if (selected.length === 0) problems.push(`ServiceMonitor/${sm.metadata.name} selects no Service`);
    for (const e of sm.spec?.endpoints ?? []) {
      if (selected.length > 0 && !selected.some((s) => (s.spec.ports ?? []).some((p) => p.name === e.port))) problems.push(`ServiceMonitor/${sm.metadata.name}: port ${e.port} is on none of its Services`);
    }
  }
  for (const pm of of('PodMonitor')) {
    const selected = deployments.filter((d) => matchLabels(pm.spec?.selector?.matchLabels, podLabels(d)));
    if (selected.length === 0) problems.push(`PodMonitor/${pm.metadata.name} selects no Deployment`);
    for (const e of pm.spec?.podMetricsEndpoints ?? []) {
      if (selected.length > 0 && !selected.some((d) => resolvePort(d, e.port))) problems.push(`PodMonitor/${pm.metadata.name}: port ${e.port} is on none of its pods`);
    }
  }
  return problems;
}

/** The rules and dashboards rendered are the one copy in the chart's monitoring/ (Helm's .Files), unchanged. */
function monitoringProblems(kinds, expectAll) {
  const problems = [];
  const rules = YAML.parse(fs.readFileSync(path.join(MONITORING, 'alerts.yaml'), 'utf8'));
  if (expectAll && kinds('PrometheusRule').length === 0) problems.push('no PrometheusRule rendered');
  const rendered = new Set(kinds('ConfigMap').filter((c) => componentOf(c) === 'metrics').flatMap((c) => Object.keys(c.data ?? {})));
  for (const file of fs.readdirSync(path.join(MONITORING, 'dashboards')).filter((f) => f.endsWith('.json'))) {
    if (expectAll && !rendered.has(file)) problems.push(`no ConfigMap with the dashboard ${file}`);
  }
  for (const r of kinds('PrometheusRule')) {
    if (!util.isDeepStrictEqual(r.spec, rules)) problems.push(`PrometheusRule/${r.metadata.name}: spec is not monitoring/alerts.yaml`);
  }
  for (const cm of kinds('ConfigMap').filter((c) => componentOf(c) === 'metrics')) {
    for (const [key, text] of Object.entries(cm.data ?? {})) {
      const file = path.join(MONITORING, 'dashboards', key);
      if (!key.endsWith('.json') || !fs.existsSync(file)) {
        problems.push(`ConfigMap/${cm.metadata.name}: ${key} is no dashboard of monitoring/dashboards`);
      } else if (!util.isDeepStrictEqual(JSON.parse(text), JSON.parse(fs.readFileSync(file, 'utf8')))) {
        problems.push(`ConfigMap/${cm.metadata.name}: ${key} is not monitoring/dashboards/${key}`);
      }
    }
  }
  return problems;
}

function parseDocuments(text) {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0].message}`);
      return d.toJS();
    })
    .filter((d) => d && typeof d === 'object');
}

// ---------------------------------------------------------------- command line
function main(argv) {
  const [mode, ...rest] = argv;
  const names = appEnvNames();
  let problems;
  if (mode === 'static') {
    const at = rest.indexOf('--chart');
    const chart = at >= 0 ? rest[at + 1] : path.join(REPO, 'deploy', 'helm', 'opamp-fleet');
    // --doc FILE (repeatable): check these documents' value names instead of the project's
    const docs = rest.flatMap((a, i) => (a === '--doc' ? [path.resolve(rest[i + 1])] : []));
    const result = staticProblems(chart, names, docs.length > 0 ? docs : undefined);
    problems = result.problems;
    if (problems.length === 0) console.log(`chart-check static: ${result.checked} environment variables, each read by its app; ${result.valueNames} value names, each in values.yaml`);
  } else if (mode === 'rendered' && rest.some((a) => !a.startsWith('--'))) {
    const expectLoadBalancer = rest.includes('--expect-load-balancer');
    const expectMonitoring = rest.includes('--expect-monitoring');
    problems = [];
    for (const file of rest.filter((a) => !a.startsWith('--'))) {
      const docs = parseDocuments(fs.readFileSync(file, 'utf8'));
      const found = renderedProblems(docs, names, { expectLoadBalancer, expectMonitoring });
      if (found.length === 0) console.log(`chart-check rendered: ${docs.length} manifests of ${path.basename(file)} hold every invariant`);
      problems.push(...found.map((p) => `${path.basename(file)}: ${p}`));
    }
  } else {
    console.error('usage: chart-check.js static [--chart DIR] [--doc FILE]... | rendered FILE... [--expect-load-balancer] [--expect-monitoring]');
    return 64;
  }
  for (const p of problems) console.error(`chart-check: ${p}`);
  return problems.length === 0 ? 0 : 1;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

module.exports = { appEnvNames, staticProblems, renderedProblems, parseDocuments };
