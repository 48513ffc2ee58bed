/**
 * The collection of uploaded package files on the real PostgreSQL (issue 17,
 * migration 0260): what no version names and nobody used for the grace goes
 * with its chunks (incomplete uploads too); what a version names stays; a
 * download that is reading keeps its blob; a version registering the blob at
 * the moment a sweep runs keeps it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import type { Pool } from 'pg';
import { createPgPool, migrateToLatest, PgSqlDatabase, SqlPackageBlobStore } from '../src';

const TENANT = 'gc-tenant';
const GRACE_MS = 3_600_000;
const CHUNK = 64 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest();

describe('package blob collection (real PostgreSQL)', () => {
  const schema = `t_${uniqueName('pkggc').replace(/[^a-z0-9]/g, '_')}`;
  const app = `pkggc-${process.pid}`;
  let admin: Pool;
  let pool: Pool;
  let store: SqlPackageBlobStore;

  beforeAll(async () => {
    const infra = testInfra();
    admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: `${app}-admin`, max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: app, max: 6 });
    const client = await pool.connect();
    try {
      await migrateToLatest(client);
    } finally {
      client.release();
    }
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [TENANT]);
    await pool.query(`INSERT INTO packages (tenant_id, name, type, created_by) VALUES ($1, 'otelcol', 'agent', 'test')`, [TENANT]);
    // Small chunks, and a touch on every read: a download's use is recorded at once.
    store = new SqlPackageBlobStore(new PgSqlDatabase(pool), CHUNK, 0);
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  const put = (bytes: Buffer) => store.put(TENANT, (async function* () { yield bytes; })(), 10 * 1024 * 1024);
  /** As if nobody had used the blob for two hours. */
  const age = (blobId: string) => pool.query(`UPDATE package_blobs SET last_used_at = now() - interval '2 hours' WHERE id = $1`, [blobId]);
  const exists = async (blobId: string) => (await pool.query(`SELECT 1 FROM package_blobs WHERE id = $1`, [blobId])).rows.length === 1;
  const chunks = async (blobId: string) => Number((await pool.query(`SELECT count(*) AS n FROM package_blob_chunks WHERE blob_id = $1`, [blobId])).rows[0]['n']);
  const reference = async (version: string, digest: Buffer, tx: { query: (sql: string, params: unknown[]) => Promise<unknown> } = pool) => {
    await tx.query(`INSERT INTO package_versions (tenant_id, package_name, version, created_by) VALUES ($1, 'otelcol', $2, 'test')`, [TENANT, version]);
    await tx.query(
      `INSERT INTO package_files (tenant_id, package_name, version, os, arch, sha256, size_bytes, source) VALUES ($1, 'otelcol', $2, 'linux', 'amd64', $3, 1, 'upload')`,
      [TENANT, version, digest],
    );
  };

  it('removes unreferenced blobs unused for the grace (and incomplete uploads), with their chunks; keeps referenced and recent ones', async () => {
    const named = await put(randomBytes(3 * CHUNK));
    await reference('1.0.0', named.sha256);
    const orphan = await put(randomBytes(2 * CHUNK + 5));
    const recentBytes = randomBytes(CHUNK);
    const recent = await put(recentBytes);
    const broken = String((await pool.query(`INSERT INTO package_blobs (tenant_id) VALUES ($1) RETURNING id`, [TENANT])).rows[0]['id']);
    await pool.query(`INSERT INTO package_blob_chunks (blob_id, chunk, data) VALUES ($1, 0, $2)`, [broken, randomBytes(100)]);
    for (const b of [named.blobId, orphan.blobId, broken]) await age(b);
    expect(await chunks(orphan.blobId)).toBe(3);

    const removed = await store.collectUnreferenced(GRACE_MS);
    expect(removed).toEqual({ blobs: 2, bytes: 2 * CHUNK + 5 });
    expect(await exists(orphan.blobId)).toBe(false);
    expect(await chunks(orphan.blobId)).toBe(0);
    expect(await exists(broken)).toBe(false);
    expect(await chunks(broken)).toBe(0);
    expect(await exists(named.blobId)).toBe(true);
    expect(await exists(recent.blobId)).toBe(true);
    // An upload of bytes the tenant has counts as use: the blob waits again for its version.
    await age(recent.blobId);
    await put(recentBytes);
    expect(await store.collectUnreferenced(GRACE_MS)).toEqual({ blobs: 0, bytes: 0 });
  });

  it('keeps a blob a download is reading', async () => {
    const bytes = randomBytes(4 * CHUNK);
    const blob = await put(bytes);
    await age(blob.blobId);
    const reading = store.read(blob.blobId, 0, bytes.length - 1)[Symbol.asyncIterator]();
    const first = await reading.next();
    expect(first.done).toBe(false);
    expect(await store.collectUnreferenced(GRACE_MS)).toEqual({ blobs: 0, bytes: 0 });
    const parts = [first.value as Buffer];
    for (let r = await reading.next(); !r.done; r = await reading.next()) parts.push(r.value);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it('keeps a blob that a version registering in the same moment claims', async () => {
    const blob = await put(randomBytes(CHUNK));
    await age(blob.blobId);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await store.claim(client, TENANT, blob.sha256)).toBe(true);
      const sweep = store.collectUnreferenced(GRACE_MS);
      // The sweep's DELETE waits for the claimed row, then sees it used now.
      await waitFor(
        async () => (await admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM package_blobs%'`, [app])).rows.length,
        (n) => n > 0,
        { timeoutMs: 10_000, description: 'the sweep waiting for the claimed row' },
      );
      await reference('2.0.0', blob.sha256, client);
      await client.query('COMMIT');
      expect(await sweep).toEqual({ blobs: 0, bytes: 0 });
    } finally {
      client.release();
    }
    expect(await exists(blob.blobId)).toBe(true);
    expect(await store.claim(pool, TENANT, sha(Buffer.from('never uploaded')))).toBe(false);
  });
});
