/**
 * Agents' own telemetry in embedded mode (issue 19): the built server as one
 * process, a simulated agent that reports its own metrics and accepts OpAMP
 * connection settings. With the tenant setting on, it is offered
 * own_metrics (this server's receiver, its own credential); what it POSTs
 * there (OTLP protobuf, gzip'd) is counted in process and shown in GetAgent;
 * malformed OTLP is refused with 400 and a gzip bomb with 413, as in the
 * distributed gateway, and the server goes on. The metrics it sent are
 * stored as own-metric points (issue 19 item 3), counted on /metrics.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { collectorOwnMetrics, embeddedRest, type EmbeddedServerProcess, postOtlp, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'fleet-owntel-'));

describe("agents' own telemetry in embedded mode", () => {
  let server: EmbeddedServerProcess;
  let agent: SimulatedAgent | null = null;
  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir });
  }, 90_000);

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
  });

  it('offers this server to a ReportsOwnMetrics agent, counts what it sends, and refuses malformed bodies and gzip bombs', async () => {
    expect((await rest('PUT', '/tenant-settings', { ownTelemetryToServer: true })).json).toMatchObject({ ownTelemetryToServer: true });
    agent = new SimulatedAgent({
      endpoint: server.ws,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      description: { identifying: { 'service.name': 'otelcol' }, nonIdentifying: { 'os.type': 'linux' } },
      capabilities: C.ReportsStatus | C.AcceptsOpAMPConnectionSettings | C.ReportsHeartbeat | C.ReportsOwnMetrics,
      heartbeatIntervalMs: 1_000,
      reconnect: { initialMs: 100, maxMs: 1_000 },
    });
    agent.start();
    const a = agent;
    const offer = await waitFor(() => a.received.find((m) => m.connectionSettings?.ownMetrics), (m) => m !== undefined, { description: 'an own_metrics offer', timeoutMs: 20_000 });
    const ownMetrics = offer!.connectionSettings!.ownMetrics!;
    const opampAuth = offer!.connectionSettings!.opamp!.headers!.headers!.find((h) => h.key === 'Authorization')!.value!;
    const auth = ownMetrics.headers!.headers!.find((h) => h.key === 'Authorization')!.value!;
    // The agent's own credential, the one its OpAMP settings carry.
    expect(auth).toBe(opampAuth);
    const endpoint = new URL(ownMetrics.destinationEndpoint!);
    expect(endpoint.pathname).toBe('/v1/metrics');
    expect(endpoint.origin).toBe(new URL(server.http).origin);

    const credential = auth.replace(/^Bearer /, '');
    expect((await postOtlp(endpoint.origin, 'metrics', collectorOwnMetrics({ points: 3 }), { credential, encoding: 'protobuf', gzip: true })).status).toBe(200);
    const post = (body: Buffer, headers: Record<string, string>) =>
      fetch(endpoint, { method: 'POST', headers: { authorization: auth, ...headers }, body }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const malformed = await post(Buffer.from('{"resourceMetrics": "nope"}'), { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.text).toMatch(/not an OTLP metrics export request in JSON/);
    const bomb = await post(gzipSync(Buffer.alloc(64 * 1024 * 1024)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);
    expect((await postOtlp(endpoint.origin, 'metrics', collectorOwnMetrics({ points: 1 }), { credential })).status).toBe(200);

    const view = await waitFor(
      () => rest('GET', `/agents/${a.instanceUid.toString('hex')}`),
      (r) => r.json['ownTelemetry']?.dataPoints === '4',
      { description: 'the data points in GetAgent', timeoutMs: 20_000 },
    );
    expect(view.json['ownTelemetry']).toMatchObject({ spans: '0', logRecords: '0', lastReceivedTime: expect.stringMatching(/^\d{4}-/) });
    // Stored: the RSS gauge of both requests (the counters' first readings give no rate yet); nothing past the series cap.
    const sample = (text: string, name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.slice(name.length + 1));
    const scrape = await waitFor(
      () => fetch(`${server.base}/metrics`).then((r) => r.text()),
      (t) => sample(t, 'opamp_ingest_own_metric_points_stored_total') === 2,
      { description: 'two own-metric points stored', timeoutMs: 20_000 },
    );
    expect(sample(scrape, 'opamp_ingest_own_metric_points_over_series_cap_total')).toBe(0);
    expect(sample(scrape, 'opamp_ingest_own_metric_partition_sweeps_total')).toBeGreaterThanOrEqual(1);
  });
});
