/**
 * status-ingest against the real Kafka, Redis and PostgreSQL: envelopes are
 * produced as the gateway produces them; we assert rows, pushes on the
 * gateway's Redis channel, pending items for HTTP agents, events on the events
 * topic, replay idempotency, a restart mid-stream, and the liveness sweep.
 */
import { fleet, RedisKeys } from '@opamp/contracts';
import { AgentCapabilities, decodeServerToAgent, isUuidV7, ServerToAgentFlags } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { AgentRepository, CursorStore, newAgentState, overlayCursor, type AgentState } from '../src';
import { COLLECTOR_CAPS, FakeAgent } from '../src/testing/factories';
import { IngestHarness } from './ingest-harness';

const HTTP = fleet.v1.Transport.TRANSPORT_HTTP;
const AC_CAPS = COLLECTOR_CAPS | AgentCapabilities.ReportsAvailableComponents;

describe('status-ingest (real Kafka, Redis, PostgreSQL)', () => {
  const h = new IngestHarness();
  const repo = new AgentRepository();
  const GW = ['gw-a', 'gw-b'];

  beforeAll(async () => {
    await h.start(GW);
  });

  afterAll(async () => {
    await h.stop();
  });

  const agentOf = (opts: ConstructorParameters<typeof FakeAgent>[0] = {}) =>
    new FakeAgent({ tenantId: h.tenant, gatewayId: 'gw-a', startMs: Date.now(), ...opts });

  async function row(uid: Buffer): Promise<AgentState | null> {
    return repo.get(h.db, h.tenant, uid);
  }

  async function rowWhere(uid: Buffer, accept: (s: AgentState) => boolean, description: string): Promise<AgentState> {
    return (await waitFor(() => row(uid), (s) => s !== null && accept(s), { timeoutMs: 20_000, description })) as AgentState;
  }

  const pushesFor = (uid: Buffer) => h.pushes.filter((p) => Buffer.from(p.push.instanceUid).equals(uid));
  const eventsFor = (uid: Buffer) => h.events.filter((e) => Buffer.from(e.instanceUid).equals(uid));

  describe('with one worker', () => {
    const worker = () => h.worker();
    let w: ReturnType<typeof worker>;

    beforeAll(async () => {
      w = worker();
      await w.start();
    });

    afterAll(async () => {
      await w.stop();
    });

    it('merges status, stores content once, asks for components and full state once, and publishes events (C36, C37, C58, C73, C74)', async () => {
      const a = agentOf();
      const b = agentOf();
      const hash = Buffer.alloc(32, 0x5a);
      const script = [a.connect(), a.full({ capabilities: AC_CAPS, availableComponents: { hash } }), b.connect(), b.full()];
      await h.produce(script.map((e, i) => (i < 2 ? a : b).toKafka(e)));
      const stored = await rowWhere(a.uid, (s) => s.descriptionReported && s.componentsRequestedHash !== null, 'agent a stored');
      // Heartbeats (capabilities repeated or 0) cost no row write: sequence and last seen go to Redis.
      const cursors = new CursorStore(h.redis);
      const fastBefore = w.processor.totals.heartbeats;
      await h.produce([a.heartbeat(AC_CAPS), a.heartbeat(0), a.heartbeat(AC_CAPS)].map((e) => a.toKafka(e)));
      const cursor = await waitFor(
        async () => (await cursors.load([{ tenantId: h.tenant, instanceUid: a.uid }])).values().next().value,
        (c) => c?.seq === 3,
        { description: 'cursor at seq 3' },
      );
      const sa = (await row(a.uid))!;
      expect(sa.recordVersion).toBe(stored.recordVersion);
      expect(sa.lastSequenceNum).toBe(0);
      expect(overlayCursor(sa, cursor).lastSequenceNum).toBe(3);
      // ... and no PostgreSQL work at all: the heartbeat fast path took all three.
      expect(w.processor.totals.heartbeats - fastBefore).toBe(3);
      // What /healthz and the crash counter of the app read.
      expect(w.joined).toBe(true);
      expect(w.consumerCrashes).toBe(0);
      const sb = await rowWhere(b.uid, (s) => s.descriptionReported, 'agent b stored');
      expect(sa.capabilities).toBe(AC_CAPS);
      expect(sa.labels['service.name']).toBe('otelcol');
      expect(sa.health).toMatchObject({ healthy: true, componentHealthMap: { 'pipeline:traces': { componentHealthMap: { 'receiver:otlp': { healthy: true } } } } });
      expect(sa.connected).toBe(true);
      expect(sa.gatewayId).toBe('gw-a');
      // Effective config stored once, shared by both agents.
      expect(sa.effectiveConfigHash).toEqual(sb.effectiveConfigHash);
      const shared = await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM effective_configs');
      expect(shared.rows[0].n).toBe(1);
      expect(await repo.effectiveConfig(h.db, sa.effectiveConfigHash!)).not.toBeNull();

      // ReportAvailableComponents went to the agent's WS connection, fenced.
      const first = await waitFor(() => pushesFor(a.uid), (p) => p.length >= 1, { description: 'push for a' });
      expect(first[0].gatewayId).toBe('gw-a');
      expect(first[0].push.connectionId).toBe(a.connectionId);
      expect(Number(first[0].push.epoch)).toBe(1);
      expect(first[0].push.tenantId).toBe(h.tenant);
      const msg = decodeServerToAgent(first[0].push.serverToAgent);
      expect(Buffer.from(msg.instanceUid)).toEqual(a.uid);
      expect(Number(msg.flags)).toBe(ServerToAgentFlags.ReportAvailableComponents);
      expect(msg.command).toBeNull();
      expect(pushesFor(b.uid)).toEqual([]);

      // The full map arrives (stored by hash), then a gap: ReportFullState.
      await h.produce([
        a.toKafka(a.send({ capabilities: AC_CAPS, availableComponents: { hash, components: { receivers: { metadata: [{ key: 'n', value: { intValue: 2 } }] } } } })),
        a.toKafka(a.send({ sequenceNum: a.seq + 5 })),
      ]);
      const gapPush = await waitFor(() => pushesFor(a.uid), (p) => p.length >= 2, { description: 'gap push' });
      expect(Number(decodeServerToAgent(gapPush[1].push.serverToAgent).flags)).toBe(ServerToAgentFlags.ReportFullState);
      expect(await repo.availableComponents(h.db, hash)).toEqual({ receivers: { metadata: [{ key: 'n', value: { intValue: 2 } }] } });

      // Events: one per changed batch and agent, with what config-service needs.
      const evs = await waitFor(() => eventsFor(b.uid), (e) => e.length >= 1, { description: 'event for b' });
      const last = evs[evs.length - 1];
      expect(Number(last.capabilities)).toBe(COLLECTOR_CAPS);
      expect(last.labels.map((l) => l.key)).toContain('service.name');
      expect(Buffer.from(last.reportedRemoteConfigHash)).toEqual(Buffer.alloc(32, 7));
      expect(last.remoteConfigStatus).toBe(1);
      expect(last.owner).toMatchObject({ connected: true, gatewayId: 'gw-a', connectionId: b.connectionId });
      expect(Number(last.recordVersion)).toBe(sb.recordVersion);
    });

    it('plain HTTP: pending items and a wake-up; polls keep it connected; agent_disconnect takes it offline (C77)', async () => {
      const a = agentOf({ transport: HTTP, gatewayId: 'gw-b' });
      await h.produce([a.toKafka(a.full({ capabilities: AC_CAPS, availableComponents: { hash: Buffer.alloc(32, 0x6b) } }))]);
      const wake = await waitFor(() => pushesFor(a.uid), (p) => p.length >= 1, { description: 'wake-up' });
      expect(wake[0].gatewayId).toBe('gw-b');
      expect(wake[0].push.pendingWakeup).toBe(true);
      expect(wake[0].push.connectionId).toBe(a.connectionId);
      const pending = await h.redis.hgetallBuffer(RedisKeys.pendingPush(h.tenant, a.uid.toString('hex')));
      expect(Object.keys(pending)).toEqual(['flags']);
      expect(Number(decodeServerToAgent(pending['flags']).flags)).toBe(ServerToAgentFlags.ReportAvailableComponents);

      const before = await rowWhere(a.uid, (s) => s.connected, 'http agent connected');
      await h.produce([a.toKafka(a.heartbeat(AC_CAPS)), a.toKafka(a.heartbeat(0))]);
      await waitFor(
        async () => (await new CursorStore(h.redis).load([{ tenantId: h.tenant, instanceUid: a.uid }])).values().next().value,
        (c) => c?.seq === 2,
        { description: 'polls recorded' },
      );
      expect((await row(a.uid))!.recordVersion).toBe(before.recordVersion);
      await h.produce([a.toKafka(a.send({ agentDisconnect: {} }))]);
      const off = await rowWhere(a.uid, (s) => !s.connected, 'http agent offline');
      expect(off.recordVersion).toBe(before.recordVersion + 1);
      expect(off.disconnectReason).toBe(fleet.v1.DisconnectReason.DISCONNECT_REASON_AGENT_DISCONNECT);
      expect(off.lastSequenceNum).toBe(3);
    });

    it('RequestInstanceUid: a UUIDv7 in agent_identification, the old uid echoed, the record moved (C49, C50)', async () => {
      const a = agentOf();
      await h.produce([a.toKafka(a.connect()), a.toKafka(a.full({ flags: 1 }))]);
      const p = await waitFor(() => pushesFor(a.uid), (x) => x.length >= 1, { description: 'identification' });
      const msg = decodeServerToAgent(p[0].push.serverToAgent);
      expect(Buffer.from(msg.instanceUid)).toEqual(a.uid);
      const newUid = Buffer.from(msg.agentIdentification!.newInstanceUid!);
      expect(isUuidV7(newUid)).toBe(true);
      const tomb = await rowWhere(a.uid, (s) => s.replacedBy !== null, 'tombstone');
      expect(tomb.replacedBy).toEqual(newUid);

      // The agent switches: its own lease (epoch from 1 again), seq continues.
      const moved = agentOf({ uid: newUid });
      moved.seq = a.seq;
      await h.produce([moved.toKafka(moved.connect()), moved.toKafka(moved.heartbeat())]);
      const s = await rowWhere(newUid, (x) => x.connected && x.epoch === 1, 'moved record');
      expect(s.labels['service.name']).toBe('otelcol');
      const ev = await waitFor(() => eventsFor(newUid), (e) => e.some((x) => (x.previousInstanceUid?.length ?? 0) > 0), { description: 'move event' });
      expect(Buffer.from(ev[0].previousInstanceUid!)).toEqual(a.uid);
      expect(Number(ev[0].changes) & fleet.v1.AgentChange.AGENT_CHANGE_INSTANCE_UID).toBeTruthy();
      // No ReportFullState: history kept. Pushes of one agent leave in order, after their batch
      // commits: once the push a later message asks for (a new uid) has arrived, one for the
      // heartbeat above would have arrived before it.
      await h.produce([moved.toKafka(moved.send({ flags: 1 }))]);
      const later = await waitFor(
        () => pushesFor(newUid),
        (x) => x.some((q) => decodeServerToAgent(q.push.serverToAgent).agentIdentification),
        { description: 'the later push' },
      );
      expect(later.map((q) => Number(decodeServerToAgent(q.push.serverToAgent).flags))).toEqual([0]);
    });

    it('replaying the same records changes nothing and pushes and publishes nothing', async () => {
      const a = agentOf();
      const records = [a.connect(), a.full(), a.heartbeat(), a.send({ sequenceNum: 9 }), a.full(), a.disconnect()].map((e) => a.toKafka(e));
      await h.produce(records);
      const done = await rowWhere(a.uid, (s) => !s.connected, 'offline after script');
      // Pushes leave after the commit: wait for the script's full-state request (the seq gap) to arrive.
      await waitFor(() => pushesFor(a.uid).length, (n) => n >= 1, { description: 'the script pushes' });
      const pushes = pushesFor(a.uid).length;
      await waitFor(() => eventsFor(a.uid), (e) => e.some((x) => Number(x.recordVersion) === done.recordVersion));
      const events = eventsFor(a.uid).length;
      const processed = w.processor.totals.records;
      await h.produce(records);
      await waitFor(() => w.processor.totals.records, (n) => n >= processed + records.length, { description: 'replay consumed' });
      expect(await row(a.uid)).toEqual(done);
      expect(pushesFor(a.uid)).toHaveLength(pushes);
      expect(eventsFor(a.uid)).toHaveLength(events);
    });

    it('skips poisoned records and goes on', async () => {
      const a = agentOf();
      const poisoned = w.processor.totals.poisoned;
      await h.produce([
        { key: Buffer.from('short'), value: Buffer.from('x') },
        { key: a.uid, value: Buffer.from([0xff, 0xff, 0xff]) },
        a.toKafka({ ...a.send(), agentToServer: Buffer.from([0x0a, 0xff]) }),
        a.toKafka(a.connect()),
        a.toKafka(a.full()),
      ]);
      await rowWhere(a.uid, (s) => s.descriptionReported, 'valid record after poison');
      // The bad key may sit in another partition, counted when its own batch ends.
      await waitFor(() => w.processor.totals.poisoned - poisoned, (n) => n >= 3, { description: 'three poisoned records counted' });
      expect(w.processor.totals.poisoned - poisoned).toBe(3);
    });

    it('the liveness sweep marks silent agents stale, then offline, with events (C63)', async () => {
      const now = Date.now();
      const quiet = agentOf({ startMs: now - 4_000 });
      const gone = agentOf({ startMs: now - 8_000 });
      const live = agentOf();
      await h.produce([quiet, gone, live].flatMap((x) => [x.toKafka(x.connect()), x.toKafka(x.full())]));
      await rowWhere(live.uid, (s) => s.descriptionReported, 'live stored');
      await rowWhere(quiet.uid, (s) => s.descriptionReported, 'quiet stored');
      await rowWhere(gone.uid, (s) => s.descriptionReported, 'gone stored');
      const before = { ...w.sweeper.totals };
      const stats = await w.sweeper.sweepOnce();
      expect(stats.stale).toBeGreaterThanOrEqual(1);
      // The totals the app's metrics read follow each pass.
      expect(w.sweeper.totals).toMatchObject({
        passes: before.passes + 1,
        stale: before.stale + stats.stale,
        offline: before.offline + stats.offline,
      });
      expect((await row(quiet.uid))!).toMatchObject({ connected: true, stale: true });
      expect((await row(gone.uid))!).toMatchObject({ connected: false, disconnectReason: 100 });
      expect((await row(live.uid))!).toMatchObject({ connected: true, stale: false });
      await waitFor(() => eventsFor(gone.uid), (e) => e.some((x) => x.owner?.connected === false), { description: 'offline event' });
      // A second pass changes nothing; a message makes the stale agent live again.
      const again = await w.sweeper.sweepOnce();
      expect(again.offline).toBe(0);
      expect(w.sweeper.totals.passes).toBe(before.passes + 2);
      await h.produce([quiet.toKafka({ ...quiet.heartbeat(), receivedAtUnixMs: Date.now() })]);
      await rowWhere(quiet.uid, (s) => !s.stale, 'quiet live again');
    });
  });

  describe('last seen', () => {
    const FLUSH_MS = 500;
    let w: ReturnType<typeof h.worker>;

    beforeAll(async () => {
      w = h.worker({ lastSeenFlushMs: FLUSH_MS });
      await w.start();
    });

    afterAll(async () => {
      await w.stop();
    });

    it('heartbeats on the fast path reach the row within the flush interval, without a record version (issue 13 item 1)', async () => {
      const a = agentOf();
      await h.produce([a.toKafka(a.connect()), a.toKafka(a.full())]);
      const stored = await rowWhere(a.uid, (s) => s.descriptionReported, 'agent stored');
      for (let i = 0; i < 3; i++) {
        const fast = w.processor.totals.heartbeats;
        a.clockMs = Date.now();
        await h.produce([a.toKafka(a.heartbeat())]);
        const sentAt = a.clockMs;
        // The heartbeat fast path took it (no PostgreSQL on the way)...
        await waitFor(() => w.processor.totals.heartbeats, (n) => n > fast, { description: 'heartbeat on the fast path' });
        const appliedAt = Date.now();
        // ...and its receive time is in the row within one flush interval (plus the flush itself).
        const s = await waitFor(() => row(a.uid), (r) => r?.lastSeenMs === sentAt, { description: 'last_seen_at in the row', timeoutMs: FLUSH_MS + 5_000 });
        // The bound: one flush interval plus the flush itself (a loaded machine gets 2 s for that).
        expect(Date.now() - appliedAt).toBeLessThanOrEqual(FLUSH_MS + 2_000);
        expect(s!.recordVersion).toBe(stored.recordVersion);
        expect(s!.lastSequenceNum).toBe(stored.lastSequenceNum);
      }
      expect(w.lastSeen.totals.rowsWritten).toBeGreaterThanOrEqual(3);
    });

    it("a plain-HTTP agent's gateway follows its polls within the flush interval (issue 13 item 6)", async () => {
      const a = agentOf({ transport: HTTP, gatewayId: 'gw-a' });
      await h.produce([a.toKafka(a.full())]);
      const stored = await rowWhere(a.uid, (s) => s.connected && s.descriptionReported, 'http agent stored');
      expect(stored.gatewayId).toBe('gw-a');
      // Its next polls come through another gateway (gw-a died); they are volatile, no row write.
      a.gatewayId = 'gw-b';
      a.clockMs = Date.now();
      await h.produce([a.toKafka(a.heartbeat())]);
      const moved = await rowWhere(a.uid, (s) => s.gatewayId === 'gw-b', 'gateway of the last poll');
      expect(moved).toMatchObject({ connectionId: a.connectionId, lastSeenMs: a.clockMs, recordVersion: stored.recordVersion });
    });
  });

  describe('liveness after a process is gone (issue 13 item 2)', () => {
    let w: ReturnType<typeof h.worker>;

    beforeAll(async () => {
      w = h.worker({
        lastSeenFlushMs: 500,
        liveness: { heartbeatIntervalMs: 1_000, staleAfterIntervals: 3, offlineAfterIntervals: 6, sweepIntervalMs: 60_000, batchLimit: 5 },
      });
      await w.start();
    });

    afterAll(async () => {
      await w.stop();
    });

    const connectAll = async (agents: FakeAgent[]) => {
      await h.produce(agents.flatMap((x) => [x.toKafka(x.connect()), x.toKafka(x.full())]));
      for (const x of agents) await rowWhere(x.uid, (s) => s.connected && s.descriptionReported, 'agent stored');
    };

    it("one pass takes every agent of a dead gateway offline, not one batch of them", async () => {
      const gone = Array.from({ length: 12 }, () => agentOf({ gatewayId: 'gw-b', startMs: Date.now() - 20_000 }));
      await connectAll(gone);
      await w.sweeper.sweepOnce();
      for (const x of gone) expect((await row(x.uid))!).toMatchObject({ connected: false, disconnectReason: 100, gatewayId: null });
    });

    it('agents counted connected that the live index lost are found from their rows', async () => {
      const lost = Array.from({ length: 3 }, () => agentOf({ startMs: Date.now() - 20_000 }));
      const live = agentOf();
      await connectAll([...lost, live]);
      // Redis lost the live index (a flush, a failover without the data).
      await h.redis.del(RedisKeys.liveAgents(h.tenant));
      await w.sweeper.sweepOnce();
      for (const x of lost) {
        // Offline, and its last seen stays what it was (not the lag the decision allowed for).
        expect((await row(x.uid))!).toMatchObject({ connected: false, disconnectReason: 100, lastSeenMs: x.clockMs });
      }
      // Its row is recent: not taken for silent.
      expect((await row(live.uid))!).toMatchObject({ connected: true, stale: false });
    });
  });

  it('cursor writes are compare-and-set against the text read (Redis script)', async () => {
    const store = new CursorStore(h.redis);
    const a = agentOf();
    const key = `${h.tenant}/${a.uid.toString('hex')}`;
    const state = { ...newAgentState(h.tenant, a.uid), connected: true, lastSeenMs: 1_000, lastSequenceNum: 4 };
    expect(await store.save([state], new Map([[key, null]]))).toEqual(new Set());
    expect(await store.save([state], new Map([[key, null]]))).toEqual(new Set([key]));
    const snap = (await store.snapshots([{ tenantId: h.tenant, instanceUid: a.uid }])).get(key)!;
    const next = { ...snap.cursor, seq: 5, lastSeenMs: 2_000 };
    expect(await store.write([{ tenantId: h.tenant, instanceUid: a.uid, cursor: next, live: true, expected: snap.raw }])).toEqual(new Set());
    expect(await store.write([{ tenantId: h.tenant, instanceUid: a.uid, cursor: { ...next, seq: 6 }, live: true, expected: snap.raw }])).toEqual(
      new Set([key]),
    );
    expect((await store.load([{ tenantId: h.tenant, instanceUid: a.uid }])).get(key)?.seq).toBe(5);
    expect(await store.lastSeen(h.tenant, [a.uid])).toEqual([2_000]);
    expect(await h.redis.hget(RedisKeys.lastSeen(h.tenant), a.uid.toString('hex'))).toBe('2000');
    const current = (await store.snapshots([{ tenantId: h.tenant, instanceUid: a.uid }])).get(key)!;
    await store.forget(h.tenant, [a.uid]);
    expect(await store.write([{ tenantId: h.tenant, instanceUid: a.uid, cursor: next, live: false, expected: current.raw }])).toEqual(new Set([key]));
    // Not live: out of the live index.
    expect(await store.write([{ tenantId: h.tenant, instanceUid: a.uid, cursor: next, live: false }])).toEqual(new Set());
    expect(await store.lastSeen(h.tenant, [a.uid])).toEqual([null]);
  });

  it('two replicas, one stopped mid-stream: no effect lost or duplicated', async () => {
    const w1 = h.worker();
    const w2 = h.worker();
    await Promise.all([w1.start(), w2.start()]);
    const agents = Array.from({ length: 12 }, () => agentOf());
    const MESSAGES = 20;
    const finals = new Map<string, number>();
    const script = agents.map((a) => [a.connect(), ...Array.from({ length: MESSAGES }, (_, i) => a.full({ health: { healthy: true, status: `step-${i}` } }))]);
    const half = Math.floor(script[0].length / 2);
    // Small produce requests, so the workers see many batches.
    const produceSteps = async (from: number, to: number) => {
      for (let step = from; step < to; step++) await h.produce(script.map((s, i) => agents[i].toKafka(s[step])));
    };
    await produceSteps(0, half);
    await waitFor(() => w1.processor.totals.records + w2.processor.totals.records, (n) => n >= 24, { description: 'some progress' });
    await w1.stop();
    await produceSteps(half, script[0].length);
    for (const a of agents) {
      const s = await rowWhere(a.uid, (x) => x.lastSequenceNum === MESSAGES - 1, 'final state');
      expect(s.health).toMatchObject({ status: `step-${MESSAGES - 1}` });
      expect(s.connected).toBe(true);
      // No gap was ever seen (nothing skipped, nothing applied twice): no ReportFullState pushed.
      expect(pushesFor(a.uid)).toEqual([]);
      finals.set(a.uid.toString('hex'), s.recordVersion);
    }
    await waitFor(
      () => agents.every((a) => eventsFor(a.uid).some((e) => Number(e.recordVersion) === finals.get(a.uid.toString('hex')))),
      (ok) => ok,
      { description: 'final events', timeoutMs: 20_000 },
    );
    for (const a of agents) {
      // Every record version was published, in order of versions; a duplicate (replayed batch) repeats an identical event.
      const evs = eventsFor(a.uid);
      const versions = [...new Set(evs.map((e) => Number(e.recordVersion)))].sort((x, y) => x - y);
      expect(versions).toEqual(Array.from({ length: finals.get(a.uid.toString('hex'))! }, (_, i) => i + 1));
      const byVersion = new Map<number, string>();
      for (const e of evs) {
        const text = JSON.stringify({ ...e.toJSON(), occurredAtUnixMs: 0 });
        const seen = byVersion.get(Number(e.recordVersion));
        if (seen) expect(text).toEqual(seen);
        byVersion.set(Number(e.recordVersion), text);
      }
    }
    await w2.stop();
  });
});
