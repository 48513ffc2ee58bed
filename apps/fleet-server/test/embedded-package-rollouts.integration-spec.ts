/**
 * A staged package rollout in the embedded mode (issue 17 item 4): the built
 * server as one process drives a package assignment from otelcol 1.0.0 to
 * 1.1.0 over simulated agents that download and install what they are offered
 * from the server's gateway (agent-sim package-install.runner.ts), batch by batch to completion, each agent then
 * saying it runs 1.1.0 (service.version); the gate and rollback paths are
 * proven on the distributed services (config-service package-rollouts spec).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('embedded package rollout (one process, embedded PostgreSQL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-pkgroll-'));
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
  });

  const json = () => ({ authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' });
  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${server.api}${path}`, { method, headers: json(), body: body === undefined ? undefined : JSON.stringify(body) });
    const out = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(out)}`);
    return out;
  }
  const versionOf = (a: SimulatedAgent) => a.description?.identifying?.['service.version'];

  it('rolls otelcol 1.0.0 -> 1.1.0 out in batches to completion', async () => {
    for (const [version, file] of [
      ['1.0.0', randomBytes(2048)],
      ['1.1.0', randomBytes(3072)],
    ] as const) {
      const up = await fetch(`${server.api}/package-files`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' }, body: file });
      expect(up.status).toBe(200);
      if (version === '1.0.0') await call('POST', '/packages', { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' });
      await call('POST', '/packages/otelcol/versions', { version, files: [{ os: 'linux', arch: 'amd64', sha256: sha(file) }] });
    }
    for (const endpoint of [server.ws, server.ws, server.http]) {
      const a = new SimulatedAgent({
        endpoint,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol', 'service.version': '1.0.0', fleet: 'roll' }, nonIdentifying: { 'os.type': 'linux', 'host.arch': 'amd64' } },
        capabilities: C.ReportsStatus | C.ReportsHeartbeat | C.ReportsHealth | C.AcceptsPackages | C.ReportsPackageStatuses,
        agentPackage: 'otelcol',
        heartbeatIntervalMs: 1_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
      });
      agents.push(a);
      a.start();
    }
    await waitFor(
      async () => ((await call('GET', `/agents?connected=true&selector=${encodeURIComponent('fleet=roll')}`))['agents'] as unknown[] | undefined) ?? [],
      (list) => list.length === 3,
      { description: 'the agents listed', timeoutMs: 20_000 },
    );
    await call('POST', '/package-assignments', { name: 'roll', selector: 'fleet=roll', packages: [{ packageName: 'otelcol', version: '1.0.0' }] });
    const uids = agents.map((a) => a.instanceUid.toString('hex'));
    await waitFor(() => Promise.all(uids.map(async (u) => String((await call('GET', `/agents/${u}/packages`))['state']))), (s) => s.every((x) => x === 'in_sync'), {
      description: 'every agent in sync with 1.0.0',
      timeoutMs: 20_000,
    });
    const created = await call('POST', '/package-rollouts', {
      name: 'roll-1-1',
      packageAssignmentName: 'roll',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { batchSize: 1 },
      soakTimeMs: 200,
      start: true,
    });
    expect(created).toMatchObject({ state: 'ROLLOUT_STATE_RUNNING', totalAgents: 3 });
    const done = await waitFor(() => call('GET', '/package-rollouts/roll-1-1'), (r) => r['state'] === 'ROLLOUT_STATE_COMPLETED', { description: 'the rollout completed', timeoutMs: 30_000 });
    expect((done['batches'] as Array<{ state: string; agents: number }>).map((b) => [b.state, b.agents])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 1],
      ['ROLLOUT_BATCH_STATE_PASSED', 1],
      ['ROLLOUT_BATCH_STATE_PASSED', 1],
    ]);
    expect(agents.map(versionOf)).toEqual(['1.1.0', '1.1.0', '1.1.0']);
    expect((await call('GET', '/package-assignments/roll'))['packages']).toEqual([{ packageName: 'otelcol', version: '1.1.0' }]);
  });
});
