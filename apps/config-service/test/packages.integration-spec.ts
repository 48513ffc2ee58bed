/**
 * The package catalog in config-service on the real PostgreSQL (issue 17,
 * item 1): packages and their immutable versions, one file per platform,
 * either uploaded (streamed into PostgreSQL chunks, hashed as it comes, a
 * size limit) or referenced by URL (downloaded once from a loopback artifact
 * store to verify its hash, with the size limit and a timeout); withdrawal;
 * clear refusals that store nothing; per tenant.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { PackageFileServer } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const MAX_FILE = 4 * 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('package catalog (config-service on real PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  let store: PackageFileServer;

  beforeAll(async () => {
    store = await PackageFileServer.start();
    // The artifact store's two folders are allowed; the rest of its host, and other hosts, are not.
    bed = await ConfigServiceBed.start('packages', { overrides: { packageMaxFileBytes: MAX_FILE, packageFetchTimeoutMs: 1_500, packageUrlAllow: [store.url('/builds/'), store.url('/hang/')] } });
  });
  afterAll(async () => {
    await store?.close();
    await bed?.close();
  });

  const tenant = (i = 0) => bed.tenants[i].id;
  const upload = (bytes: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/octet-stream' }, tenantIndex = 0) =>
    bed.rest('POST', '/package-files', undefined, { raw: bytes, headers, tenant: tenantIndex });
  const blobCount = async () => Number((await bed.pool.query(`SELECT count(*) AS n FROM package_blobs WHERE tenant_id = $1`, [tenant()])).rows[0]['n']);
  const errorOf = (r: { json: Record<string, unknown> }) => r.json['error'] as { status: string; message: string };

  it('streams an upload into chunks, hashed as it comes; the same bytes again are not stored twice', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 12_345);
    const first = await upload(bytes);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ sha256: sha(bytes), sizeBytes: String(bytes.length), existed: false });
    const { rows } = await bed.pool.query(
      `SELECT c.chunk, length(c.data) AS n FROM package_blob_chunks c JOIN package_blobs b ON b.id = c.blob_id WHERE b.tenant_id = $1 AND b.sha256 = $2 ORDER BY c.chunk`,
      [tenant(), Buffer.from(sha(bytes), 'hex')],
    );
    expect(rows.map((r) => Number(r['n']))).toEqual([1024 * 1024, 1024 * 1024, 12_345]);
    const again = await upload(bytes);
    expect(again.json).toMatchObject({ sha256: sha(bytes), existed: true });
    expect((await bed.pool.query(`SELECT count(*) AS n FROM package_blobs WHERE tenant_id = $1 AND sha256 = $2`, [tenant(), Buffer.from(sha(bytes), 'hex')])).rows[0]['n']).toBe('1');
  });

  it('refuses an upload beyond the limit (413, declared or streamed), as JSON (400) or without a credential (401), and keeps nothing of it', async () => {
    const before = await blobCount();
    const declared = await upload(randomBytes(MAX_FILE + 1));
    expect(declared.status).toBe(413);
    expect(errorOf(declared).message).toMatch(/package file is larger than 4194304 bytes/);
    // No Content-Length: the limit is met while the bytes stream in.
    const big = randomBytes(MAX_FILE + 100_000);
    const streamed = await fetch(`${bed.primary.httpBase}/api/v1/package-files`, {
      method: 'POST',
      headers: { authorization: bed.primary.bearer(), 'content-type': 'application/octet-stream' },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < big.length; i += 256 * 1024) c.enqueue(big.subarray(i, i + 256 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const json = await upload('{"a":1}', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    expect(errorOf(json).message).toMatch(/raw bytes \(content-type application\/octet-stream\)/);
    const wrong = await bed.rest('POST', '/package-files', undefined, { raw: 'bytes', token: 'not-a-token-0123456789', headers: { 'content-type': 'application/octet-stream' } });
    expect(wrong.status).toBe(401);
    expect(await blobCount()).toBe(before);
    expect(Number((await bed.pool.query(`SELECT count(*) AS n FROM package_blobs WHERE tenant_id = $1 AND sha256 IS NULL`, [tenant()])).rows[0]['n'])).toBe(0);
  });

  it('removes what an upload that broke off with its process left, at the next upload, and keeps one in progress', async () => {
    const left = await bed.pool.query(`INSERT INTO package_blobs (tenant_id, created_at) VALUES ($1, now() - interval '2 hours') RETURNING id`, [tenant()]);
    await bed.pool.query(`INSERT INTO package_blob_chunks (blob_id, chunk, data) VALUES ($1, 0, $2)`, [left.rows[0]['id'], randomBytes(100)]);
    const running = await bed.pool.query(`INSERT INTO package_blobs (tenant_id) VALUES ($1) RETURNING id`, [tenant()]);
    expect((await upload(randomBytes(10))).status).toBe(200);
    const { rows } = await bed.pool.query(`SELECT id FROM package_blobs WHERE id = ANY($1::bigint[])`, [[left.rows[0]['id'], running.rows[0]['id']]]);
    expect(rows.map((r) => String(r['id']))).toEqual([String(running.rows[0]['id'])]);
    expect((await bed.pool.query(`SELECT 1 FROM package_blob_chunks WHERE blob_id = $1`, [left.rows[0]['id']])).rows).toEqual([]);
    await bed.pool.query(`DELETE FROM package_blobs WHERE id = $1`, [running.rows[0]['id']]);
  });

  it('registers a version of uploaded files by their hash, immutable, with the publisher signature passed through', async () => {
    const linux = randomBytes(50_000);
    const windows = randomBytes(40_000);
    await upload(linux);
    await upload(windows);
    const created = await bed.rest('POST', '/packages', { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ name: 'otelcol', kind: 'PACKAGE_KIND_AGENT', versionCount: 0 });
    const signature = Buffer.from('publisher-signature').toString('base64');
    const v = await bed.rest('POST', '/packages/otelcol/versions', {
      version: '0.110.0',
      files: [
        { os: 'linux', arch: 'amd64', sha256: sha(linux), signature },
        { os: 'windows', arch: 'amd64', sha256: sha(windows).toUpperCase() },
      ],
    });
    expect(v.status).toBe(200);
    expect(v.json).toMatchObject({
      packageName: 'otelcol',
      version: '0.110.0',
      withdrawn: false,
      files: [
        { os: 'linux', arch: 'amd64', sha256: sha(linux), signature, sizeBytes: '50000', source: 'upload', url: '' },
        { os: 'windows', arch: 'amd64', sha256: sha(windows), sizeBytes: '40000', source: 'upload' },
      ],
    });
    const again = await bed.rest('POST', '/packages/otelcol/versions', { version: '0.110.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(windows) }] });
    expect(again.status).toBe(409);
    expect(errorOf(again).message).toMatch(/already exists \(versions are immutable/);
    const unknown = await bed.rest('POST', '/packages/otelcol/versions', { version: '0.111.0', files: [{ os: 'linux', arch: 'amd64', sha256: 'f'.repeat(64) }] });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown)).toMatchObject({ status: 'FAILED_PRECONDITION', message: expect.stringMatching(/no file with SHA-256 f{64} was uploaded/) });
    // gRPC reads the same version, the signature as bytes.
    const g = await bed.rpc('GetPackageVersion', { packageName: 'otelcol', version: '0.110.0' });
    expect(Buffer.from((g['files'] as Array<{ signature: Uint8Array }>)[0].signature).toString()).toBe('publisher-signature');
  });

  it('verifies a URL file by downloading it once: its hash, the size limit, an unreachable or silent store', async () => {
    await bed.rpc('CreatePackage', { package: { name: 'addon-x', kind: 'PACKAGE_KIND_ADDON' } });
    const bytes = randomBytes(300_000);
    const url = store.put('/builds/addon-x-1.tar.gz', bytes);
    const ok = await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'addon-x', version: '1.0.0', files: [{ os: 'any', arch: 'any', sha256: sha(bytes), url }] } });
    expect(ok['files']).toEqual([expect.objectContaining({ os: 'any', arch: 'any', url, sizeBytes: '300000', source: 'url' })]);
    expect(store.requests.filter((p) => p === '/builds/addon-x-1.tar.gz')).toHaveLength(1);

    const refusals: Array<[string, unknown, number, RegExp]> = [
      ['wrong hash', { url, sha256: sha(Buffer.from('other')) }, grpc.status.INVALID_ARGUMENT, /files\[0\]: the file at its url has SHA-256 [0-9a-f]{64}, not the/],
      ['too large', { url: store.put('/builds/huge', randomBytes(MAX_FILE + 1)), sha256: 'a'.repeat(64) }, grpc.status.INVALID_ARGUMENT, /is larger than 4194304 bytes/],
      ['missing', { url: store.url('/builds/none'), sha256: 'a'.repeat(64) }, grpc.status.FAILED_PRECONDITION, /answered HTTP 404: the file's hash cannot be verified/],
      ['silent', { url: store.url('/hang/x'), sha256: 'a'.repeat(64) }, grpc.status.FAILED_PRECONDITION, /took longer than 1500 ms/],
    ];
    for (const [what, file, code, message] of refusals) {
      const call = bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'addon-x', version: `2.0.0-${what.replace(' ', '-')}`, files: [{ os: 'linux', arch: 'arm64', ...(file as object) }] } });
      await expect(call).rejects.toMatchObject({ code, details: expect.stringMatching(message) });
    }
    const { rows } = await bed.pool.query(`SELECT version FROM package_versions WHERE tenant_id = $1 AND package_name = 'addon-x'`, [tenant()]);
    expect(rows.map((r) => r['version'])).toEqual(['1.0.0']);
  });

  it('takes URLs only under the allowed prefixes (400 before any download), follows redirects on the same host within them, refuses others', async () => {
    const bytes = randomBytes(5_000);
    const target = store.put('/builds/addon-x-3.tar.gz', bytes);
    const port = new URL(target).port;
    const refusalsBefore = bed.primary.api.packages.metrics.urlRefusals;
    const requestsBefore = store.requests.length;
    const outside: Array<[string, string, RegExp]> = [
      ['another-host', `http://localhost:${port}/builds/addon-x-3.tar.gz`, /url: "?http:\/\/localhost:\d+\/builds\/addon-x-3\.tar\.gz"? is not under an allowed URL prefix/],
      ['another-path', store.put('/private/addon-x-3.tar.gz', bytes), /is not under an allowed URL prefix/],
      ['sibling-folder', store.put('/builds-old/addon-x-3.tar.gz', bytes), /is not under an allowed URL prefix/],
    ];
    for (const [what, url, message] of outside) {
      const r = await bed.rest('POST', '/packages/addon-x/versions', { version: `3.0.0-${what}`, files: [{ os: 'any', arch: 'any', sha256: sha(bytes), url }] });
      expect({ what, status: r.status, message: errorOf(r).message }).toEqual({ what, status: 400, message: expect.stringMatching(message) });
    }
    // Refused before anything was downloaded, and counted.
    expect(store.requests.length).toBe(requestsBefore);
    expect(bed.primary.api.packages.metrics.urlRefusals).toBe(refusalsBefore + outside.length);

    const redirected: Array<[string, string, RegExp]> = [
      ['to-another-host', store.redirect('/builds/moved', `http://localhost:${port}/builds/addon-x-3.tar.gz`), /redirects to "?http:\/\/localhost:\d+"?, another host/],
      ['out-of-prefix', store.redirect('/builds/escape', '/private/addon-x-3.tar.gz'), /redirects to .* outside the allowed URL prefixes/],
      ['in-a-loop', store.redirect('/builds/loop', '/builds/loop'), /redirects more than 3 times/],
    ];
    for (const [what, url, message] of redirected) {
      const r = await bed.rest('POST', '/packages/addon-x/versions', { version: `3.0.0-${what}`, files: [{ os: 'any', arch: 'any', sha256: sha(bytes), url }] });
      expect({ what, status: r.status, message: errorOf(r).message }).toEqual({ what, status: 400, message: expect.stringMatching(message) });
    }
    expect(store.requests.filter((p) => p === '/private/addon-x-3.tar.gz' || p === '/builds/addon-x-3.tar.gz')).toEqual([]);

    const alias = store.redirect('/builds/latest', '/builds/addon-x-3.tar.gz');
    const ok = await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'addon-x', version: '3.0.0', files: [{ os: 'any', arch: 'any', sha256: sha(bytes), url: alias }] } });
    expect(ok['files']).toEqual([expect.objectContaining({ url: alias, sizeBytes: '5000', source: 'url' })]);
  });

  it('refuses bad packages and versions with the field named, counted, storing nothing', async () => {
    const before = bed.primary.api.metrics.invalidArguments;
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/packages', { name: 'Bad Name', kind: 'PACKAGE_KIND_ADDON' }, /package name "Bad Name" is invalid/],
      ['POST', '/packages', { name: 'nokind' }, /package.kind must be one of PACKAGE_KIND_AGENT, PACKAGE_KIND_TOP_LEVEL, PACKAGE_KIND_ADDON/],
      ['POST', '/packages/otelcol/versions', { version: '1 0', files: [{ os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64) }] }, /version "1 0" is invalid/],
      ['POST', '/packages/otelcol/versions', { version: '1.0.1', files: [{ os: 'linux', arch: 'amd64', sha256: 'xyz' }] }, /files\[0\]\.sha256 must be a SHA-256/],
      ['POST', '/packages/otelcol/versions', { version: '1.0.1', files: [{ os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64), url: 'file:///etc/passwd' }] }, /must use http or https/],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await bed.rest(method, path, body);
      expect({ path, status: r.status, message: errorOf(r).message }).toEqual({ path, status: 400, message: expect.stringMatching(message) });
    }
    expect(bed.primary.api.metrics.invalidArguments).toBe(before + cases.length);
    expect((await bed.rest('POST', '/packages/none/versions', { version: '1.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: 'a'.repeat(64) }] })).status).toBe(404);
    expect((await bed.pool.query(`SELECT 1 FROM packages WHERE tenant_id = $1 AND name IN ('nokind', 'Bad Name')`, [tenant()])).rows).toEqual([]);
    expect((await bed.pool.query(`SELECT 1 FROM package_versions WHERE tenant_id = $1 AND version = '1.0.1'`, [tenant()])).rows).toEqual([]);
  });

  it('withdraws a version (kept, marked, audited once); a package with versions is not deleted, one without is', async () => {
    const w = await bed.rest('POST', '/packages/otelcol/versions/0.110.0:withdraw', {});
    expect(w.json).toMatchObject({ withdrawn: true, withdrawnBy: await bed.adminActor() });
    await bed.rest('POST', '/packages/otelcol/versions/0.110.0:withdraw', {});
    const audits = await bed.pool.query(`SELECT count(*) AS n FROM audit_log WHERE tenant_id = $1 AND action = 'package_version.withdraw'`, [tenant()]);
    expect(audits.rows[0]['n']).toBe('1');
    const pkg = await bed.rest('GET', '/packages/otelcol');
    expect(pkg.json).toMatchObject({ versionCount: 1, withdrawnCount: 1, versions: [{ version: '0.110.0', withdrawn: true }] });
    const del = await bed.rest('DELETE', '/packages/otelcol');
    expect(del.status).toBe(400);
    expect(errorOf(del)).toMatchObject({ status: 'FAILED_PRECONDITION', message: expect.stringMatching(/has 1 version\(s\); withdraw them instead/) });
    await bed.rest('POST', '/packages', { name: 'empty', kind: 'PACKAGE_KIND_TOP_LEVEL' });
    expect((await bed.rest('DELETE', '/packages/empty')).status).toBe(200);
    expect(((await bed.rest('GET', '/packages')).json['packages'] as Array<{ name: string }>).map((p) => p.name)).toEqual(['addon-x', 'otelcol']);
  });

  it('is per tenant: another tenant sees none of it and cannot name the first tenant\'s uploads', async () => {
    const bytes = randomBytes(1000);
    await upload(bytes);
    expect((await bed.rest('GET', '/packages/otelcol', undefined, { tenant: 1 })).status).toBe(404);
    expect((await bed.rest('GET', '/packages', undefined, { tenant: 1 })).json['packages']).toEqual([]);
    await bed.rest('POST', '/packages', { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' }, { tenant: 1 });
    const steal = await bed.rest('POST', '/packages/otelcol/versions', { version: '9.9.9', files: [{ os: 'linux', arch: 'amd64', sha256: sha(bytes) }] }, { tenant: 1 });
    expect(errorOf(steal)).toMatchObject({ status: 'FAILED_PRECONDITION', message: expect.stringMatching(/was uploaded/) });
  });
});
