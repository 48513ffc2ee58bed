/**
 * Agents' identity worked in batches, on the real PostgreSQL and Redis:
 * enrollments of two replicas with the same limited enrollment token never
 * exceed its use limit (the second waits for the first and counts what it
 * committed); a rotation's offers are due in the database, so a worker that
 * stops mid-rotation (a page claimed and never finished) leaves them to the
 * next, which offers every agent once; an offer the agent reports FAILED is
 * recorded with its message and retried after its back-off with a fresh
 * credential (clients do not try a hash that failed again) a limited number
 * of times; a new rotation replaces it by a fresh credential.
 */
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import { createRedisConnection, GatewayPushPublisher, PendingPushStore } from '@opamp/bus-redis';
import { AgentCapabilities as C, decodeServerToAgent, opamp } from '@opamp/protocol';
import { createPgPool, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import {
  AgentCredentialRepository,
  AgentIdentityReconciler,
  AgentPushDispatcher,
  credentialMessage,
  CredentialOfferDriver,
  DesiredStateRepository,
  type AgentCredentialRecord,
  type CredentialDirectoryEntry,
  type EnrollmentOutcome,
} from '../src';

const infra = testInfra();
const run = uniqueName('credbatch').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const tenant = `t-${run}`;
const app = `credbatch-${run}`.slice(0, 60);

const gatewayId = `gw-${run}`;
const CAPS = C.ReportsStatus | C.AcceptsOpAMPConnectionSettings | C.ReportsConnectionSettingsStatus;

let admin: Pool;
let pool: Pool;
let redis: Redis;
let sub: Redis;
let repo: DesiredStateRepository;
let credentials: AgentCredentialRepository;
let dispatcher: AgentPushDispatcher;
/** Connection settings offers pushed to the bed's gateway, by uid hex. */
const offers = new Map<string, opamp.proto.v1.IConnectionSettingsOffers[]>();
const directory = new Map<string, CredentialDirectoryEntry>();
const memoryDirectory = {
  put: async (e: CredentialDirectoryEntry) => void directory.set(e.digest, e),
  remove: async (digest: string) => void directory.delete(digest),
};

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

beforeAll(async () => {
  admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: `${app}-admin`, max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: app, max: 6 });
  const client = await pool.connect();
  try {
    await migrateToLatest(client);
  } finally {
    client.release();
  }
  repo = new DesiredStateRepository(new PgSqlDatabase(pool));
  credentials = new AgentCredentialRepository(repo.db, Buffer.alloc(32, 3));
  redis = createRedisConnection({ url: infra.redisUrl, connectionName: app });
  sub = createRedisConnection({ url: infra.redisUrl, connectionName: `${app}-sub` });
  sub.on('messageBuffer', (_c: Buffer, m: Buffer) => {
    const push = GatewayPushCodec.decode(m);
    if (!push.serverToAgent?.length) return;
    const msg = decodeServerToAgent(push.serverToAgent);
    if (!msg.connectionSettings) return;
    const key = Buffer.from(push.instanceUid).toString('hex');
    offers.set(key, [...(offers.get(key) ?? []), msg.connectionSettings]);
  });
  await sub.subscribe(RedisChannels.gatewayPush(gatewayId));
  dispatcher = new AgentPushDispatcher(new GatewayPushPublisher(redis), new PendingPushStore(redis));
});

