/**
 * The swarm's acceptPackages flag against the built embedded server: a
 * package version uploaded to the server is assigned to a small swarm
 * (WebSocket and plain HTTP, two worker processes); every agent downloads the
 * file from the server's download address, checks its SHA-256, reports it
 * INSTALLED and describes itself with the new version. The swarm counts the
 * installs, the bytes and the time each took; the API counts the group
 * installed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor, type EmbeddedServerProcess } from '@opamp/testing';
import { runSwarm, type SwarmHandle } from '../src';

const AGENTS = 24;
const WAIT = { timeoutMs: 60_000 };
const FILE = randomBytes(512 * 1024 + 3);

describe('swarm taking package offers (embedded server)', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarm-packages-'));
  let server: EmbeddedServerProcess;
  let swarm: SwarmHandle | undefined;

  const api = async (method: string, path: string, body?: unknown, raw?: Buffer): Promise<Record<string, unknown>> => {
    const res = await fetch(`${server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000 });
  }, 120_000);

  afterAll(async () => {
    await swarm?.stop();
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  it('downloads, verifies and installs an assigned package on every agent, counted by version with its bytes', async () => {
    swarm = await runSwarm({
      agents: AGENTS,
      endpoints: [server.ws, server.http],
      wsFraction: 0.5,
      workers: 2,
      rampPerSecond: 200,
      durationMs: 120_000,
      statsIntervalMs: 250,
      description: {
        services: [{ value: 'otelcol', weight: 1 }],
        serviceVersions: [{ value: '1.0.0', weight: 1 }],
        osTypes: [{ value: 'linux', weight: 1 }],
        extraLabels: { 'test.run': 'packages' },
      },
      agent: {
        headers: { Authorization: `Bearer ${server.agentToken}` },
        heartbeatIntervalMs: 5_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
        acceptPackages: true,
      },
    });
    await swarm.waitConnected(30_000);
    await api('POST', '/package-files', undefined, FILE);
    await api('POST', '/packages', { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' });
    await api('POST', '/packages/otelcol/versions', { version: '2.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: createHash('sha256').update(FILE).digest('hex') }] });
    await api('POST', '/package-assignments', { name: 'swarm', selector: 'test.run=packages', packages: [{ packageName: 'otelcol', version: '2.0.0' }] });

    const done = await waitFor(() => swarm!.progress(), (p) => (p.packages['installed 2.0.0'] ?? 0) >= AGENTS, { ...WAIT, description: 'every agent installed 2.0.0' });
    expect(done.packages).toEqual({ 'downloading 2.0.0': AGENTS, 'installed 2.0.0': AGENTS, bytes: AGENTS * FILE.length, resumes: 0, busy_waits: 0 });
    expect(done.errors).toEqual({});
    await waitFor(() => api('GET', '/package-assignments/swarm/status'), (s) => s['installed'] === AGENTS, { ...WAIT, description: 'the API counts the group installed' });

    const report = await swarm.stop();
    swarm = undefined;
    expect(report.packages.counts['installed 2.0.0']).toBe(AGENTS);
    expect(report.packages.installMs.count).toBe(AGENTS);
    expect(report.packages.installMs.max).toBeGreaterThan(0);
  });
});
