/**
 * The retention sweep against the real PostgreSQL and Redis, fed by a real
 * worker over Kafka: agents disconnected longer than their tenant keeps them
 * are removed in batches with what hangs off them, their cursors dropped; a
 * removed agent that comes back is created anew and asked for its full state;
 * the agent-change feed hears of every removal (WatchAgents says REMOVED).
 */
import { RedisAgentChangeFeed } from '@opamp/bus-redis';
import type Redis from 'ioredis';
import { RedisKeys, type AgentChangeNotice } from '@opamp/contracts';
import { decodeServerToAgent, ServerToAgentFlags } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { AgentRepository, AgentRetentionSweeper, CursorStore, type AgentState } from '../src';
import { FakeAgent } from '../src/testing/factories';
import { IngestHarness } from './ingest-harness';

describe('agent retention sweep (real Kafka, Redis, PostgreSQL)', () => {
  const h = new IngestHarness();
  const repo = new AgentRepository();
  const keeper = () => `${h.tenant}-keeps`;

  beforeAll(async () => {
    await h.start(['gw-r']);
  });

  // Closed here too, so that a failed assertion does not leave jest waiting on it.
  let subscriber: Redis | null = null;

  afterAll(async () => {
    subscriber?.disconnect();
    await h.stop();
  });

  const row = (tenant: string, uid: Buffer): Promise<AgentState | null> => repo.get(h.db, tenant, uid);

  async function stored(agents: FakeAgent[], tenant: string): Promise<void> {
    for (const a of agents) await waitFor(() => row(tenant, a.uid), (s) => s?.descriptionReported === true, { timeoutMs: 20_000, description: 'agent stored' });
  }

  it('removes agents disconnected longer than the retention, in batches, with their state; a returning one is created anew', async () => {
    const w = h.worker();
    await w.start();
    const agent = (tenantId = h.tenant) => new FakeAgent({ tenantId, gatewayId: 'gw-r', startMs: Date.now() });
    const old = [agent(), agent(), agent(), agent(), agent()];
    const recent = agent();
    const live = agent();
    const kept = agent(keeper()); // its tenant keeps agents forever
    const everyone = [...old, recent, live, kept];
    await h.produce(everyone.flatMap((a) => [a.toKafka(a.connect()), a.toKafka(a.full())]));
    await stored([...old, recent, live], h.tenant);
    await stored([kept], keeper());
    await h.produce([...old, recent, kept].map((a) => a.toKafka(a.disconnect())));
    for (const a of [...old, recent]) await waitFor(() => row(h.tenant, a.uid), (s) => s?.connected === false, { description: 'disconnected' });
    await waitFor(() => row(keeper(), kept.uid), (s) => s?.connected === false, { description: 'disconnected' });
    // Ten days ago for the old ones (and the kept one); the recent one left a day ago.
    await h.pool.query(`UPDATE agents SET last_seen_at = now() - interval '10 days' WHERE instance_uid = ANY($1::bytea[])`, [[...old, kept].map((a) => a.uid)]);
    await h.pool.query(`UPDATE agents SET last_seen_at = now() - interval '1 day' WHERE instance_uid = $1`, [recent.uid]);
    await h.pool.query(`UPDATE tenants SET agent_retention_days = 0 WHERE id = $1`, [keeper()]);
    // What hangs off an old agent: its reconcile state, its place in a rollout, a command record.
    await h.pool.query(`INSERT INTO agent_config_state (tenant_id, instance_uid, last_sent_hash) VALUES ($1, $2, $3)`, [h.tenant, old[0].uid, Buffer.alloc(32, 1)]);
    await h.pool.query(`INSERT INTO agent_commands (tenant_id, instance_uid, kind, delivery, requested_by) VALUES ($1, $2, 'restart', 'published', 'test')`, [h.tenant, old[0].uid]);
    // A tombstone (a uid an old agent replaced), seen recently: it goes with the agent it points at.
    const tombstone = Buffer.alloc(16, 0xee);
    await h.pool.query(`INSERT INTO agents (tenant_id, instance_uid, replaced_by, connected, last_seen_at) VALUES ($1, $2, $3, false, now())`, [h.tenant, tombstone, old[3].uid]);
    const cursors = new CursorStore(h.redis);
    expect((await cursors.load([{ tenantId: h.tenant, instanceUid: old[1].uid }])).size).toBe(1);

    // What config-service replicas hear on the agent-change feed (the worker's own sweeper publishes there too).
    subscriber = h.redis.duplicate();
    const notices: AgentChangeNotice[] = [];
    const unsubscribe = await new RedisAgentChangeFeed(h.redis, subscriber).subscribe((n) => notices.push(n));
    // Batches of 2 rows: 5 old agents (and the tombstone) take three statements.
    const sweeper = new AgentRetentionSweeper({ db: h.db, cursors, changes: new RedisAgentChangeFeed(h.redis) }, { batchSize: 2 });
    expect(await sweeper.sweepOnce()).toBe(6);
    expect(sweeper.totals).toMatchObject({ passes: 1, removed: 6, errors: 0, noticesLost: 0 });
    const told = await waitFor(
      () => notices.filter((n) => n.tenantId === h.tenant).flatMap((n) => n.instanceUids.map((u) => u.toString('hex'))),
      (hex) => hex.length >= 6,
      { description: 'removals on the agent-change feed' },
    );
    expect(told.sort()).toEqual([...old.map((a) => a.uid), tombstone].map((u) => u.toString('hex')).sort());
    await unsubscribe();
    expect(await row(h.tenant, tombstone)).toBeNull();
    for (const a of old) expect(await row(h.tenant, a.uid)).toBeNull();
    expect(await row(h.tenant, recent.uid)).not.toBeNull();
    expect(await row(h.tenant, live.uid)).toMatchObject({ connected: true });
    expect(await row(keeper(), kept.uid)).not.toBeNull();
    const left = async (table: string) => (await h.pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE instance_uid = $1`, [old[0].uid])).rows[0].n;
    expect(await left('agent_config_state')).toBe(0);
    expect(await left('agent_commands')).toBe(0);
    expect((await cursors.load(old.map((a) => ({ tenantId: h.tenant, instanceUid: a.uid })))).size).toBe(0);
    expect(await h.redis.zscore(RedisKeys.liveAgents(h.tenant), old[1].uid.toString('hex'))).toBeNull();
    // A second pass finds nothing; the schedule runs it at most once a minute.
    expect(await sweeper.sweepOnce()).toBe(0);
    expect(await sweeper.maybeSweep()).toBe(0);
    expect(sweeper.totals.passes).toBe(2);

    // A removed agent comes back: created anew from its next message, asked for its full state.
    const back = old[2];
    await h.produce([back.toKafka(back.connect()), back.toKafka(back.heartbeat())]);
    const again = await waitFor(() => row(h.tenant, back.uid), (s): s is AgentState => s !== null && s.connected, { timeoutMs: 20_000, description: 'agent created anew' });
    expect(again?.descriptionReported).toBe(false);
    await waitFor(
      () => h.pushes.filter((p) => Buffer.from(p.push.instanceUid).equals(back.uid) && p.push.serverToAgent?.length),
      (pushes) => pushes.some((p) => (Number(decodeServerToAgent(p.push.serverToAgent).flags ?? 0) & ServerToAgentFlags.ReportFullState) !== 0),
      { timeoutMs: 20_000, description: 'ReportFullState asked' },
    );
    await w.stop();
  });
});
