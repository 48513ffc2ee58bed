/**
 * Simulated agents installing packages (issue 17, item 6) from the built
 * embedded server's gateway download path (signed addresses, Range, ETag),
 * over WebSocket and plain HTTP: the package reconciler offers an assigned
 * version, the agent downloads it, a download cut mid-way is continued with
 * Range (206 from the gateway, the bytes hash to the offered hash), it
 * reports DOWNLOADING with download_details and then INSTALLED, and describes
 * itself with the new service.version; bytes changed on the way (a proxy
 * inverts one) fail the hash check: INSTALL_FAILED with the mismatch, the
 * version unchanged. Downloads go through a DownloadCutProxy: the server's
 * public URL is the proxy's, so its download addresses are too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCapabilities as C } from '@opamp/protocol';
import { DownloadCutProxy, embeddedRest, startEmbeddedServerProcess, stopEmbeddedServerProcess, uniqueName, waitFor, type EmbeddedServerProcess } from '@opamp/testing';
import { SimulatedAgent, type PackageInstallEvent } from '../src';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const WAIT = { timeoutMs: 30_000 };
const FILE_BYTES = 2 * 1024 * 1024 + 99;

interface ApiAgent {
  connected: boolean;
  labels: Record<string, string>;
  packageStatuses: Array<{ name: string; status: string; agentHasVersion: string; errorMessage: string }>;
}

describe('simulated agents install packages (embedded server, real gateway downloads)', () => {
  const work = mkdtempSync(join(tmpdir(), 'agent-sim-packages-'));
  const proxy = new DownloadCutProxy();
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];

  beforeAll(async () => {
    await proxy.listen();
    server = await startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000, env: { OPAMP_PUBLIC_OPAMP_URL: `ws://127.0.0.1:${proxy.port}/v1/opamp` } });
    proxy.forwardTo(Number(new URL(server.http).port));
  }, 120_000);
  afterAll(async () => {
    for (const a of agents) a.kill();
    if (server) await stopEmbeddedServerProcess(server);
    await proxy.close();
    rmSync(work, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await embeddedRest(server, method, path, body);
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  };
  const agentRow = async (uid: string) => (await api('GET', `/agents/${uid}`)) as ApiAgent;
  const statusOf = (a: ApiAgent, name: string) => a.packageStatuses.find((p) => p.name === name);

  /** A package of the agent kind with one uploaded version, assigned to the agents labelled env=<env>. */
  async function offered(pkg: string, env: string, bytes: Buffer): Promise<void> {
    const up = await fetch(`${server.api}/package-files`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' }, body: bytes });
    expect(up.status).toBe(200);
    await api('POST', '/packages', { name: pkg, kind: 'PACKAGE_KIND_AGENT' });
    await api('POST', `/packages/${pkg}/versions`, { version: '2.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(bytes) }] });
    await api('POST', '/package-assignments', { name: pkg, selector: `env=${env}`, packages: [{ packageName: pkg, version: '2.0.0' }] });
  }

  async function connectedAgent(endpoint: string, pkg: string, env: string): Promise<{ agent: SimulatedAgent; events: PackageInstallEvent[] }> {
    const agent = new SimulatedAgent({
      endpoint,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      description: { identifying: { 'service.name': pkg, 'service.version': '1.0.0' }, nonIdentifying: { 'os.type': 'linux', 'host.arch': 'amd64', env } },
      capabilities: C.ReportsStatus | C.ReportsHeartbeat | C.AcceptsPackages | C.ReportsPackageStatuses,
      heartbeatIntervalMs: 1_000,
      reconnect: { initialMs: 100, maxMs: 1_000 },
      // Every piece reports progress: on loopback a download takes milliseconds.
      packageProgressIntervalMs: 0,
    });
    agents.push(agent);
    const events: PackageInstallEvent[] = [];
    agent.on('packages', (e) => events.push(e));
    agent.start();
    await waitFor(() => agentRow(agent.instanceUidString).catch(() => null), (a) => a?.connected === true, { ...WAIT, description: 'the agent connected' });
    return { agent, events };
  }

  const transports = [
    { transport: 'websocket', endpoint: () => server.ws },
    { transport: 'http', endpoint: () => server.http },
  ];

  it.each(transports)('$transport: a download cut mid-way resumes with Range (206), DOWNLOADING with download details, INSTALLED, the new service.version', async ({ transport, endpoint }) => {
    const pkg = uniqueName(`simpkg-${transport}`);
    const env = uniqueName('simpkg-env');
    const bytes = randomBytes(FILE_BYTES);
    const { agent, events } = await connectedAgent(endpoint(), pkg, env);
    const seen = proxy.downloads.length;
    proxy.cutNext(700_000);
    await offered(pkg, env, bytes);

    const installed = await waitFor(() => events.find((e) => e.status !== 'downloading'), (e) => e !== undefined, { ...WAIT, description: 'installed or failed' });
    expect(installed).toEqual({ name: pkg, version: '2.0.0', status: 'installed', bytes: bytes.length, resumes: 1, busyWaits: 0 });
    const [cut, resumed] = proxy.downloads.slice(seen);
    expect(cut).toEqual({ path: `/v1/packages/files/${sha(bytes)}`, range: '', cut: true, corrupted: false });
    const offset = Number(/^bytes=(\d+)-$/.exec(resumed.range)?.[1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(bytes.length);
    expect(proxy.downloads.slice(seen)).toHaveLength(2);
    const progress = events.filter((e) => e.status === 'downloading' && e.downloadPercent !== undefined);
    expect(progress.some((e) => e.downloadPercent! > 0 && e.downloadPercent! < 100 && e.downloadBytesPerSecond! > 0)).toBe(true);
    expect(Math.max(...progress.map((e) => e.downloadPercent!))).toBe(100);

    const row = await waitFor(() => agentRow(agent.instanceUidString), (a) => a.labels['service.version'] === '2.0.0' && statusOf(a, pkg)?.status === 'PACKAGE_STATE_INSTALLED', {
      ...WAIT,
      description: 'INSTALLED and the new version shown',
    });
    expect(statusOf(row, pkg)).toMatchObject({ agentHasVersion: '2.0.0', errorMessage: '' });
    expect(agent.packageStatuses?.packages?.[pkg]?.downloadDetails ?? null).toBeNull();
    const state = await waitFor(() => api('GET', `/agents/${agent.instanceUidString}/packages`), (p) => p['state'] === 'in_sync', { ...WAIT, description: 'in_sync' });
    expect(state['reportedHash']).toBe(state['desiredHash']);
  });

  it.each(transports)('$transport: bytes changed on the way fail the hash check: INSTALL_FAILED with the mismatch, the version unchanged', async ({ transport, endpoint }) => {
    const pkg = uniqueName(`simpkg-bad-${transport}`);
    const env = uniqueName('simpkg-env');
    const bytes = randomBytes(FILE_BYTES);
    const { agent, events } = await connectedAgent(endpoint(), pkg, env);
    const seen = proxy.downloads.length;
    proxy.corruptNext(500_000);
    await offered(pkg, env, bytes);

    const failed = await waitFor(() => events.find((e) => e.status !== 'downloading'), (e) => e !== undefined, { ...WAIT, description: 'installed or failed' });
    expect(failed).toMatchObject({ name: pkg, version: '2.0.0', status: 'install_failed', error: expect.stringContaining('content hash mismatch') });
    expect(failed?.error).toContain(`the offer says ${sha(bytes)}`);
    expect(proxy.downloads.slice(seen)).toEqual([{ path: `/v1/packages/files/${sha(bytes)}`, range: '', cut: false, corrupted: true }]);

    const row = await waitFor(() => agentRow(agent.instanceUidString), (a) => statusOf(a, pkg)?.status === 'PACKAGE_STATE_INSTALL_FAILED', { ...WAIT, description: 'INSTALL_FAILED shown' });
    expect(statusOf(row, pkg)?.errorMessage).toContain('content hash mismatch');
    expect(row.labels['service.version']).toBe('1.0.0');
    // Offered again after the server's retry back-off (minutes by default): waiting for it now.
    expect((await waitFor(() => api('GET', `/agents/${agent.instanceUidString}/packages`), (p) => p['state'] === 'install_retry_pending', { ...WAIT, description: 'install_retry_pending' }))['state']).toBe('install_retry_pending');
  });
});
