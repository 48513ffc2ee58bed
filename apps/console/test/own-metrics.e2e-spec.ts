/**
 * Agents' own telemetry in the console end to end (issue 19 item 4): the
 * built embedded server as a process, simulated agents that send their own
 * metrics (OTLP, one per Collector naming) to the server's receiver, headless
 * Chromium. The agent page charts throughput, refused/failed items, queue
 * fill, CPU and memory on canvases that update live and switch to the
 * rollups for 7 days; a rollout's page compares its batch's agents before and
 * after the batch started; the configuration's page compares the version's
 * agents with those on the previous one; once the agents stop, every legend's
 * value on the agent page and the overview's fleet charts equals what the
 * API's numbers give. Screenshots go to tmp/console-screenshots/own-metrics-*.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent, type OwnMetricNaming } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { openConsoleBrowser, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor, type ConsoleBrowser, type EmbeddedServerProcess } from '@opamp/testing';
import { AGENT_CHARTS, agentTotals, chartData, GROUP_CHARTS, groupTotals, latestValue, type AgentOwnMetricsResponse, type ChartSpec, type FleetOwnMetricsResponse, type KindTotals } from '../src/lib/own-metrics';

const repo = join(__dirname, '..', '..', '..');
const body = (tag: string) => `receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {otlphttp: {endpoint: https://telemetry.example}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [otlphttp]}}}\n# ${tag}\n`;
const files = (tag: string) => ({ 'collector.yaml': { body: body(tag), contentType: 'text/yaml' } });

describe("console: agents' own telemetry (embedded server, simulated agents sending OTLP, headless Chromium)", () => {
  const work = mkdtempSync(join(tmpdir(), 'console-own-metrics-'));
  let server: EmbeddedServerProcess;
  let browser: ConsoleBrowser;
  const agents: SimulatedAgent[] = [];
  const page = () => browser.page;
  const uid = (a: SimulatedAgent) => a.instanceUid.toString('hex');

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rest = async <T = Record<string, any>>(method: string, path: string, bodyJson?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: bodyJson === undefined ? undefined : JSON.stringify(bodyJson),
    });
    return { status: res.status, json: (await res.json()) as T };
  };

  /** Each chart line's latest value as the legend on screen holds it. */
  const legendValues = async (prefix: string, charts: readonly ChartSpec[]) => {
    const out: Record<string, number | null> = {};
    for (const c of charts) {
      for (const l of c.lines) {
        const v = await page().getByTestId(`${prefix}-${c.id}-${l.key}`).getAttribute('data-value');
        out[`${c.id}.${l.key}`] = v === null || v === '' ? null : Number(v);
      }
    }
    return out;
  };
  /** The same from the API's numbers, computed as the page does. */
  const expectedValues = (charts: readonly ChartSpec[], totals: KindTotals, stepMs: number) => {
    const out: Record<string, number | null> = {};
    for (const c of charts) {
      const d = chartData(c, totals, stepMs);
      c.lines.forEach((l, i) => (out[`${c.id}.${l.key}`] = latestValue(d.ys[i])));
    }
    return out;
  };
  const same = (a: Record<string, number | null>, b: Record<string, number | null>) =>
    Object.keys(b).every((k) => (a[k] === null || b[k] === null ? a[k] === b[k] : Math.abs((a[k] as number) - (b[k] as number)) <= 1e-6 * Math.max(1, Math.abs(b[k] as number))));

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir: join(work, 'data'), basePort: 28200, startTimeoutMs: 90_000 });
    expect((await rest('PUT', '/tenant-settings', { ownTelemetryToServer: true })).json).toMatchObject({ ownTelemetryToServer: true });
    // Version 1 assigned (pinned) to the agents, version 2 waiting for a rollout.
    expect((await rest('POST', '/configurations', { name: 'charts', files: files('v1') })).status).toBe(200);
    expect((await rest('POST', '/assignments', { name: 'charts', configurationName: 'charts', pinnedVersion: 1, selector: 'fleet=charts' })).status).toBe(200);
    expect((await rest('PUT', '/configurations/charts', { files: files('v2') })).status).toBe(200);
    for (const naming of ['older', 'newer'] as OwnMetricNaming[]) {
      const a = new SimulatedAgent({
        endpoint: server.ws,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol-contrib', fleet: 'charts' }, nonIdentifying: { 'os.type': 'linux', naming } },
        capabilities: C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsHealth | C.ReportsHeartbeat | C.AcceptsOpAMPConnectionSettings | C.ReportsOwnMetrics,
        heartbeatIntervalMs: 1_000,
        reconnect: { initialMs: 100, maxMs: 1_000 },
        ownMetrics: { intervalMs: 1_000, naming, sendFailureRate: 0.05 },
      });
      agents.push(a);
      a.start();
    }
    browser = await openConsoleBrowser({ base: server.base, adminToken: server.adminToken, screenshots: join(repo, 'tmp', 'console-screenshots') });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  it("the agent page charts the agent's own metrics on canvases, updated live; 7 d from the rollups", async () => {
    const a = agents[0];
    await waitFor(
      () => rest<AgentOwnMetricsResponse>('GET', `/agents/${uid(a)}/own-metrics`),
      (r) => r.status === 200 && r.json.series.some((s) => s.kind === 'exporter_sent' && s.points.length >= 3),
      { description: 'three exporter_sent rates of the agent', timeoutMs: 30_000 },
    );
    await page().goto(`${server.base}/agents/${uid(a)}`);
    for (const c of AGENT_CHARTS) await page().getByTestId(`agent-chart-${c.id}`).locator('canvas').first().waitFor();
    // Every line of every chart has a value: the agent reports each kind in the older naming.
    const shown = await waitFor(
      () => legendValues('agent-chart', AGENT_CHARTS),
      (v) => Object.values(v).every((x) => x !== null),
      { description: 'a value in every legend', timeoutMs: 20_000 },
    );
    expect(shown['throughput.out']).toBeGreaterThan(10);
    expect(shown['memory.rss']).toBeGreaterThan(10 * 1024 * 1024);
    expect(shown['queue.fill']).toBeGreaterThanOrEqual(0);
    expect(shown['queue.fill']).toBeLessThanOrEqual(100);
    expect(await page().getByTestId('agent-chart-throughput-out').innerText()).toMatch(/\/s$/);
    expect(await page().getByTestId('agent-chart-memory-rss').innerText()).toMatch(/MiB$/);
    // Live: the next poll (every 10 s for an hour's range) brings newer points without a reload.
    const note = await page().getByTestId('agent-metrics-note').innerText();
    expect(note).toContain('10 s points');
    const first = await page().getByTestId('agent-chart-throughput').getAttribute('data-points');
    await waitFor(
      () => page().getByTestId('agent-chart-throughput').getAttribute('data-points'),
      (n) => Number(n) > Number(first),
      { description: 'more points on the chart without a reload', timeoutMs: 25_000 },
    );
    await browser.shot('own-metrics-01-agent');

    await page().getByTestId('agent-metrics-range-7d').click();
    await waitFor(() => page().getByTestId('agent-metrics-note').innerText(), (t) => t.includes('5-minute averages'), { description: 'the 7-day range from the rollups' });
    await page().getByTestId('agent-chart-throughput').locator('canvas').first().waitFor();
    await waitFor(() => page().getByTestId('agent-chart-throughput-out').getAttribute('data-value'), (v) => v !== null && v !== '', { description: 'a rollup value in the legend' });
    await browser.shot('own-metrics-02-agent-7d');
    await page().getByTestId('agent-metrics-range-1h').click();
  });

  it("a rollout's page compares its batch's agents before and after the batch started", async () => {
    const created = await rest('POST', '/rollouts', { name: 'charts-v2', assignmentName: 'charts', toVersion: 2, strategy: { batchSize: 1 }, soakTimeMs: 600_000, start: true });
    expect(created.status).toBe(200);
    await page().goto(`${server.base}/rollouts/charts-v2`);
    await page().getByTestId('batch-chart-throughput').locator('canvas').first().waitFor({ timeout: 30_000 });
    // The after side fills once the first minute after the start has data.
    const changes = await waitFor(
      () => page().getByTestId('batch-changes').innerText(),
      (t) => t.includes('since batch 1 started (v2), export failures') && !t.includes('no data'),
      { description: 'the before/after comparison of batch 1', timeoutMs: 90_000 },
    );
    expect(changes).toMatch(/since batch 1 started \(v2\), export failures (up|down) \d+ %|unchanged/);
    expect(changes).toContain('throughput out');
    const batch = await rest('GET', '/rollouts/charts-v2/batches/0/own-metrics');
    expect(batch.json).toMatchObject({ agents: 1, toVersion: 2, stepSeconds: 60 });
    await browser.shot('own-metrics-03-rollout');
  }, 120_000);

  it("the configuration's page compares the version's agents with those on the previous one", async () => {
    await page().goto(`${server.base}/configurations/charts?tab=telemetry`);
    await waitFor(() => page().getByTestId('config-metrics-agents').innerText(), (t) => t.startsWith('v2: 1 agent · v1: 1 agent'), { description: 'one agent on each version', timeoutMs: 30_000 });
    await waitFor(() => page().getByTestId('version-changes').innerText(), (t) => t.includes('since v2 (against v1), export failures'), { description: 'the comparison of v2 with v1' });
    await page().getByTestId('version-chart-throughput').locator('canvas').first().waitFor();
    await browser.shot('own-metrics-04-configuration');
  });

  it('once the agents stop, the legends on the agent page and the overview equal the API numbers', async () => {
    await Promise.all(agents.map((a) => a.stop()));
    const a = agents[0];
    await page().goto(`${server.base}/agents/${uid(a)}`);
    await page().getByTestId('agent-chart-throughput').locator('canvas').first().waitFor();
    // Off the charts: the legends show the latest values, not those under the cursor.
    await page().mouse.move(0, 0);
    let expected: Record<string, number | null> = {};
    await waitFor(
      async () => {
        const api = await rest<AgentOwnMetricsResponse>('GET', `/agents/${uid(a)}/own-metrics`);
        const stepMs = api.json.stepSeconds * 1000;
        expected = expectedValues(AGENT_CHARTS, agentTotals(api.json.series, stepMs), stepMs);
        return legendValues('agent-chart', AGENT_CHARTS);
      },
      (shown) => same(shown, expected),
      { description: "the agent page's legends equal the API's latest values", timeoutMs: 40_000 },
    );
    expect(Object.values(expected).every((v) => v !== null)).toBe(true);
    await browser.shot('own-metrics-05-agent-stopped');

    await page().getByTestId('nav-overview').click();
    await page().getByTestId('fleet-chart-throughput').locator('canvas').first().waitFor();
    let fleetExpected: Record<string, number | null> = {};
    await waitFor(
      async () => {
        const end = Date.now();
        const api = await rest<FleetOwnMetricsResponse>('GET', `/fleet-own-metrics?startTime=${new Date(end - 86_400_000).toISOString()}&endTime=${new Date(end).toISOString()}`);
        fleetExpected = expectedValues(GROUP_CHARTS, groupTotals(api.json.groups.map((g) => g.series), 300_000), 300_000);
        return legendValues('fleet-chart', GROUP_CHARTS);
      },
      (shown) => same(shown, fleetExpected),
      { description: "the overview's fleet legends equal the API's latest sums", timeoutMs: 60_000 },
    );
    expect(fleetExpected['throughput.out']).toBeGreaterThan(10);
    expect(await page().getByTestId('fleet-metric-groups').innerText()).toContain('charts v1');
    await browser.shot('own-metrics-06-overview');
  }, 120_000);
});
