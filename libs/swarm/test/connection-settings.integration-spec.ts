/**
 * The swarm's followConnectionSettings flag against the built embedded
 * server: every agent of a small swarm (WebSocket and plain HTTP, two worker
 * processes) enrolls with the tenant's token, takes the credential it is
 * offered and reports APPLIED; a rotation of the whole swarm by one selector
 * moves every agent to a new credential, and no connection is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor, type EmbeddedServerProcess } from '@opamp/testing';
import { runSwarm, type SwarmHandle } from '../src';

const AGENTS = 40;
const WAIT = { timeoutMs: 45_000 };

describe('swarm following connection settings offers (embedded server)', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarm-settings-'));
  let server: EmbeddedServerProcess;
  let swarm: SwarmHandle | undefined;

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000 });
  }, 120_000);

  afterAll(async () => {
    await swarm?.stop();
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  it('enrolls every agent onto its own credential and rotates them all without a refused connection', async () => {
    swarm = await runSwarm({
      agents: AGENTS,
      endpoints: [server.ws],
      wsFraction: 0.5,
      workers: 2,
      rampPerSecond: 200,
      durationMs: 100_000,
      statsIntervalMs: 250,
      description: { extraLabels: { 'test.run': 'settings' } },
      agent: {
        headers: { Authorization: `Bearer ${server.agentToken}` },
        heartbeatIntervalMs: 5_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
        followConnectionSettings: true,
      },
    });
    await swarm.waitConnected(30_000);
    await waitFor(() => swarm!.progress(), (p) => (p.connectionSettings['APPLIED'] ?? 0) >= AGENTS, { ...WAIT, description: 'every agent on its own credential' });

    const rotated = await fetch(`${server.api}/agent-credentials:rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ selector: 'test.run=settings' }),
    });
    expect(await rotated.json()).toEqual({ agents: AGENTS, credentials: AGENTS });
    const done = await waitFor(() => swarm!.progress(), (p) => (p.connectionSettings['APPLIED'] ?? 0) >= 2 * AGENTS, { ...WAIT, description: 'every agent on its new credential' });
    expect(done.connectionSettings).toEqual({ APPLYING: 2 * AGENTS, APPLIED: 2 * AGENTS });
    expect(done.errors).toEqual({});

    const report = await swarm.stop();
    swarm = undefined;
    expect(report.connectionSettings).toEqual({ APPLYING: 2 * AGENTS, APPLIED: 2 * AGENTS });
  });
});
