/**
 * Staged rollouts against the real Kafka, Redis and PostgreSQL, with two
 * config-service replicas on one database (both run a rollout driver; one
 * also consumes the agent events). Agents are simulated as in
 * config-service.integration-spec.ts (agents rows written as status-ingest
 * would, AgentEvents produced on the events topic) and answer every remote
 * config pushed to them: APPLIED, or FAILED for a version whose files say so
 * (a failure rate per agent), after which they report again.
 */
import { createHash } from 'node:crypto';
import type { fleet as contracts } from '@opamp/contracts';
import { AgentCapabilities as C, decodeServerToAgent } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ConfigServiceReplica } from './config-service.bed';

const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth;
const SOAK_MS = 300;

const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`;

let bed: ConfigServiceBed;
let tenant: string;
/** Replica A consumes the agent events; replica B is a second driver on the same database. */
let a: ConfigServiceReplica;
let b: ConfigServiceReplica;

// --- simulated agents -------------------------------------------------------------------

interface SimAgent {
  uid: Buffer;
  hex: string;
  labels: Record<string, string>;
  /** Hash of each remote config received, in order, with the time it arrived. */
  received: Array<{ hash: string; body: string; at: number }>;
  reportedHash: Buffer | null;
  status: number;
  /** While held, received configs wait (the agent is slow to apply). */
  held: boolean;
  backlog: Array<() => Promise<void>>;
  chain: Promise<void>;
  /** The agent's connection (default: one per agent); a restart opens a new one. */
  connectionId?: string;
}

const agents = new Map<string, SimAgent>();

function newAgent(labels: Record<string, string>): SimAgent {
  const uid = bed.newUid();
  const agent: SimAgent = { uid, hex: uid.toString('hex'), labels, received: [], reportedHash: null, status: 0, held: false, backlog: [], chain: Promise.resolve() };
  agents.set(agent.hex, agent);
  return agent;
}

/** Whether this agent fails a config that declares `# fail-rate: <fraction>` (deterministic per agent). */
function fails(agent: SimAgent, configBody: string): boolean {
  const m = /# fail-rate: ([0-9.]+)/.exec(configBody);
  if (!m) return false;
  const bucket = createHash('sha256').update(agent.uid).digest().readUInt16BE(0) / 65536;
  return bucket < Number(m[1]);
}

/** Writes the agents row as status-ingest would, then publishes its AgentEvent (`previous`: the uid it replaced). */
async function report(agent: SimAgent, error: string | null = null, previous: Buffer | null = null): Promise<void> {
  await bed.report({
    tenant,
    uid: agent.uid,
    capabilities: FULL,
    labels: agent.labels,
    reportedHash: agent.reportedHash,
    status: agent.status,
    error,
    connectionId: agent.connectionId,
    previousInstanceUid: previous ?? undefined,
    occurredAtMs: Date.now(),
  });
}

function onPush(push: contracts.v1.GatewayPush): void {
  const agent = agents.get(Buffer.from(push.instanceUid).toString('hex'));
  if (!agent || !push.serverToAgent?.length) return;
  const msg = decodeServerToAgent(push.serverToAgent);
  const rc = msg.remoteConfig;
  if (!rc?.configHash?.length) return;
  const hash = Buffer.from(rc.configHash);
  const text = Object.values(rc.config?.configMap ?? {})
    .map((f) => Buffer.from(f.body ?? []).toString('utf8'))
    .join('\n');
  agent.received.push({ hash: hash.toString('hex'), body: text, at: Date.now() });
  const apply = async () => {
    const failed = fails(agent, text);
    agent.reportedHash = hash;
    agent.status = failed ? 3 : 1;
    await report(agent, failed ? 'exporter failed to start' : null);
  };
  if (agent.held) agent.backlog.push(apply);
  else agent.chain = agent.chain.then(apply).catch(() => undefined);
}

function release(list: SimAgent[]): void {
  for (const agent of list) {
    agent.held = false;
    for (const apply of agent.backlog.splice(0)) agent.chain = agent.chain.then(apply).catch(() => undefined);
  }
}

// --- API --------------------------------------------------------------------------------

function rest(method: string, path: string, body?: unknown, replica: ConfigServiceReplica = a): Promise<{ status: number; json: Record<string, unknown> }> {
  return replica.rest(method, path, body);
}

