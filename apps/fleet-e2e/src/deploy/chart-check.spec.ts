/**
 * The Helm chart's checks without Helm (the default run): the chart's
 * templates and values set only variables their app reads, and the checker of
 * `helm template` output (scripts/test-deploy.sh) refuses what item 2 of
 * issue 16 rules out. The checker runs as the command `npm run test:deploy` runs.
 * And the Collector examples point at the chart's Service with a token from a
 * Secret and a per-node UUIDv5 instance_uid.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

const repo = join(__dirname, '..', '..', '..', '..');
const checker = join(repo, 'scripts', 'deploy', 'chart-check.js');
const chart = join(repo, 'deploy', 'helm', 'opamp-fleet');

function check(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [checker, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('chart-check static', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'opamp-chart-'));
    cpSync(chart, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the chart as it is, having checked its variables', () => {
    const r = check('static');
    expect(r.out).toMatch(/chart-check static: [1-9]\d* environment variables, each read by its app; [1-9]\d* value names, each in values.yaml/);
    expect(r.status).toBe(0);
  });

  it('names a variable of a values env map that the app does not read', () => {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('status-ingest.config.ts.\n  env: {}', 'status-ingest.config.ts.\n  env:\n    OPAMP_INGEST_NO_SUCH_SETTING: "1"'));
    const r = check('static', '--chart', dir);
    expect(r.out).toContain('values.yaml: statusIngest.env sets OPAMP_INGEST_NO_SUCH_SETTING, which status-ingest does not read');
    expect(r.status).toBe(1);
  });

  it('names a value that values.yaml does not have: in a values file, a --set, a YAML example, the text', () => {
    const production = join(dir, 'values-production.yaml');
    writeFileSync(production, readFileSync(production, 'utf8').replace('gateway:\n  replicas: 3', 'gateway:\n  replica: 3'));
    const doc = join(dir, 'README.md');
    writeFileSync(doc, ['helm install x deploy/helm/opamp-fleet --set gateway.replicas=3 --set image.tags=1', '```yaml', 'networkPolicy:', '  agentFrom: []', '```', 'see `kafka.tls.caSecret.nam`'].join('\n'));
    const r = check('static', '--chart', dir, '--doc', doc);
    for (const line of [
      'values-production.yaml: gateway.replica is not a value of values.yaml',
      'README.md (--set): image.tags is not a value of values.yaml',
      'README.md (yaml): networkPolicy.agentFrom is not a value of values.yaml',
      'README.md (text): kafka.tls.caSecret.nam is not a value of values.yaml',
    ]) {
      expect(r.out).toContain(line);
    }
    expect(r.out).not.toContain('gateway.replicas is not');
    expect(r.status).toBe(1);
  });

  it("names a template that gives an app another app's variable", () => {
    const file = join(dir, 'templates', 'gateway-deployment.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('- name: OPAMP_DRAIN_WINDOW_MS', '- name: OPAMP_INGEST_GROUP_ID'));
    const r = check('static', '--chart', dir);
    expect(r.out).toContain('templates/gateway-deployment.yaml: sets OPAMP_INGEST_GROUP_ID, which gateway does not read');
    expect(r.status).toBe(1);
  });
});

describe('values.schema.json (scripts/deploy/values-schema.js)', () => {
  const generator = join(repo, 'scripts', 'deploy', 'values-schema.js');
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [generator, '--check', ...args], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };

  it('is the one values.yaml gives: every value by name, unknown names refused, open maps open', () => {
    expect(run()).toEqual({ status: 0, out: expect.stringContaining('names every value of values.yaml') });
    const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.gateway.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.gateway.properties)).toContain('drainWindowSeconds');
    for (const open of ['env', 'resources', 'nodeSelector']) expect(schema.properties.gateway.properties[open]).toEqual({ type: 'object' });
  });

  it('is found stale when values.yaml has a value it lacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'opamp-schema-'));
    try {
      cpSync(chart, dir, { recursive: true });
      const file = join(dir, 'values.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('  drainWindowSeconds: 30\n', '  drainWindowSeconds: 30\n  drainJitterSeconds: 1\n'));
      const r = run('--chart', dir);
      expect(r.out).toContain('is not what values.yaml gives');
      expect(r.status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Container {
  name: string;
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: object }>;
  securityContext: object;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  volumes?: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> }; emptyDir?: object }>;
  topologySpreadConstraints?: object[];
  containers: Container[];
}
interface Manifest {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    replicas?: number;
    type?: string;
    selector?: Record<string, unknown>;
    ports?: Array<{ name?: string; port: number; targetPort?: string | number }>;
    template?: { metadata?: { labels: Record<string, string> }; spec: PodSpec };
    groups?: Array<{ name: string }>;
  };
  data?: Record<string, string>;
}

describe('chart-check rendered', () => {
  const labels = (component: string) => ({ 'app.kubernetes.io/component': component });
  const locked = { runAsNonRoot: true, readOnlyRootFilesystem: true };
  const probes = { readinessProbe: { httpGet: { path: '/readyz' } }, livenessProbe: { httpGet: { path: '/healthz' } }, resources: { requests: { cpu: '1' } } };
  const fromSecret = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: 's', key: 'k' } } });
  const deployment = (component: string, role: string, env: Container['env'], spec: object = {}, container: object = {}): Manifest => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: component, labels: labels(component) },
    spec: {
      replicas: 2,
      template: { metadata: { labels: labels(component) }, spec: { ...spec, containers: [{ name: component, args: [role], env, securityContext: locked, ...probes, ...container }] } },
    },
  });
  const pod = (doc: Manifest): PodSpec => doc.spec?.template?.spec ?? { containers: [] };
  /** A minimal rendering that holds every invariant; each test breaks one. */
  function manifests(): Manifest[] {
    return [
      deployment(
        'gateway',
        'gateway',
        [{ name: 'OPAMP_DRAIN_WINDOW_MS', value: '30000' }, fromSecret('OPAMP_REDIS_URL')],
        {
          terminationGracePeriodSeconds: 50,
          topologySpreadConstraints: [{ topologyKey: 'kubernetes.io/hostname' }, { topologyKey: 'topology.kubernetes.io/zone' }],
        },
        // the preStop pause as the chart writes it
        {
          ports: [{ name: 'opamp', containerPort: 4320 }, { name: 'admin', containerPort: 4321 }],
          lifecycle: { preStop: { exec: { command: ['node', '-e', 'setTimeout(() => {}, 5000)'] } } },
        },
      ),
      deployment(
        'status-ingest',
        'status-ingest',
        // Kafka over TLS with SASL as the chart renders it: the CA and the password are files of Secret volumes
        [
          fromSecret('OPAMP_DATABASE_URL'),
          { name: 'OPAMP_KAFKA_TLS_CA_FILE', value: '/etc/opamp/kafka-ca/ca.crt' },
          { name: 'OPAMP_KAFKA_SASL_PASSWORD_FILE', value: '/etc/opamp/kafka-sasl/password' },
        ],
        { volumes: [{ name: 'kafka-ca', secret: { secretName: 'ca' } }, { name: 'kafka-sasl', secret: { secretName: 's', items: [{ key: 'kafka-sasl-password', path: 'password' }] } }, { name: 'tmp', emptyDir: {} }] },
        { volumeMounts: [{ name: 'kafka-ca', mountPath: '/etc/opamp/kafka-ca' }, { name: 'kafka-sasl', mountPath: '/etc/opamp/kafka-sasl/' }, { name: 'tmp', mountPath: '/tmp' }] },
      ),
      deployment('config-service', 'config-service', [fromSecret('OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS')]),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'gateway', labels: labels('gateway') },
        spec: { type: 'LoadBalancer', selector: labels('gateway'), ports: [{ name: 'opamp', port: 4320, targetPort: 'opamp' }] },
      },
      ...['gateway', 'status-ingest', 'config-service'].map((c) => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: c, labels: labels(c) }, spec: { selector: { matchLabels: labels(c) } } })),
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'migrations', labels: labels('migrations'), annotations: { 'helm.sh/hook': 'pre-install,pre-upgrade' } },
        spec: { template: { spec: { containers: [{ name: 'migrate', args: ['migrate'], env: [fromSecret('OPAMP_DATABASE_URL')], securityContext: locked }] } } },
      },
      // the monitoring options: the chart's monitoring/ files as Helm's .Files gives them
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'rules', labels: labels('metrics') }, spec: parse(readFileSync(join(chart, 'monitoring', 'alerts.yaml'), 'utf8')) },
      ...readdirSync(join(chart, 'monitoring', 'dashboards')).map((file) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `dashboard-${file.replace(/\.json$/, '')}`, labels: labels('metrics') },
        data: { [file]: readFileSync(join(chart, 'monitoring', 'dashboards', file), 'utf8') },
      })),
    ];
  }
  const byName = (d: Manifest[], kind: string, name: string): Manifest => {
    const m = d.find((x) => x.kind === kind && x.metadata.name === name);
    if (!m) throw new Error(`no ${kind}/${name}`);
    return m;
  };
  const byKind = (d: Manifest[], kind: string): Manifest => {
    const m = d.find((x) => x.kind === kind);
    if (!m) throw new Error(`no ${kind}`);
    return m;
  };
  const other = (kind: string, name: string, spec: object): Manifest => ({ apiVersion: 'v1', kind, metadata: { name, labels: labels('gateway') }, spec: spec as Manifest['spec'] });
  const hpa = (metrics: object[]) => other('HorizontalPodAutoscaler', 'gateway', { scaleTargetRef: { kind: 'Deployment', name: 'gateway' }, minReplicas: 2, metrics });
  const cpu = { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } };
  const broken: Array<[string, (docs: Manifest[]) => unknown, string]> = [
    ['one gateway', (d) => (d[0].spec!.replicas = 1), 'gateway: replicas is 1, must be >= 2'],
    ['a grace period within the drain', (d) => (pod(d[0]).terminationGracePeriodSeconds = 35), 'is not longer than preStop 5 s + drain window 30 s'],
    ['a StatefulSet', (d) => d.push({ kind: 'StatefulSet', metadata: { name: 'kafka' }, spec: {} }), 'StatefulSet rendered'],
    ['a migrations Job that is no hook', (d) => delete byKind(d, 'Job').metadata.annotations, 'migrations Job: not a pre-install hook'],
    ['an inline database URL', (d) => (pod(d[1]).containers[0].env = [{ name: 'OPAMP_DATABASE_URL', value: 'postgres://u:p@h/db' }]), 'OPAMP_DATABASE_URL is inline'],
    ['a variable the app does not read', (d) => pod(d[2]).containers[0].env.push({ name: 'OPAMP_GATEWAY_PORT', value: '1' }), 'sets OPAMP_GATEWAY_PORT, which config-service does not read'],
    ['an inline Kafka SASL password', (d) => pod(d[1]).containers[0].env.push({ name: 'OPAMP_KAFKA_SASL_PASSWORD', value: 'secret' }), 'OPAMP_KAFKA_SASL_PASSWORD in the env'],
    ['a Kafka CA file on no mount', (d) => pod(d[1]).containers[0].volumeMounts?.shift(), 'OPAMP_KAFKA_TLS_CA_FILE /etc/opamp/kafka-ca/ca.crt is on no volume mount'],
    ['a Kafka password file on a non-Secret volume', (d) => (pod(d[1]).containers[0].volumeMounts![1].name = 'tmp'), 'OPAMP_KAFKA_SASL_PASSWORD_FILE /etc/opamp/kafka-sasl/password is on volume tmp, which is not a Secret'],
    ['a Kafka password file the Secret volume lacks', (d) => (pod(d[1]).volumes![1].secret!.items![0].path = 'pw'), 'Secret volume kafka-sasl has no item at password'],
    ['a writable root filesystem', (d) => (pod(d[1]).containers[0].securityContext = { runAsNonRoot: true }), 'root filesystem not read-only'],
    ['no zone spread', (d) => pod(d[0]).topologySpreadConstraints?.pop(), 'gateway: not spread over topology.kubernetes.io/zone'],
    ['no PDB for status-ingest', (d) => d.splice(d.findIndex((x) => x.kind === 'PodDisruptionBudget' && x.metadata.name === 'status-ingest'), 1), 'no PodDisruptionBudget for status-ingest'],
    ['a ClusterIP agent Service', (d) => (d[3].spec!.type = 'ClusterIP'), 'not of type LoadBalancer on 4320'],
    ['alert rules other than monitoring/alerts.yaml', (d) => byKind(d, 'PrometheusRule').spec!.groups!.pop(), 'PrometheusRule/rules: spec is not monitoring/alerts.yaml'],
    [
      'a dashboard other than its file',
      (d) => {
        const cm = d.find((x) => x.metadata.name === 'dashboard-fleet') ?? byKind(d, 'ConfigMap');
        cm.data = { 'fleet.json': JSON.stringify({ ...JSON.parse(cm.data!['fleet.json']), title: 'changed' }) };
      },
      'ConfigMap/dashboard-fleet: fleet.json is not monitoring/dashboards/fleet.json',
    ],
    // links between objects, which the API server does not check
    ['a Service that selects no pod', (d) => (d[3].spec!.selector = labels('gateways')), 'Service/gateway selects no pod of the chart'],
    ['a targetPort no container has', (d) => (d[3].spec!.ports![0].targetPort = 'mtls'), 'Service/gateway port opamp: targetPort mtls is no container port of Deployment/gateway'],
    [
      'a probe on a port the container does not name',
      (d) => Object.assign(pod(d[1]).containers[0], { readinessProbe: { httpGet: { path: '/healthz', port: 'metrics' } } }),
      'Deployment/status-ingest container status-ingest: readinessProbe on port metrics, which the container does not name',
    ],
    ['a PDB that selects nothing', (d) => (byName(d, 'PodDisruptionBudget', 'config-service').spec!.selector = { matchLabels: labels('config') }), 'PodDisruptionBudget/config-service selects no Deployment'],
    ['a variable set twice', (d) => pod(d[0]).containers[0].env.push({ name: 'OPAMP_DRAIN_WINDOW_MS', value: '5000' }), 'container gateway: OPAMP_DRAIN_WINDOW_MS set twice'],
    [
      'a network policy shutting out the agents',
      (d) => d.push(other('NetworkPolicy', 'gateway', { podSelector: { matchLabels: labels('gateway') }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 4321 }] }] })),
      'NetworkPolicy/gateway lets nothing in to port opamp (4320), where Service/gateway sends opamp',
    ],
    ['replicas beside an HPA', (d) => d.push(hpa([cpu])), 'Deployment/gateway sets replicas beside HorizontalPodAutoscaler/gateway'],
    [
      'an HPA without CPU',
      (d) => {
        delete d[0].spec!.replicas;
        d.push(hpa([{ type: 'Pods', pods: { metric: { name: 'opamp_gateway_connections' }, target: { type: 'AverageValue', averageValue: '20000' } } }]));
      },
      'HorizontalPodAutoscaler/gateway: no CPU metric',
    ],
    [
      'an Ingress to no Service port',
      (d) => d.push(other('Ingress', 'gateway', { rules: [{ http: { paths: [{ path: '/v1/opamp', backend: { service: { name: 'gateway', port: { name: 'agents' } } } }] } }] })),
      'Ingress/gateway: backend gateway:agents is no Service port of the chart',
    ],
    [
      'an HTTPRoute to no Service',
      (d) => d.push(other('HTTPRoute', 'gateway', { rules: [{ backendRefs: [{ name: 'opamp-gateway', port: 4320 }] }] })),
      'HTTPRoute/gateway: backend opamp-gateway:4320 is no Service port of the chart',
    ],
    [
      'a ServiceMonitor on a port its Services lack',
      (d) => d.push(other('ServiceMonitor', 'metrics', { selector: { matchLabels: labels('gateway') }, endpoints: [{ port: 'metrics' }] })),
      'ServiceMonitor/metrics: port metrics is on none of its Services',
    ],
    [
      'a PodMonitor on a port its pods lack',
      (d) => d.push(other('PodMonitor', 'metrics', { selector: { matchLabels: labels('gateway') }, podMetricsEndpoints: [{ port: 'http' }] })),
      'PodMonitor/metrics: port http is on none of its pods',
    ],
  ];
  let dir: string;
  const write = (name: string, docs: Manifest[]) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
    return file;
  };
  // one run of the checker for every broken rendering (each is a process start)
  let brokenRun: { status: number | null; out: string };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'opamp-rendered-'));
    const files = broken.map(([, breakIt], i) => {
      const docs = manifests();
      breakIt(docs);
      return write(`broken-${i}`, docs);
    });
    brokenRun = check('rendered', ...files, '--expect-load-balancer');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a rendering that holds every invariant', () => {
    const r = check('rendered', write('good', manifests()), '--expect-load-balancer');
    expect(r.out).toContain('manifests of good.yaml hold every invariant');
    expect(r.status).toBe(0);
  });

  it('with --expect-monitoring, passes the rules and every dashboard and names what is not rendered', () => {
    expect(check('rendered', write('monitoring', manifests()), '--expect-load-balancer', '--expect-monitoring').status).toBe(0);
    const docs = manifests().filter((d) => d.kind !== 'PrometheusRule' && d.metadata.name !== 'dashboard-pipeline');
    const r = check('rendered', write('no-monitoring', docs), '--expect-load-balancer', '--expect-monitoring');
    expect(r.out).toContain('no-monitoring.yaml: no PrometheusRule rendered');
    expect(r.out).toContain('no-monitoring.yaml: no ConfigMap with the dashboard pipeline.json');
    expect(r.status).toBe(1);
  });

  it('fails when any rendering breaks one', () => {
    expect(brokenRun.status).toBe(1);
  });

  it.each(broken.map(([name, , message], i) => [name, i, message] as const))('refuses %s', (_name, i, message) => {
    const lines = brokenRun.out.split('\n').filter((l) => l.startsWith(`chart-check: broken-${i}.yaml: `));
    expect(lines.join('\n')).toContain(message);
    expect(brokenRun.out).not.toContain(`broken-${i}.yaml hold every invariant`);
  });
});

