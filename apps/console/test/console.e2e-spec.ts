/**
 * The console end to end: the built embedded server (fleet-server) runs as a
 * process, simulated agents connect, and headless Chromium (Debian's chromium,
 * driven by playwright-core) signs in and uses every page: the overview counts
 * match the API, filters narrow the agents table, a configuration written in
 * the editor (after an invalid YAML showed its error) is assigned and reaches
 * the agents, a restart is sent, and one agent without the capability shows
 * why it cannot be restarted; the agent page shows the health tree the agent
 * reports and its effective configuration compared with the desired one; column headers sort the
 * agents table on the server and the audit search runs on the server. Screenshots of each page go to
 * tmp/console-screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C, opamp } from '@opamp/protocol';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

const repo = join(__dirname, '..', '..', '..');
const shots = join(repo, 'tmp', 'console-screenshots');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const APPLIED = opamp.proto.v1.RemoteConfigStatuses.RemoteConfigStatuses_APPLIED;

const GOOD_YAML = `receivers:
  otlp:
    protocols:
      grpc: {}
exporters:
  otlphttp:
    endpoint: https://\${attr:region}.telemetry.example
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`;
const BAD_YAML = `receivers:
  otlp:
    protocols: [grpc
exporters: {}
`;

describe('operator console in headless Chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'console-e2e-'));
  const profileDir = mkdtempSync(join(tmpdir(), 'console-chromium-'));
  let server: EmbeddedServerProcess;
  let context: BrowserContext;
  let page: Page;
  const agents: SimulatedAgent[] = [];
  const timings: Record<string, number> = {};

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rest = async <T = Record<string, any>>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as T };
  };

  /** How many agents a ListAgents query returns, over every page. */
  const countAgents = async (query: string): Promise<number> => {
    let n = 0;
    let token = '';
    do {
      const r = await rest('GET', `/agents?pageSize=1000${query}${token ? `&pageToken=${token}` : ''}`);
      n += r.json['agents'].length;
      token = r.json['nextPageToken'];
    } while (token);
    return n;
  };

  const shot = async (name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };

  const full = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig | C.ReportsHealth | C.ReportsHeartbeat;
  function agent(
    endpoint: string,
    labels: Record<string, string>,
    capabilities: number,
    healthy = true,
    custom: string[] = [],
    initialEffectiveConfig?: opamp.proto.v1.IAgentConfigMap,
    token: string = server.agentToken,
  ): SimulatedAgent {
    const a = new SimulatedAgent({
      endpoint,
      headers: { Authorization: `Bearer ${token}` },
      description: { identifying: { 'service.name': 'otelcol', 'host.name': `${labels['env']}-${labels['region']}`, ...labels }, nonIdentifying: { 'os.type': 'linux', 'host.arch': 'amd64' } },
      capabilities,
      heartbeatIntervalMs: 1_000,
      applyConfig: { delayMs: 50, failureRate: 0 },
      reconnect: { initialMs: 100, maxMs: 1_000 },
      health: healthy ? { healthy: true, status: 'running' } : { healthy: false, status: 'degraded', lastError: 'exporter queue full' },
      customCapabilities: custom,
      initialEffectiveConfig,
    });
    agents.push(a);
    a.start();
    return a;
  }

  beforeAll(async () => {
    rmSync(shots, { recursive: true, force: true });
    mkdirSync(shots, { recursive: true });
    let t = Date.now();
    server = await startEmbeddedServerProcess({ dataDir });
    timings['server start'] = Date.now() - t;
    t = Date.now();
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on('dialog', (d) => void d.accept());
    timings['chromium start'] = Date.now() - t;
  }, 90_000);

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(profileDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
    console.log(`console e2e timings (ms): ${JSON.stringify(timings)}`);
  });

  let wsProd: SimulatedAgent;
  let httpProd: SimulatedAgent;
  let devEu: SimulatedAgent;

  it('shows nothing without a token, then signs in with the admin token', async () => {
    expect((await fetch(`${server.api}/agents`)).status).toBe(401);
    const t = Date.now();
    await page.goto(`${server.base}/agents`);
    await page.getByTestId('token').waitFor();
    timings['first page load'] = Date.now() - t;
    expect(await page.getByTestId('agents-table').count()).toBe(0);
    await page.getByTestId('token').fill('opamp_admin_wrong');
    await page.getByTestId('sign-in').click();
    await page.getByText('not a valid admin token').waitFor();
    await shot('01-sign-in');
    await page.getByTestId('token').fill(server.adminToken);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('agents-table').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('opamp.console.adminToken')")).toBe(server.adminToken);
  });

  it('overview: the totals match the API', async () => {
    wsProd = agent(server.ws, { env: 'prod', region: 'eu' }, full | C.AcceptsRestartCommand, true, ['io.example.ping']);
    httpProd = agent(server.http, { env: 'prod', region: 'us' }, full);
    devEu = agent(server.ws, { env: 'dev', region: 'eu' }, full | C.AcceptsRestartCommand, false, [], {
      configMap: { 'local.yaml': { body: Buffer.from('receivers: {filelog: {}}\n# local to this host\n'), contentType: 'text/yaml' } },
    });
    agent(server.ws, { env: 'staging', region: 'us' }, full);
    const gone = agent(server.ws, { env: 'dev', region: 'us' }, full);
    await waitFor(() => countAgents(''), (n) => n === 5, { timeoutMs: 20_000, description: 'five agents listed' });
    await waitFor(() => countAgents('&healthy=false'), (n) => n === 1, { timeoutMs: 20_000, description: 'unhealthy agent reported' });
    await gone.stop();
    await waitFor(() => countAgents('&connected=false'), (n) => n === 1, { timeoutMs: 20_000, description: 'one agent disconnected' });

    const t = Date.now();
    await page.getByTestId('nav-overview').click();
    const queries: Record<string, string> = {
      agents: '',
      connected: '&connected=true',
      healthy: '&healthy=true',
      unhealthy: '&healthy=false',
      inSync: '&inSync=true',
      outOfSync: '&inSync=false',
      configFailed: '&configStatuses=REMOTE_CONFIG_STATUS_FAILED',
      configApplying: '&configStatuses=REMOTE_CONFIG_STATUS_APPLYING',
      disconnected: '&connected=false',
    };
    // The overview refreshes by itself: wait until it shows what the API says now.
    const compare = async () => {
      const mismatches: string[] = [];
      const shownCount = async (key: string) => Number((await page.getByTestId(`total-${key}`).locator('.stat-value').innerText()).replace(/,/g, ''));
      for (const [key, q] of Object.entries(queries)) {
        if (key === 'outOfSync') continue; // of the managed agents only: below
        const shown = await shownCount(key);
        const api = await countAgents(q);
        if (shown !== api) mismatches.push(`${key}: page ${shown}, API ${api}`);
      }
      // Unmanaged (no assignment) apart; ListAgents has no filter for them, so they are counted from its rows.
      const listed = (await rest('GET', '/agents?pageSize=1000')).json['agents'] as Array<{ configurationName: string }>;
      const unmanaged = listed.filter((a) => a.configurationName === '').length;
      if ((await shownCount('unmanaged')) !== unmanaged) mismatches.push(`unmanaged: page ${await shownCount('unmanaged')}, API ${unmanaged}`);
      const managedOut = (await countAgents('&inSync=false')) - unmanaged;
      if ((await shownCount('outOfSync')) !== managedOut) mismatches.push(`outOfSync: page ${await shownCount('outOfSync')}, API ${managedOut} managed`);
      // The page reads GetFleetSummary: its totals must be what ListAgents counts too.
      const summary = (await rest('GET', '/fleet-summary')).json['totals'] as Record<string, number>;
      if (summary['unassigned'] !== unmanaged) mismatches.push(`unassigned: GetFleetSummary ${summary['unassigned']}, ListAgents ${unmanaged}`);
      for (const [key, q] of Object.entries(queries)) {
        const api = await countAgents(q);
        if (summary[key] !== api) mismatches.push(`${key}: GetFleetSummary ${summary[key]}, ListAgents ${api}`);
      }
      return mismatches;
    };
    await waitFor(compare, (m) => m.length === 0, { timeoutMs: 20_000, intervalMs: 500, description: 'overview totals equal to the API' });
    timings['overview matches API'] = Date.now() - t;
    expect(await page.getByTestId('total-agents').locator('.stat-value').innerText()).toBe('5');
    // No assignment yet: all five are unmanaged, none reads as out of sync.
    expect(await page.getByTestId('total-unmanaged').locator('.stat-value').innerText()).toBe('5');
    expect(await page.getByTestId('total-outOfSync').locator('.stat-value').innerText()).toBe('0');
    // Breakdown by a label: env has four values.
    await page.getByTestId('breakdown-key').selectOption('env');
    await waitFor(() => page.getByTestId('breakdown').locator('tbody tr').count(), (n) => n === 3, { description: 'env breakdown rows' });
    const byEnv = (await rest('GET', '/fleet-summary?groupBy=env')).json['groups'] as Array<{ value: string; counts: { agents: number } }>;
    const shownRows = await page.getByTestId('breakdown').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].innerText, Number(tr.cells[1].innerText)]));
    expect(shownRows).toEqual(byEnv.map((g) => [g.value, g.counts.agents]));
    expect(shownRows).toContainEqual(['dev', await countAgents('&selector=env%3Ddev')]);
    await shot('02-overview');
  });

  it('agents: selector search and status filters narrow the table (server-side)', async () => {
    await page.getByTestId('nav-agents').click();
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 5, { description: 'all agents' });
    await page.getByTestId('selector').fill('env=prod');
    await page.getByTestId('apply-selector').click();
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 2, { description: 'prod agents' });
    expect(page.url()).toContain('selector=env%3Dprod');
    // Comma-free on purpose: the REST mirror splits every query parameter on commas
    // (libs/platform-api ProtoJson.fromQuery), so "a=b,c=d" reaches ListAgents as "c=d".
    await page.getByTestId('selector').fill('env notin (prod)');
    await page.getByTestId('apply-selector').click();
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 3, { description: 'dev and staging agents' });
    await page.getByTestId('filter-healthy').getByText('unhealthy').click();
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 1, { description: 'the unhealthy dev agent' });
    await page.getByTestId('filter-healthy').getByText('any').click();
    await page.getByTestId('filter-connected').getByText('disconnected').click();
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 1, { description: 'the disconnected agent' });
    await shot('03-agents-filtered');
    // An invalid selector shows the API's error, and no rows of the previous search under it.
    await page.getByTestId('filter-connected').getByText('any').click();
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 3, { description: 'dev and staging agents again' });
    await page.getByTestId('selector').fill('env in (');
    await page.getByTestId('apply-selector').click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByTestId('agent-row').count()).toBe(0);
    await shot('03b-agents-bad-selector');
    await page.goto(`${server.base}/agents?selector=${encodeURIComponent('env in (')}`);
    await page.getByRole('alert').waitFor();
    await page.goto(`${server.base}/agents`);
    await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 5, { description: 'all agents again' });
    await shot('04-agents');
  });

  it('agents: the table and its paging fit the window at 1440 and 1024 px', async () => {
    for (const width of [1440, 1024]) {
      await page.setViewportSize({ width, height: 900 });
      await waitFor(() => page.getByTestId('agent-row').count(), (n) => n === 5, { description: 'all agents' });
      // A string: this project's tsconfig has no DOM types; it runs in the page.
      const fit = (await page.evaluate(`(() => {
        const table = document.querySelector('[data-testid="agents-table"]');
        const next = document.querySelector('[data-testid="next-page"]').getBoundingClientRect();
        return { table: table.scrollWidth, card: table.closest('.card').clientWidth, page: document.documentElement.scrollWidth, window: window.innerWidth, pagerRight: Math.ceil(next.right) };
      })()`)) as { table: number; card: number; page: number; window: number; pagerRight: number };
      const fits = (a: number, b: number) => (a <= b ? 'fits' : `${a} px > ${b} px`);
      expect({ width, table: fits(fit.table, fit.card), page: fits(fit.page, fit.window), paging: fits(fit.pagerRight, fit.window) }).toEqual({ width, table: 'fits', page: 'fits', paging: 'fits' });
      await shot(`04a-agents-${width}px`);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('agents: column headers sort on the server; the order matches the API and survives a reload', async () => {
    const shownUids = () => page.getByTestId('agent-row').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-uid') ?? ''));
    const apiUids = async (orderBy: string) =>
      ((await rest('GET', `/agents?pageSize=50&orderBy=${encodeURIComponent(orderBy)}`)).json['agents'] as Array<{ instanceUid: string }>).map((a) => a.instanceUid);
    const hostOf = async (uids: string[]) => {
      const all = (await rest('GET', '/agents?pageSize=50')).json['agents'] as Array<{ instanceUid: string; labels: Record<string, string> }>;
      return uids.map((u) => all.find((a) => a.instanceUid === u)?.labels['host.name']);
    };
    const defaultOrder = await shownUids();
    expect(defaultOrder).toEqual(await apiUids('instance_uid asc'));

    const listed = page.waitForRequest((r) => r.url().includes('/api/v1/agents?') && r.url().includes('orderBy=host_name+asc'));
    await page.getByTestId('sort-host_name').click();
    await listed;
    await page.waitForURL(/[?&]sort=host_name(&|$)/);
    const asc = await apiUids('host_name asc');
    await waitFor(shownUids, (u) => JSON.stringify(u) === JSON.stringify(asc), { description: 'table in host name order' });
    expect(await hostOf(asc)).toEqual(['dev-eu', 'dev-us', 'prod-eu', 'prod-us', 'staging-us']);
    expect(await page.getByTestId('sort-host_name').getAttribute('data-direction')).toBe('asc');

    await page.getByTestId('sort-host_name').click();
    await page.waitForURL(/[?&]sort=-host_name(&|$)/);
    const desc = await apiUids('host_name desc');
    expect(desc).toEqual([...asc].reverse());
    await waitFor(shownUids, (u) => JSON.stringify(u) === JSON.stringify(desc), { description: 'table in reverse host name order' });
    expect(await page.getByTestId('sort-host_name').getAttribute('data-direction')).toBe('desc');
    expect(await page.getByTestId('agents-order').innerText()).toBe('host name (descending)');
    await shot('04b-agents-sorted-by-host');

    // The order is in the URL: a reload keeps it.
    await page.reload();
    await waitFor(shownUids, (u) => JSON.stringify(u) === JSON.stringify(desc), { description: 'sort order after reload' });

    // Health: healthy first descending, agents without health last; the same order as the API's.
    await page.getByTestId('sort-health').click();
    await page.getByTestId('sort-health').click();
    await page.waitForURL(/[?&]sort=-health(&|$)/);
    const byHealth = await apiUids('health desc');
    await waitFor(shownUids, (u) => JSON.stringify(u) === JSON.stringify(byHealth), { description: 'table in health order' });
    const health = await page.getByTestId('agent-row').evaluateAll((trs) => trs.map((tr) => tr.cells[3].innerText.trim().toLowerCase()));
    expect(health.indexOf('unhealthy')).toBeGreaterThan(health.lastIndexOf('healthy'));

    // A third click returns to the default order (instance UID).
    await page.getByTestId('sort-health').click();
    await waitFor(shownUids, (u) => JSON.stringify(u) === JSON.stringify(defaultOrder), { description: 'default order again' });
    expect(page.url()).not.toContain('sort=');
  });

  it('configurations: an invalid YAML shows its error; a valid one is created in the editor, assigned, and reaches the agents', async () => {
    await page.getByTestId('nav-configurations').click();
    await page.getByTestId('new-configuration').click();
    await page.getByTestId('config-name').fill('collector');
    await page.getByTestId('yaml-editor').fill(BAD_YAML);
    await page.locator('[data-testid="validation"][data-state="invalid"]').waitFor();
    const errors = await page.getByTestId('validation-errors').locator('li').allInnerTexts();
    expect(errors.length).toBeGreaterThan(0);
    expect(await page.getByTestId('save-configuration').isDisabled()).toBe(true);
    await shot('05-editor-invalid-yaml');

    await page.getByTestId('yaml-editor').fill(GOOD_YAML);
    await page.locator('[data-testid="validation"][data-state="valid"]').waitFor();
    await shot('06-editor-valid');
    await page.getByTestId('save-configuration').click();
    await page.waitForURL(/\/configurations\/collector\?tab=assignments/);

    // The form starts with no selector: it does not assign to every agent unless the operator says so.
    await page.getByTestId('assignment-selector-reason').waitFor();
    expect(await page.getByTestId('save-assignment').isDisabled()).toBe(true);
    const t = Date.now();
    await page.getByTestId('assignment-name').fill('prod');
    await page.getByTestId('assignment-selector').fill('env=prod');
    await waitFor(() => page.getByTestId('matching-agent').count(), (n) => n === 2, { description: 'selector preview lists the prod agents' });
    await page.getByTestId('save-assignment').click();
    await page.getByTestId('assignment-saved').waitFor();
    for (const a of [wsProd, httpProd]) {
      await waitFor(() => a.remoteConfigStatus.status, (s) => s === APPLIED, { timeoutMs: 30_000, description: 'agent applied the configuration' });
    }
    expect(Buffer.from(wsProd.effectiveConfig?.configMap?.['collector.yaml']?.body ?? []).toString()).toContain('https://eu.telemetry.example');
    timings['assignment to APPLIED'] = Date.now() - t;
    await waitFor(() => page.getByTestId('matching-agents').getByText('in sync').count(), (n) => n === 2, { timeoutMs: 20_000, description: 'preview shows both in sync' });
    await shot('07-configuration-assignments');
    await page.getByTestId('tab-files').click();
    await shot('08-configuration-files');
  });

  it('configurations: a second version from the editor, and the diff between versions', async () => {
    await page.getByTestId('tab-edit').click();
    await page.getByTestId('yaml-editor').fill(GOOD_YAML.replace('grpc: {}', 'grpc: {}\n      http: {}'));
    await page.locator('[data-testid="validation"][data-state="valid"]').waitFor();
    await page.getByTestId('save-version').click();
    await page.getByTestId('versions-table').waitFor();
    await waitFor(() => page.getByTestId('versions-table').locator('tbody tr').count(), (n) => n === 2, { description: 'two versions' });
    await page.getByTestId('diff').locator('.diff-add', { hasText: 'http: {}' }).waitFor();
    await shot('09-configuration-diff');
    await waitFor(() => rest('GET', `/agents/${wsProd.instanceUidString}`), (r) => r.json['configurationVersion'] === 2 && r.json['inSync'] === true, {
      timeoutMs: 30_000,
      description: 'v2 reaches the prod agent',
    });
  });

  it('agent page: description, capabilities, desired config; restart is sent; a custom message where declared', async () => {
    const restarts: string[] = [];
    wsProd.on('restart', () => restarts.push('wsProd'));
    await page.goto(`${server.base}/agents/${wsProd.instanceUidString}`);
    await page.getByTestId('capabilities').waitFor();
    expect(await page.getByTestId('capabilities').innerText()).toContain('AcceptsRestartCommand');
    // The effective configuration the agent reports, diffed against the desired one: in sync, so no differences.
    const detail = (await rest('GET', `/agents/${wsProd.instanceUidString}`)).json;
    expect(Object.keys(detail['effectiveConfig'])).toEqual(['collector.yaml']);
    expect(detail['connectedSince']).not.toBe('');
    // Compared as YAML values: in sync, so nothing the operator set is missing or different.
    const compare = page.getByTestId('config-compare');
    await compare.getByText('effective (reported by the agent').first().waitFor();
    await compare.getByText('desired: collector v2').first().waitFor();
    await compare.getByTestId('config-runs-desired').waitFor();
    expect(await compare.getByTestId('config-difference').count()).toBe(0);
    await compare.getByText('Both sides as written').click();
    await compare.locator('.code-block', { hasText: 'https://eu.telemetry.example' }).first().waitFor();
    await compare.locator('.code-block', { hasText: 'http: {}' }).first().waitFor();
    await page.getByTestId('connected-since').waitFor();
    // The health tree as reported (the simulated agent reports one component: itself).
    const root = page.getByTestId('health-tree').getByTestId('health-node').first();
    expect(await root.getAttribute('data-healthy')).toBe('true');
    await root.getByText('running').waitFor();
    expect(detail['componentHealth']).toMatchObject({ healthy: true, status: 'running' });
    await page.getByTestId('packages').waitFor();
    expect(await page.getByTestId('restart').isEnabled()).toBe(true);
    expect(await page.getByTestId('custom-message').isEnabled()).toBe(true);
    await page.getByTestId('restart').click();
    await page.getByTestId('command-result').getByText('Restart: sent to the agent now').waitFor();
    await waitFor(() => restarts, (r) => r.includes('wsProd'), { timeoutMs: 15_000, description: 'restart delivered to the agent' });
    await shot('10-agent');

    await page.goto(`${server.base}/agents/${httpProd.instanceUidString}`);
    await page.getByTestId('restart-reason').waitFor();
    expect(await page.getByTestId('restart').isDisabled()).toBe(true);
    expect(await page.getByTestId('restart-reason').innerText()).toContain('AcceptsRestartCommand');
    expect(await page.getByTestId('custom-message').isDisabled()).toBe(true);
    await shot('11-agent-without-restart');

    // An unhealthy agent: its health tree shows the error; it has no assignment, so only its effective config shows.
    await page.goto(`${server.base}/agents/${devEu.instanceUidString}`);
    const unhealthy = page.getByTestId('health-tree').getByTestId('health-node').first();
    await unhealthy.waitFor();
    expect(await unhealthy.getAttribute('data-healthy')).toBe('false');
    expect(await page.getByTestId('health-tree').getByTestId('health-error').innerText()).toBe('exporter queue full');
    await page.getByTestId('effective-config').getByText('# local to this host').waitFor();
    await shot('11b-agent-unhealthy');
  });

  it('audit log: searchable', async () => {
    await page.getByTestId('nav-audit-log').click();
    await waitFor(() => page.getByTestId('audit-row').count(), (n) => n >= 4, { description: 'audit events' });
    const searched = page.waitForRequest((r) => r.url().includes('/api/v1/audit-events?') && r.url().includes('query=RESTART'));
    await page.getByTestId('audit-search').fill('RESTART');
    await page.getByTestId('audit-search').press('Enter');
    // The server searches (case-insensitive): the page asks it, and shows what it answers.
    await searched;
    await waitFor(() => page.getByTestId('audit-row').count(), (n) => n === 1, { description: 'one restart event' });
    const viaApi = (await rest('GET', '/audit-events?query=restart')).json['events'] as Array<{ action: string; resourceName: string }>;
    expect(viaApi).toEqual([expect.objectContaining({ action: 'agent.restart', resourceName: wsProd.instanceUid.toString('hex') })]);
    expect(await page.getByTestId('audit-row').first().innerText()).toContain('agent.restart');
    expect(page.url()).toContain('q=RESTART');
    await shot('12-audit-search');
    await page.getByTestId('audit-search').fill('');
    await page.getByTestId('audit-resource').fill('collector');
    await page.getByTestId('audit-resource').press('Enter');
    await waitFor(() => page.getByTestId('audit-row').count(), (n) => n === 2, { description: 'create and update of collector' });
    await shot('13-audit');
  });

  it('rollouts: start with a strategy, pause, resume, progress by batch to completion', async () => {
    await page.getByTestId('nav-rollouts').click();
    await page.getByTestId('new-rollout').click();
    await page.getByTestId('rollout-assignment').selectOption('prod');
    await page.getByTestId('rollout-version').selectOption('1');
    await page.getByTestId('rollout-strategy-kind').selectOption('batchSize');
    await page.getByTestId('rollout-strategy').fill('1');
    await page.getByTestId('rollout-soak').fill('2');
    await shot('14-rollout-new');
    await page.getByTestId('create-rollout').click();
    await page.waitForURL(/\/rollouts\/[^/]+$/);
    await page.getByTestId('rollout-state').getByText('pending').waitFor();
    expect(await page.getByTestId('rollout-pause').isDisabled()).toBe(true);
    await page.getByTestId('rollout-start').click();
    await page.getByTestId('rollout-state').getByText('running').waitFor();
    await page.getByTestId('rollout-pause').click();
    await page.getByTestId('rollout-state').getByText('paused').waitFor();
    await page.getByTestId('rollout-resume').click();
    const t = Date.now();
    await page.getByTestId('rollout-state').getByText('completed').waitFor({ timeout: 60_000 });
    timings['rollout 2 batches to completed'] = Date.now() - t;
    expect(await page.getByTestId('rollout-applied').innerText()).toBe('2');
    expect(await page.getByTestId('rollout-timed-out').innerText()).toBe('0'); // shown apart from failed, even when none
    await page.getByText('Apply deadline').first().waitFor();
    expect(await page.getByTestId('rollout-rollback').isDisabled()).toBe(true);
    await page.getByTestId('rollout-events').getByText('completed').first().waitFor();
    await shot('15-rollout');
    const back = await rest('GET', `/agents/${httpProd.instanceUidString}`);
    expect(back.json).toMatchObject({ configurationVersion: 1 });
    await page.getByTestId('nav-rollouts').click();
    await waitFor(() => page.getByTestId('rollouts-table').locator('tbody tr.clickable').count(), (n) => n === 1, { description: 'rollout listed' });
    await shot('16-rollouts');
  });

  it('agent page: a connected agent cannot be deleted (the reason shows); once disconnected it is deleted after confirming', async () => {
    const leaving = agent(server.ws, { env: 'lab', region: 'eu' }, full);
    const uid = leaving.instanceUidString;
    await waitFor(() => rest('GET', `/agents/${uid}`), (r) => r.status === 200 && r.json['connected'] === true, { timeoutMs: 20_000, description: 'agent connected' });
    await page.goto(`${server.base}/agents/${uid}`);
    await page.getByTestId('delete-agent-reason').waitFor();
    expect(await page.getByTestId('delete-agent').isDisabled()).toBe(true);
    expect(await page.getByTestId('delete-agent-reason').innerText()).toContain('The agent is connected');
    await shot('17-agent-delete-refused');
    await leaving.stop();
    // The page follows the agent (it polls): the button is enabled once the agent is gone.
    await waitFor(() => page.getByTestId('delete-agent').isEnabled(), Boolean, { timeoutMs: 20_000, description: 'delete enabled' });
    await page.getByTestId('delete-agent').click(); // the confirm dialog is accepted (beforeAll)
    await page.waitForURL((url) => url.pathname === '/agents');
    expect((await rest('GET', `/agents/${uid}`)).status).toBe(404);
    const audit = (await rest('GET', `/audit-events?resourceName=${leaving.instanceUid.toString('hex')}`)).json['events'] as Array<{ action: string }>;
    // Newest first: it enrolled with the agent token when it connected (audited since issue 14), then was deleted.
    expect(audit.map((e) => e.action)).toEqual(['agent.delete', 'agent.enroll']);
  });

  it('agent tokens: one with expiry, use limit and labels is created (its secret shown once), its agent gets the labels, revoking it disconnects the agent', async () => {
    await page.getByTestId('nav-agent-tokens').click();
    await page.getByTestId('tokens-table').waitFor();
    await page.getByTestId('new-token').click();
    await page.getByTestId('token-name').fill('console-labelled');
    await page.getByTestId('token-labels-input').fill('bad key=x');
    await page.getByTestId('token-form-error').getByText('a label key is made of').waitFor();
    expect(await page.getByTestId('create-token').isDisabled()).toBe(true);
    await page.getByTestId('token-labels-input').fill('enrolled.by=console\nenv=console');
    // datetime-local takes the browser's local time (the same zone as this process).
    const week = new Date(Date.now() + 7 * 86_400_000);
    await page.getByTestId('token-expires').fill(new Date(week.getTime() - week.getTimezoneOffset() * 60_000).toISOString().slice(0, 16));
    await page.getByTestId('token-max-uses').fill('5');
    await page.getByTestId('create-token').click();
    const secret = (await page.getByTestId('token-secret').innerText()).trim();
    expect(secret).toMatch(/^opamp_agent_/);
    const listed = (await rest('GET', '/agent-tokens')).json['tokens'] as Array<Record<string, unknown> & { id: string; name: string }>;
    const token = listed.find((t) => t.name === 'console-labelled');
    expect(token).toMatchObject({ maxUses: 5, uses: 0, labels: { 'enrolled.by': 'console', env: 'console' }, state: 'AGENT_TOKEN_STATE_ACTIVE' });
    expect(Math.abs(Date.parse(String(token?.['expireTime'])) - week.getTime())).toBeLessThan(60_000);
    const row = page.getByTestId(`token-${token?.id}`);
    await row.getByTestId('token-state').getByText('active').waitFor();
    expect(await row.getByTestId('token-uses').innerText()).toBe('0 / 5');
    expect(await row.getByTestId('token-labels').innerText()).toContain('enrolled.by=console');
    expect(await row.getByTestId('token-expire').innerText()).toMatch(/^in (6|7) d$/);
    await shot('18-agent-tokens');

    // An agent enrolling with it: the token's env wins over its own attribute.
    const enrolled = agent(server.ws, { env: 'lab', region: 'eu' }, full, true, [], undefined, secret);
    const uid = enrolled.instanceUidString;
    const shown = await waitFor(
      () => rest('GET', `/agents/${uid}`),
      (r) => r.status === 200 && r.json['labels']?.['enrolled.by'] === 'console',
      { timeoutMs: 20_000, description: 'the enrolled agent with its token\'s labels' },
    );
    expect(shown.json['labels']).toMatchObject({ env: 'console', region: 'eu' });

    await row.getByTestId('revoke-token').click(); // the confirm dialog is accepted (beforeAll)
    await row.getByTestId('token-state').getByText('revoked').waitFor();
    expect(await row.getByTestId('revoke-token').count()).toBe(0);
    await waitFor(() => rest('GET', `/agents/${uid}`), (r) => r.json['connected'] === false, { timeoutMs: 20_000, description: 'the revoked token\'s agent disconnected' });
    await enrolled.stop();

    // The embedded gateway keeps a token's expiry: accepted while valid, refused (401) from then on.
    const soon = await rest('POST', '/agent-tokens', { name: 'console-soon', expireTime: new Date(Date.now() + 6_000).toISOString() });
    expect(soon.status).toBe(200);
    const poll = async () =>
      (await fetch(server.http, { method: 'POST', headers: { authorization: `Bearer ${soon.json['secret']}`, 'content-type': 'application/x-protobuf' }, body: new Uint8Array() })).status;
    expect(await poll()).not.toBe(401);
    await waitFor(poll, (status) => status === 401, { timeoutMs: 20_000, intervalMs: 250, description: 'the expired token refused' });
    await page.getByTestId('nav-agent-tokens').click();
    await waitFor(
      async () => (await rest('GET', '/agent-tokens')).json['tokens'].find((t: { name: string }) => t.name === 'console-soon')?.state,
      (state) => state === 'AGENT_TOKEN_STATE_EXPIRED',
      { description: 'the token listed as expired' },
    );
    await page.getByText('expired').first().waitFor();
  });

  it('settings: the agent credential settings are saved (only what changed); the gateway then refuses agents that cannot take their own credential', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-grace').waitFor();
    expect(await page.getByTestId('save-settings').isDisabled()).toBe(true);
    await page.getByTestId('settings-grace').fill('0');
    await page.getByTestId('settings-form-error').getByText('Switch grace (hours): a whole number from 1 to 8760').waitFor();
    await page.getByTestId('settings-grace').fill('48');
    await page.getByTestId('settings-require-credentials').check();
    await page.getByTestId('save-settings').click();
    await page.getByTestId('settings-saved').waitFor();
    await shot('19-settings');
    expect((await rest('GET', '/tenant-settings')).json).toEqual({ agentRetentionDays: 7, requireAgentCredentials: true, agentCredentialLifetimeDays: 0, credentialSwitchGraceHours: 48, ownTelemetryToServer: false });
    const audit = (await rest('GET', '/audit-events?query=tenant.update_settings&pageSize=1')).json['events'] as Array<{ detailsJson: string }>;
    expect(JSON.parse(audit[0].detailsJson)).toEqual({ requireAgentCredentials: { from: false, to: true }, credentialSwitchGraceHours: { from: 168, to: 48 } });

    // The embedded gateway follows the policy: an agent on the enrollment token without AcceptsOpAMPConnectionSettings is refused, and audited.
    const refused = agent(server.ws, { env: 'lab', region: 'us' }, full);
    const events = await waitFor(
      () => rest('GET', `/audit-events?resourceName=${refused.instanceUid.toString('hex')}`),
      (r) => (r.json['events'] as unknown[]).length > 0,
      { timeoutMs: 20_000, description: 'the refusal audited' },
    );
    expect((events.json['events'] as Array<{ action: string }>)[0].action).toBe('agent.refused.agent_credential_required');
    expect((await rest('GET', `/agents/${refused.instanceUidString}`)).status).toBe(404);
    await refused.stop();
    expect((await rest('PUT', '/tenant-settings', { requireAgentCredentials: false })).status).toBe(200);
  });

  it('signs out and forgets the token', async () => {
    await page.getByTestId('sign-out').click();
    await page.getByTestId('token').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('opamp.console.adminToken')")).toBeNull();
  });
});
