/**
 * Rollouts gated on the agents' own telemetry (issue 19 items 5 and 6)
 * against the real Kafka, Redis and PostgreSQL. Agents are simulated as in
 * rollouts.integration-spec.ts (agents rows written as status-ingest would,
 * AgentEvents on the events topic) and answer every remote config with
 * APPLIED. Each also reports its Collector's own metrics: every 200 ms the
 * per-second rates status-ingest stores (agent_own_metric_points, in daily
 * partitions as its sweep makes them) of an otlp receiver, a batch
 * processor and an otlphttp exporter. A configuration whose files say
 * `# exporter: unreachable` makes the exporter fail most items once the
 * agent runs it, as a wrong endpoint in a new version would.
 */
import type { fleet as contracts } from '@opamp/contracts';
import { AgentCapabilities as C, decodeServerToAgent } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth | C.ReportsOwnMetrics;
const WINDOW_S = 2;
const EMIT_MS = 200;
const DAY = 86_400_000;

const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {otlphttp: {endpoint: 'https://backend:4318'}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [otlphttp]}}}\n# ${tag}\n`;

let bed: ConfigServiceBed;
let tenant: string;
let emitter: NodeJS.Timeout | null = null;

interface SimAgent {
  uid: Buffer;
  hex: string;
  labels: Record<string, string>;
  capabilities: number;
  received: Array<{ hash: string; at: number }>;
  reportedHash: Buffer | null;
  status: number;
  /** The configuration it runs (what its own metrics follow). */
  running: string;
  /** Emits own metrics (a Collector offered an own_metrics destination). */
  emits: boolean;
  chain: Promise<void>;
}

const agents = new Map<string, SimAgent>();

function newAgent(labels: Record<string, string>, emits = true): SimAgent {
  const uid = bed.newUid();
  const agent: SimAgent = { uid, hex: uid.toString('hex'), labels, capabilities: FULL, received: [], reportedHash: null, status: 0, running: '', emits, chain: Promise.resolve() };
  agents.set(agent.hex, agent);
  return agent;
}

async function report(agent: SimAgent): Promise<void> {
  await bed.report({ tenant, uid: agent.uid, capabilities: agent.capabilities, labels: agent.labels, reportedHash: agent.reportedHash, status: agent.status, occurredAtMs: Date.now() });
}

function onPush(push: contracts.v1.GatewayPush): void {
  const agent = agents.get(Buffer.from(push.instanceUid).toString('hex'));
  if (!agent || !push.serverToAgent?.length) return;
  const rc = decodeServerToAgent(push.serverToAgent).remoteConfig;
  if (!rc?.configHash?.length) return;
  const hash = Buffer.from(rc.configHash);
  const text = Object.values(rc.config?.configMap ?? {})
    .map((f) => Buffer.from(f.body ?? []).toString('utf8'))
    .join('\n');
  agent.received.push({ hash: hash.toString('hex'), at: Date.now() });
  agent.chain = agent.chain
    .then(async () => {
      agent.running = text; // the Collector restarts its pipelines on the new configuration, then reports
      agent.reportedHash = hash;
      agent.status = 1;
      await report(agent);
    })
    .catch(() => undefined);
}

/** Per-second rates of one agent's series now: healthy, or an exporter that cannot reach its backend. */
function rates(agent: SimAgent): Array<[kind: string, component: string, value: number]> {
  const jitter = () => 0.95 + 0.1 * Math.random();
  const accepted = 200 * jitter();
  const failing = agent.running.includes('# exporter: unreachable');
  const out = accepted * 0.999;
  const failed = out * (failing ? 0.85 : 0.01);
  return [
    ['receiver_accepted', 'otlp', accepted],
    ['receiver_refused', 'otlp', accepted * 0.001],
    ['processor_dropped', 'batch', accepted * 0.001],
    ['exporter_sent', 'otlphttp', out - failed],
    ['exporter_send_failed', 'otlphttp', failed],
  ];
}

