/**
 * Packages with a real client (issue 17, item 6): the opamp-go test agent's
 * package syncer against the built embedded server, over WebSocket and plain
 * HTTP. A version with an uploaded file, assigned to a group, is downloaded
 * from this server's gateway, its hash checked by the agent, INSTALLED
 * reported and shown, and the agent describes itself with the new version;
 * moving the assignment back installs the older version. A URL file whose
 * bytes changed after registration is refused by the agent and shown as
 * INSTALL_FAILED, and not offered again. A download cut mid-way: opamp-go
 * neither resumes nor retries (INSTALL_FAILED); the agent's resuming
 * download client continues it with Range against our gateway (206).
 *
 * Downloads go through a proxy (DownloadCutProxy) that can cut one: the
 * server's public URL is the proxy's, so its download addresses are too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DownloadCutProxy, type OpampGoAgentProcess, PackageFileServer, uniqueName, waitFor } from '@opamp/testing';
import { GoAgentBed } from './harness/go-agent-bed';

type AgentOptions = Parameters<GoAgentBed['startAgent']>[0];

interface ApiPackageStatus {
  name: string;
  agentHasVersion: string;
  serverOfferedVersion: string;
  status: string;
  errorMessage: string;
}
interface ApiAgent {
  connected: boolean;
  credential?: { state: string };
  labels: Record<string, string>;
  packageStatuses: ApiPackageStatus[];
}
interface AgentPackages {
  state: string;
  desiredHash: string;
  reportedHash: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const PLATFORM = { os: 'linux', arch: 'amd64' };
const FILE_BYTES = 256 * 1024;

describe('packages with the opamp-go package syncer against the embedded server', () => {
  const proxy = new DownloadCutProxy();
  let bed: GoAgentBed;
  let files: PackageFileServer;

  beforeAll(async () => {
    await proxy.listen();
    files = await PackageFileServer.start();
    bed = new GoAgentBed('opamp-go-packages', {
      OPAMP_PUBLIC_OPAMP_URL: `ws://127.0.0.1:${proxy.port}/v1/opamp`,
      // The heartbeat its settings offers give: plain HTTP gets an offer on its next poll.
      OPAMP_HEARTBEAT_INTERVAL_S: '1',
      // A failed install is offered once more, 3 s after its failure (the default waits minutes).
      OPAMP_PACKAGE_RETRY_BACKOFF_MS: '3000',
      OPAMP_PACKAGE_RETRY_SWEEP_MS: '250',
      // The loopback artifact store is the one URL files may come from.
      OPAMP_PACKAGE_URL_ALLOW: files.url('/'),
    });
    await bed.start();
    proxy.forwardTo(Number(new URL(bed.server.http).port));
  }, 600_000);
  afterAll(async () => {
    await bed?.stop();
    await files?.close();
    await proxy.close();
  });

  const transports = [
    { transport: 'websocket', endpoint: () => bed.server.ws },
    { transport: 'http', endpoint: () => bed.server.http },
  ];
  const agentByUid = (uid: string) => bed.call<ApiAgent>('GET', `/agents/${uid}`);
  const packagesOf = (uid: string) => bed.call<AgentPackages>('GET', `/agents/${uid}/packages`);
  const statusOf = (a: ApiAgent, name: string) => a.packageStatuses.find((p) => p.name === name);

  async function upload(bytes: Buffer): Promise<string> {
    const res = await fetch(`${bed.server.api}/package-files`, { method: 'POST', headers: { authorization: `Bearer ${bed.server.adminToken}`, 'content-type': 'application/octet-stream' }, body: bytes });
    expect(res.status).toBe(200);
    return sha(bytes);
  }

  /** A package of the agent kind with these versions (uploaded bytes, or a URL with the hash it is registered with). */
  async function register(name: string, versions: Record<string, { bytes: Buffer } | { url: string; sha256: string }>): Promise<void> {
    await bed.call('POST', '/packages', { name, kind: 'PACKAGE_KIND_AGENT' });
    for (const [version, f] of Object.entries(versions)) {
      const file = 'bytes' in f ? { ...PLATFORM, sha256: await upload(f.bytes) } : { ...PLATFORM, url: f.url, sha256: f.sha256 };
      await bed.call('POST', `/packages/${name}/versions`, { version, files: [file] });
    }
  }

  /** An agent whose own package is `pkg`, connected and on the credential of its own (the switch is done). */
  async function agentOf(transport: string, endpoint: string, pkg: string, extra: { resumeDownloads?: boolean } = {}) {
    const env = uniqueName(`gopkg-${transport}`);
    const options: AgentOptions = {
      endpoint,
      token: bed.server.agentToken,
      labels: { env, 'host.arch': PLATFORM.arch },
      heartbeatSeconds: 1,
      // Accepted settings kept, so a restarted agent comes back on its own credential.
      stateDir: join(bed.work, `state-${env}`),
      packagesDir: join(bed.work, `packages-${env}`),
      agentPackage: pkg,
      ...extra,
    };
    const agent = await started(options);
    return { agent, env, options };
  }

  async function started(options: AgentOptions): Promise<OpampGoAgentProcess> {
    const agent = await bed.startAgent(options);
    await agent.waitForEvent((e) => e.event === 'connected', 30_000, 'connected');
    await waitFor(() => agentByUid(agent.uid).catch(() => null), (a) => a !== null && a.connected && a.credential?.state === 'ACTIVE', {
      timeoutMs: 30_000,
      description: 'the agent connected on a credential of its own',
    });
    return agent;
  }

  const assign = (name: string, env: string, version: string, method: 'POST' | 'PUT' = 'POST') =>
    bed.call(method, method === 'POST' ? '/package-assignments' : `/package-assignments/${name}`, { name, selector: `env=${env}`, priority: 10, packages: [{ packageName: name, version }] });

  it.each(transports)('$transport: installs an uploaded version (hash checked, INSTALLED shown, version changed), then a downgrade', async ({ transport, endpoint }) => {
    const pkg = uniqueName('goagent');
    const v1 = randomBytes(FILE_BYTES);
    const v2 = randomBytes(FILE_BYTES + 17);
    await register(pkg, { '1.0.0': { bytes: v1 }, '2.0.0': { bytes: v2 } });
    const { agent, env } = await agentOf(transport, endpoint(), pkg);
    expect((await agentByUid(agent.uid)).labels['service.version']).toBe('0.23.0');

    await assign(pkg, env, '2.0.0');
    const installed = await agent.waitForEvent((e) => e.event === 'agent_version' && e.version === '2.0.0', 60_000, 'version 2.0.0 installed');
    const downloaded = agent.events.filter((e) => e.event === 'package_downloaded');
    expect(downloaded.map((e) => [e.name, e.sha256, e.bytes])).toEqual([[pkg, sha(v2), v2.length]]);
    // From this server's gateway (through the proxy in front of it), the whole file in one 200.
    expect(agent.events.filter((e) => e.event === 'download_response').map((e) => [e.path, e.status])).toEqual([[`/v1/packages/files/${sha(v2)}`, 200]]);
    expect(installed.time > downloaded[0].time).toBe(true);

    const shown = await waitFor(() => agentByUid(agent.uid), (a) => a.labels['service.version'] === '2.0.0' && statusOf(a, pkg)?.status === 'PACKAGE_STATE_INSTALLED', {
      timeoutMs: 30_000,
      description: 'INSTALLED and the new version shown',
    });
    expect(statusOf(shown, pkg)).toMatchObject({ agentHasVersion: '2.0.0', serverOfferedVersion: '2.0.0', errorMessage: '' });
    const state = await waitFor(() => packagesOf(agent.uid), (p) => p.state === 'in_sync', { timeoutMs: 30_000, description: 'in_sync' });
    expect(state.reportedHash).toBe(state.desiredHash);

    // The downgrade (what a rollback does): the assignment moved back to 1.0.0.
    await assign(pkg, env, '1.0.0', 'PUT');
    await agent.waitForEvent((e) => e.event === 'agent_version' && e.version === '1.0.0', 60_000, 'version 1.0.0 installed');
    expect(agent.events.filter((e) => e.event === 'package_downloaded').map((e) => e.sha256)).toEqual([sha(v2), sha(v1)]);
    const back = await waitFor(() => agentByUid(agent.uid), (a) => a.labels['service.version'] === '1.0.0' && statusOf(a, pkg)?.agentHasVersion === '1.0.0', {
      timeoutMs: 30_000,
      description: 'the older version shown',
    });
    expect(statusOf(back, pkg)?.status).toBe('PACKAGE_STATE_INSTALLED');
    expect(agent.events.filter((e) => e.event === 'package_refused')).toEqual([]);
    // A signed address's query never reaches the agent's output.
    expect(JSON.stringify(agent.events)).not.toMatch(/[?&](sig|signature|expires)=/i);
  });

  it.each(transports)('$transport: a file whose bytes no longer match its hash is refused by the agent, shown as INSTALL_FAILED, offered once more after the back-off, then not again', async ({ transport, endpoint }) => {
    const pkg = uniqueName('goagent-bad');
    const registered = randomBytes(FILE_BYTES);
    const path = `/${pkg}/agent.bin`;
    const url = files.put(path, registered);
    await register(pkg, { '3.0.0': { url, sha256: sha(registered) } });
    // The artifact store's file changes after its hash was checked at registration.
    const changed = randomBytes(FILE_BYTES);
    files.put(path, changed);
    const { agent, env, options } = await agentOf(transport, endpoint(), pkg);

    await assign(pkg, env, '3.0.0');
    const refused = await agent.waitForEvent((e) => e.event === 'package_refused', 60_000, 'the file refused');
    expect(refused).toMatchObject({ name: pkg, sha256: sha(changed), offeredSha256: sha(registered) });
    const synced = await agent.waitForEvent((e) => e.event === 'packages_synced', 30_000, 'the sync ended');
    expect((synced.statuses as Record<string, { status: string; error: string }>)[pkg]).toMatchObject({ status: 'PackageStatusEnum_InstallFailed', error: expect.stringContaining('content hash mismatch') });

    const failed = await waitFor(() => agentByUid(agent.uid), (a) => statusOf(a, pkg)?.status === 'PACKAGE_STATE_INSTALL_FAILED', { timeoutMs: 30_000, description: 'INSTALL_FAILED shown' });
    expect(statusOf(failed, pkg)?.errorMessage).toContain('content hash mismatch');
    expect(failed.labels['service.version']).toBe('0.23.0');
    // The one retry (OPAMP_PACKAGE_RETRY_BACKOFF_MS) comes under another set hash, which opamp-go syncs; it fails the same way.
    await agent.waitForEvent((e) => e.event === 'package_refused' && agent.events.filter((x) => x.event === 'package_refused').length === 2, 60_000, 'the retry refused too');
    expect((await waitFor(() => packagesOf(agent.uid), (p) => p.state === 'install_failed', { timeoutMs: 30_000, description: 'install_failed' })).state).toBe('install_failed');
    const offered = agent.events.filter((e) => e.event === 'packages_offered');
    expect(offered).toHaveLength(2);

    // Not again, also not after a reconnection (the connection, description and package statuses
    // events that make the server decide again): the restarted agent reports its stored statuses.
    expect(await agent.terminate()).toBe(0);
    const again = await started({ ...options, uid: agent.uid });
    await waitFor(() => agentByUid(agent.uid), (a) => a.connected && statusOf(a, pkg)?.status === 'PACKAGE_STATE_INSTALL_FAILED', { timeoutMs: 30_000, description: 'reconnected, still INSTALL_FAILED' });
    // An absence has no event to wait for: a window in which an offer would have come (pushed at
    // once over WebSocket, on one of three 1 s polls over HTTP).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(again.events.filter((e) => e.event === 'packages_offered')).toEqual([]);
    expect(agent.events.filter((e) => e.event === 'packages_offered')).toHaveLength(2);
    expect(files.requests.filter((p) => p === path)).toHaveLength(3); // the registration's check, the agent's download and its retry
    expect((await packagesOf(agent.uid)).state).toBe('install_failed');
  });

  it('websocket: a download cut mid-way fails in plain opamp-go (no Range, no retry of its own): INSTALL_FAILED; the server offers the set again after its back-off and it installs', async () => {
    const pkg = uniqueName('goagent-cut');
    const bytes = randomBytes(FILE_BYTES);
    await register(pkg, { '1.0.0': { bytes } });
    const { agent, env } = await agentOf('websocket', bed.server.ws, pkg);
    const seen = proxy.downloads.length;
    proxy.cutNext(100_000);
    await assign(pkg, env, '1.0.0');
    const synced = await agent.waitForEvent((e) => e.event === 'packages_synced', 60_000, 'the sync ended');
    expect((synced.statuses as Record<string, { status: string; error: string }>)[pkg]).toMatchObject({ status: 'PackageStatusEnum_InstallFailed', error: expect.stringContaining('download broke off') });
    expect(proxy.downloads.slice(seen, seen + 1)).toEqual([{ path: `/v1/packages/files/${sha(bytes)}`, range: '', cut: true, corrupted: false }]);
    expect(agent.events.filter((e) => e.event === 'agent_version')).toEqual([]);
    // Left alone, plain opamp-go stays on INSTALL_FAILED: the server's retry (a new set hash) makes it download again.
    await agent.waitForEvent((e) => e.event === 'agent_version' && e.version === '1.0.0', 60_000, 'version 1.0.0 installed by the retry');
    expect(proxy.downloads.slice(seen)).toEqual([
      { path: `/v1/packages/files/${sha(bytes)}`, range: '', cut: true, corrupted: false },
      { path: `/v1/packages/files/${sha(bytes)}`, range: '', cut: false, corrupted: false },
    ]);
    await waitFor(() => packagesOf(agent.uid), (p) => p.state === 'in_sync', { timeoutMs: 30_000, description: 'in sync after the retry' });
  });

  it.each(transports)('$transport: a download cut mid-way is resumed with Range by the agent download client; our gateway answers 206, the hash holds', async ({ transport, endpoint }) => {
    const pkg = uniqueName('goagent-resume');
    const bytes = randomBytes(FILE_BYTES);
    await register(pkg, { '1.0.0': { bytes } });
    const { agent, env } = await agentOf(transport, endpoint(), pkg, { resumeDownloads: true });
    const seen = proxy.downloads.length;
    proxy.cutNext(100_000);
    await assign(pkg, env, '1.0.0');
    await agent.waitForEvent((e) => e.event === 'agent_version' && e.version === '1.0.0', 60_000, 'version 1.0.0 installed');
    const resumed = agent.events.filter((e) => e.event === 'download_resumed');
    expect(resumed).toHaveLength(1);
    const offset = resumed[0].offset as number;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(bytes.length);
    expect(resumed[0]).toMatchObject({ status: 206, contentRange: `bytes ${offset}-${bytes.length - 1}/${bytes.length}` });
    expect(proxy.downloads.slice(seen)).toEqual([
      { path: `/v1/packages/files/${sha(bytes)}`, range: '', cut: true, corrupted: false },
      { path: `/v1/packages/files/${sha(bytes)}`, range: `bytes=${offset}-`, cut: false, corrupted: false },
    ]);
    expect(agent.events.filter((e) => e.event === 'package_downloaded').map((e) => [e.sha256, e.bytes])).toEqual([[sha(bytes), bytes.length]]);
    await waitFor(() => agentByUid(agent.uid), (a) => a.labels['service.version'] === '1.0.0' && statusOf(a, pkg)?.status === 'PACKAGE_STATE_INSTALLED', {
      timeoutMs: 30_000,
      description: 'INSTALLED and the version shown',
    });
  });
});
