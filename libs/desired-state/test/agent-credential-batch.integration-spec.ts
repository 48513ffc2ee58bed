/**
 * Agents' identity worked in batches, on the real PostgreSQL: enrollments of
 * two replicas with the same limited enrollment token never exceed its use
 * limit (the second waits for the first and counts what it committed).
 */
import type { Pool } from 'pg';
import { createPgPool, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { AgentCredentialRepository, DesiredStateRepository, type EnrollmentOutcome } from '../src';

const infra = testInfra();
const run = uniqueName('credbatch').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const tenant = `t-${run}`;
const app = `credbatch-${run}`.slice(0, 60);

let admin: Pool;
let pool: Pool;
let repo: DesiredStateRepository;
let credentials: AgentCredentialRepository;

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
});

afterAll(async () => {
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
