/**
 * A deletion racing the reconciler or the rollout driver, on the real
 * PostgreSQL: a decision or a batch pick made before DeleteAgent (or the
 * retention sweep) removed the agent must not write the agent's
 * agent_config_state or rollout_agents row back afterwards, whether its write
 * comes after the delete committed or while the delete holds the agent's row.
 */
import type { Pool, PoolClient } from 'pg';
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import { createPgPool, deleteAgentRecords, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { AgentPushDispatcher, DesiredStateRepository, FleetApiService, RolloutRepository, type AgentStateWrite } from '../src';

const infra = testInfra();
const run = uniqueName('dr').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const tenant = `t-${run}`;
const appName = `dr-${run}`.slice(0, 60);

let admin: Pool;
let pool: Pool;
let repo: DesiredStateRepository;
let db: PgSqlDatabase;
let rollouts: RolloutRepository;
const ROLLOUT = 'r';

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

function decision(id: Buffer, sent = false): AgentStateWrite {
  const hash = Buffer.alloc(32, 1);
  return { instanceUid: id, configurationName: 'base', configurationVersion: 1, desiredHash: hash, notSentReason: null, sentHash: sent ? hash : null, desiredSinceMs: null };
}

function claimOf(id: Buffer) {
  return { instanceUid: id, hash: Buffer.alloc(32, 2), resendAfterMs: null, connection: 'ws:gw/c' };
}

async function insertAgent(id: Buffer): Promise<void> {
  await pool.query(
    `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, transport, epoch) VALUES ($1, $2, 0, '{}'::jsonb, false, 1, 1)`,
    [tenant, id],
  );
}

async function stateRows(ids: Buffer[]): Promise<string[]> {
  const { rows } = await pool.query(`SELECT instance_uid FROM agent_config_state WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) ORDER BY instance_uid`, [tenant, ids]);
  return rows.map((r) => (r['instance_uid'] as Buffer).toString('hex'));
}

async function rolloutRows(ids: Buffer[]): Promise<string[]> {
  const { rows } = await pool.query(`SELECT instance_uid FROM rollout_agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) ORDER BY instance_uid`, [tenant, ids]);
  return rows.map((r) => (r['instance_uid'] as Buffer).toString('hex'));
}

/** What the rollout driver does when a batch starts with the agents it picked before: adds them to the rollout. */
function addToRollout(...ids: Buffer[]): Promise<string[]> {
  return db.transaction((tx) => rollouts.addMembers(tx, tenant, ROLLOUT, 0, ids)).then((b) => b.map((x) => x.toString('hex')));
}

/** DeleteAgent's transaction up to its commit: the agent row locked, its records deleted. */
async function deleteUncommitted(id: Buffer): Promise<PoolClient> {
  const tx = await pool.connect();
  await tx.query('BEGIN');
  await tx.query(`SELECT 1 FROM agents WHERE tenant_id = $1 AND instance_uid = $2 FOR UPDATE`, [tenant, id]);
  await deleteAgentRecords(tx, tenant, [id]);
  return tx;
}

/** Resolves once `work` has finished or is waiting for a row lock (then the test goes on deterministically). */
async function finishedOrWaitingForLock(work: Promise<unknown>): Promise<'finished' | 'waiting'> {
  let finished = false;
  void work.then(
    () => (finished = true),
    () => (finished = true),
  );
  return waitFor(
    async () => {
      if (finished) return 'finished' as const;
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [appName]);
      return finished ? ('finished' as const) : (rows[0]['n'] as number) > 0 ? ('waiting' as const) : null;
    },
    (s) => s !== null,
    { description: 'the write finished or waits for the delete', intervalMs: 10 },
  ) as Promise<'finished' | 'waiting'>;
}

beforeAll(async () => {
  admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'dr-test-admin', max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: appName, max: 4 });
  const client = await pool.connect();
  try {
    await migrateToLatest(client);
  } finally {
    client.release();
  }
  await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [tenant]);
  db = new PgSqlDatabase(pool);
  repo = new DesiredStateRepository(db);
  rollouts = new RolloutRepository(db, repo);
  // A rollout (not started) to pick agents into.
  const api = new FleetApiService(repo, new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore()), null);
  const caller = { tenantId: tenant, tokenId: 'test' };
  const files = (tag: string) => ({ 'c.yaml': { body: `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`, contentType: 'text/yaml' } });
  await api.configurations.createConfiguration(caller, { name: 'c', files: files('v1') });
  await api.assignments.createAssignment(caller, { assignment: { name: 'a', configurationName: 'c', pinnedVersion: 1, selector: 'env=prod' } });
  await api.configurations.updateConfiguration(caller, { name: 'c', files: files('v2') });
  await api.rollouts.createRollout(caller, { name: ROLLOUT, assignmentName: 'a', toVersion: 2, strategy: { batchSize: 10 }, start: false });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

describe('per-agent rows (agent_config_state, rollout_agents) after a racing delete', () => {
  it('a decision written after the delete committed writes no row for the deleted agent (and still writes the live one)', async () => {
    const [gone, live] = [uid(1), uid(2)];
    await insertAgent(gone);
    await insertAgent(live);
    const tx = await deleteUncommitted(gone);
    await tx.query('COMMIT');
    tx.release();

    const changed = await repo.writeAgentStates(tenant, [decision(gone, true), decision(live, true)]);
    expect(changed.map((b) => b.toString('hex'))).toEqual([live.toString('hex')]);
    const claimed = await repo.claimSends(tenant, [claimOf(gone), claimOf(live)]);
    expect([...claimed]).toEqual([live.toString('hex')]);
    expect(await stateRows([gone, live])).toEqual([live.toString('hex')]);
    expect(await addToRollout(gone, live)).toEqual([live.toString('hex')]);
    expect(await rolloutRows([gone, live])).toEqual([live.toString('hex')]);
  });

  it.each([
    ['the decision', 4, (id: Buffer) => repo.writeAgentStates(tenant, [decision(id)]).then((b) => b.map((x) => x.toString('hex')))],
    ['the send claim', 5, (id: Buffer) => repo.claimSends(tenant, [claimOf(id)]).then((s) => [...s])],
    ['the rollout batch pick', 6, (id: Buffer) => addToRollout(id)],
  ])('%s, written while the delete holds the agent, waits for it and then writes no row', async (_what, n, write) => {
    const gone = uid(n);
    await insertAgent(gone);
    const tx = await deleteUncommitted(gone);
    let written: Promise<string[]>;
    let meanwhile: 'finished' | 'waiting';
    try {
      written = write(gone);
      meanwhile = await finishedOrWaitingForLock(written);
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
    expect(await written).toEqual([]);
    expect(await stateRows([gone])).toEqual([]);
    expect(await rolloutRows([gone])).toEqual([]);
    // It was held back by the delete's lock, not merely lucky to come late.
    expect(meanwhile).toBe('waiting');
  });
});
