/**
 * Against the real PostgreSQL from `npm run infra:up`: migrations apply from an
 * empty schema, a second run changes nothing, and concurrent runs (several
 * replicas starting at once) apply each migration exactly once.
 */
import { testInfra, uniqueName } from '@opamp/testing';
import type { Pool, PoolClient } from 'pg';
import { createPgPool, listMigrationFiles, migrateToLatest } from '../src';

describe('store (real PostgreSQL)', () => {
  let pool: Pool;
  const schemas: string[] = [];

  beforeAll(() => {
    pool = createPgPool({ connectionString: testInfra().databaseUrl, applicationName: 'store-test', max: 6 });
  });

  afterAll(async () => {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await pool.end();
  });

  async function sessionIn(schema: string): Promise<PoolClient> {
    const client = await pool.connect();
    await client.query(`SET search_path TO "${schema}"`);
    return client;
  }

  async function freshSchema(): Promise<string> {
    const schema = uniqueName('t').replace(/-/g, '_');
    schemas.push(schema);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    return schema;
  }

  it('applies every migration to an empty schema, then is idempotent', async () => {
    const schema = await freshSchema();
    const client = await sessionIn(schema);
    try {
      expect(await migrateToLatest(client)).toEqual(listMigrationFiles());
      expect(await migrateToLatest(client)).toEqual([]);

      const tables = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      // Each migration adds tables; these are the ones every later one builds on.
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['agents', 'available_components', 'effective_configs', 'schema_migrations', 'tenants']),
      );
      const recorded = await client.query('SELECT name FROM schema_migrations ORDER BY name');
      expect(recorded.rows.map((r) => r.name)).toEqual(listMigrationFiles());

      // The agents table enforces 16-byte instance uids.
      await client.query(`INSERT INTO tenants (id, name) VALUES ('t1', 'Tenant one')`);
      await client.query(`INSERT INTO agents (tenant_id, instance_uid) VALUES ('t1', $1)`, [Buffer.alloc(16, 1)]);
      await expect(
        client.query(`INSERT INTO agents (tenant_id, instance_uid) VALUES ('t1', $1)`, [Buffer.alloc(5, 1)]),
      ).rejects.toThrow(/check constraint/);
      // Label selectors use containment on the labels column.
      await client.query(`UPDATE agents SET labels = '{"env":"prod","region":"eu"}'`);
      const hit = await client.query(`SELECT count(*)::int AS n FROM agents WHERE labels @> '{"env":"prod"}'`);
      expect(hit.rows[0].n).toBe(1);
    } finally {
      client.release();
    }
  });

  it('applies each migration once when replicas migrate concurrently', async () => {
    const schema = await freshSchema();
    const clients = await Promise.all([sessionIn(schema), sessionIn(schema), sessionIn(schema)]);
    try {
      const results = await Promise.all(clients.map((c) => migrateToLatest(c)));
      const appliedCount = results.reduce((n, r) => n + r.length, 0);
      expect(appliedCount).toBe(listMigrationFiles().length);
      const recorded = await clients[0].query('SELECT count(*)::int AS n FROM schema_migrations');
      expect(recorded.rows[0].n).toBe(listMigrationFiles().length);
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  it('rolls back a failing migration and records nothing', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'badmig-'));
    writeFileSync(join(dir, '0001_ok.sql'), 'CREATE TABLE ok_table (id int);');
    writeFileSync(join(dir, '0002_bad.sql'), 'CREATE TABLE half_done (id int); SELECT no_such_function();');
    const schema = await freshSchema();
    const client = await sessionIn(schema);
    try {
      await expect(migrateToLatest(client, dir)).rejects.toThrow(/0002_bad.sql failed/);
      const names = await client.query('SELECT name FROM schema_migrations');
      expect(names.rows.map((r) => r.name)).toEqual(['0001_ok.sql']);
      const half = await client.query(`SELECT to_regclass('half_done') AS t`);
      expect(half.rows[0].t).toBeNull();
    } finally {
      client.release();
    }
  });
});
