/**
 * A rollout stopped by its own-telemetry gate, the whole path in embedded
 * mode (issue 19 items 5 and 6): the built server as one process and
 * simulated agents as the swarm runs them (ReportsOwnMetrics, profile
 * ownMetrics with failingExport), offered this server's receiver as their
 * own_metrics destination. Version 2 of their configuration makes their
 * exporter fail most items (ownMetrics.failingExport); the server keeps
 * their OTLP metrics, the driver compares the batch's before and after,
 * fails the batch and rolls it back; the agents outside it never see
 * version 2.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { embeddedRest, type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'fleet-otgate-'));
const MARKER = '# exporter: unreachable';
const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {otlphttp: {endpoint: 'https://backend:4318'}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [otlphttp]}}}\n# ${tag}\n`;

describe('a rollout gated on own telemetry in embedded mode', () => {
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];
  /** Config hashes each agent was offered, in order. */
  const offered = new Map<SimulatedAgent, string[]>();
  const call = async (method: string, path: string, payload?: unknown): Promise<Record<string, unknown>> => {
    const r = await embeddedRest(server, method, path, payload);
    if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json;
  };

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir });
  }, 90_000);

  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
  });

  it('agents that fail to export on the new version stop it in the first batch; it is rolled back, the rest untouched', async () => {
    await call('PUT', '/tenant-settings', { ownTelemetryToServer: true });
    await call('POST', '/configurations', { name: 'pipe', files: { 'c.yaml': { body: body('v1'), contentType: 'text/yaml' } } });
    await call('POST', '/assignments', { name: 'pipe', configurationName: 'pipe', pinnedVersion: 1, selector: 'fleet=gate' });
    for (let i = 0; i < 4; i++) {
      const a = new SimulatedAgent({
        endpoint: server.ws,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol-contrib', fleet: 'gate' }, nonIdentifying: { 'os.type': 'linux' } },
        capabilities:
          C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig | C.AcceptsOpAMPConnectionSettings | C.ReportsHeartbeat | C.ReportsHealth | C.ReportsOwnMetrics,
        heartbeatIntervalMs: 1_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
        ownMetrics: { intervalMs: 250, naming: i % 2 ? 'older' : 'newer', failingExport: { whenConfigContains: MARKER } },
      });
      offered.set(a, []);
      a.on('remoteConfig', (e) => offered.get(a)!.push(Buffer.from(e.hash).toString('hex')));
      agents.push(a);
      a.start();
    }
    const uid = (a: SimulatedAgent) => a.instanceUid.toString('hex');
    await waitFor(() => agents.map((a) => offered.get(a)!.length), (n) => n.every((x) => x === 1), { description: 'version 1 offered to every agent', timeoutMs: 20_000 });
    const v1 = offered.get(agents[0])![0];
    const v2 = String((await call('PUT', '/configurations/pipe', { files: { 'c.yaml': { body: body(`v2\n${MARKER}`), contentType: 'text/yaml' } } }))['contentHash']);
    // Every agent's metrics reach the server through its receiver: a window of exporter rates on version 1.
    for (const a of agents) {
      await waitFor(
        () => call('GET', `/agents/${uid(a)}/own-metrics?kinds=exporter_sent`),
        (r) => ((r['series'] as { points: unknown[] }[] | undefined) ?? []).some((s) => s.points.length >= 10),
        { description: `own metrics of ${uid(a)}`, timeoutMs: 30_000 },
      );
    }
    await call('POST', '/rollouts', {
      name: 'pipe-v2',
      assignmentName: 'pipe',
      strategy: { batchSize: 2 },
      gates: { ownTelemetry: { windowSeconds: 2 } },
      soakTimeMs: 100,
      autoRollback: true,
      start: true,
    });
    const r = await waitFor(() => call('GET', '/rollouts/pipe-v2'), (x) => x['state'] === 'ROLLOUT_STATE_ROLLED_BACK', { description: 'rolled back', timeoutMs: 40_000 });
    expect(String(r['stateReason'])).toMatch(/^batch 1 'batch-1' failed its gate: own telemetry of 2 agents: export failures up \d+(\.\d+)? points/);
    const events = (await call('GET', '/rollouts/pipe-v2/events?pageSize=1000'))['events'] as Array<{ type: string; detailsJson: string }>;
    const gate = JSON.parse(events.find((e) => e.type === 'own_telemetry_gate')!.detailsJson) as { decision: string; comparable: number; exportFailurePercent: { before: number; after: number } };
    expect(gate).toMatchObject({ decision: 'failed', comparable: 2 });
    expect(gate.exportFailurePercent.before).toBeLessThan(5);
    expect(gate.exportFailurePercent.after).toBeGreaterThan(60);

    const moved = agents.filter((a) => offered.get(a)!.includes(v2));
    expect(moved).toHaveLength(2);
    for (const a of moved) await waitFor(() => offered.get(a)!, (h) => h[h.length - 1] === v1, { description: 'canary offered version 1 again' });
    for (const a of agents.filter((x) => !moved.includes(x))) expect(offered.get(a)).toEqual([v1]);
  }, 120_000);
});
