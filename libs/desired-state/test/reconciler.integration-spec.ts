/**
 * Reconciler and repository against the real PostgreSQL and Redis: paged
 * re-evaluation of every affected agent after a desired-state change,
 * pushes on the owning gateway's channel, "not sent" reasons recorded.
 */
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { GatewayPushCodec, RedisChannels, type fleet } from '@opamp/contracts';
import { createRedisConnection, GatewayPushPublisher, PendingPushStore } from '@opamp/bus-redis';
import { AgentCapabilities as C, decodeServerToAgent } from '@opamp/protocol';
import { createPgPool, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { AgentPushDispatcher, DesiredStateRepository, FleetApiService, MAX_TEMPLATE_VARIABLES, Reconciler, type Caller } from '../src';

const infra = testInfra();
const run = uniqueName('ds').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const tenant = `t-${run}`;
const gatewayId = `gw-${run}`;

let admin: Pool;
let pool: Pool;
let redis: Redis;
let sub: Redis;
let repo: DesiredStateRepository;
let reconciler: Reconciler;
let api: FleetApiService;
const pushes: fleet.v1.GatewayPush[] = [];
const caller: Caller = { tenantId: tenant, tokenId: 'test' };

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

async function insertAgent(i: number, labels: Record<string, string>, caps = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig, componentsHash: Buffer | null = null) {
  await pool.query(
    `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, available_components_hash)
     VALUES ($1, $2, $3, $4::jsonb, true, $5, 'c', 1, 1, $6)`,
    [tenant, uid(i), caps, JSON.stringify(labels), gatewayId, componentsHash],
  );
}

beforeAll(async () => {
  admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'ds-test-admin', max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: 'ds-test', max: 4 });
  const client = await pool.connect();
  try {
    await migrateToLatest(client);
  } finally {
    client.release();
  }
  redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'ds-test' });
  sub = createRedisConnection({ url: infra.redisUrl, connectionName: 'ds-test-sub' });
  sub.on('messageBuffer', (_c: Buffer, m: Buffer) => pushes.push(GatewayPushCodec.decode(m)));
  await sub.subscribe(RedisChannels.gatewayPush(gatewayId));
  repo = new DesiredStateRepository(new PgSqlDatabase(pool));
  const dispatcher = new AgentPushDispatcher(new GatewayPushPublisher(redis), new PendingPushStore(redis));
  reconciler = new Reconciler(repo, dispatcher, { pageSize: 3 });
  api = new FleetApiService(repo, dispatcher, reconciler);
  await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [tenant]);
}, 30_000);

afterAll(async () => {
  await sub?.quit();
  await redis?.quit();
  await pool?.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('reconciler re-evaluation', () => {
  it('pushes to every matching agent in keyset pages and records why others are not sent', async () => {
    for (let i = 1; i <= 8; i++) await insertAgent(i, { env: 'prod', 'service.name': `svc-${i}` });
    await insertAgent(20, { env: 'dev', 'service.name': 'dev' });
    await insertAgent(21, { env: 'prod' }); // lacks service.name: template cannot render
    const componentsHash = Buffer.alloc(32, 9);
    await pool.query(`INSERT INTO available_components (hash, components) VALUES ($1, $2::jsonb)`, [
      componentsHash,
      JSON.stringify({ receivers: { subComponentMap: { otlp: {} } }, exporters: { subComponentMap: { debug: {} } } }),
    ]);
    await insertAgent(22, { env: 'prod', 'service.name': 'x' }, undefined, componentsHash);

    const body = 'receivers: {otlp: {}}\nexporters: {otlphttp: {endpoint: "https://${attr:service.name}"}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [otlphttp]}}}\n';
    await api.configurations.createConfiguration(caller, { name: 'c1', files: { 'c.yaml': { body, contentType: 'text/yaml' } } });
    await api.assignments.createAssignment(caller, { assignment: { name: 'a1', configurationName: 'c1', selector: 'env=prod', priority: 1 } });
    await reconciler.idle();

    const got = await waitFor(
      () => new Set(pushes.map((p) => Buffer.from(p.instanceUid).readUInt32BE(12))),
      (s) => s.size >= 8,
      { description: '8 agents pushed' },
    );
    expect([...got].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const first = decodeServerToAgent(pushes.find((p) => Buffer.from(p.instanceUid).equals(uid(3)))!.serverToAgent);
    expect(Buffer.from(first.remoteConfig!.config!.configMap!['c.yaml'].body!).toString()).toContain('https://svc-3');

    const state = async (i: number) => (await api.agents.getAgent(caller, { instanceUid: uid(i).toString('hex') })) as Record<string, string>;
    expect((await state(20)).configurationName).toBe('');
    expect((await state(21)).notSentReason).toMatch(/unknown variable '\$\{attr:service.name\}'/);
    expect((await state(22)).notSentReason).toBe("not sent: the agent has no exporter of type 'otlphttp'");
    expect((await state(5)).desiredConfigHash).toHaveLength(64);
    expect(reconciler.metrics.configsPushed).toBe(8);

    // Moving the selector re-evaluates the old and the new matches: prod agents lose the config, the dev agent gets it.
    const before = pushes.length;
    await api.assignments.updateAssignment(caller, { assignment: { name: 'a1', configurationName: 'c1', selector: 'env=dev', priority: 1 } });
    await reconciler.idle();
    await waitFor(() => pushes.filter((p) => Buffer.from(p.instanceUid).equals(uid(20))).length, (n) => n === 1, { description: 'dev agent pushed' });
    expect((await state(1)).configurationName).toBe('');
    expect(pushes.length - before).toBeGreaterThanOrEqual(1);
    const audit = (await api.audit.listAuditEvents(caller, {})) as { events: Array<{ action: string }> };
    expect(audit.events.map((e) => e.action)).toEqual(['assignment.update', 'assignment.create', 'configuration.create']);
  });

  it('lets the event loop turn while it renders a page of templates at the variable limit', async () => {
    const uids = Array.from({ length: 20 }, (_, i) => 100 + i);
    for (const i of uids) await insertAgent(i, { size: 'big', region: `r${i}` });
    let body = 'receivers: {otlp: {}}\nexporters:\n';
    for (let i = 0; i < MAX_TEMPLATE_VARIABLES; i++) body += `  otlphttp/e${i}: {endpoint: "https://\${attr:region}.example/${i}"}\n`;
    body += 'service: {pipelines: {traces: {receivers: [otlp], exporters: [otlphttp/e0]}}}\n';
    const turnsBefore = reconciler.metrics.renderTurns;
    await api.configurations.createConfiguration(caller, { name: 'big', files: { 'c.yaml': { body, contentType: 'text/yaml' } } });
    await api.assignments.createAssignment(caller, { assignment: { name: 'big', configurationName: 'big', selector: 'size=big', priority: 2 } });
    await reconciler.idle();
    const pushed = await waitFor(
      () => new Set(pushes.map((p) => Buffer.from(p.instanceUid).readUInt32BE(12)).filter((i) => i >= 100)),
      (s) => s.size >= uids.length,
      { description: 'every big agent pushed', timeoutMs: 60_000 },
    );
    expect([...pushed].sort((a, b) => a - b)).toEqual(uids);
    // 20 renders of a 1000-variable, 60 KB configuration take far more than one slice.
    expect(reconciler.metrics.renderTurns - turnsBefore).toBeGreaterThan(0);
  }, 90_000);
});
