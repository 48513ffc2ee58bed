/**
 * A database of the earlier embedded store (PGlite) imported into the embedded
 * PostgreSQL server: every row with its types (bytea, jsonb, timestamptz),
 * the sequences' positions, and exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { createPgPool, EmbeddedPostgresCluster, importDatabase, migrateToLatest, PgliteSqlDatabase, PgSqlDatabase, wasImported, type SqlExecutor } from '../src';

const SOURCE = 'pglite:test';
const TABLES = ['tenants', 'agents', 'audit_log'];

async function snapshot(db: SqlExecutor): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) {
    const { rows } = await db.query<{ r: unknown }>(`SELECT to_jsonb(x) AS r FROM ${t} x ORDER BY 1`);
    out[t] = rows.map((row) => (typeof row.r === 'string' ? JSON.parse(row.r) : row.r));
  }
  return out;
}

describe('importing a PGlite database into the embedded PostgreSQL', () => {
  let dir: string;
  let cluster: EmbeddedPostgresCluster;
  let pool: Pool;
  let target: PgSqlDatabase;
  let source: PgliteSqlDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opamp-import-test-'));
    cluster = await EmbeddedPostgresCluster.start({ dataDir: join(dir, 'pg') });
    pool = createPgPool({ connectionString: cluster.connectionString, applicationName: 'import-test' });
    target = new PgSqlDatabase(pool);
    const client = await pool.connect();
    try {
      await migrateToLatest(client);
    } finally {
      client.release();
    }
    source = await PgliteSqlDatabase.open();
    await migrateToLatest(source);
    await source.query(`INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant "one"')`);
    await source.query(
      `INSERT INTO agents (tenant_id, instance_uid, labels, health, connected, last_seen_at, effective_config_hash)
       VALUES ('t1', $1, $2::jsonb, $3::jsonb, true, '2026-01-02T03:04:05.678Z', $4)`,
      [Buffer.alloc(16, 7), JSON.stringify({ env: 'prod', list: '[1,2]' }), JSON.stringify({ healthy: true, nested: [1, { a: null }] }), Buffer.from([0, 255, 1])],
    );
    for (const action of ['a', 'b', 'c']) {
      await source.query(`INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_name) VALUES ('t1', 'system', $1, 'x', 'y')`, [action]);
    }
  }, 60_000);

  afterAll(async () => {
    await source?.close();
    await pool?.end();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies every row and the sequences, once', async () => {
    expect(await wasImported(target, SOURCE)).toBe(false);
    const report = await importDatabase(source, target, SOURCE);
    expect(report.tables).toMatchObject({ tenants: 1, agents: 1, audit_log: 3 });
    expect(await snapshot(target)).toEqual(await snapshot(source));
    // The next id continues after the imported ones.
    const next = await target.query<{ id: string }>(
      `INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_name) VALUES ('t1', 'system', 'd', 'x', 'y') RETURNING id`,
    );
    expect(Number(next.rows[0].id)).toBe(4);

    expect(await wasImported(target, SOURCE)).toBe(true);
    await expect(importDatabase(source, target, SOURCE)).rejects.toThrow(/imported already/);
    expect((await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n).toBe(4);
  });
});