afterAll(async () => {
  await sub?.quit();
  await redis?.quit();
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

async function limitedToken(maxUses: number): Promise<string> {
  const { record } = await repo.db.transaction(async (tx) => {
    await repo.ensureTenant(tx, tenant);
    return repo.createToken(tx, tenant, 'agent', 'enrollment', 'test');
  });
  await pool.query(`UPDATE api_tokens SET max_uses = $2 WHERE id = $1`, [record.id, maxUses]);
  return record.id;
}

const count = (outcomes: Map<string, EnrollmentOutcome>, o: EnrollmentOutcome) => [...outcomes.values()].filter((v) => v === o).length;

it('two replicas enrolling batches with the same limited token admit exactly its limit between them', async () => {
  const token = await limitedToken(7);
  const first = Array.from({ length: 5 }, (_, i) => ({ uid: uid(100 + i), tokenId: token }));
  const second = Array.from({ length: 5 }, (_, i) => ({ uid: uid(200 + i), tokenId: token }));
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let firstDone!: (o: Map<string, EnrollmentOutcome>) => void;
  const firstOutcomes = new Promise<Map<string, EnrollmentOutcome>>((resolve) => (firstDone = resolve));
  // Replica 1 enrolls its batch and holds its transaction open.
  const one = repo.db.transaction(async (tx) => {
    firstDone(await credentials.enrollMany(tx, tenant, first));
    await held;
  });
  expect(count(await firstOutcomes, 'enrolled')).toBe(5);
  // Replica 2 meanwhile: it must wait for the token (or, were it not locked, finish at once with a stale count).
  let secondSettled = false;
  const two = repo.db.transaction((tx) => credentials.enrollMany(tx, tenant, second)).finally(() => (secondSettled = true));
  await waitFor(
    async () => secondSettled || (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [app])).rows.length > 0,
    (v) => v,
    { description: 'the second batch waiting for the token, or done' },
  );
  release();
  await one;
  const outcomes = await two;
  expect({ enrolled: count(outcomes, 'enrolled'), exhausted: count(outcomes, 'exhausted') }).toEqual({ enrolled: 2, exhausted: 3 });
  expect((await pool.query(`SELECT uses FROM api_tokens WHERE id = $1`, [token])).rows[0]['uses']).toBe(7);
  expect((await pool.query(`SELECT count(*)::int AS n FROM agent_enrollments WHERE enrollment_token_id = $1`, [token])).rows[0]['n']).toBe(7);
});

it('a batch tells known agents, first enrollments and enrollments after a revocation apart, and admits up to the limit in batch order', async () => {
  const token = await limitedToken(3);
  const agents = [1, 2, 3, 4].map((i) => ({ uid: uid(300 + i), tokenId: token }));
  const firstPass = await repo.db.transaction((tx) => credentials.enrollMany(tx, tenant, agents.slice(0, 2)));
  expect([...firstPass.values()]).toEqual(['enrolled', 'enrolled']);
  // Agent 1 gets a credential that is then revoked: it enrolls again (a use); agent 2 is known.
  await repo.db.transaction(async (tx) => {
    await credentials.createOfferedMany(tx, tenant, [{ uid: agents[0].uid, enrollmentTokenId: token }]);
    await credentials.revoke(tx, tenant, { uids: [agents[0].uid] }, 'test');
  });
  const again = await repo.db.transaction((tx) => credentials.enrollMany(tx, tenant, agents));
  expect(agents.map((a) => again.get(a.uid.toString('hex')))).toEqual(['re_enrolled', 'known', 'exhausted', 'exhausted']);
  expect((await pool.query(`SELECT uses FROM api_tokens WHERE id = $1`, [token])).rows[0]['uses']).toBe(3);
  const rows = await pool.query(`SELECT enrollments FROM agent_enrollments WHERE tenant_id = $1 AND instance_uid = $2`, [tenant, agents[0].uid]);
  expect(rows.rows[0]['enrollments']).toBe(2);
});

const identity = (o: { retry?: { baseMs: number; maxRetries: number } } = {}) =>
  new AgentIdentityReconciler(credentials, repo, dispatcher, memoryDirectory, { publicEndpoint: 'https://opamp.example.com/v1/opamp', offerRetry: o.retry });

/** Connected agents (WebSocket, on the bed's gateway), each on an active credential of its own. */
async function agentsOnOwnCredentials(from: number, n: number): Promise<Array<{ uid: Buffer; active: AgentCredentialRecord }>> {
  const out: Array<{ uid: Buffer; active: AgentCredentialRecord }> = [];
  for (let i = from; i < from + n; i++) {
    const u = uid(i);
    const active = await repo.db.transaction(async (tx) => {
      await repo.ensureTenant(tx, tenant);
      const [c] = await credentials.createOfferedMany(tx, tenant, [{ uid: u, enrollmentTokenId: null }]);
      return (await credentials.activateMany(tx, tenant, [{ uid: u, id: c.id }])).get(u.toString('hex'))!.active;
    });
    await pool.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, credential_id, credential_kind)
       VALUES ($1, $2, $3, '{}'::jsonb, true, $4, $5, 1, 1, $6, $7)`,
      [tenant, u, CAPS, gatewayId, `conn-${i}`, active.id, fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT],
    );
    out.push({ uid: u, active });
  }
  return out;
}

const rotate = (uids: Buffer[]) => repo.db.transaction((tx) => credentials.rotate(tx, tenant, uids, 24));
const offered = (uids: Buffer[]) => pool.query(`SELECT id, offered_at, offer_due_at FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND state = 'offered'`, [tenant, uids]);

it('a rotation interrupted mid-way (the worker stopped with a page claimed) is finished by a new worker: every agent offered once', async () => {
  const agents = await agentsOnOwnCredentials(1000, 6);
  const uids = agents.map((a) => a.uid);
  expect((await rotate(uids)).created).toHaveLength(6);
  // Worker A offers one page of two, claims the next, and stops there (as a crash would).
  const a = new CredentialOfferDriver(credentials, identity(), { pageSize: 2, leaseMs: 300 });
  expect(await a.drain(1)).toBe(2);
  expect(await credentials.claimDueOffers('00000000-0000-4000-8000-000000000001', 2, 300)).toHaveLength(2);
  expect((await offered(uids)).rows.filter((r) => r['offered_at'] !== null)).toHaveLength(2);
  // Worker B: a new one (a restarted replica). It takes the rest, and what A had claimed once its lease ends.
  const b = new CredentialOfferDriver(credentials, identity(), { pageSize: 2, leaseMs: 300, intervalMs: 50 });
  b.start();
  try {
    await waitFor(() => offered(uids), (r) => r.rows.length === 6 && r.rows.every((x) => x['offered_at'] !== null && x['offer_due_at'] === null), { description: 'every new credential offered' });
  } finally {
    await b.stop();
  }
  await waitFor(() => uids.map((u) => offers.get(u.toString('hex'))?.length ?? 0), (n) => n.every((x) => x >= 1), { description: 'every agent pushed its offer' });
  expect(uids.map((u) => offers.get(u.toString('hex'))?.length)).toEqual([1, 1, 1, 1, 1, 1]);
});

it('an offer the agent reports FAILED is shown with its message, retried with a fresh credential after its back-off at most twice, and a new rotation replaces it', async () => {
  const [agent] = await agentsOnOwnCredentials(2000, 1);
  const key = agent.uid.toString('hex');
  const reconciler = identity({ retry: { baseMs: 200, maxRetries: 2 } });
  const driver = new CredentialOfferDriver(credentials, reconciler, { intervalMs: 50 });
  expect((await rotate([agent.uid])).created).toHaveLength(1);
  driver.start();
  try {
    const fail = async (n: number) => {
      const [offer] = (await waitFor(() => offers.get(key) ?? [], (o) => o.length === n, { description: `offer ${n}` })).slice(-1);
      // The agent tried it, rolled back to its active credential and says why (as status-ingest writes it).
      await pool.query(
        `UPDATE agents SET connection_settings_hash = $3, connection_settings_status = $4, connection_settings_error = $5 WHERE tenant_id = $1 AND instance_uid = $2`,
        [tenant, agent.uid, Buffer.from(offer.hash as Uint8Array), opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_FAILED, `tls handshake failed ${n}`],
      );
      await reconciler.reconcileAgents(tenant, [agent.uid]);
    };
    await fail(1);
    const [pending] = await credentials.pendingSwitches(tenant, 100).then((p) => p.filter((x) => x.credential.id === agent.active.id));
    expect(credentialMessage(pending.credential, pending.successor)).toMatchObject({ id: agent.active.id, offerState: 'FAILED', offerError: 'tls handshake failed 1', offerFailures: 1 });
    expect(await credentials.switchCounts(tenant, [agent.uid])).toEqual({ agents: 1, pending: 0, offered: 0, failed: 1, switched: 0 });
    // Retried after 200 ms, then 400 ms; after the third failure it waits for the operator.
    await fail(2);
    await fail(3);
    const tried = await pool.query(`SELECT id, state, offer_failures, offer_due_at, offer_error FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2 AND state <> 'active' ORDER BY created_at`, [tenant, agent.uid]);
    // Each retry a fresh credential (its own secret), the failures counted on.
    expect(tried.rows.map((r) => [r['state'], r['offer_failures']])).toEqual([['superseded', 1], ['superseded', 2], ['offered', 3]]);
    expect(tried.rows[2]).toMatchObject({ offer_due_at: null, offer_error: 'tls handshake failed 3' });
    expect(new Set((offers.get(key) ?? []).map((o) => o.opamp?.headers?.headers?.[0]?.value)).size).toBe(3);
    expect(reconciler.metrics).toMatchObject({ offersFailed: 3, offersRetried: 2 });
  } finally {
    await driver.stop();
  }
  expect(offers.get(key)).toHaveLength(3);
  const current = String((await offered([agent.uid])).rows[0]['id']);
  // A new rotation: the failed credential is superseded (the API drops it from the directory), a fresh one is due.
  const again = await rotate([agent.uid]);
  expect(again.replaced.map((c) => [c.id, c.state])).toEqual([[current, 'superseded']]);
  expect(again.created).toHaveLength(1);
  expect(again.created[0].id).not.toBe(current);
  expect(await credentials.switchCounts(tenant, [agent.uid])).toEqual({ agents: 1, pending: 1, offered: 0, failed: 0, switched: 0 });

  // An agent whose first credential (offered at enrollment) failed has nothing a rotation replaces: its offer stays.
  const enrolling = uid(2100);
  const [first] = await repo.db.transaction((tx) => credentials.createOfferedMany(tx, tenant, [{ uid: enrolling, enrollmentTokenId: null }]));
  await pool.query(`UPDATE agent_credentials SET offered_at = now() - interval '1 minute', offer_failed_at = now(), offer_failures = 1 WHERE id = $1`, [first.id]);
  expect(await rotate([enrolling])).toEqual({ created: [], replaced: [] });
  expect((await pool.query(`SELECT state FROM agent_credentials WHERE id = $1`, [first.id])).rows[0]['state']).toBe('offered');
});
