/**
 * ListAgents sort orders and keyset paging on the real PostgreSQL and on the
 * embedded one (PGlite): every sort key in both directions, paged in small
 * pages, with and without filters, gives exactly the expected order — agents
 * without a value last, ties by instance uid — with no duplicate and no gap;
 * tenants stay apart; a page token only continues its own order. On
 * PostgreSQL with 100,000 agents, a first page and a deep page of every order
 * are index scans that read no more rows than the page (EXPLAIN ANALYZE),
 * the credential summary of each row is read for the rows of the page only,
 * and a credential_state filter answers within the same bound.
 */
import type { Pool } from 'pg';
import { AgentCapabilities as C } from '@opamp/protocol';
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import { createPgPool, migrateToLatest, PgliteSqlDatabase, PgSqlDatabase, type SqlDatabase } from '@opamp/store';
import { testInfra, uniqueName } from '@opamp/testing';
import {
  AGENT_SORT_KEYS,
  AgentPushDispatcher,
  DesiredStateError,
  DesiredStateRepository,
  encodeAgentPageToken,
  FleetApiService,
  type AgentOrder,
  type AgentSortKey,
  type Caller,
} from '../src';

const infra = testInfra();
const run = uniqueName('order').replace(/[^a-z0-9]/g, '_');
const tenantA = 'tenant-a';
const tenantB = 'tenant-b';
const callerA: Caller = { tenantId: tenantA, tokenId: 'test' };
const REPORTS = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig;
const DESIRED = Buffer.alloc(32, 3);
const OTHER = Buffer.alloc(32, 4);
const STATUS = ['REMOTE_CONFIG_STATUS_UNSET', 'REMOTE_CONFIG_STATUS_APPLIED', 'REMOTE_CONFIG_STATUS_APPLYING', 'REMOTE_CONFIG_STATUS_FAILED'];

/** One agent as the test writes it and as the expectations read it. */
interface Seed {
  uid: string;
  labels: Record<string, string>;
  lastSeen: string | null;
  connected: boolean;
  connectedSince: string;
  healthy: boolean | null;
  status: number;
  desired: Buffer | null;
  reported: Buffer | null;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Scrambled uids, so uid order differs from every other order. */
function uidHex(i: number): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(Math.imul(i, 2654435761) >>> 0, 0);
  b.writeUInt32BE(i, 12);
  return b.toString('hex');
}

/** 61 agents with repeated values (ties across page boundaries), NULLs in every nullable key, microsecond timestamps. */
const seeds: Seed[] = Array.from({ length: 61 }, (_, k) => {
  const i = k + 1;
  const labels: Record<string, string> = { env: i % 2 ? 'prod' : 'dev' };
  if (i % 7 !== 0) labels['service.name'] = ['alpha', 'beta', 'gamma', 'delta'][i % 4];
  if (i % 5 !== 0) labels['host.name'] = `host-${pad(i % 13, 2)}`;
  return {
    uid: uidHex(i),
    labels,
    lastSeen: i % 6 === 0 ? null : `2026-01-01T00:00:${pad(i % 9, 2)}.${pad((i % 3) * 250001, 6)}Z`,
    connected: i % 3 !== 0,
    connectedSince: `2026-01-01T00:0${i % 4}:00.${pad((i % 5) * 7, 6)}Z`,
    healthy: i % 4 === 0 ? null : i % 4 !== 1,
    status: Math.floor(i / 3) % 4,
    desired: i % 5 === 1 || i % 5 === 2 ? DESIRED : null,
    reported: i % 5 === 1 ? DESIRED : i % 5 === 2 ? OTHER : null,
  };
});

function sortValue(s: Seed, key: AgentSortKey): string | null {
  switch (key) {
    case 'instance_uid':
      return '';
    case 'service_name':
      return s.labels['service.name'] ?? null;
    case 'host_name':
      return s.labels['host.name'] ?? null;
    case 'last_seen':
      return s.lastSeen;
    case 'connected_since':
      return s.connected ? s.connectedSince : null;
    case 'health':
      return s.healthy === null ? null : s.healthy ? '1' : '0';
    case 'config_status':
      return String(s.status);
  }
}

/** The order the API promises: by value (NULLs last in both directions), then by uid, in one direction. */
function expectedOrder(list: Seed[], order: AgentOrder): string[] {
  const sign = order.direction === 'asc' ? 1 : -1;
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return [...list]
    .sort((x, y) => {
      const vx = sortValue(x, order.key);
      const vy = sortValue(y, order.key);
      if (vx === null || vy === null) {
        if (vx !== vy) return vx === null ? 1 : -1;
      } else if (vx !== vy) return sign * cmp(vx, vy);
      return sign * cmp(x.uid, y.uid);
    })
    .map((s) => s.uid);
}

