/**
 * Durable re-evaluation against the real PostgreSQL and Redis: an API change
 * records its re-evaluation job in its own transaction; a reconciler stopped
 * after the first page leaves the job leased with its cursor; a new
 * reconciler instance takes it over once the lease expired and finishes it
 * from the cursor, so every affected agent gets its configuration once.
 */
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { GatewayPushCodec, RedisChannels, type fleet } from '@opamp/contracts';
import { createRedisConnection, GatewayPushPublisher, PendingPushStore } from '@opamp/bus-redis';
import { AgentCapabilities as C } from '@opamp/protocol';
import { createPgPool, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { AgentPushDispatcher, DesiredStateRepository, FleetApiService, Reconciler, ReevaluationJobRepository, type Caller } from '../src';

const infra = testInfra();
const run = uniqueName('rj').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const tenant = `t-${run}`;
const gatewayId = `gw-${run}`;
const caller: Caller = { tenantId: tenant, tokenId: 'test' };
const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';

let admin: Pool;
let pool: Pool;
let redis: Redis;
let sub: Redis;
let repo: DesiredStateRepository;
let jobs: ReevaluationJobRepository;
let dispatcher: AgentPushDispatcher;
const pushes: fleet.v1.GatewayPush[] = [];

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

function pushedAgents(): number[] {
  return pushes.map((p) => Buffer.from(p.instanceUid).readUInt32BE(12)).sort((a, b) => a - b);
}

beforeAll(async () => {
  admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'rj-test-admin', max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: 'rj-test', max: 6 });
  const client = await pool.connect();
  try {
    await migrateToLatest(client);
  } finally {
    client.release();
  }
  redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'rj-test' });
  sub = createRedisConnection({ url: infra.redisUrl, connectionName: 'rj-test-sub' });
  sub.on('messageBuffer', (_c: Buffer, m: Buffer) => pushes.push(GatewayPushCodec.decode(m)));
  await sub.subscribe(RedisChannels.gatewayPush(gatewayId));
  repo = new DesiredStateRepository(new PgSqlDatabase(pool));
  jobs = new ReevaluationJobRepository(repo.db);
  dispatcher = new AgentPushDispatcher(new GatewayPushPublisher(redis), new PendingPushStore(redis));
  await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1), ($2, $2)`, [tenant, `${tenant}-other`]);
  for (let i = 1; i <= 8; i++) {
    await pool.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch)
       VALUES ($1, $2, $3, $4::jsonb, true, $5, 'c', 1, 1)`,
      [tenant, uid(i), C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig, JSON.stringify({ env: i === 8 ? 'dev' : 'prod' }), gatewayId],
    );
  }
}, 30_000);

afterAll(async () => {
  await sub?.quit();
  await redis?.quit();
  await pool?.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('re-evaluation jobs', () => {
  it('are claimed oldest first, one per tenant at a time, and fenced by the lease owner', async () => {
    const [first, second] = await repo.db.transaction(async (tx) => [
      await jobs.record(tx, `${tenant}-other`, ['a=1'], 'test'),
      await jobs.record(tx, `${tenant}-other`, null, 'test'),
    ]);
    const claimed = await jobs.claim('w1', 60_000, `${tenant}-other`);
    expect(claimed).toMatchObject({ id: first, selectors: ['a=1'], cursor: null });
    // The tenant's next job waits for the first; a leased job is nobody else's.
    expect(await jobs.claim('w2', 60_000, `${tenant}-other`)).toBeNull();
    expect(await jobs.advance(first, 'w2', uid(1), 1, 60_000)).toBe(false);
    expect(await jobs.advance(first, 'w1', uid(1), 1, 60_000)).toBe(true);
    await jobs.release('w1');
    expect(await jobs.claim('w2', 60_000, `${tenant}-other`)).toMatchObject({ id: first, cursor: uid(1), pagesDone: 1, agentsDone: 1 });
    expect(await jobs.finish(first, 'w1')).toBe(false);
    expect(await jobs.finish(first, 'w2')).toBe(true);
    expect(await jobs.claim('w1', 60_000, `${tenant}-other`)).toMatchObject({ id: second, selectors: null });
    expect(await jobs.finish(second, 'w1')).toBe(true);
  });

  it('a job interrupted after its first page is finished from its cursor by a new reconciler', async () => {
    // Reconciler A stops after one page without giving its lease back, as a crash would.
    const a: Reconciler = new Reconciler(repo, dispatcher, {
      pageSize: 3,
      workerId: 'reconciler-a',
      jobLeaseMs: 3_000,
      onJobPage: () => a.haltJobs(),
    });
    const api = new FleetApiService(repo, dispatcher, a);
    await api.configurations.createConfiguration(caller, { name: 'c1', files: { 'c.yaml': { body: STATIC, contentType: 'text/yaml' } } });
    // A refused change records no job.
    await expect(api.assignments.createAssignment(caller, { assignment: { name: 'bad', configurationName: 'missing', selector: 'env=prod' } })).rejects.toThrow();
    expect(await jobs.list(tenant)).toEqual([]);

    await api.assignments.createAssignment(caller, { assignment: { name: 'prod', configurationName: 'c1', selector: 'env=prod', priority: 1 } });
    await a.idle();
    const [left] = await jobs.list(tenant);
    expect(left).toMatchObject({ selectors: ['env=prod'], reason: 'assignment.create', cursor: uid(3), pagesDone: 1, agentsDone: 3 });
    await waitFor(() => pushedAgents(), (p) => p.length >= 3, { description: 'first page pushed' });
    expect(pushedAgents()).toEqual([1, 2, 3]);

    // B is a new instance (a restarted or another replica): it cannot take the job while A's lease lasts.
    const b = new Reconciler(repo, dispatcher, { pageSize: 3, workerId: 'reconciler-b', jobLeaseMs: 3_000 });
    await b.runJobs();
    expect((await jobs.list(tenant))[0]).toMatchObject({ id: left.id, cursor: uid(3) });
    b.startJobs(50);
    try {
      await waitFor(() => jobs.list(tenant), (l) => l.length === 0, { description: 'job finished', timeoutMs: 15_000 });
      await b.idle();
    } finally {
      await b.stopJobs({ releaseLeases: true });
    }
    expect(b.metrics.reevaluationJobsResumed).toBe(1);
    expect(b.metrics.reevaluationJobsFinished).toBe(1);
    expect(a.metrics.reevaluationAgents).toBe(3);
    expect(b.metrics.reevaluationAgents).toBe(4);
    // Every prod agent got its configuration, once: B went on from the cursor, not from the start.
    await waitFor(() => pushedAgents(), (p) => p.length >= 7, { description: 'every prod agent pushed' });
    expect(pushedAgents()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM agent_config_state WHERE tenant_id = $1 AND configuration_name = 'c1' AND desired_hash IS NOT NULL`, [tenant]);
    expect(rows[0].n).toBe(7);
  });
});
