/**
 * Push latency in embedded mode (issue 21): the built server as one process,
 * a simulated agent known to it before the change; an assignment selects it,
 * it applies the configuration, and the API port's /metrics has one
 * opamp_config_push_latency_seconds observation for the tenant, no longer
 * than the test took from the API call.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C, RemoteConfigStatuses } from '@opamp/protocol';
import { embeddedRest, type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const CONFIG = 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n';

/** count and sum of the push latency histogram of the one tenant that has it (null: no series yet). */
function latencyOf(text: string): { count: number; sum: number } | null {
  const count = /^opamp_config_push_latency_seconds_count\{tenant="[^"]+"\} (\S+)$/m.exec(text);
  const sum = /^opamp_config_push_latency_seconds_sum\{tenant="[^"]+"\} (\S+)$/m.exec(text);
  return count && sum ? { count: Number(count[1]), sum: Number(sum[1]) } : null;
}

describe('push latency in embedded mode', () => {
  let server: EmbeddedServerProcess | null = null;
  let agent: SimulatedAgent | null = null;

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
  });

  it('an assignment for a connected agent is one observation, from the API call until its APPLIED', async () => {
    server = await startEmbeddedServerProcess({ dataDir: mkdtempSync(join(tmpdir(), 'fleet-push-latency-')), basePort: 22_100 });
    const s = server;
    const rest = (method: string, path: string, body?: unknown) => embeddedRest(s, method, path, body);
    const metrics = () => fetch(s.api.replace(/\/api\/v1$/, '/metrics')).then((r) => r.text());
    agent = new SimulatedAgent({
      endpoint: s.ws,
      headers: { Authorization: `Bearer ${s.agentToken}` },
      description: { identifying: { 'service.name': 'otelcol' }, nonIdentifying: { env: 'latency', 'os.type': 'linux' } },
      capabilities: C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig | C.ReportsHeartbeat,
      heartbeatIntervalMs: 30_000,
      reconnect: { initialMs: 100, maxMs: 1_000 },
    });
    agent.on('error', () => undefined);
    agent.start();
    const uid = agent.instanceUid.toString('hex');
    // Known to the server and reconciled once (its decision recorded: nothing assigned) before the change.
    await waitFor(() => rest('GET', `/agents/${uid}`), (r) => r.status === 200 && r.json['connected'] === true, { description: 'the agent known', timeoutMs: 20_000 });
    await waitFor(async () => Number(/^opamp_config_reconciler_agents_evaluated_total (\S+)$/m.exec(await metrics())?.[1] ?? 0), (n) => n >= 1, { description: 'the agent reconciled', timeoutMs: 20_000 });
    expect((await rest('POST', '/configurations', { name: 'latency', files: { 'collector.yaml': { body: CONFIG, contentType: 'text/yaml' } } })).status).toBe(200);
    const start = Date.now();
    expect((await rest('POST', '/assignments', { name: 'latency', configurationName: 'latency', selector: 'env=latency', priority: 1 })).status).toBe(200);
    const a = agent;
    await waitFor(() => a.remoteConfigStatus.status, (st) => st === RemoteConfigStatuses.RemoteConfigStatuses_APPLIED, { description: 'the configuration applied', timeoutMs: 20_000 });
    const seen = await waitFor(async () => latencyOf(await metrics()), (l) => (l?.count ?? 0) >= 1, { description: 'the observation', timeoutMs: 20_000 });
    const elapsed = (Date.now() - start) / 1000;
    expect(seen!.count).toBe(1);
    expect(seen!.sum).toBeGreaterThan(0);
    expect(seen!.sum).toBeLessThanOrEqual(elapsed);
  }, 120_000);
});