const inSync = (s: Seed) => s.desired !== null && s.reported !== null && s.reported.equals(s.desired) && s.status === 1;

const FILTERS: Array<{ name: string; req: Record<string, unknown>; keep: (s: Seed) => boolean }> = [
  { name: 'no filter', req: {}, keep: () => true },
  { name: 'env=prod, connected', req: { selector: 'env=prod', connected: true }, keep: (s) => s.labels['env'] === 'prod' && s.connected },
  { name: 'not in sync', req: { inSync: false }, keep: (s) => !inSync(s) },
  { name: 'in sync', req: { inSync: true }, keep: inSync },
  { name: 'healthy=false', req: { healthy: false }, keep: (s) => s.connected && s.healthy === false }, // a disconnected agent is healthy in no filter
  { name: 'config applied or failed', req: { configStatuses: [STATUS[1], STATUS[3]] }, keep: (s) => s.status === 1 || s.status === 3 },
];

const ORDERS: AgentOrder[] = AGENT_SORT_KEYS.flatMap((key) => (['asc', 'desc'] as const).map((direction) => ({ key, direction })));

async function seedTenant(db: SqlDatabase, tenant: string, list: Seed[], env?: string): Promise<void> {
  for (const s of list) {
    await db.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, connected_since, last_seen_at, healthy, remote_config_status, remote_config_hash, epoch)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6::timestamptz, $7::timestamptz, $8, $9, $10, 1)`,
      [tenant, Buffer.from(s.uid, 'hex'), REPORTS, JSON.stringify(env ? { ...s.labels, env } : s.labels), s.connected, s.connectedSince, s.lastSeen, s.healthy, s.status, s.reported],
    );
    if (s.desired) {
      await db.query(`INSERT INTO agent_config_state (tenant_id, instance_uid, configuration_name, configuration_version, desired_hash) VALUES ($1, $2, 'c', 1, $3)`, [
        tenant,
        Buffer.from(s.uid, 'hex'),
        s.desired,
      ]);
    }
  }
}

/** Every page of one listing; fails on a duplicate. */
async function listAll(api: FleetApiService, caller: Caller, req: Record<string, unknown>, pageSize: number): Promise<{ uids: string[]; pages: number; agents: Array<Record<string, unknown>> }> {
  const agents: Array<Record<string, unknown>> = [];
  let pageToken = '';
  let pages = 0;
  do {
    const r = await api.agents.listAgents(caller, { ...req, pageSize, pageToken });
    agents.push(...(r['agents'] as Array<Record<string, unknown>>));
    pageToken = String(r['nextPageToken']);
    pages++;
    if (pages > 1000) throw new Error('paging does not end');
  } while (pageToken);
  const uids = agents.map((a) => String(a['instanceUid']));
  expect(new Set(uids).size).toBe(uids.length);
  return { uids, pages, agents };
}

async function invalidArgument(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DesiredStateError);
  expect((err as DesiredStateError).code).toBe('INVALID_ARGUMENT');
  return (err as Error).message;
}

interface Backend {
  db: SqlDatabase;
  close(): Promise<void>;
}

async function openPostgres(): Promise<Backend & { pool: Pool }> {
  const schema = `t_${run}`;
  const admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'order-test-admin', max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: 'order-test', max: 2 });
  const client = await pool.connect();
  try {
    await migrateToLatest(client);
  } finally {
    client.release();
  }
  return {
    pool,
    db: new PgSqlDatabase(pool),
    close: async () => {
      await pool.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

async function openPglite(): Promise<Backend> {
  const db = await PgliteSqlDatabase.open();
  await migrateToLatest(db);
  return { db, close: () => db.close() };
}

describe.each([
  ['PostgreSQL', openPostgres],
  ['PGlite', openPglite],
] as const)('ListAgents order_by on %s', (_name, open) => {
  let backend: Backend;
  let api: FleetApiService;

  beforeAll(async () => {
    backend = await open();
    const repo = new DesiredStateRepository(backend.db);
    api = new FleetApiService(repo, new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore()), null);
    await backend.db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1), ($2, $2)`, [tenantA, tenantB]);
    await seedTenant(backend.db, tenantA, seeds);
    // The same uids in another tenant, marked by their env label.
    await seedTenant(backend.db, tenantB, seeds, 'tenant-b');
    // A moved record (RequestInstanceUid) stays as a tombstone and is never listed.
    await backend.db.query(
      `INSERT INTO agents (tenant_id, instance_uid, labels, last_seen_at, replaced_by) VALUES ($1, $2, '{"service.name":"alpha"}', '2026-01-01T00:00:00Z', $3)`,
      [tenantA, Buffer.from(uidHex(999), 'hex'), Buffer.from(seeds[0].uid, 'hex')],
    );
  }, 60_000);

  afterAll(async () => {
    await backend?.close();
  });

  it.each(ORDERS.map((o) => [`${o.key} ${o.direction}`, o] as const))('%s: every page in order, no duplicate, no gap, with each filter', async (orderBy, order) => {
    for (const f of FILTERS) {
      const expected = expectedOrder(seeds.filter(f.keep), order);
      expect(expected.length).toBeGreaterThan(2);
      const { uids, pages, agents } = await listAll(api, callerA, { ...f.req, orderBy }, 4);
      expect({ filter: f.name, uids }).toEqual({ filter: f.name, uids: expected });
      expect(pages).toBe(Math.max(1, Math.ceil(expected.length / 4)));
      expect(agents.every((a) => (a['labels'] as Record<string, string>)['env'] !== 'tenant-b')).toBe(true);
    }
  });

  it('accepts lowerCamelCase keys, and the default order is instance_uid ascending', async () => {
    const camel = await listAll(api, callerA, { orderBy: 'lastSeen DESC' }, 10);
    expect(camel.uids).toEqual(expectedOrder(seeds, { key: 'last_seen', direction: 'desc' }));
    const plain = await listAll(api, callerA, {}, 10);
    expect(plain.uids).toEqual(expectedOrder(seeds, { key: 'instance_uid', direction: 'asc' }));
  });

  it('tenants stay apart under every order', async () => {
    const callerB: Caller = { tenantId: tenantB, tokenId: 'test' };
    for (const order of ORDERS) {
      const { agents } = await listAll(api, callerB, { orderBy: `${order.key} ${order.direction}` }, 25);
      expect(agents).toHaveLength(seeds.length);
      expect(agents.every((a) => (a['labels'] as Record<string, string>)['env'] === 'tenant-b')).toBe(true);
    }
  });

  it('paging stays stable when agents arrive mid-way: no duplicate, none of the others skipped', async () => {
    const first = await api.agents.listAgents(callerA, { orderBy: 'service_name asc', pageSize: 10 });
    const seen = (first['agents'] as Array<Record<string, unknown>>).map((a) => String(a['instanceUid']));
    // One agent sorting before the position reached, one after it.
    const early: Seed = { ...seeds[0], uid: uidHex(500), labels: { 'service.name': 'aaa' }, desired: null };
    const late: Seed = { ...seeds[0], uid: uidHex(501), labels: { 'service.name': 'zzz' }, desired: null };
    await seedTenant(backend.db, tenantA, [early, late]);
    try {
      let token = String(first['nextPageToken']);
      while (token) {
        const r = await api.agents.listAgents(callerA, { orderBy: 'service_name asc', pageSize: 10, pageToken: token });
        seen.push(...(r['agents'] as Array<Record<string, unknown>>).map((a) => String(a['instanceUid'])));
        token = String(r['nextPageToken']);
      }
      expect(new Set(seen).size).toBe(seen.length);
      // The early one sorts before the first page's end, so the seek is past it; the late one is found in its place.
      expect(seen).toEqual(expectedOrder([...seeds, late], { key: 'service_name', direction: 'asc' }));
    } finally {
      await backend.db.query(`DELETE FROM agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[])`, [tenantA, [Buffer.from(early.uid, 'hex'), Buffer.from(late.uid, 'hex')]]);
    }
  });

  it('refuses an unknown key, and a page token of another order, with INVALID_ARGUMENT', async () => {
    expect(await invalidArgument(api.agents.listAgents(callerA, { orderBy: 'labels' }))).toContain('order_by: unknown sort key "labels"');
    const page = await api.agents.listAgents(callerA, { orderBy: 'health desc', pageSize: 5 });
    expect(await invalidArgument(api.agents.listAgents(callerA, { orderBy: 'health asc', pageSize: 5, pageToken: page['nextPageToken'] }))).toContain(
      'page_token continues order_by "health desc", not "health asc"',
    );
    expect(await invalidArgument(api.agents.listAgents(callerA, { pageToken: 'garbage' }))).toBe('page_token is not valid for this request');
  });
});

