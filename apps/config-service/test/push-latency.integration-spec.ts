/**
 * Push latency (issue 21) against the real Kafka, Redis and PostgreSQL: an
 * API change (or a rollout batch) until the agent reports the configuration
 * APPLIED, scraped as opamp_config_push_latency_seconds from the running
 * config-service. Agents as in config-service.integration-spec.ts: rows and
 * AgentEvents written as status-ingest would; each takes APPLY_MS to apply,
 * which bounds every observation from below, the test's wall clock from above.
 */
import { AgentCapabilities as C, RemoteConfigStatuses } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig;
const APPLIED = RemoteConfigStatuses.RemoteConfigStatuses_APPLIED;
/** How long an agent takes to apply a configuration. */
const APPLY_MS = 300;
/** Between rollout batches: the second batch's agents are moved this long after the rollout started. */
const SOAK_MS = 2_000;
const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`;
const file = (tag: string) => ({ 'c.yaml': { body: body(tag), contentType: 'text/yaml' } });

let bed: ConfigServiceBed;
let tenant: string;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('pl', { tenants: 1, pushes: true, overrides: { rolloutTickMs: 50, rolloutLeaseMs: 1_000 } });
  tenant = bed.tenants[0].id;
}, 60_000);

afterAll(() => bed?.close());

interface Latency {
  count: number;
  sum: number;
  buckets: Map<string, number>;
}

async function latency(): Promise<Latency> {
  const text = await fetch(`${bed.httpBase}/metrics`).then((r) => r.text());
  const series = (suffix: string) => new RegExp(`^opamp_config_push_latency_seconds_${suffix}\\{([^}]*)\\} (\\S+)$`, 'gm');
  const out: Latency = { count: 0, sum: 0, buckets: new Map() };
  for (const m of text.matchAll(series('count'))) if (m[1] === `tenant="${tenant}"`) out.count = Number(m[2]);
  for (const m of text.matchAll(series('sum'))) if (m[1] === `tenant="${tenant}"`) out.sum = Number(m[2]);
  for (const m of text.matchAll(series('bucket'))) {
    const le = /le="([^"]+)"/.exec(m[1])?.[1];
    if (le && m[1].includes(`tenant="${tenant}"`)) out.buckets.set(le, Number(m[2]));
  }
  return out;
}

const ok = async (method: string, path: string, payload?: unknown) => {
  const r = await bed.rest(method, path, payload);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
};

/** Waits for the agent's `n`-th push, applies it (APPLY_MS) and reports it APPLIED; resolves with the pushed hash once handled. */
async function applyPush(agent: ReportedAgent, n: number): Promise<Buffer> {
  const pushes = await waitFor(() => bed.pushesFor(agent.uid), (p) => p.length >= n, { description: `push ${n} to the agent` });
  const hash = Buffer.from(pushes[n - 1].remoteConfig!.configHash!);
  await new Promise((resolve) => setTimeout(resolve, APPLY_MS));
  await report({ ...agent, reportedHash: hash, status: APPLIED });
  return hash;
}

async function report(agent: ReportedAgent): Promise<void> {
  const before = bed.reconciler.metrics.eventsHandled;
  await bed.report(agent);
  await bed.handled(before, 1);
}

describe('push latency', () => {
  let known: ReportedAgent;

  it('an assignment made for a known agent counts once, from the API call until the agent reported it APPLIED', async () => {
    known = { tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: 'pl' } };
    await report(known); // known, nothing assigned yet: its decision (no configuration) is recorded
    await ok('POST', '/configurations', { name: 'pl', files: file('v1') });
    const start = Date.now();
    await ok('POST', '/assignments', { name: 'pl', configurationName: 'pl', selector: 'group=pl' });
    await applyPush(known, 1);
    const after = await latency();
    const elapsed = (Date.now() - start) / 1000;
    expect(after.count).toBe(1);
    expect(after.sum).toBeGreaterThanOrEqual(APPLY_MS / 1000);
    expect(after.sum).toBeLessThanOrEqual(elapsed);
    expect(after.buckets.get('0.1')).toBe(0);
    expect(after.buckets.get('+Inf')).toBe(1);
  });

  it('APPLIED reported again for the same hash (a reconnect, a full state) is not counted again', async () => {
    const pushed = Buffer.from(bed.pushesFor(known.uid)[0].remoteConfig!.configHash!);
    await report({ ...known, reportedHash: pushed, status: APPLIED });
    await report({ ...known, reportedHash: pushed, status: APPLIED, connectionId: `conn-again-${bed.run}` });
    expect((await latency()).count).toBe(1);
  });

  it('a new version counts from the change that made it; an agent new to the fleet is not counted', async () => {
    const before = await latency();
    const start = Date.now();
    await ok('PUT', '/configurations/pl', { files: file('v2') });
    await applyPush(known, 2);
    const after = await latency();
    const elapsed = (Date.now() - start) / 1000;
    expect(after.count).toBe(before.count + 1);
    expect(after.sum - before.sum).toBeGreaterThanOrEqual(APPLY_MS / 1000);
    expect(after.sum - before.sum).toBeLessThanOrEqual(elapsed);

    const newcomer: ReportedAgent = { tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: 'pl' } };
    await report(newcomer);
    await applyPush(newcomer, 1);
    expect((await latency()).count).toBe(after.count);
  });

  it("an agent a rollout moved counts from its batch's start, not from the rollout's start", async () => {
    await ok('POST', '/configurations', { name: 'staged', files: file('s1') });
    const first: ReportedAgent = { tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: 'staged' } };
    const second: ReportedAgent = { tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: 'staged' } };
    await report(first);
    await report(second);
    await ok('POST', '/assignments', { name: 'staged', configurationName: 'staged', pinnedVersion: 1, selector: 'group=staged' });
    await applyPush(first, 1);
    await applyPush(second, 1);
    await ok('PUT', '/configurations/staged', { files: file('s2') });
    const base = await latency();
    const start = Date.now();
    await ok('POST', '/rollouts', { name: 'staged-v2', assignmentName: 'staged', strategy: { batchSize: 1 }, soakTimeMs: SOAK_MS, start: true });
    // Batch 1 takes one agent at once, batch 2 the other after batch 1's soak.
    const isFirstBatch = await waitFor(
      () => [bed.pushesFor(first.uid).length, bed.pushesFor(second.uid).length],
      ([a, b]) => a + b >= 3,
      { description: 'the first batch pushed' },
    );
    const [early, late] = isFirstBatch[0] === 2 ? [first, second] : [second, first];
    await applyPush(early, 2);
    const mid = await latency();
    expect(mid.count).toBe(base.count + 1);
    await applyPush(late, 2);
    const after = await latency();
    const elapsed = (Date.now() - start) / 1000;
    expect(after.count).toBe(base.count + 2);
    // Counted from the rollout's start, the late agent would have waited out the soak too.
    const lateSeconds = after.sum - mid.sum;
    expect(lateSeconds).toBeGreaterThanOrEqual(APPLY_MS / 1000);
    expect(lateSeconds).toBeLessThan(SOAK_MS / 1000);
    expect(after.sum - base.sum).toBeLessThanOrEqual(elapsed);
  });
});
