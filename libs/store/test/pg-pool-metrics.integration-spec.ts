/**
 * The pool saturation gauges against the real PostgreSQL: connections in use
 * and idle follow checkouts, and a query beyond the pool's max is counted as
 * waiting until a connection comes back.
 */
import { testInfra } from '@opamp/testing';
import type { Pool, PoolClient } from 'pg';
import { Registry } from 'prom-client';
import { createPgPool, registerPgPoolMetrics } from '../src';

async function gauges(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) out[`${m.name}${v.labels['state'] ? `{${v.labels['state']}}` : ''}`] = v.value;
  }
  return out;
}

describe('pg pool metrics (real PostgreSQL)', () => {
  let pool: Pool;
  const registry = new Registry();

  beforeAll(() => {
    pool = createPgPool({ connectionString: testInfra().databaseUrl, applicationName: 'pool-metrics-test', max: 2 });
    registerPgPoolMetrics(registry, 'opamp_test', pool);
  });

  afterAll(() => pool.end());

  it('reports connections in use, idle, queries waiting and the max', async () => {
    expect(await gauges(registry)).toEqual({
      'opamp_test_db_pool_connections{in_use}': 0,
      'opamp_test_db_pool_connections{idle}': 0,
      opamp_test_db_pool_waiting_requests: 0,
      opamp_test_db_pool_max_connections: 2,
      // The store's own waits (sql-database.ts): none yet.
      opamp_test_db_pool_connect_retries_total: 0,
      opamp_test_db_pool_unavailable_total: 0,
    });
    const a: PoolClient = await pool.connect();
    const b: PoolClient = await pool.connect();
    const queued = pool.query('SELECT 1 AS one');
    expect(await gauges(registry)).toMatchObject({
      'opamp_test_db_pool_connections{in_use}': 2,
      'opamp_test_db_pool_connections{idle}': 0,
      opamp_test_db_pool_waiting_requests: 1,
    });
    a.release();
    expect((await queued).rows).toEqual([{ one: 1 }]);
    b.release();
    expect(await gauges(registry)).toMatchObject({
      'opamp_test_db_pool_connections{in_use}': 0,
      'opamp_test_db_pool_connections{idle}': 2,
      opamp_test_db_pool_waiting_requests: 0,
    });
  });
});
