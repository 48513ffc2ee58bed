/**
 * Rollouts on the embedded database (PGlite) with the in-process push bus, as
 * the embedded server runs them: the same SQL as on PostgreSQL. Simulated
 * agents answer each push by writing their reported state (APPLIED, or FAILED
 * and unhealthy for a version that says so). Also the lease itself: one
 * driver at a time, takeover after expiry, and the old holder fenced out.
 */
import { AgentEventCodec, GatewayPushCodec } from '@opamp/contracts';
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import { AgentCapabilities as C, decodeServerToAgent } from '@opamp/protocol';
import { migrateToLatest, PgliteSqlDatabase } from '@opamp/store';
import { waitFor } from '@opamp/testing';
import { ServerTracing } from '@opamp/tracing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import {
  AgentPushDispatcher,
  DesiredStateRepository,
  FenceLost,
  FleetApiService,
  Reconciler,
  RolloutDriver,
  RolloutRepository,
  type Caller,
} from '../src';

const tenant = 'embedded';
const gatewayId = 'embedded';
const caller: Caller = { tenantId: tenant, tokenId: 'test' };
const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth;
const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`;

let db: PgliteSqlDatabase;
let repo: DesiredStateRepository;
let reconciler: Reconciler;
let api: FleetApiService;
const received = new Map<string, string[]>();
/** The traceparent each agent's pushes carried (empty when not traced), in order. */
const pushTraces = new Map<string, string[]>();
/** Agents (hex) that record what they are sent and never apply it. */
const held = new Set<string>();

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

beforeAll(async () => {
  db = await PgliteSqlDatabase.open();
  await migrateToLatest(db);
  repo = new DesiredStateRepository(db);
  const bus = new MemoryPushBus();
  const dispatcher = new AgentPushDispatcher(bus, new MemoryPendingStore());
  reconciler = new Reconciler(repo, dispatcher, { pageSize: 4 });
  api = new FleetApiService(repo, dispatcher, reconciler);
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [tenant]);
  // The agents: apply what they are sent; a version marked "# bad" fails and makes them unhealthy.
  await bus.inbox(gatewayId).start((payload) => {
    const push = GatewayPushCodec.decode(payload);
    const rc = decodeServerToAgent(push.serverToAgent).remoteConfig;
    if (!rc?.configHash?.length) return;
    const hex = Buffer.from(push.instanceUid).toString('hex');
    received.set(hex, [...(received.get(hex) ?? []), Buffer.from(rc.configHash).toString('hex')]);
    pushTraces.set(hex, [...(pushTraces.get(hex) ?? []), push.traceParent]);
    if (held.has(hex)) return;
    const bad = Object.values(rc.config?.configMap ?? {}).some((f) => Buffer.from(f.body ?? []).toString().includes('# bad'));
    void db.query(`UPDATE agents SET remote_config_hash = $3, remote_config_status = $4, healthy = $5, updated_at = now() WHERE tenant_id = $1 AND instance_uid = $2`, [
      tenant,
      Buffer.from(push.instanceUid),
      Buffer.from(rc.configHash),
      1,
      !bad,
    ]);
  });
  for (let i = 1; i <= 8; i++) {
    await db.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, healthy)
       VALUES ($1, $2, $3, $4::jsonb, true, $5, 'c', 1, 1, true)`,
      [tenant, uid(i), FULL, JSON.stringify({ env: 'prod', canary: i <= 2 ? 'yes' : 'no', region: i <= 5 ? 'eu' : 'us' }), gatewayId],
    );
  }
  await api.configurations.createConfiguration(caller, { name: 'c', files: { 'c.yaml': { body: body('v1'), contentType: 'text/yaml' } } });
  await api.assignments.createAssignment(caller, { assignment: { name: 'prod', configurationName: 'c', selector: 'env=prod' } });
  await reconciler.idle();
  await waitFor(() => received.size, (n) => n === 8, { description: 'version 1 everywhere' });
}, 30_000);

