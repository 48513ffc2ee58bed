/**
 * Agents' own metrics end to end in embedded mode (issue 19 item 3): the
 * built server as one process and simulated agents as the swarm runs them
 * (ReportsOwnMetrics, profile ownMetrics), one per Collector naming. Offered
 * this server's receiver as their own_metrics destination, they POST OTLP
 * protobuf there every half second; the server keeps the metrics and
 * GetAgentOwnMetrics shows each agent's exporter throughput as rates,
 * its process memory as a gauge, and its processors' items in the naming it used.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent, type OwnMetricNaming } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { embeddedRest, type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'fleet-ownmetrics-'));

interface Series {
  kind: string;
  component: string;
  signal: string;
  points: { value: number }[];
}

describe("agents' own metrics in embedded mode", () => {
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];
  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir });
  }, 90_000);

  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
  });

  it("a swarm agent's metrics reach the query API through the real receiver, in either naming", async () => {
    expect((await rest('PUT', '/tenant-settings', { ownTelemetryToServer: true })).json).toMatchObject({ ownTelemetryToServer: true });
    const start = (naming: OwnMetricNaming) => {
      const agent = new SimulatedAgent({
        endpoint: server.ws,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol-contrib' }, nonIdentifying: { 'os.type': 'linux', naming } },
        capabilities: C.ReportsStatus | C.AcceptsOpAMPConnectionSettings | C.ReportsHeartbeat | C.ReportsOwnMetrics,
        heartbeatIntervalMs: 1_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
        ownMetrics: { intervalMs: 500, naming, sendFailureRate: 0.05 },
      });
      agents.push(agent);
      agent.start();
      return agent;
    };
    const older = start('older');
    const newer = start('newer');

    const seriesOf = async (a: SimulatedAgent) =>
      (await waitFor(
        () => rest('GET', `/agents/${a.instanceUid.toString('hex')}/own-metrics`),
        (r) => r.status === 200 && ((r.json['series'] as Series[] | undefined) ?? []).some((s) => s.kind === 'exporter_sent' && s.points.length >= 2),
        { description: 'two exporter_sent rates of the agent', timeoutMs: 30_000 },
      )).json['series'] as Series[];

    for (const [agent, processorKinds] of [
      [older, ['processor_dropped']],
      [newer, ['processor_incoming', 'processor_outgoing']],
    ] as const) {
      const series = await seriesOf(agent);
      const sent = series.find((s) => s.kind === 'exporter_sent' && s.signal === 'spans')!;
      expect(sent.component).toBe('otlphttp');
      // Rates of a Collector moving ~100-300 spans a second.
      for (const p of sent.points) expect(p.value).toBeGreaterThan(10);
      const rss = series.find((s) => s.kind === 'process_memory_rss')!;
      expect(rss.points[0].value).toBeGreaterThan(10 * 1024 * 1024);
      const kinds = new Set(series.map((s) => s.kind));
      for (const k of ['receiver_accepted', 'exporter_send_failed', 'exporter_queue_size', 'process_cpu_seconds', ...processorKinds]) expect(kinds).toContain(k);
    }
    const newerQueues = (await seriesOf(newer)).filter((s) => s.kind === 'exporter_queue_size').map((s) => s.signal);
    expect(newerQueues.sort()).toEqual(['metric_points', 'spans']);
  }, 60_000);
});