async function ok(method: string, path: string, body?: unknown, replica: ConfigServiceReplica = a): Promise<Record<string, unknown>> {
  const r = await rest(method, path, body, replica);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

interface RolloutJson {
  name: string;
  state: string;
  stateReason: string;
  applyTimeoutMs: number;
  currentBatch: number;
  driverId: string;
  batches: Array<{ index: number; name: string; state: string; agents: number; progress: Record<string, number>; failureReason: string }>;
  progress: Record<string, number>;
}

const getRollout = async (name: string, replica: ConfigServiceReplica = a) => (await ok('GET', `/rollouts/${name}`, undefined, replica)) as unknown as RolloutJson;

async function rolloutIn(name: string, state: string, timeoutMs = 15_000): Promise<RolloutJson> {
  return waitFor(() => getRollout(name), (r) => r.state === state, { description: `rollout ${name} ${state}`, timeoutMs });
}

async function eventTypes(name: string): Promise<Array<{ type: string; batchIndex: number; actor: string; detailsJson: string; time: string }>> {
  const res = await ok('GET', `/rollouts/${name}/events?pageSize=1000`);
  return res['events'] as Array<{ type: string; batchIndex: number; actor: string; detailsJson: string; time: string }>;
}

async function membersByBatch(name: string): Promise<Map<number, string[]>> {
  const res = await ok('GET', `/rollouts/${name}/agents?pageSize=1000`);
  const out = new Map<number, string[]>();
  for (const m of res['agents'] as Array<{ instanceUid: string; batchIndex: number }>) out.set(m.batchIndex, [...(out.get(m.batchIndex) ?? []), m.instanceUid]);
  return out;
}

/** A fleet under its own assignment, pinned to version 1 of its own configuration, every agent APPLIED on it. */
async function fleet(group: string, n: number, v2Tag: string): Promise<{ list: SimAgent[]; v1: string; v2: string }> {
  await ok('POST', '/configurations', { name: `cfg-${group}`, files: { 'c.yaml': { body: body('v1'), contentType: 'text/yaml' } } });
  const list = Array.from({ length: n }, () => newAgent({ group }));
  const handled = bed.reconciler.metrics.eventsHandled;
  for (const agent of list) await report(agent);
  // The first reports are reconciled (nothing assigned yet) before the assignment pushes version 1: one push each.
  await waitFor(() => bed.reconciler.metrics.eventsHandled, (v) => v >= handled + n, { description: `${group}: first reports handled` });
  await ok('POST', '/assignments', { name: group, configurationName: `cfg-${group}`, pinnedVersion: 1, selector: `group=${group}` });
  await waitFor(
    () => list.map((x) => `${x.status}/${x.received.length}`),
    (l) => l.every((v) => v === '1/1'),
    { description: `${group}: version 1 applied everywhere (status/pushes per agent)` },
  );
  const v1 = list[0].received[0].hash;
  const updated = await ok('PUT', `/configurations/cfg-${group}`, { files: { 'c.yaml': { body: body(v2Tag), contentType: 'text/yaml' } } });
  expect(updated['version']).toBe(2);
  return { list, v1, v2: String(updated['contentHash']) };
}

beforeAll(async () => {
  bed = await ConfigServiceBed.start('ro', { tenants: 1, pushes: true, overrides: { rolloutTickMs: 50, rolloutLeaseMs: 1_000, rolloutDriverId: 'driver-a' } });
  tenant = bed.tenants[0].id;
  bed.onPush(onPush);
  a = bed.primary;
  // Its consumer reads a topic nobody writes, so every push comes from one reconciler decision (A's).
  b = await bed.startReplica('b', { rolloutDriverId: 'driver-b' });
}, 60_000);

afterAll(() => bed?.close());

describe('staged rollouts', () => {
  it('a healthy rollout completes batch by batch, in order, each agent sent the new version once', async () => {
    const { list, v2 } = await fleet('healthy', 10, 'v2');
    const created = await ok('POST', '/rollouts', {
      name: 'healthy-v2',
      assignmentName: 'healthy',
      strategy: { steps: [{ count: 1 }, { percent: 50 }, { percent: 100 }] },
      soakTimeMs: SOAK_MS,
      start: true,
    });
    expect(created).toMatchObject({ state: 'ROLLOUT_STATE_RUNNING', fromVersion: 1, toVersion: 2, totalAgents: 10 });
    expect((created['batches'] as Array<{ plannedAgents: number }>).map((x) => x.plannedAgents)).toEqual([1, 4, 5]);

    const done = await rolloutIn('healthy-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches.map((x) => [x.state, x.agents, x.progress['applied']])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 1, 1],
      ['ROLLOUT_BATCH_STATE_PASSED', 4, 4],
      ['ROLLOUT_BATCH_STATE_PASSED', 5, 5],
    ]);
    // Every agent got version 2 exactly once, and no batch began before the previous one had passed.
    for (const agent of list) expect(agent.received.map((r) => r.hash)).toEqual([agent.received[0].hash, v2]);
    const batches = await membersByBatch('healthy-v2');
    const arrival = (hex: string) => agents.get(hex)!.received[1].at;
    for (let k = 1; k < 3; k++) {
      expect(Math.min(...batches.get(k)!.map(arrival))).toBeGreaterThanOrEqual(Math.max(...batches.get(k - 1)!.map(arrival)) + SOAK_MS);
    }
    const types = (await eventTypes('healthy-v2')).map((e) => `${e.type}${e.batchIndex >= 0 ? `:${e.batchIndex}` : ''}`).filter((t) => t !== 'driver_acquired');
    expect(types).toEqual([
      'created',
      'started',
      'batch_started:0',
      'batch_soaking:0',
      'batch_passed:0',
      'batch_started:1',
      'batch_soaking:1',
      'batch_passed:1',
      'batch_started:2',
      'batch_soaking:2',
      'batch_passed:2',
      'completed',
    ]);
    // The assignment stands for the new version; the audit log has the operator's and the driver's steps.
    expect((await ok('GET', '/assignments/healthy'))['pinnedVersion']).toBe(2);
    const audit = (await ok('GET', '/audit-events?resourceName=healthy-v2&pageSize=100'))['events'] as Array<{ action: string; actor: string }>;
    expect(audit.map((e) => e.action).reverse()).toEqual([
      'rollout.create',
      'rollout.start',
      'rollout.batch_start',
      'rollout.batch_pass',
      'rollout.batch_start',
      'rollout.batch_pass',
      'rollout.batch_start',
      'rollout.batch_pass',
      'rollout.complete',
    ]);
    expect(audit[0].actor).toBe('system');
  });

  it('a bad version is stopped in the first batch and rolled back; the rest of the fleet is untouched', async () => {
    const { list, v1, v2 } = await fleet('bad', 10, 'v2 # fail-rate: 1');
    const started = Date.now();
    await ok('POST', '/rollouts', { name: 'bad-v2', assignmentName: 'bad', strategy: { batchSize: 2 }, soakTimeMs: SOAK_MS, autoRollback: true, start: true });
    const r = await rolloutIn('bad-v2', 'ROLLOUT_STATE_ROLLED_BACK');
    expect(r.stateReason).toMatch(/^batch 1 'batch-1' failed its gate: [12] of 2 agents failed the gate \([12] FAILED/);
    expect(r.batches.map((x) => x.state)).toEqual(['ROLLOUT_BATCH_STATE_FAILED', ...Array(4).fill('ROLLOUT_BATCH_STATE_PENDING')]);
    const [first] = [...(await membersByBatch('bad-v2')).values()];
    expect(first).toHaveLength(2);
    // The two canaries got version 2, then version 1 again; they end APPLIED on version 1.
    for (const hex of first) {
      const agent = agents.get(hex)!;
      expect(agent.received.map((x) => x.hash)).toEqual([v1, v2, v1]);
      await waitFor(() => agent.reportedHash?.toString('hex') === v1 && agent.status === 1, Boolean, { description: 'canary back on version 1' });
    }
    const rest = list.filter((x) => !first.includes(x.hex));
    expect(rest).toHaveLength(8);
    for (const agent of rest) expect(agent.received.filter((x) => x.at >= started)).toEqual([]);
    const types = (await eventTypes('bad-v2')).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['batch_started', 'batch_failed', 'rollback_started', 'rolled_back']));
    expect(types.indexOf('batch_failed')).toBeLessThan(types.indexOf('rollback_started'));
    const agentsRes = await ok('GET', `/rollouts/bad-v2/agents`);
    expect(agentsRes['agents']).toEqual(first.map((hex) => expect.objectContaining({ instanceUid: hex, batchIndex: 0, reverted: true })));
    // Another rollout of the same assignment can start now; the assignment still stands for version 1.
    expect((await ok('GET', '/assignments/bad'))['pinnedVersion']).toBe(1);
  });

  it('pause holds the rollout between batches; agents connecting meanwhile get what their batch dictates; resume continues', async () => {
    const { list, v1, v2 } = await fleet('pause', 6, 'v2');
    await ok('POST', '/rollouts', { name: 'pause-v2', assignmentName: 'pause', strategy: { batchSize: 2 }, soakTimeMs: SOAK_MS, start: false });
    expect((await rest('POST', '/rollouts/pause-v2:pause', {})).status).toBe(400); // pending: nothing to pause
    await ok('POST', '/rollouts/pause-v2:start', {});
    await waitFor(() => getRollout('pause-v2'), (r) => r.batches[0].state === 'ROLLOUT_BATCH_STATE_SOAKING', { description: 'first batch soaking' });
    const paused = await ok('POST', '/rollouts/pause-v2:pause', { reason: 'looking at dashboards' });
    expect(paused).toMatchObject({ state: 'ROLLOUT_STATE_PAUSED', stateReason: 'looking at dashboards', currentBatch: 0 });
    // Well past the soak time, with the drivers ticking, nothing moves.
    const ticks = a.rolloutDriver.metrics.ticks + b.rolloutDriver.metrics.ticks;
    await waitFor(() => a.rolloutDriver.metrics.ticks + b.rolloutDriver.metrics.ticks, (t) => t >= ticks + 2 * Math.ceil((2 * SOAK_MS) / 50), { description: 'driver ticks' });
    const still = await getRollout('pause-v2');
    expect(still).toMatchObject({ state: 'ROLLOUT_STATE_PAUSED', currentBatch: 0 });
    expect(still.batches[1].state).toBe('ROLLOUT_BATCH_STATE_PENDING');
    const moved = list.filter((x) => x.received.some((r) => r.hash === v2));
    expect(moved).toHaveLength(2);

    // A new agent of the assignment connects: the rollout has not reached it, it gets version 1.
    const newcomer = newAgent({ group: 'pause' });
    await report(newcomer);
    await waitFor(() => newcomer.received.map((r) => r.hash), (h) => h.length === 1, { description: 'newcomer configured' });
    expect(newcomer.received[0].hash).toBe(v1);
    // A moved agent comes back without its configuration (restarted, on a new connection): it gets version 2 again.
    moved[0].reportedHash = null;
    moved[0].status = 0;
    moved[0].connectionId = `conn-${moved[0].hex}-restarted`;
    await report(moved[0]);
    await waitFor(() => moved[0].received.filter((r) => r.hash === v2).length, (n) => n === 2, { description: 'moved agent gets version 2 again' });

    await ok('POST', '/rollouts/pause-v2:resume', {});
    const done = await rolloutIn('pause-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches.map((x) => [x.state, x.agents])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 2],
      ['ROLLOUT_BATCH_STATE_PASSED', 2],
      ['ROLLOUT_BATCH_STATE_PASSED', 3], // the rest, with the newcomer
    ]);
    for (const agent of [...list, newcomer]) expect(agent.received.filter((r) => r.hash === v2)).toHaveLength(agent === moved[0] ? 2 : 1);
    expect(newcomer.received.map((r) => r.hash)).toEqual([v1, v2]);
    const types = (await eventTypes('pause-v2')).map((e) => e.type);
    expect(types.filter((t) => ['paused', 'resumed', 'batch_soak_reset'].includes(t))).toEqual(['paused', 'resumed']);
    expect((await rest('POST', '/rollouts/pause-v2:resume', {})).status).toBe(400); // completed
  });

  it('a driver killed mid-rollout is replaced by the other replica, which continues where it stood', async () => {
    const { list, v2 } = await fleet('takeover', 9, 'v2');
    for (const agent of list) agent.held = true; // the agents are slow to apply: the first batch stays in progress
    await ok('POST', '/rollouts', { name: 'takeover-v2', assignmentName: 'takeover', strategy: { batchPercent: 34 }, soakTimeMs: SOAK_MS, start: true });
    await waitFor(() => list.filter((x) => x.received.some((r) => r.hash === v2)), (l) => l.length === 4, { description: 'first batch pushed' });
    const holder = (await getRollout('takeover-v2')).driverId;
    expect(['driver-a', 'driver-b']).toContain(holder);
    const [dead, heir] = holder === 'driver-a' ? [a, b] : [b, a];
    await dead.rolloutDriver.stop({ releaseLeases: false }); // as if its process died: the lease runs out on its own
    release(list);
    const r = await rolloutIn('takeover-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(r.batches.map((x) => [x.state, x.agents])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 4],
      ['ROLLOUT_BATCH_STATE_PASSED', 3],
      ['ROLLOUT_BATCH_STATE_PASSED', 2],
    ]);
    // No agent skipped, none sent the version twice; the heir took over exactly once.
    for (const agent of list) expect(agent.received.filter((x) => x.hash === v2)).toHaveLength(1);
    const acquired = (await eventTypes('takeover-v2')).filter((e) => e.type === 'driver_acquired').map((e) => JSON.parse(e.detailsJson) as { driverId: string; leaseEpoch: string });
    expect(acquired.map((e) => e.driverId)).toEqual([holder, heir.rolloutDriver.driverId]);
    expect(Number(acquired[1].leaseEpoch)).toBe(Number(acquired[0].leaseEpoch) + 1);
    dead.rolloutDriver.start();
  });

  it('control errors, gRPC parity and assignment protection', async () => {
    expect((await rest('POST', '/rollouts', { assignmentName: 'healthy', strategy: { batchSize: 1 }, toVersion: 2 })).status).toBe(400); // already at 2
    expect((await rest('POST', '/rollouts', { assignmentName: 'nope', strategy: { batchSize: 1 } })).status).toBe(404);
    expect((await rest('POST', '/rollouts', { assignmentName: 'bad', strategy: {} })).status).toBe(400);
    const pending = await ok('POST', '/rollouts', { name: 'bad-again', assignmentName: 'bad', strategy: { batchSize: 1 } });
    expect(pending).toMatchObject({ state: 'ROLLOUT_STATE_PENDING', fromVersion: 1, toVersion: 2 });
    expect((await rest('POST', '/rollouts', { assignmentName: 'bad', strategy: { batchSize: 1 } })).status).toBe(400); // one active per assignment
    expect((await rest('PUT', '/assignments/bad', { configurationName: 'cfg-bad', pinnedVersion: 2, selector: 'group=bad' })).status).toBe(400);
    expect((await rest('DELETE', '/assignments/bad')).status).toBe(400);
    expect((await ok('POST', '/rollouts/bad-again:abort', {}))['state']).toBe('ROLLOUT_STATE_ABORTED');

    const viaGrpc = await b.rpc('GetRollout', { name: 'healthy-v2' });
    expect(viaGrpc).toEqual(await ok('GET', '/rollouts/healthy-v2'));
    const listed = (await ok('GET', '/rollouts?activeOnly=false&pageSize=2'))['rollouts'] as Array<{ name: string }>;
    expect(listed.map((x) => x.name)).toEqual(['bad-again', 'takeover-v2']);
  });
});