describe('Collector examples (deploy/examples)', () => {
  interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: object; fieldRef?: { fieldPath: string } };
  }
  interface Workload {
    kind: string;
    spec?: { template: { spec: { initContainers?: Array<{ command: string[]; env: EnvVar[] }>; containers: Array<{ env: EnvVar[] }> } } };
  }
  const load = (file: string): Workload[] =>
    parseAllDocuments(readFileSync(join(repo, 'deploy', 'examples', file), 'utf8')).map((d) => d.toJS() as Workload);
  const daemonSet = (file: string) => {
    const ds = load(file).find((d) => d.kind === 'DaemonSet');
    if (!ds?.spec) throw new Error(`${file}: no DaemonSet`);
    return ds.spec.template.spec;
  };
  const env = (vars: EnvVar[], name: string) => vars.find((e) => e.name === name);

  it.each(['collector-daemonset.yaml', 'collector-supervisor-daemonset.yaml'])('%s: the chart\'s gateway Service, a token from a Secret, node labels', (file) => {
    const container = daemonSet(file).containers[0];
    // release "opamp-fleet" in namespace "opamp", as deploy/README.md installs it; port of gateway.service
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as { gateway: { service: { port: number } } };
    const port = values.gateway.service.port;
    expect(env(container.env, 'OPAMP_ENDPOINT')?.value).toBe(`ws://opamp-fleet-gateway.opamp.svc:${port}/v1/opamp`);
    expect(env(container.env, 'OPAMP_AGENT_TOKEN')?.valueFrom?.secretKeyRef).toBeDefined();
    expect(env(container.env, 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('spec.nodeName');
  });

  it('derives instance_uid as the UUIDv5 of "<cluster>/<node>" (RFC 9562, SHA-1)', () => {
    const init = daemonSet('collector-daemonset.yaml').initContainers?.[0];
    const dir = mkdtempSync(join(tmpdir(), 'opamp-uid-'));
    try {
      const script = (init?.command[2] ?? '').replaceAll('/var/run/opamp', dir);
      const r = spawnSync('bash', ['-ec', script], { env: { ...process.env, CLUSTER_NAME: 'prod-eu', NODE_NAME: 'ip-10-0-1-23.ec2.internal' }, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const namespace = Buffer.from('44155112-3be4-4b56-85a0-e2e90c09d441'.replaceAll('-', ''), 'hex');
      const hash = createHash('sha1').update(namespace).update('prod-eu/ip-10-0-1-23.ec2.internal').digest().subarray(0, 16);
      hash[6] = (hash[6] & 0x0f) | 0x50;
      hash[8] = (hash[8] & 0x3f) | 0x80;
      const hex = hash.toString('hex');
      const expected = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      expect(readFileSync(join(dir, 'instance-uid'), 'utf8').trim()).toBe(expected);
      expect(expected).toBe('ddbe2655-d653-573d-b0dc-ae239befd24f');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
