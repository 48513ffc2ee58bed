/**
 * Package files in the embedded mode (issue 17, items 1-2): the built server
 * as one process stores an upload in its own (embedded) PostgreSQL, registers
 * a version naming it, and its gateway port serves the file to the agent
 * token and to a signed address (the key derived from the credential key in
 * the data directory), with Range, ETag and 304, and 401 for a wrong credential;
 * a package assignment reaches simulated agents over WebSocket and plain
 * HTTP as PackagesAvailable whose address serves the bytes of its hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { derivePackageUrlKey, packageDownloadUrl, PACKAGE_FILES_PATH } from '@opamp/contracts';
import { AgentCapabilities as C } from '@opamp/protocol';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('embedded package files (one process, embedded PostgreSQL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-packages-'));
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];
  const file = randomBytes(1024 * 1024 + 4321);

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
  });

  const gateway = () => server.http.replace(/\/v1\/opamp$/, '');
  const admin = { authorization: () => `Bearer ${server.adminToken}` };

  it('uploads, registers and serves a package file over the agent port', async () => {
    const up = await fetch(`${server.api}/package-files`, { method: 'POST', headers: { authorization: admin.authorization(), 'content-type': 'application/octet-stream' }, body: file });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ sha256: sha(file), sizeBytes: String(file.length) });
    const json = { authorization: admin.authorization(), 'content-type': 'application/json' };
    expect((await fetch(`${server.api}/packages`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' }) })).status).toBe(200);
    const version = await fetch(`${server.api}/packages/otelcol/versions`, { method: 'POST', headers: json, body: JSON.stringify({ version: '1.2.3', files: [{ os: 'linux', arch: 'amd64', sha256: sha(file) }] }) });
    expect(version.status).toBe(200);

    const path = `${gateway()}${PACKAGE_FILES_PATH}${sha(file)}`;
    const whole = await fetch(path, { headers: { authorization: `Bearer ${server.agentToken}` } });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(`"${sha(file)}"`);
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(sha(file));
    expect((await fetch(path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);

    const key = derivePackageUrlKey(readFileSync(join(dataDir, 'credential.key')));
    const signed = packageDownloadUrl(gateway(), key, { tenantId: 'default', sha256Hex: sha(file), expiresAtS: Math.floor(Date.now() / 1000) + 60 });
    const part = await fetch(signed, { headers: { range: 'bytes=1048570-' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(file.subarray(1048570))).toBe(true);
    expect((await fetch(signed, { headers: { 'if-none-match': `"${sha(file)}"` } })).status).toBe(304);
    expect((await fetch(signed, { headers: { range: `bytes=${file.length}-` } })).status).toBe(416);
  });

  it('offers a group the package over WebSocket and plain HTTP; the offered address serves the bytes of the offered hash (C72)', async () => {
    const agentOn = (endpoint: string) => {
      const a = new SimulatedAgent({
        endpoint,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol', fleet: 'edge' }, nonIdentifying: { 'os.type': 'linux', 'host.arch': 'amd64' } },
        capabilities: C.ReportsStatus | C.ReportsHeartbeat | C.AcceptsPackages,
        heartbeatIntervalMs: 1_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
      });
      agents.push(a);
      a.start();
      return a;
    };
    const ws = agentOn(server.ws);
    const http = agentOn(server.http);
    const json = { authorization: admin.authorization(), 'content-type': 'application/json' };
    await waitFor(
      async () => ((await (await fetch(`${server.api}/agents?connected=true&selector=${encodeURIComponent('fleet=edge')}`, { headers: json })).json()) as { agents?: unknown[] }).agents ?? [],
      (list) => list.length === 2,
      { description: 'both agents listed', timeoutMs: 20_000 },
    );
    const created = await fetch(`${server.api}/package-assignments`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'edge', selector: 'fleet=edge', packages: [{ packageName: 'otelcol', version: '1.2.3' }] }) });
    expect(created.status).toBe(200);
    for (const a of [ws, http]) {
      const msg = await waitFor(() => a.received.find((m) => m.packagesAvailable), (m) => m !== undefined, { description: 'the package offer', timeoutMs: 20_000 });
      const pkg = msg!.packagesAvailable!.packages!['otelcol'];
      expect(pkg.version).toBe('1.2.3');
      expect(msg!.packagesAvailable!.allPackagesHash?.length).toBe(32);
      const url = pkg.file!.downloadUrl!;
      expect(url.startsWith(`${gateway()}${PACKAGE_FILES_PATH}`)).toBe(true);
      const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(sha(bytes)).toBe(Buffer.from(pkg.file!.contentHash!).toString('hex'));
    }
  });
});