describe('apply deadline and agents that change instance uid', () => {
  const DEADLINE_MS = 1_500;
  const hasV2 = (agent: SimAgent, v2: string) => agent.received.some((r) => r.hash === v2);

  it('agents that never apply time out and fail the gate over the tolerance; resume gives them a new deadline', async () => {
    const { list, v2 } = await fleet('deadline-fail', 4, 'v2');
    const stuck = list.slice(0, 2);
    for (const agent of stuck) agent.held = true; // connected, never report the new version
    await ok('POST', '/rollouts', {
      name: 'deadline-fail-v2',
      assignmentName: 'deadline-fail',
      strategy: { batchSize: 4 },
      gates: { maxFailedAgents: 1 },
      soakTimeMs: SOAK_MS,
      applyTimeoutMs: DEADLINE_MS,
      start: true,
    });
    const r = await rolloutIn('deadline-fail-v2', 'ROLLOUT_STATE_PAUSED');
    expect(r.applyTimeoutMs).toBe(DEADLINE_MS);
    expect(r.batches[0]).toMatchObject({ state: 'ROLLOUT_BATCH_STATE_FAILED', agents: 4 });
    expect(r.batches[0].progress).toMatchObject({ applied: 2, timedOut: 2, failed: 0, applying: 0 });
    expect(r.stateReason).toBe(
      "batch 1 'batch-1' failed its gate: 2 of 4 agents failed the gate (0 FAILED, 0 unhealthy after applying, 0 offline beyond the soak time, 2 past the apply deadline); 1 tolerated",
    );
    // Recorded once per agent, before the verdict; no earlier than the deadline after the push.
    const events = await eventTypes('deadline-fail-v2');
    const timedOut = events.filter((e) => e.type === 'agents_timed_out');
    const recorded = timedOut.flatMap((e) => (JSON.parse(e.detailsJson) as { agents: string[] }).agents);
    expect(recorded.sort()).toEqual(stuck.map((x) => x.hex).sort());
    expect(JSON.parse(timedOut[0].detailsJson)).toMatchObject({ applyTimeoutMs: DEADLINE_MS });
    expect(events.findIndex((e) => e.type === 'agents_timed_out')).toBeLessThan(events.findIndex((e) => e.type === 'batch_failed'));
    const sentAt = Math.min(...stuck.map((x) => x.received.find((h) => h.hash === v2)!.at));
    expect(Date.parse(timedOut[0].time)).toBeGreaterThanOrEqual(sentAt + DEADLINE_MS - 200); // 200 ms: push latency after the send is recorded
    const listed = await ok('GET', '/rollouts/deadline-fail-v2/agents?phases=ROLLOUT_AGENT_PHASE_TIMED_OUT');
    expect(listed['agents']).toEqual(
      stuck
        .map((x) => x.hex)
        .sort()
        .map((hex) => ({ instanceUid: hex, batchIndex: 0, phase: 'ROLLOUT_AGENT_PHASE_TIMED_OUT', reverted: false, reason: `no APPLIED or FAILED for version 2 within ${DEADLINE_MS} ms of it being sent` })),
    );

    // They apply after all: resuming judges the batch from scratch and it passes.
    release(stuck);
    await waitFor(() => stuck.map((x) => x.reportedHash?.toString('hex')), (h) => h.every((x) => x === v2), { description: 'stuck agents applied late' });
    await ok('POST', '/rollouts/deadline-fail-v2:resume', {});
    const done = await rolloutIn('deadline-fail-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches[0].progress).toMatchObject({ applied: 4, timedOut: 0 });
    expect((await eventTypes('deadline-fail-v2')).filter((e) => e.type === 'agents_timed_out')).toHaveLength(timedOut.length);
  });

  it('an agent that never applies within the tolerance is timed out and the batch passes instead of hanging', async () => {
    const { list, v2 } = await fleet('deadline-pass', 4, 'v2');
    const [stuck] = list;
    stuck.held = true;
    const created = await ok('POST', '/rollouts', {
      name: 'deadline-pass-v2',
      assignmentName: 'deadline-pass',
      strategy: { batchSize: 4 },
      gates: { maxFailedAgents: 1 },
      soakTimeMs: SOAK_MS,
      applyTimeoutMs: DEADLINE_MS,
      start: true,
    });
    expect(created['applyTimeoutMs']).toBe(DEADLINE_MS);
    const done = await rolloutIn('deadline-pass-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches[0]).toMatchObject({ state: 'ROLLOUT_BATCH_STATE_PASSED', progress: expect.objectContaining({ applied: 3, timedOut: 1 }) });
    expect(done.progress).toMatchObject({ applied: 3, timedOut: 1 });
    expect(stuck.reportedHash?.toString('hex')).not.toBe(v2);
    const events = await eventTypes('deadline-pass-v2');
    const types = events.map((e) => e.type);
    expect(types.indexOf('agents_timed_out')).toBeGreaterThan(types.indexOf('batch_started'));
    expect(types.indexOf('agents_timed_out')).toBeLessThan(types.indexOf('batch_soaking'));
    // The batch waited for the deadline (then the soak), not less.
    const sentAt = stuck.received.find((h) => h.hash === v2)!.at;
    expect(Date.parse(events.find((e) => e.type === 'batch_passed')!.time)).toBeGreaterThanOrEqual(sentAt + DEADLINE_MS + SOAK_MS - 200);
  });

  it('the default deadline is 10 minutes; 0 is none; negative and absurd deadlines are 400', async () => {
    await fleet('deadline-args', 1, 'v2');
    const bad = async (applyTimeoutMs: unknown) => rest('POST', '/rollouts', { assignmentName: 'deadline-args', strategy: { batchSize: 1 }, applyTimeoutMs });
    const negative = await bad(-1);
    expect(negative.status).toBe(400);
    expect(JSON.stringify(negative.json)).toContain("'applyTimeoutMs' must not be negative");
    for (const v of [86_400_001, 4_294_967_295]) {
      const res = await bad(v);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.json)).toContain(`apply_timeout_ms must be at most 86400000 (24 hours; 0 = no deadline), got ${v}`);
    }
    const none = await ok('POST', '/rollouts', { name: 'deadline-none', assignmentName: 'deadline-args', strategy: { batchSize: 1 }, applyTimeoutMs: 0 });
    expect(none['applyTimeoutMs']).toBe(0);
    await ok('POST', '/rollouts/deadline-none:abort', {});
    const byDefault = await ok('POST', '/rollouts', { name: 'deadline-default', assignmentName: 'deadline-args', strategy: { batchSize: 1 } });
    expect(byDefault['applyTimeoutMs']).toBe(600_000);
    await ok('POST', '/rollouts/deadline-default:abort', {});
  });

  it('an agent that takes a new instance uid mid-rollout keeps its place: APPLIED under the new uid counts', async () => {
    const { list, v1, v2 } = await fleet('newuid', 3, 'v2');
    for (const agent of list) agent.held = true; // the first batch stays applying until we say
    await ok('POST', '/rollouts', { name: 'newuid-v2', assignmentName: 'newuid', strategy: { batchSize: 2 }, soakTimeMs: SOAK_MS, applyTimeoutMs: 0, start: true });
    await waitFor(() => list.filter((x) => hasV2(x, v2)).length, (n) => n === 2, { description: 'first batch pushed' });
    const old = list.find((x) => hasV2(x, v2))!;

    // What status-ingest does on RequestInstanceUid: the old record becomes a disconnected tombstone, the
    // agent's state moves to a new uid, and the new uid's first event names the old one.
    const moved = newAgent({ group: 'newuid' });
    moved.reportedHash = old.reportedHash;
    moved.status = old.status;
    await bed.pool.query(`UPDATE agents SET replaced_by = $3, connected = false, gateway_id = NULL, connection_id = NULL WHERE tenant_id = $1 AND instance_uid = $2`, [
      tenant,
      old.uid,
      moved.uid,
    ]);
    await report(moved, null, old.uid);

    // The rollout follows it: its batch holds the new uid (not the tombstone), which gets version 2, never version 1.
    await waitFor(() => moved.reportedHash?.toString('hex'), (h) => h === v2, { description: 'new uid applied version 2' });
    expect(moved.received.map((x) => x.hash)).not.toContain(v1);
    const members = await waitFor(
      () => ok('GET', '/rollouts/newuid-v2/agents?batchIndex=0'),
      (res) => (res['agents'] as Array<{ instanceUid: string; phase: string }>).some((m) => m.instanceUid === moved.hex && m.phase === 'ROLLOUT_AGENT_PHASE_APPLIED'),
      { description: 'new uid APPLIED in batch 1' },
    );
    expect((members['agents'] as Array<{ instanceUid: string }>).map((m) => m.instanceUid)).not.toContain(old.hex);
    release(list.filter((x) => x !== old));
    const done = await rolloutIn('newuid-v2', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches.map((b) => [b.state, b.agents, b.progress['applied'], b.progress['offline'], b.progress['pending']])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 2, 2, 0, 0],
      ['ROLLOUT_BATCH_STATE_PASSED', 1, 1, 0, 0],
    ]);
    const all = (await ok('GET', '/rollouts/newuid-v2/agents'))['agents'] as Array<{ instanceUid: string }>;
    expect(all.map((m) => m.instanceUid)).toContain(moved.hex);
    expect(all.map((m) => m.instanceUid)).not.toContain(old.hex);
    expect(all).toHaveLength(3);
  });
});
