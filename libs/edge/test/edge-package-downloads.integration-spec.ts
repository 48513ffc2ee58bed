/**
 * Package file downloads on the edge's agent port (issue 17, item 2), served
 * from the package store on the real PostgreSQL (1 MiB chunks): signed
 * addresses and agents' credentials (401 otherwise, 404 for another tenant's
 * file), the whole file with its ETag, Range -> 206 across chunk boundaries,
 * 416 outside the file, If-None-Match -> 304, a download cut mid-way resumed
 * with Range to the same bytes; and the per-gateway limits: beyond the
 * concurrency limit 503 + Retry-After, the bandwidth shared, while an OpAMP
 * request on the same gateway is answered at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { packageDownloadUrl, PACKAGE_FILES_PATH } from '@opamp/contracts';
import { encodeAgentToServer, newInstanceUidV7 } from '@opamp/protocol';
import { createPgPool, migrateToLatest, PgSqlDatabase, SqlPackageBlobStore } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import type { Pool } from 'pg';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const KEY = Buffer.alloc(32, 9);
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('package downloads on the edge (real PostgreSQL, Kafka, Redis)', () => {
  const schema = `t_${uniqueName('pkgdl').replace(/[^a-z0-9]/g, '_')}`;
  let admin: Pool;
  let pool: Pool;
  let store: SqlPackageBlobStore;
  const fast = new EdgeHarness();
  const slow = new EdgeHarness();
  const file = randomBytes(3 * MiB + 777);
  const fileSha = sha(file);
  const small = randomBytes(600 * 1024);
  const smallSha = sha(small);

  const signed = (h: EdgeHarness, shaHex: string, tenantId = TENANT, expiresAtS = Math.floor(Date.now() / 1000) + 600) =>
    packageDownloadUrl(h.baseUrl, KEY, { tenantId, sha256Hex: shaHex, expiresAtS });
  const body = async (res: Response) => Buffer.from(await res.arrayBuffer());

  beforeAll(async () => {
    const infra = testInfra();
    admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'pkgdl-admin', max: 1 });
    await admin.query(`CREATE SCHEMA "${schema}"`);
    pool = createPgPool({ connectionString: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`, applicationName: 'pkgdl', max: 8 });
    const client = await pool.connect();
    try {
      await migrateToLatest(client);
    } finally {
      client.release();
    }
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, $1), ('other', 'other')`, [TENANT]);
    store = new SqlPackageBlobStore(new PgSqlDatabase(pool));
    const put = (bytes: Buffer) => store.put(TENANT, (async function* () { yield bytes; })(), 10 * MiB);
    await put(file);
    await put(small);
    await fast.start({ packageDownloads: { urlKey: KEY, maxConcurrent: 8, bytesPerSecond: 1024 * MiB } }, { packageFiles: store });
    await slow.start({ packageDownloads: { urlKey: KEY, maxConcurrent: 2, bytesPerSecond: 256 * 1024 }, retryAfterRangeS: [7, 7] }, { packageFiles: store });
  }, 60_000);

  afterAll(async () => {
    await fast.stop();
    await slow.stop();
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin?.end();
  });

  it('serves the whole file to a signed address, with its content hash as ETag (C72)', async () => {
    const res = await fetch(signed(fast, fileSha));
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${fileSha}"`);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-length')).toBe(String(file.length));
    const got = await body(res);
    expect(sha(got)).toBe(fileSha);
  });

  it('takes an agent credential as on /v1/opamp, and refuses a wrong one, a bad or expired signature (401), another tenant\'s file (404)', async () => {
    const path = `${fast.baseUrl}${PACKAGE_FILES_PATH}${smallSha}`;
    const bearer = await fetch(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(sha(await body(bearer))).toBe(smallSha);
    expect((await fetch(path, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    expect((await fetch(path)).status).toBe(401);
    const good = signed(fast, smallSha);
    expect((await fetch(good.replace(/sig=[^&]+/, 'sig=AAAA'))).status).toBe(401);
    expect((await fetch(signed(fast, smallSha, TENANT, Math.floor(Date.now() / 1000) - 1))).status).toBe(401);
    // A signature for one file does not open another.
    expect((await fetch(good.replace(smallSha, fileSha))).status).toBe(401);
    expect((await fetch(signed(fast, smallSha, 'other'))).status).toBe(404);
    expect((await fetch(signed(fast, 'f'.repeat(64)))).status).toBe(404);
    expect((await fetch(`${fast.baseUrl}${PACKAGE_FILES_PATH}not-a-hash`)).status).toBe(404);
  });

  it('answers Range with 206 (across chunk boundaries and as a suffix), 416 outside the file, If-None-Match with 304', async () => {
    const url = signed(fast, fileSha);
    const across = await fetch(url, { headers: { range: `bytes=${MiB - 10}-${2 * MiB + 9}` } });
    expect(across.status).toBe(206);
    expect(across.headers.get('content-range')).toBe(`bytes ${MiB - 10}-${2 * MiB + 9}/${file.length}`);
    expect((await body(across)).equals(file.subarray(MiB - 10, 2 * MiB + 10))).toBe(true);
    const suffix = await fetch(url, { headers: { range: 'bytes=-100' } });
    expect(suffix.status).toBe(206);
    expect((await body(suffix)).equals(file.subarray(file.length - 100))).toBe(true);
    const outside = await fetch(url, { headers: { range: `bytes=${file.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${file.length}`);
    await body(outside);
    const cached = await fetch(url, { headers: { 'if-none-match': `"${fileSha}"` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(`"${fileSha}"`);
    expect((await body(cached)).length).toBe(0);
    const stale = await fetch(url, { headers: { 'if-none-match': '"something-else"', range: 'bytes=0-0' } });
    expect(stale.status).toBe(206);
    expect((await body(stale)).equals(file.subarray(0, 1))).toBe(true);
  });

  it('a download cut mid-way resumes with Range and gets the same bytes', async () => {
    const url = new URL(signed(fast, fileSha));
    // A client that goes away after the first ~700 KiB, keeping what it has.
    const part = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      const req = request(url, (res) => {
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          n += c.length;
          if (n >= 700 * 1024) {
            req.destroy();
            resolve(Buffer.concat(chunks));
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', (err) => (n >= 700 * 1024 ? undefined : reject(err)));
      req.end();
    });
    expect(part.length).toBeLessThan(file.length);
    const rest = await fetch(url, { headers: { range: `bytes=${part.length}-`, 'if-range': `"${fileSha}"` } });
    expect(rest.status).toBe(206);
    const whole = Buffer.concat([part, await body(rest)]);
    expect(sha(whole)).toBe(fileSha);
  });

  it('beyond the concurrency limit answers 503 with Retry-After, shares the bandwidth, and answers OpAMP meanwhile', async () => {
    const aborts = [new AbortController(), new AbortController()];
    const running = await Promise.all(aborts.map((a) => fetch(signed(slow, fileSha), { signal: a.signal })));
    expect(running.map((r) => r.status)).toEqual([200, 200]);
    const readers = running.map((r) => r.body!.getReader());
    await Promise.all(readers.map((r) => r.read()));
    // The pool as an operator sees it: both slots of its capacity in use.
    const text = await slow.edge.metrics.registry.metrics();
    expect(text).toMatch(/^opamp_gateway_package_downloads_active(\{[^}]*\})? 2$/m);
    expect(text).toMatch(/^opamp_gateway_package_downloads_capacity(\{[^}]*\})? 2$/m);
    expect(text).toMatch(new RegExp(`^opamp_gateway_package_bandwidth_limit_bytes_per_second(\\{[^}]*\\})? ${256 * 1024}$`, 'm'));
    const busy = await fetch(signed(slow, smallSha));
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('7');
    await body(busy);
    // An agent's OpAMP request on the same gateway is not held behind the downloads.
    const t0 = Date.now();
    const opamp = await fetch(slow.httpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-protobuf' },
      body: encodeAgentToServer({ instanceUid: newInstanceUidV7(), sequenceNum: 1, capabilities: 0x3 }),
    });
    expect(opamp.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const a of aborts) a.abort();
    for (const r of readers) await r.cancel().catch(() => undefined);
    await waitFor(async () => (await slow.edge.metrics.packageDownloadsActive.get()).values[0]?.value, (n) => n === 0, { timeoutMs: 10_000, description: 'downloads ended' });
    // 600 KiB at 256 KiB/s (a second's burst first): about 1.3 s, not at once.
    const started = Date.now();
    const limited = await fetch(signed(slow, smallSha));
    expect(limited.status).toBe(200);
    expect(sha(await body(limited))).toBe(smallSha);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});