describe('ListAgents order_by on PostgreSQL with 100,000 agents', () => {
  const AGENTS = 100_000;
  const tenant = 'big';
  const caller: Caller = { tenantId: tenant, tokenId: 'test' };
  const T0 = Date.UTC(2026, 0, 1);
  let backend: Backend & { pool: Pool };
  let api: FleetApiService;
  const queries: Array<{ sql: string; params: readonly unknown[] }> = [];

  beforeAll(async () => {
    backend = await openPostgres();
    // Record the SQL ListAgents runs, to EXPLAIN exactly that.
    const db = backend.db;
    const recording = {
      query(sql: string, params?: readonly unknown[]) {
        queries.push({ sql, params: params ?? [] });
        return db.query(sql, params);
      },
      transaction: db.transaction.bind(db),
    } as SqlDatabase;
    api = new FleetApiService(new DesiredStateRepository(recording), new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore()), null);
    await backend.db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1), ('small', 'small')`, [tenant]);
    // Agent i: service.name svc-(i mod 97) (none when i mod 10 = 0), host.name host-i (none when i mod 13 = 0), last seen T0 + i ms
    // (none when i mod 11 = 0), connected unless i mod 20 = 0, health unknown when i mod 7 = 0.
    await backend.db.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, healthy, remote_config_status, connected, connected_since, last_seen_at)
       SELECT $1, decode(lpad(to_hex(i), 32, '0'), 'hex'), ${REPORTS},
              jsonb_strip_nulls(jsonb_build_object('service.name', CASE WHEN i % 10 <> 0 THEN 'svc-' || (i % 97) END,
                                                   'host.name', CASE WHEN i % 13 <> 0 THEN 'host-' || i END, 'env', 'prod')),
              CASE WHEN i % 7 = 0 THEN NULL ELSE i % 50 <> 0 END,
              CASE WHEN i % 200 = 0 THEN 3 ELSE 1 END,
              i % 20 <> 0,
              $2::timestamptz + i * interval '1 millisecond',
              CASE WHEN i % 11 = 0 THEN NULL ELSE $2::timestamptz + i * interval '1 millisecond' END
       FROM generate_series(1, ${AGENTS}) AS i`,
      [tenant, new Date(T0).toISOString()],
    );
    // A small tenant beside it, as in a shared deployment.
    await backend.db.query(`INSERT INTO agents (tenant_id, instance_uid, labels) SELECT 'small', decode(lpad(to_hex(i), 32, '0'), 'hex'), '{}' FROM generate_series(1, 100) i`);
    // Credentials: every 3rd agent has an active one, every 600th is rotating (a newer one on offer as well),
    // every 500th agent has one on offer only and every 400th a revoked one (when it has no other).
    const credentials = (state: string, where: string, extra = '') =>
      backend.db.query(
        `INSERT INTO agent_credentials (tenant_id, instance_uid, secret_hash, state${extra ? ', retire_at' : ''})
         SELECT $1, decode(lpad(to_hex(i), 32, '0'), 'hex'), sha256(convert_to('${state}-' || i, 'UTF8')), '${state}'${extra}
         FROM generate_series(1, ${AGENTS}) AS i WHERE ${where}`,
        [tenant],
      );
    await credentials('active', 'i % 3 = 0 AND i % 600 <> 0');
    await credentials('active', 'i % 600 = 0', `, now() + interval '7 days'`);
    await credentials('offered', '(i % 600 = 0) OR (i % 500 = 0 AND i % 3 <> 0)');
    await credentials('revoked', 'i % 400 = 0 AND i % 3 <> 0 AND i % 500 <> 0');
    await backend.db.query('ANALYZE agents');
    await backend.db.query('ANALYZE agent_config_state');
    await backend.db.query('ANALYZE agent_credentials');
  }, 120_000);

  afterAll(async () => {
    await backend?.close();
  });

  /** A position in the middle of every order: agent 50,001's values (it has every value). */
  function middle(order: AgentOrder): string {
    const i = 50_001;
    const ts = new Date(T0 + i).toISOString().replace('Z', '000Z');
    const value: Record<AgentSortKey, string | null> = {
      instance_uid: null,
      service_name: `svc-${i % 97}`,
      host_name: `host-${i}`,
      last_seen: ts,
      connected_since: ts,
      health: 'true',
      config_status: '1',
    };
    return encodeAgentPageToken(order, { value: value[order.key], instanceUid: i.toString(16).padStart(32, '0') });
  }

  interface PlanNode {
    'Node Type': string;
    'Relation Name'?: string;
    'Index Name'?: string;
    'Actual Rows'?: number;
    'Actual Loops'?: number;
    Plans?: PlanNode[];
  }
  const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

  async function explain(req: Record<string, unknown>): Promise<{ scans: PlanNode[]; credentialScans: PlanNode[]; ms: number; agents: Array<Record<string, unknown>> }> {
    queries.length = 0;
    const r = await api.agents.listAgents(caller, req);
    const agents = r['agents'] as Array<Record<string, unknown>>;
    expect(agents.length).toBe(50);
    const q = queries[queries.length - 1];
    const { rows } = await backend.pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${q.sql}`, q.params as unknown[]);
    const plan = (rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number }>)[0];
    const all = nodes(plan.Plan);
    return { scans: all.filter((n) => n['Relation Name'] === 'agents'), credentialScans: all.filter((n) => n['Relation Name'] === 'agent_credentials'), ms: plan['Execution Time'], agents };
  }

  const INDEX: Record<AgentSortKey, string> = {
    instance_uid: 'agents_pkey',
    service_name: 'agents_order_service_name_idx',
    host_name: 'agents_order_host_name_idx',
    last_seen: 'agents_order_last_seen_idx',
    connected_since: 'agents_order_connected_since_idx',
    health: 'agents_order_health_idx',
    config_status: 'agents_order_config_status_idx',
  };

  it.each(ORDERS.map((o) => [`${o.key} ${o.direction}`, o] as const))('%s: first and deep page are index scans reading one page of rows', async (orderBy, order) => {
    // First page, a page from the middle of the agents with a value, and one from the middle of those without.
    const withoutValue = ['instance_uid', 'config_status'].includes(order.key) ? [] : [encodeAgentPageToken(order, { value: null, instanceUid: (50_000).toString(16).padStart(32, '0') })];
    for (const pageToken of ['', middle(order), ...withoutValue]) {
      const { scans, credentialScans, ms } = await explain({ orderBy, pageSize: 50, pageToken });
      // The credential summary: one index probe per row a segment emits, never a pass over the fleet's credentials.
      expect(credentialScans.length).toBeGreaterThan(0);
      for (const scan of credentialScans) {
        expect({ orderBy, node: scan['Node Type'], loops: Math.min(scan['Actual Loops'] ?? 1, 51) }).toEqual({ orderBy, node: expect.stringMatching(/^(Index|Bitmap Heap) Scan$/), loops: scan['Actual Loops'] ?? 1 });
      }
      expect(scans.length).toBeGreaterThan(0);
      for (const scan of scans) {
        expect({ orderBy, deep: pageToken !== '', node: scan['Node Type'], index: scan['Index Name'] }).toEqual({
          orderBy,
          deep: pageToken !== '',
          node: expect.stringMatching(/^Index (Only )?Scan$/),
          index: INDEX[order.key],
        });
        // A seek: each segment reads at most one page (51 rows), never the fleet.
        expect(scan['Actual Rows']! * (scan['Actual Loops'] ?? 1)).toBeLessThanOrEqual(51);
      }
      expect(ms).toBeLessThan(1000);
    }
  });

  it.each([
    ['ROTATING', ['ROTATING']],
    ['OFFERED', ['OFFERED']],
    ['REVOKED', ['REVOKED']],
    ['NONE,OFFERED', ['NONE', 'OFFERED']],
    ['ACTIVE', ['ACTIVE']],
  ])('credential_state %s: a first and a deep page of agents in those states only, within a second', async (value, states) => {
    const orders: AgentOrder[] = [
      { key: 'instance_uid', direction: 'asc' },
      { key: 'last_seen', direction: 'desc' },
    ];
    for (const order of orders) {
      const orderBy = `${order.key} ${order.direction}`;
      const first = await explain({ orderBy, pageSize: 50, credentialState: value.split(',') });
      const deep = await explain({ orderBy, pageSize: 50, credentialState: value.split(','), pageToken: middle(order) });
      for (const page of [first, deep]) {
        for (const a of page.agents) expect(states).toContain((a['credential'] as { state: string }).state);
        expect({ value, orderBy, ms: page.ms < 1000 }).toEqual({ value, orderBy, ms: true });
      }
    }
  });
});
