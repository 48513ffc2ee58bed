/**
 * A data directory of an earlier version, whose database is PGlite's
 * (`<data dir>/postgres`), started on by the built server: its data is
 * imported into the embedded PostgreSQL once, and the PGlite directory is
 * kept aside as a backup.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, PgliteSqlDatabase } from '@opamp/store';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess } from '@opamp/testing';

describe('embedded server on a data directory of the PGlite versions', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-upgrade-'));
  let server: EmbeddedServerProcess | null = null;

  afterAll(async () => {
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const getLegacy = async (s: EmbeddedServerProcess) => {
    const res = await fetch(`${s.api}/configurations/legacy`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };

  it('imports the earlier database once and keeps it aside', async () => {
    // What an earlier version left: its PGlite database with a configuration in it.
    const files = { 'collector.yaml': { body: 'receivers: {}\n', contentType: 'text/yaml' } };
    const pglite = await PgliteSqlDatabase.open(join(dataDir, 'postgres'));
    await migrateToLatest(pglite);
    await pglite.query(`INSERT INTO tenants (id, name) VALUES ('default', 'default')`);
    await pglite.query(`INSERT INTO configurations (tenant_id, name, description, format, latest_version, created_by) VALUES ('default', 'legacy', 'from PGlite', 'generic', 1, 'test')`);
    await pglite.query(
      `INSERT INTO configuration_versions (tenant_id, configuration_name, version, files, content_hash, templated, created_by) VALUES ('default', 'legacy', 1, $1::jsonb, $2, false, 'test')`,
      [JSON.stringify(files), createHash('sha256').update('legacy').digest()],
    );
    await pglite.close();

    server = await startEmbeddedServerProcess({ dataDir });
    const first = await getLegacy(server);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ name: 'legacy', description: 'from PGlite', version: 1 });
    expect(existsSync(join(dataDir, 'postgres'))).toBe(false);
    expect(existsSync(join(dataDir, 'postgres.pglite-imported'))).toBe(true);

    expect(server.output.join('')).toMatch(/importing the database of an earlier version/);

    // A restart imports nothing again and keeps what the new store holds.
    await stopEmbeddedServerProcess(server);
    server = await startEmbeddedServerProcess({ dataDir });
    expect((await getLegacy(server)).json).toMatchObject({ name: 'legacy', version: 1 });
    expect(server.output.join('')).not.toMatch(/importing the database of an earlier version/);
  }, 120_000);
});
