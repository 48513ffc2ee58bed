/**
 * A deletion racing the reconciler, on the real PostgreSQL: a decision made
 * before DeleteAgent (or the retention sweep) removed the agent must not write
 * the agent's agent_config_state row back afterwards, whether its write comes
 * after the delete committed or while the delete holds the agent's row.
 */
import type { Pool, PoolClient } from 'pg';
import { createPgPool, deleteAgentRecords, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { DesiredStateRepository, type AgentStateWrite } from '../src';

const infra = testInfra();
const run = uniqueName('dr').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const tenant = `t-${run}`;
const appName = `dr-${run}`.slice(0, 60);

let admin: Pool;
let pool: Pool;
let repo: DesiredStateRepository;

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

function decision(id: Buffer, sent = false): AgentStateWrite {
  const hash = Buffer.alloc(32, 1);
  return { instanceUid: id, configurationName: 'base', configurationVersion: 1, desiredHash: hash, notSentReason: null, sentHash: sent ? hash : null };
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
  repo = new DesiredStateRepository(new PgSqlDatabase(pool));
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin?.end();
});

describe('agent_config_state after a racing delete', () => {
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
  });

  it.each([
    ['the decision', 4, (id: Buffer) => repo.writeAgentStates(tenant, [decision(id)]).then((b) => b.map((x) => x.toString('hex')))],
    ['the send claim', 5, (id: Buffer) => repo.claimSends(tenant, [claimOf(id)]).then((s) => [...s])],
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
    // It was held back by the delete's lock, not merely lucky to come late.
    expect(meanwhile).toBe('waiting');
  });
});
