/**
 * config-service's fleet-state gauges (issue 21) against the real Kafka,
 * Redis and PostgreSQL: a rollout its gate paused and one running, and the
 * identities a tenant has that end (an enrollment token, its CA), scraped
 * from the running module after everything is in place (the gauges are read
 * at most once per cache interval). Agents as in rollouts.integration-spec.ts:
 * rows and AgentEvents written as status-ingest would.
 */
import { AgentCapabilities as C, RemoteConfigStatuses } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth;
const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`;
const file = (tag: string) => ({ 'c.yaml': { body: body(tag), contentType: 'text/yaml' } });

let bed: ConfigServiceBed;
let tenant: string;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('fsg', { tenants: 1, pushes: true, overrides: { rolloutTickMs: 50, rolloutLeaseMs: 1_000, credentialKey: Buffer.alloc(32, 7) } });
  tenant = bed.tenants[0].id;
}, 60_000);

afterAll(() => bed?.close());

const ok = async (method: string, path: string, payload?: unknown) => {
  const r = await bed.rest(method, path, payload);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
};

async function report(agent: ReportedAgent): Promise<void> {
  const before = bed.reconciler.metrics.eventsHandled;
  await bed.report(agent);
  await bed.handled(before, 1);
}

/** A group of agents on version 1 of its own configuration (APPLIED), version 2 created and not yet assigned. */
async function group(name: string, n: number): Promise<ReportedAgent[]> {
  await ok('POST', '/configurations', { name, files: file('v1') });
  const agents = Array.from({ length: n }, () => ({ tenant, uid: bed.newUid(), capabilities: FULL, labels: { group: name } }));
  for (const a of agents) await report(a);
  await ok('POST', '/assignments', { name, configurationName: name, pinnedVersion: 1, selector: `group=${name}` });
  for (const a of agents) {
    const [push] = await waitFor(() => bed.pushesFor(a.uid), (p) => p.length >= 1, { description: `${name}: version 1 pushed` });
    await report({ ...a, reportedHash: Buffer.from(push.remoteConfig!.configHash!), status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED });
  }
  await ok('PUT', `/configurations/${name}`, { files: file('v2') });
  return agents;
}

/** The value of one series (labels in any order), or undefined. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const have = new Map([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[2]);
  }
  return undefined;
}

describe('fleet-state gauges', () => {
  it('show each rollout under way (its agents by place, its batch, a pause by its gate) and when identities end', async () => {
    // Paused by its gate: both agents of its one batch fail version 2.
    const failing = await group('gated', 2);
    await ok('POST', '/rollouts', { name: 'gated-v2', assignmentName: 'gated', strategy: { batchSize: 2 }, gates: { maxFailedAgents: 0 }, soakTimeMs: 60_000, start: true });
    for (const a of failing) {
      const pushes = await waitFor(() => bed.pushesFor(a.uid), (p) => p.length >= 2, { description: 'version 2 pushed' });
      await report({ ...a, reportedHash: Buffer.from(pushes[1].remoteConfig!.configHash!), status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED, error: 'bad' });
    }
    await waitFor(async () => (await ok('GET', '/rollouts/gated-v2'))['state'], (s) => s === 'ROLLOUT_STATE_PAUSED', { description: 'paused by its gate' });
    // Running: batch 1 of 3 (one agent each) soaking for a minute.
    const healthy = await group('soaking', 3);
    await ok('POST', '/rollouts', { name: 'soaking-v2', assignmentName: 'soaking', strategy: { batchSize: 1 }, soakTimeMs: 60_000, start: true });
    await waitFor(() => healthy.map((a) => bed.pushesFor(a.uid).length).reduce((x, y) => x + y, 0), (n) => n === 4, { description: 'the first batch pushed' });
    // Paused by an operator: not a gate.
    await group('held', 1);
    await ok('POST', '/rollouts', { name: 'held-v2', assignmentName: 'held', strategy: { batchSize: 1 }, soakTimeMs: 60_000, start: true });
    await ok('POST', '/rollouts/held-v2:pause', {});
    // Identities: an enrollment token ending in 2 hours, the tenant's CA in 30 days.
    await ok('POST', '/agent-tokens', { name: 'short', expireTime: new Date(Date.now() + 2 * 3600_000).toISOString() });
    await ok('POST', '/certificate-authorities', { lifetimeDays: 30 });

    const text = await fetch(`${bed.httpBase}/metrics`).then((r) => r.text());
    const gated = { tenant, kind: 'configuration', rollout: 'gated-v2' };
    const soaking = { tenant, kind: 'configuration', rollout: 'soaking-v2' };
    const held = { tenant, kind: 'configuration', rollout: 'held-v2' };
    expect(value(text, 'opamp_config_rollout_paused_by_gate', gated)).toBe(1);
    expect(value(text, 'opamp_config_rollout_paused_by_gate', soaking)).toBe(0);
    expect(value(text, 'opamp_config_rollout_paused_by_gate', held)).toBe(0);
    expect(value(text, 'opamp_config_rollout_agents', { ...gated, state: 'moved' })).toBe(2);
    expect(value(text, 'opamp_config_rollout_agents', { ...gated, state: 'waiting' })).toBe(0);
    expect(value(text, 'opamp_config_rollout_agents', { ...soaking, state: 'moved' })).toBe(1);
    expect(value(text, 'opamp_config_rollout_agents', { ...soaking, state: 'waiting' })).toBe(2);
    expect(value(text, 'opamp_config_rollout_current_batch', soaking)).toBe(1);
    expect(value(text, 'opamp_config_rollout_batches', soaking)).toBe(3);
    expect(value(text, 'opamp_config_rollouts_active', { tenant, kind: 'configuration', state: 'paused' })).toBe(2);
    expect(value(text, 'opamp_config_rollouts_active', { tenant, kind: 'configuration', state: 'running' })).toBe(1);

    expect(value(text, 'opamp_config_identities_expiring', { tenant, kind: 'enrollment_token', within: '24h' })).toBe(1);
    expect(value(text, 'opamp_config_identities_expiring', { tenant, kind: 'ca_certificate', within: '24h' })).toBe(0);
    expect(value(text, 'opamp_config_identities_expiring', { tenant, kind: 'ca_certificate', within: '7d' })).toBe(0);
    const token = value(text, 'opamp_config_identity_earliest_expiry_seconds', { tenant, kind: 'enrollment_token' })!;
    expect(token).toBeGreaterThan(2 * 3600 - 120);
    expect(token).toBeLessThanOrEqual(2 * 3600);
    expect(value(text, 'opamp_config_identity_earliest_expiry_seconds', { tenant, kind: 'ca_certificate' })).toBeGreaterThan(29 * 86_400);
    expect(text).toMatch(/^opamp_config_fleet_state_read_errors_total 0$/m);
  });
});
