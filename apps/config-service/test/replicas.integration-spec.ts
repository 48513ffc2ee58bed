/**
 * Two config-service replicas in one consumer group on one database (issue 20
 * item 7, horizontal proof): the agent events split between them, and no agent
 * is processed twice or skipped, neither on the event path (an agent reports,
 * its replica decides and pushes) nor on the re-evaluation path (a new
 * configuration version: one replica's job walks the fleet).
 */
import { AgentCapabilities as C, decodeServerToAgent } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { reconcilerJoined } from '../src/app';
import { ConfigServiceBed, type ConfigServiceReplica } from './config-service.bed';

const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth;
const AGENTS = 48;
const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`;

let bed: ConfigServiceBed;
let b: ConfigServiceReplica;
/** Remote config hashes pushed to each agent (hex uid -> hashes in arrival order). */
const received = new Map<string, string[]>();

const both = () => [bed.primary.reconciler.metrics, b.reconciler.metrics];
const sum = (pick: (m: ReturnType<typeof both>[number]) => number) => both().reduce((n, m) => n + pick(m), 0);
const pushedTotal = () => [...received.values()].reduce((n, l) => n + l.length, 0);

beforeAll(async () => {
  // Small pages and short leases: the job's walk takes many pages, and the other replica's sweep
  // (every lease / 3) tries to claim it meanwhile.
  bed = await ConfigServiceBed.start('replicas', { tenants: 1, pushes: true, overrides: { reevaluatePageSize: 4, reevaluationLeaseMs: 600 } });
  bed.onPush((push) => {
    if (!push.serverToAgent?.length) return;
    const rc = decodeServerToAgent(push.serverToAgent).remoteConfig;
    if (!rc?.configHash?.length) return;
    const hex = Buffer.from(push.instanceUid).toString('hex');
    received.set(hex, [...(received.get(hex) ?? []), Buffer.from(rc.configHash).toString('hex')]);
  });
  // The second replica consumes the primary's topic in the primary's group: the partitions split.
  b = await bed.startReplica('b', { eventsTopic: bed.topic, consumerGroup: bed.primary.config.consumerGroup });
  await reconcilerJoined(b.app);
}, 120_000);

afterAll(async () => {
  await bed?.close();
});

it('splits the agent events between two replicas and pushes each agent exactly once, on events and on re-evaluation', async () => {
  const tenant = bed.tenants[0].id;
  const ok = async (method: string, path: string, payload: unknown) => {
    const r = await bed.rest(method, path, payload);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };
  await ok('POST', '/configurations', { name: 'cfg-rep', files: { 'c.yaml': { body: body('v1'), contentType: 'text/yaml' } } });
  await ok('POST', '/assignments', { name: 'rep', configurationName: 'cfg-rep', selector: 'group=rep' });

  // Event path: agents report after the assignment exists; whichever replica owns an agent's partition pushes v1.
  const uids = Array.from({ length: AGENTS }, () => bed.newUid());
  for (const uid of uids) await bed.report({ tenant, uid, capabilities: FULL, labels: { group: 'rep' } });
  await waitFor(() => sum((m) => m.eventsHandled), (n) => n >= AGENTS, { description: 'every report handled', timeoutMs: 30_000 });
  await waitFor(pushedTotal, (n) => n >= sum((m) => m.configsPushed) && n >= AGENTS, { description: 'every push observed', timeoutMs: 30_000 });
  expect(sum((m) => m.eventsHandled)).toBe(AGENTS);
  // Both replicas took part: the group split the partitions.
  for (const m of both()) expect(m.eventsHandled).toBeGreaterThan(0);
  const v1 = received.get(uids[0].toString('hex'))?.[0];
  for (const uid of uids) expect(received.get(uid.toString('hex'))).toEqual([v1]);

  // Re-evaluation path: a new version; one replica's job walks the fleet, each agent gets v2 once.
  const updated = await ok('PUT', '/configurations/cfg-rep', { files: { 'c.yaml': { body: body('v2'), contentType: 'text/yaml' } } });
  const v2 = String(updated['contentHash']);
  await waitFor(() => uids.filter((u) => received.get(u.toString('hex'))?.includes(v2)).length, (n) => n === AGENTS, { description: 'v2 pushed to every agent', timeoutMs: 30_000 });
  await waitFor(() => sum((m) => m.reevaluationJobsFinished), (n) => n >= 1, { description: 'the re-evaluation job finished', timeoutMs: 30_000 });
  await waitFor(pushedTotal, (n) => n >= sum((m) => m.configsPushed), { description: 'every push observed', timeoutMs: 30_000 });
  expect(sum((m) => m.configsPushed)).toBe(2 * AGENTS);
  for (const uid of uids) expect(received.get(uid.toString('hex'))).toEqual([v1, v2]);
  expect(sum((m) => m.eventsHandled)).toBe(AGENTS);
}, 120_000);
