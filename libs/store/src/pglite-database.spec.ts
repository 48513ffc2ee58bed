import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listMigrationFiles, migrateToLatest } from './migrations';
import { PgliteSqlDatabase } from './pglite-database';

// PGlite is the embedded database: the same migrations must apply to it, and
// its data must survive a reopen (the embedded server's state survives restarts).
describe('PgliteSqlDatabase', () => {
  jest.setTimeout(60_000);

  it('runs every migration, keeps data across a reopen, and rolls back failed transactions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-'));
    const db = await PgliteSqlDatabase.open(dir);
    expect(await migrateToLatest(db)).toEqual(listMigrationFiles());
    expect(await migrateToLatest(db)).toEqual([]);
    await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, ['t1', 'Tenant one']);
    await db.query(`INSERT INTO agents (tenant_id, instance_uid, labels) VALUES ($1, $2, $3)`, [
      't1',
      Buffer.alloc(16, 1),
      JSON.stringify({ env: 'prod' }),
    ]);
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO tenants (id, name) VALUES ($1, $2)`, ['t2', 'Tenant two']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await db.close();

    const reopened = await PgliteSqlDatabase.open(dir);
    const tenants = await reopened.query<{ id: string }>('SELECT id FROM tenants ORDER BY id');
    expect(tenants.rows.map((r) => r.id)).toEqual(['t1']);
    const hit = await reopened.query<{ n: number }>(`SELECT count(*)::int AS n FROM agents WHERE labels @> $1`, [
      JSON.stringify({ env: 'prod' }),
    ]);
    expect(hit.rows[0].n).toBe(1);
    expect(await migrateToLatest(reopened)).toEqual([]);
    await reopened.close();
  });
});