/** One statement a tick for every emitting agent, as status-ingest writes a consumed batch. */
async function emit(): Promise<void> {
  const now = new Date().toISOString();
  const rows = [...agents.values()].filter((a) => a.emits).flatMap((a) => rates(a).map(([kind, component, value]) => ({ uid: a.uid, kind, component, value })));
  if (rows.length === 0) return;
  await bed.pool.query(
    `INSERT INTO agent_own_metric_points (tenant_id, instance_uid, kind, component, signal, at, value)
     SELECT $1, u, k, c, 'spans', $2::timestamptz, v FROM unnest($3::bytea[], $4::text[], $5::text[], $6::float8[]) AS t(u, k, c, v)`,
    [tenant, now, rows.map((r) => r.uid), rows.map((r) => r.kind), rows.map((r) => r.component), rows.map((r) => r.value)],
  );
}

async function ok(method: string, path: string, payload?: unknown): Promise<Record<string, unknown>> {
  const r = await bed.rest(method, path, payload);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

interface RolloutJson {
  state: string;
  stateReason: string;
  gates: Record<string, unknown>;
  batches: Array<{ state: string; agents: number; failureReason: string }>;
}

const rolloutIn = (name: string, state: string) =>
  waitFor(async () => (await ok('GET', `/rollouts/${name}`)) as unknown as RolloutJson, (r) => r.state === state, { description: `rollout ${name} ${state}`, timeoutMs: 30_000 });

async function events(name: string): Promise<Array<{ type: string; batchIndex: number; message: string; details: Record<string, unknown> }>> {
  const res = await ok('GET', `/rollouts/${name}/events?pageSize=1000`);
  return (res['events'] as Array<{ type: string; batchIndex: number; message: string; detailsJson: string }>).map((e) => ({ ...e, details: JSON.parse(e.detailsJson) as Record<string, unknown> }));
}

async function membersOf(name: string): Promise<Map<number, string[]>> {
  const res = await ok('GET', `/rollouts/${name}/agents?pageSize=1000`);
  const out = new Map<number, string[]>();
  for (const m of res['agents'] as Array<{ instanceUid: string; batchIndex: number }>) out.set(m.batchIndex, [...(out.get(m.batchIndex) ?? []), m.instanceUid]);
  return out;
}

/** A fleet under its own assignment pinned to version 1 (applied everywhere), version 2 added, and a window of own metrics on version 1. */
async function fleet(group: string, n: number, v2Tag: string, emits = true): Promise<{ list: SimAgent[]; v1: string; v2: string }> {
  await ok('POST', '/configurations', { name: `cfg-${group}`, files: { 'c.yaml': { body: body('v1'), contentType: 'text/yaml' } } });
  const list = Array.from({ length: n }, () => newAgent({ group }, emits));
  const handled = bed.reconciler.metrics.eventsHandled;
  for (const agent of list) await report(agent);
  await waitFor(() => bed.reconciler.metrics.eventsHandled, (v) => v >= handled + n, { description: `${group}: first reports handled` });
  await ok('POST', '/assignments', { name: group, configurationName: `cfg-${group}`, pinnedVersion: 1, selector: `group=${group}` });
  await waitFor(() => list.every((x) => x.status === 1 && x.received.length === 1), Boolean, { description: `${group}: version 1 applied everywhere` });
  const v1 = list[0].received[0].hash;
  const updated = await ok('PUT', `/configurations/cfg-${group}`, { files: { 'c.yaml': { body: body(v2Tag), contentType: 'text/yaml' } } });
  if (emits) {
    // A whole window of readings on version 1 before any batch starts.
    const since = new Date().toISOString();
    const readings = (WINDOW_S * 1000) / EMIT_MS + 2;
    await waitFor(
      () => bed.pool.query(`SELECT count(DISTINCT at) AS n FROM agent_own_metric_points WHERE tenant_id = $1 AND instance_uid = $2 AND at >= $3`, [tenant, list[0].uid, since]),
      (r) => Number(r.rows[0]['n']) >= readings,
      { description: `${group}: a window of own metrics on version 1` },
    );
  }
  return { list, v1, v2: String(updated['contentHash']) };
}

beforeAll(async () => {
  bed = await ConfigServiceBed.start('rotg', { tenants: 1, pushes: true, overrides: { rolloutTickMs: 50, rolloutLeaseMs: 2_000 } });
  tenant = bed.tenants[0].id;
  bed.onPush(onPush);
  const now = Date.now();
  for (let d = -1; d <= 1; d++) {
    const from = new Date(Math.floor(now / DAY) * DAY + d * DAY).toISOString();
    const to = new Date(Date.parse(from) + DAY).toISOString();
    await bed.pool.query(`CREATE TABLE agent_own_metric_points_${from.slice(0, 10).replace(/-/g, '')} PARTITION OF agent_own_metric_points FOR VALUES FROM ('${from}') TO ('${to}')`);
  }
  emitter = setInterval(() => void emit().catch(() => undefined), EMIT_MS);
}, 60_000);

afterAll(async () => {
  if (emitter) clearInterval(emitter);
  await bed?.close();
});

describe('rollouts gated on agents\u2019 own telemetry', () => {
  it('a version that makes agents fail to export is stopped in its first batch on that evidence and rolled back; the rest of the fleet is untouched', async () => {
    const { list, v1, v2 } = await fleet('broken', 6, 'v2\n# exporter: unreachable');
    const started = Date.now();
    const created = await ok('POST', '/rollouts', {
      name: 'broken-v2',
      assignmentName: 'broken',
      strategy: { batchSize: 2 },
      gates: { ownTelemetry: { windowSeconds: WINDOW_S } },
      soakTimeMs: 100,
      autoRollback: true,
      start: true,
    });
    expect(created['gates']).toEqual({
      maxFailedAgents: 0,
      maxFailedPercent: 0,
      ownTelemetry: { maxExportFailureIncreasePercent: 5, maxRefusedDroppedIncreasePercent: 5, maxThroughputDropPercent: 50, windowSeconds: WINDOW_S, minReportingPercent: 50 },
    });
    const r = await rolloutIn('broken-v2', 'ROLLOUT_STATE_ROLLED_BACK');
    expect(r.stateReason).toMatch(/^batch 1 'batch-1' failed its gate: own telemetry of 2 agents: export failures up \d+(\.\d+)? points \(1(\.\d+)? % -> 8\d(\.\d+)? % of items; at most 5 allowed\)/);
    expect(r.batches.map((b) => b.state)).toEqual(['ROLLOUT_BATCH_STATE_FAILED', 'ROLLOUT_BATCH_STATE_PENDING', 'ROLLOUT_BATCH_STATE_PENDING']);
    expect(r.batches[0].failureReason).toMatch(/items exported per second down \d+(\.\d+)? %/);

    // The decision and the numbers behind it are in the rollout's events, before the rollback.
    const evs = await events('broken-v2');
    const gate = evs.find((e) => e.type === 'own_telemetry_gate');
    expect(gate).toBeDefined();
    expect(gate!.batchIndex).toBe(0);
    expect(gate!.details).toMatchObject({ decision: 'failed', windowSeconds: WINDOW_S, agents: 2, comparable: 2, stoppedReporting: 0, requiredReporting: 1 });
    const numbers = gate!.details as { exportFailurePercent: { before: number; after: number; passed: boolean }; throughput: { before: number; after: number }; worstAgents: { instanceUid: string }[] };
    expect(numbers.exportFailurePercent.before).toBeLessThan(2);
    expect(numbers.exportFailurePercent.after).toBeGreaterThan(80);
    expect(numbers.exportFailurePercent.passed).toBe(false);
    expect(numbers.throughput.after).toBeLessThan(numbers.throughput.before / 2);
    const types = evs.map((e) => e.type).filter((t) => t !== 'driver_acquired');
    expect(types).toEqual(['created', 'started', 'batch_started', 'batch_soaking', 'own_telemetry_gate', 'batch_failed', 'rollback_started', 'rolled_back']);
    expect(evs.find((e) => e.type === 'batch_soaking')!.message).toMatch(/soaking for 2000 ms \(the own-telemetry window\)/);

    // The canaries got version 2, then version 1 again; nobody else was sent anything since the rollout began.
    const first = (await membersOf('broken-v2')).get(0)!;
    expect(first).toHaveLength(2);
    expect(numbers.worstAgents.map((w) => w.instanceUid).sort()).toEqual([...first].sort());
    for (const hex of first) {
      const agent = agents.get(hex)!;
      expect(agent.received.map((x) => x.hash)).toEqual([v1, v2, v1]);
      await waitFor(() => agent.reportedHash?.toString('hex') === v1 && agent.status === 1, Boolean, { description: 'canary back on version 1' });
    }
    const rest = list.filter((x) => !first.includes(x.hex));
    expect(rest).toHaveLength(4);
    for (const agent of rest) {
      expect(agent.received.filter((x) => x.at >= started)).toEqual([]);
      expect(agent.reportedHash?.toString('hex')).toBe(v1);
    }
    expect((await ok('GET', '/assignments/broken'))['pinnedVersion']).toBe(1);
    expect(bed.rolloutDriver.metrics.ownTelemetryGatesFailed).toBeGreaterThanOrEqual(1);
  });

  it('the same rollout of a version that keeps exporting completes, each batch passing its own-telemetry gate', async () => {
    const { list, v2 } = await fleet('sound', 6, 'v2');
    await ok('POST', '/rollouts', {
      name: 'sound-v2',
      assignmentName: 'sound',
      strategy: { batchSize: 2 },
      gates: { ownTelemetry: { windowSeconds: WINDOW_S } },
      soakTimeMs: 100,
      autoRollback: true,
      start: true,
    });
    const r = await rolloutIn('sound-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(r.batches.map((b) => [b.state, b.agents])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 2],
      ['ROLLOUT_BATCH_STATE_PASSED', 2],
      ['ROLLOUT_BATCH_STATE_PASSED', 2],
    ]);
    const gates = (await events('sound-v2')).filter((e) => e.type === 'own_telemetry_gate');
    expect(gates.map((e) => [e.batchIndex, e.details['decision'], e.details['comparable']])).toEqual([
      [0, 'passed', 2],
      [1, 'passed', 2],
      [2, 'passed', 2],
    ]);
    expect(gates[0].message).toMatch(/passed its own-telemetry gate: own telemetry of 2 agents within limits: export failures/);
    for (const agent of list) expect(agent.received.map((x) => x.hash).slice(-1)).toEqual([v2]);
  });

  it('agents that report no own metrics do not pass the gate: the batch fails on missing evidence', async () => {
    await fleet('silent', 2, 'v2', false);
    await ok('POST', '/rollouts', {
      name: 'silent-v2',
      assignmentName: 'silent',
      strategy: { batchSize: 1 },
      gates: { ownTelemetry: { windowSeconds: 1 } },
      soakTimeMs: 100,
      start: true,
    });
    const r = await rolloutIn('silent-v2', 'ROLLOUT_STATE_PAUSED');
    expect(r.stateReason).toMatch(/own telemetry: 0 of 1 agents reported own metrics in both windows \(1 s before the batch started and the last 1 s\); 1 needed/);
  });

  it('refuses bad gate settings with INVALID_ARGUMENT naming the field, over REST and gRPC', async () => {
    await ok('POST', '/configurations', { name: 'cfg-badgate', files: { 'c.yaml': { body: body('v1'), contentType: 'text/yaml' } } });
    await ok('POST', '/assignments', { name: 'badgate', configurationName: 'cfg-badgate', pinnedVersion: 1, selector: 'group=badgate' });
    await ok('PUT', '/configurations/cfg-badgate', { files: { 'c.yaml': { body: body('v2'), contentType: 'text/yaml' } } });
    const base = { assignmentName: 'badgate', strategy: { batchSize: 1 } };
    for (const [ownTelemetry, message] of [
      [{ windowSeconds: 0 }, /gates\.own_telemetry\.window_seconds must be an integer from 1 to 21600, got 0/],
      [{ maxThroughputDropPercent: 150 }, /gates\.own_telemetry\.max_throughput_drop_percent must be a percentage in \[0, 100\]/],
      [{ minReportingPercent: -1 }, /gates\.own_telemetry\.min_reporting_percent/],
    ] as const) {
      const res = await bed.rest('POST', '/rollouts', { ...base, gates: { ownTelemetry } });
      expect(res.status).toBe(400);
      expect(String((res.json['error'] as { message?: string } | undefined)?.message)).toMatch(message);
    }
    await expect(bed.rpc('CreateRollout', { ...base, gates: { ownTelemetry: { maxExportFailureIncreasePercent: 101 } } })).rejects.toMatchObject({
      code: 3,
      details: expect.stringMatching(/max_export_failure_increase_percent must be a percentage/),
    });
    expect((await ok('GET', '/rollouts?assignmentName=badgate'))['rollouts']).toEqual([]);
  });
});
