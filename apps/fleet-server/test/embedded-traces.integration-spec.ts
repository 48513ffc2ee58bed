/**
 * This server's own traces in embedded mode (issue 21): off by default, on
 * with one setting. The built server as one process exporting to an OTLP
 * receiver of the test; an agent selected for a configuration: one trace
 * from its first message through apply, reconcile and delivery to its
 * answer, every span from service fleet-server. (Off without the setting:
 * libs/config tracing-env.spec.ts.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C, RemoteConfigStatuses } from '@opamp/protocol';
import { embeddedRest, type EmbeddedServerProcess, OtlpTraceReceiver, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const CONFIG = 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n';

async function selectedAgent(server: EmbeddedServerProcess): Promise<SimulatedAgent> {
  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);
  expect((await rest('POST', '/configurations', { name: 'traced', files: { 'collector.yaml': { body: CONFIG, contentType: 'text/yaml' } } })).status).toBe(200);
  expect((await rest('POST', '/assignments', { name: 'traced', configurationName: 'traced', selector: 'env=traced', priority: 1 })).status).toBe(200);
  const agent = new SimulatedAgent({
    endpoint: server.ws,
    headers: { Authorization: `Bearer ${server.agentToken}` },
    description: { identifying: { 'service.name': 'otelcol' }, nonIdentifying: { env: 'traced', 'os.type': 'linux' } },
    capabilities: C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig | C.ReportsHeartbeat,
    heartbeatIntervalMs: 30_000,
    reconnect: { initialMs: 100, maxMs: 1_000 },
  });
  agent.on('error', () => undefined);
  agent.start();
  await waitFor(() => agent.remoteConfigStatus.status, (s) => s === RemoteConfigStatuses.RemoteConfigStatuses_APPLIED, { description: 'the configuration applied', timeoutMs: 20_000 });
  return agent;
}

describe('traces in embedded mode', () => {
  const receiver = new OtlpTraceReceiver();
  let server: EmbeddedServerProcess | null = null;
  let agent: SimulatedAgent | null = null;

  beforeAll(() => receiver.start());
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
    await receiver.stop();
  });

  it('with OPAMP_TRACING_OTLP_ENDPOINT: one trace from the agent message to its answer, all in fleet-server', async () => {
    server = await startEmbeddedServerProcess({
      dataDir: mkdtempSync(join(tmpdir(), 'fleet-traces-')),
      env: { OPAMP_TRACING_OTLP_ENDPOINT: receiver.url, OPAMP_TRACING_SAMPLE_RATIO: '1' },
    });
    agent = await selectedAgent(server);
    const uid = agent.instanceUid.toString('hex');
    const chain = await waitFor(() => receiver.agentLoop(uid), (c) => c !== null, { description: 'a trace from the first message to the answer', timeoutMs: 30_000, intervalMs: 200 });
    const c = chain!;
    const steps = [c.receive, c.apply, c.reconcile, c.deliver, c.answer, c.answerApplied];
    expect(steps.map((s) => s.name)).toEqual(['opamp.receive', 'ingest.apply', 'config.reconcile', 'opamp.deliver', 'opamp.receive', 'ingest.apply']);
    expect(new Set(steps.map((s) => s.service))).toEqual(new Set(['fleet-server']));
  }, 120_000);
});
