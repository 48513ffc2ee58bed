/**
 * Waiting for a connection on the real PostgreSQL, with the pool starved (one
 * connection, held by a long transaction, and pg's per-try timeout short): a
 * write waits it out and is stored once the pool frees; past the wait budget,
 * or beyond the waiting callers' bound, the caller is told the store is
 * unavailable (no statement ran), and it is counted.
 */
import { testInfra, uniqueName } from '@opamp/testing';
import type { Pool, PoolClient } from 'pg';
import { Registry } from 'prom-client';
import { createPgPool, PgSqlDatabase, registerPgPoolMetrics, StoreUnavailableError } from '../src';

describe('waiting for a pg pool connection (real PostgreSQL)', () => {
  const table = uniqueName('pg_wait').replace(/[^a-z0-9_]/gi, '_');
  let admin: Pool;
  let pool: Pool;
  let holder: PoolClient | null = null;

  beforeAll(async () => {
    admin = createPgPool({ connectionString: testInfra().databaseUrl, applicationName: 'pg-wait-admin', max: 1 });
    await admin.query(`CREATE TABLE ${table} (what text NOT NULL)`);
  });

  beforeEach(() => {
    pool = createPgPool({ connectionString: testInfra().databaseUrl, applicationName: 'pg-wait-test', max: 1, connectionTimeoutMs: 100 });
  });

  afterEach(async () => {
    if (holder) {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      holder = null;
    }
    await pool.end();
  });

  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });

  /** Takes the pool's only connection into an open transaction that has written. */
  async function holdThePool(): Promise<PoolClient> {
    holder = await pool.connect();
    await holder.query('BEGIN');
    await holder.query(`INSERT INTO ${table} (what) VALUES ('held')`);
    return holder;
  }

  it('a write waits out a pool held by a long transaction (pg\'s tries time out) and is stored once the pool frees', async () => {
    let retried!: () => void;
    const firstRetry = new Promise<'retried'>((resolve) => (retried = () => resolve('retried')));
    const db = new PgSqlDatabase(pool, { waitBudgetMs: 60_000, retryMinMs: 10, retryMaxMs: 50, onRetry: () => retried() });
    const held = await holdThePool();
    const write = db.transaction((tx) => tx.query(`INSERT INTO ${table} (what) VALUES ($1)`, ['waited']));
    // A try timed out and is tried again (before the fix the write failed here: "timeout exceeded when trying to connect").
    expect(await Promise.race([firstRetry, write.then(() => 'written while held')])).toBe('retried');
    await held.query('COMMIT');
    held.release();
    holder = null;
    await write;
    expect((await admin.query(`SELECT what FROM ${table} ORDER BY what`)).rows).toEqual([{ what: 'held' }, { what: 'waited' }]);
    expect(db.waits.connectRetries).toBeGreaterThanOrEqual(1);
    expect(db.waits.unavailable).toEqual({ wait_budget: 0, queue_full: 0 });
  });

  it('past the wait budget, or beyond the waiting callers\' bound, the store is unavailable (no statement ran), counted', async () => {
    const db = new PgSqlDatabase(pool, { waitBudgetMs: 300, maxWaiting: 1, retryMinMs: 10, retryMaxMs: 50 });
    const registry = new Registry();
    registerPgPoolMetrics(registry, 'opamp_test', pool);
    await holdThePool();
    const late = db.query(`INSERT INTO ${table} (what) VALUES ('late')`);
    await expect(late).rejects.toThrow(StoreUnavailableError);
    await expect(late).rejects.toMatchObject({ reason: 'wait_budget', message: 'the database gave no connection within 300 ms; retry shortly' });

    // One caller waits in pg's queue: the next is refused at once.
    const waiting = pool.connect();
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ name: 'StoreUnavailableError', reason: 'queue_full' });
    await waiting.then((c) => c.release(), () => undefined);

    const counted = Object.fromEntries(
      (await registry.getMetricsAsJSON()).filter((m) => /retries|unavailable/.test(m.name)).flatMap((m) => m.values.map((v) => [`${m.name}${v.labels['reason'] ? `{${v.labels['reason']}}` : ''}`, v.value])),
    );
    expect(counted).toMatchObject({ 'opamp_test_db_pool_unavailable_total{wait_budget}': 1, 'opamp_test_db_pool_unavailable_total{queue_full}': 1 });
    expect(counted['opamp_test_db_pool_connect_retries_total']).toBeGreaterThanOrEqual(1);
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${table} WHERE what = 'late'`)).rows).toEqual([{ n: 0 }]);
  });
});