afterAll(async () => {
  await db?.close();
});

const state = async (name: string) => (await api.rollouts.getRollout(caller, { name })) as { state: string; stateReason: string; batches: Array<{ name: string; state: string; agents: number }> };

describe('rollouts on PGlite', () => {
  it('a rollout by named stages completes; the pinned assignment moves to the new version', async () => {
    const v1 = received.get(uid(1).toString('hex'))![0];
    // The assignment follows the latest version: pin it to what the fleet runs before adding the new version.
    await api.assignments.updateAssignment(caller, { assignment: { name: 'prod', configurationName: 'c', selector: 'env=prod', pinnedVersion: 1 } });
    await api.configurations.updateConfiguration(caller, { name: 'c', files: { 'c.yaml': { body: body('v2'), contentType: 'text/yaml' } } });
    await reconciler.idle();
    expect([...received.values()].every((h) => h.length === 1)).toBe(true);
    // Batches are traced whatever the sample ratio (0 here), and their pushes carry the batch's trace.
    const spans = new InMemorySpanExporter();
    const tracing = ServerTracing.withExporter(spans, 0, { serviceName: 'config-service' });
    const driver = RolloutDriver.create(repo, reconciler, { driverId: 'embedded', tickMs: 20, leaseMs: 2_000, tracing });
    api.rollouts.onChange = () => driver.wake();
    driver.start();
    try {
      await api.rollouts.createRollout(caller, {
        name: 'stages',
        assignmentName: 'prod',
        strategy: { stages: [{ name: 'canary', selector: 'canary=yes' }, { name: 'eu', selector: 'region=eu' }] },
        soakTimeMs: 100,
        start: true,
      });
      const done = await waitFor(() => state('stages'), (r) => r.state === 'ROLLOUT_STATE_COMPLETED', { description: 'completed' });
      expect(done.batches.map((b) => [b.name, b.state, b.agents])).toEqual([
        ['canary', 'ROLLOUT_BATCH_STATE_PASSED', 2],
        ['eu', 'ROLLOUT_BATCH_STATE_PASSED', 3],
        ['rest', 'ROLLOUT_BATCH_STATE_PASSED', 3],
      ]);
      for (const hashes of received.values()) expect(hashes).toHaveLength(2);
      expect(new Set([...received.values()].map((h) => h[1])).size).toBe(1);
      expect([...received.values()][0][0]).toBe(v1);
      // Pinned before the rollout, so pinned to the new version after it.
      expect(await api.assignments.getAssignment(caller, { name: 'prod' })).toMatchObject({ pinnedVersion: 2 });
      await tracing.flush();
      const batches = spans.getFinishedSpans().filter((x) => x.name === 'rollout.batch');
      expect(batches.map((b) => b.attributes['opamp.batch']).sort()).toEqual([0, 1, 2]);
      const traceOfBatch = new Map(batches.map((b) => [b.attributes['opamp.batch'], b.spanContext().traceId]));
      for (let i = 1; i <= 8; i++) {
        const [first, second] = pushTraces.get(uid(i).toString('hex'))!;
        expect(first).toBe('');
        // Canary agents (1, 2) went in batch 0, the rest of eu (3-5) in 1, the others in 2.
        expect(second.split('-')[1]).toBe(traceOfBatch.get(i <= 2 ? 0 : i <= 5 ? 1 : 2));
      }
    } finally {
      await driver.stop();
    }
  });

  it('an unhealthy version pauses the rollout at its first batch; an operator rolls it back', async () => {
    await api.configurations.updateConfiguration(caller, { name: 'c', files: { 'c.yaml': { body: body('v3 # bad'), contentType: 'text/yaml' } } });
    const driver = RolloutDriver.create(repo, reconciler, { driverId: 'embedded', tickMs: 20, leaseMs: 2_000 });
    api.rollouts.onChange = () => driver.wake();
    driver.start();
    try {
      await api.rollouts.createRollout(caller, { name: 'unhealthy', assignmentName: 'prod', strategy: { batchPercent: 25 }, gates: { maxFailedAgents: 1 }, soakTimeMs: 100, start: true });
      const paused = await waitFor(() => state('unhealthy'), (r) => r.state === 'ROLLOUT_STATE_PAUSED', { description: 'paused by the gate' });
      expect(paused.stateReason).toMatch(/2 of 2 agents failed the gate \(0 FAILED, 2 unhealthy after applying, 0 offline beyond the soak time, 0 past the apply deadline\); 1 tolerated/);
      const agents = (await api.rollouts.listRolloutAgents(caller, { name: 'unhealthy' })) as { agents: Array<{ instanceUid: string; phase: string }> };
      expect(agents.agents.map((a) => a.phase)).toEqual(['ROLLOUT_AGENT_PHASE_UNHEALTHY', 'ROLLOUT_AGENT_PHASE_UNHEALTHY']);
      await api.rollouts.rollbackRollout(caller, { name: 'unhealthy', reason: 'unhealthy canaries' });
      await waitFor(() => state('unhealthy'), (r) => r.state === 'ROLLOUT_STATE_ROLLED_BACK', { description: 'rolled back' });
      const moved = agents.agents.map((a) => received.get(a.instanceUid)!);
      for (const hashes of moved) expect(hashes[3]).toBe(hashes[1]); // v2, v3, then v2 again
      expect([...received.values()].filter((h) => h.length === 2)).toHaveLength(6); // the others never saw v3
      const events = (await api.rollouts.listRolloutEvents(caller, { name: 'unhealthy', afterId: 0 })) as { events: Array<{ type: string; actor: string }>; lastId: string };
      expect(events.events.filter((e) => e.type !== 'driver_acquired').map((e) => e.type)).toEqual([
        'created',
        'started',
        'batch_started',
        'batch_failed',
        'paused',
        'rollback_started',
        'rolled_back',
      ]);
      const none = (await api.rollouts.listRolloutEvents(caller, { name: 'unhealthy', afterId: events.lastId, waitMs: 50 })) as { events: unknown[]; lastId: string };
      expect(none).toEqual({ events: [], lastId: events.lastId });
    } finally {
      await driver.stop();
    }
  });

  it('leases: one driver at a time, takeover after expiry bumps the epoch and fences the old holder out', async () => {
    await api.rollouts.createRollout(caller, { name: 'leases', assignmentName: 'prod', toVersion: 1, strategy: { batchSize: 100 }, soakTimeMs: 0, start: true });
    const rollouts = new RolloutRepository(db, repo);
    const first = await rollouts.claim('one', 150, 10);
    expect(first).toEqual([{ tenantId: tenant, name: 'leases', leaseEpoch: 1, acquired: true }]);
    expect(await rollouts.claim('two', 150, 10)).toEqual([]);
    expect(await rollouts.claim('one', 150, 10)).toEqual([{ tenantId: tenant, name: 'leases', leaseEpoch: 1, acquired: false }]);
    const before = (await rollouts.get(db, tenant, 'leases'))!;
    await waitFor(() => rollouts.claim('two', 5_000, 10), (c) => c.length === 1, { description: 'takeover after expiry', intervalMs: 50 });
    const after = (await rollouts.get(db, tenant, 'leases'))!;
    expect([after.driverId, after.leaseEpoch]).toEqual(['two', 2]);
    await expect(db.transaction((tx) => rollouts.update(tx, before, { revision: after.revision, driverId: 'one', leaseEpoch: 1 }, 'current_batch = 0'))).rejects.toBeInstanceOf(FenceLost);
    await rollouts.release('two');
    expect((await rollouts.get(db, tenant, 'leases'))!.driverId).toBeNull();
  });

  it('send claims: one of two concurrent deciders sends; an older event does not resend, a newer one does', async () => {
    const u = uid(99);
    // An agent no selector matches (a claim is only ever made for an agent that exists).
    await db.query(`INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, transport, epoch) VALUES ($1, $2, $3, '{}'::jsonb, false, 1, 1)`, [tenant, u, FULL]);
    const h1 = Buffer.alloc(32, 1);
    const h2 = Buffer.alloc(32, 2);
    const strict = (hash: Buffer) => ({ instanceUid: u, hash, resendAfterMs: null, connection: 'ws:gw/c' });
    const [x, y] = await Promise.all([repo.claimSends(tenant, [strict(h1)]), repo.claimSends(tenant, [strict(h1)])]);
    expect(x.size + y.size).toBe(1);
    expect((await repo.claimSends(tenant, [strict(h1)])).size).toBe(0);
    expect((await repo.claimSends(tenant, [{ instanceUid: u, hash: h1, resendAfterMs: Date.now() - 60_000, connection: 'ws:gw/c' }])).size).toBe(0);
    expect((await repo.claimSends(tenant, [{ instanceUid: u, hash: h1, resendAfterMs: Date.now() + 60_000, connection: 'ws:gw/c' }])).size).toBe(1);
    expect((await repo.claimSends(tenant, [{ instanceUid: u, hash: h1, resendAfterMs: Number.POSITIVE_INFINITY, connection: 'ws:gw/c' }])).size).toBe(1);
    expect((await repo.claimSends(tenant, [strict(h2)])).size).toBe(1);
    await repo.unclaimSend(tenant, u, h2, { lastSentHash: h1, desiredHash: null, configurationName: null, configurationVersion: null, desiredSinceMs: null, appliedHash: null, lastSentAtMs: Date.now(), lastSentConnection: 'ws:gw/old' });
    expect((await repo.agentStates(tenant, [u])).get(u.toString('hex'))).toMatchObject({ lastSentHash: h1, lastSentConnection: 'ws:gw/old' });
  });

  it('agents that cannot use the new version (missing components) are reported, not sent it; the batch still passes', async () => {
    const components = async (hash: Buffer, exporters: string[]) =>
      db.query(`INSERT INTO available_components (hash, components) VALUES ($1, $2::jsonb)`, [
        hash,
        JSON.stringify({ receivers: { subComponentMap: { otlp: {} } }, exporters: { subComponentMap: Object.fromEntries(exporters.map((e) => [e, {}])) } }),
      ]);
    await components(Buffer.alloc(32, 7), ['debug', 'otlphttp']);
    await components(Buffer.alloc(32, 8), ['debug']);
    for (const [i, hash] of [[20, 7], [21, 8]] as const) {
      await db.query(
        `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, healthy, available_components_hash)
         VALUES ($1, $2, $3, '{"env":"edge"}'::jsonb, true, $4, 'c', 1, 1, true, $5)`,
        [tenant, uid(i), FULL, gatewayId, Buffer.alloc(32, hash)],
      );
    }
    await api.configurations.createConfiguration(caller, { name: 'e', files: { 'c.yaml': { body: body('e1'), contentType: 'text/yaml' } } });
    await api.assignments.createAssignment(caller, { assignment: { name: 'edge', configurationName: 'e', selector: 'env=edge', pinnedVersion: 1 } });
    await reconciler.idle();
    await waitFor(() => [20, 21].map((i) => received.get(uid(i).toString('hex'))?.length ?? 0), (l) => l.join() === '1,1', { description: 'e1 sent' });
    const otlphttp = 'receivers: {otlp: {}}\nexporters: {otlphttp: {endpoint: "https://x.example"}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [otlphttp]}}}\n';
    await api.configurations.updateConfiguration(caller, { name: 'e', files: { 'c.yaml': { body: otlphttp, contentType: 'text/yaml' } } });
    const driver = RolloutDriver.create(repo, reconciler, { driverId: 'embedded', tickMs: 20, leaseMs: 2_000 });
    api.rollouts.onChange = () => driver.wake();
    driver.start();
    try {
      await api.rollouts.createRollout(caller, { name: 'edge-v2', assignmentName: 'edge', strategy: { batchSize: 10 }, soakTimeMs: 50, start: true });
      const done = await waitFor(() => state('edge-v2'), (r) => r.state === 'ROLLOUT_STATE_COMPLETED', { description: 'completed' });
      expect(done.batches.map((b) => (b as unknown as { progress: Record<string, number> }).progress)).toEqual([
        { pending: 0, applying: 0, applied: 1, failed: 0, unhealthy: 0, offline: 0, notSent: 1, timedOut: 0 },
      ]);
      const list = (await api.rollouts.listRolloutAgents(caller, { name: 'edge-v2', phases: ['ROLLOUT_AGENT_PHASE_NOT_SENT'] })) as { agents: unknown[] };
      expect(list.agents).toEqual([
        { instanceUid: uid(21).toString('hex'), batchIndex: 0, phase: 'ROLLOUT_AGENT_PHASE_NOT_SENT', reverted: false, reason: "not sent: the agent has no exporter of type 'otlphttp'" },
      ]);
      expect(received.get(uid(21).toString('hex'))).toHaveLength(1);
      expect(received.get(uid(20).toString('hex'))).toHaveLength(2);
    } finally {
      await driver.stop();
    }
  });

  it('an agent that takes a new instance uid mid-rollout is followed, even when a later event of the new uid comes in the same batch', async () => {
    // b changes uid with its events (the reconciler moves it); c changes uid with no event seen (the driver repairs).
    const [a, b, moved, c, movedSilently] = [uid(40), uid(41), uid(42), uid(43), uid(44)];
    for (const u of [a, b, c]) {
      await db.query(
        `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, healthy)
         VALUES ($1, $2, $3, '{"env":"uid"}'::jsonb, true, $4, 'c', 1, 1, true)`,
        [tenant, u, FULL, gatewayId],
      );
    }
    await api.configurations.createConfiguration(caller, { name: 'u', files: { 'c.yaml': { body: body('u1'), contentType: 'text/yaml' } } });
    await api.assignments.createAssignment(caller, { assignment: { name: 'uid', configurationName: 'u', selector: 'env=uid', pinnedVersion: 1 } });
    await reconciler.idle();
    await waitFor(() => [a, b, c].map((u) => received.get(u.toString('hex'))?.length ?? 0), (l) => l.join() === '1,1,1', { description: 'u1 sent' });
    const v1 = received.get(a.toString('hex'))![0];
    await api.configurations.updateConfiguration(caller, { name: 'u', files: { 'c.yaml': { body: body('u2'), contentType: 'text/yaml' } } });
    held.add(b.toString('hex')); // b and c are slow: their batch waits on them
    held.add(c.toString('hex'));
    let driver = RolloutDriver.create(repo, reconciler, { driverId: 'embedded', tickMs: 20, leaseMs: 2_000 });
    api.rollouts.onChange = () => driver.wake();
    driver.start();
    try {
      await api.rollouts.createRollout(caller, { name: 'uid-v2', assignmentName: 'uid', strategy: { batchSize: 10 }, soakTimeMs: 50, applyTimeoutMs: 0, start: true });
      await waitFor(() => [b, c].map((u) => received.get(u.toString('hex'))?.length ?? 0), (l) => l.join() === '2,2', { description: 'u2 sent to b and c' });
      const v2 = received.get(b.toString('hex'))![1];
      // Without a driver meanwhile: the reconciler's event path alone must move the agent (the driver's repair is a backstop).
      await driver.stop();

      // As status-ingest does on RequestInstanceUid: b becomes a tombstone, its record moves to the new uid,
      // whose first event names b. A second event of the new uid lands in the same consumer batch.
      await db.query(`UPDATE agents SET replaced_by = $3, connected = false WHERE tenant_id = $1 AND instance_uid = $2`, [tenant, b, moved]);
      await db.query(
        `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, healthy, remote_config_hash, remote_config_status)
         VALUES ($1, $2, $3, '{"env":"uid"}'::jsonb, true, $4, 'c2', 1, 1, true, $5, 1)`,
        [tenant, moved, FULL, gatewayId, Buffer.from(v1, 'hex')],
      );
      const event = (previous: Buffer | undefined, at: number) =>
        Buffer.from(
          AgentEventCodec.encode({
            tenantId: tenant,
            instanceUid: moved,
            changes: 1,
            capabilities: FULL,
            labels: [{ key: 'env', value: 'uid' }],
            reportedRemoteConfigHash: Buffer.from(v1, 'hex'),
            remoteConfigStatus: 1,
            owner: { connected: true, gatewayId, connectionId: 'c2', epoch: 1, transport: 1 },
            previousInstanceUid: previous,
            occurredAtUnixMs: at,
          }),
        );
      await reconciler.handleEventRecords([event(b, Date.now()), event(undefined, Date.now() + 1)]);
      const memberUids = async () =>
        (await db.query(`SELECT instance_uid FROM rollout_agents WHERE tenant_id = $1 AND rollout_name = 'uid-v2' ORDER BY instance_uid`, [tenant])).rows.map((r) =>
          Buffer.from(r['instance_uid'] as Uint8Array).toString('hex'),
        );
      expect(await memberUids()).toEqual([a, moved, c].map((u) => u.toString('hex')));
      // c finished applying version 2 under its new uid; no event of it reaches the reconciler.
      await db.query(`UPDATE agents SET replaced_by = $3, connected = false WHERE tenant_id = $1 AND instance_uid = $2`, [tenant, c, movedSilently]);
      await db.query(
        `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, healthy, remote_config_hash, remote_config_status)
         VALUES ($1, $2, $3, '{"env":"uid"}'::jsonb, true, $4, 'c3', 1, 1, true, $5, 1)`,
        [tenant, movedSilently, FULL, gatewayId, Buffer.from(v2, 'hex')],
      );

      // The new uid is pinned to the rollout's version (never sent version 1), applies it, and its batch passes.
      driver = RolloutDriver.create(repo, reconciler, { driverId: 'embedded', tickMs: 20, leaseMs: 2_000 });
      driver.start();
      const done = await waitFor(() => state('uid-v2'), (r) => r.state === 'ROLLOUT_STATE_COMPLETED', { description: 'completed' });
      expect(done.batches.map((x) => [x.state, x.agents])).toEqual([['ROLLOUT_BATCH_STATE_PASSED', 3]]);
      expect(received.get(moved.toString('hex'))).toEqual([v2]);
      expect(received.get(movedSilently.toString('hex'))).toBeUndefined(); // it reported the version: nothing to send
      const list = (await api.rollouts.listRolloutAgents(caller, { name: 'uid-v2' })) as { agents: Array<{ instanceUid: string; phase: string }> };
      expect(list.agents.map((x) => [x.instanceUid, x.phase])).toEqual([
        [a.toString('hex'), 'ROLLOUT_AGENT_PHASE_APPLIED'],
        [moved.toString('hex'), 'ROLLOUT_AGENT_PHASE_APPLIED'],
        [movedSilently.toString('hex'), 'ROLLOUT_AGENT_PHASE_APPLIED'],
      ]);
      // The reconcile state went with it: the tombstone keeps nothing.
      expect((await repo.agentStates(tenant, [b])).size).toBe(0);
      expect((await repo.agentStates(tenant, [moved])).get(moved.toString('hex'))?.lastSentHash?.toString('hex')).toBe(v2);
    } finally {
      await driver.stop();
    }
  });
});
