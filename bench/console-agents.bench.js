// Console benchmark (issue 9): the agents table's first page with 100,000
// agents in the fleet, on demand, never in CI.
//
// Embedded mode (the built fleet-server as a process, its PostgreSQL in a fresh
// data directory). The agents are written straight into its database (the rows
// status-ingest would write: attributes, labels, health, connection), since
// 100,000 live simulated agents do not fit this benchmark's purpose or the
// machine's two cores. Then, with the server running:
//
//   api:     GET /api/v1/agents?pageSize=50 (the table's first page), plain, with a
//            label selector, with a status filter, and a deep page by page token
//   sorted:  for every ListAgents sort key in both directions (orderBy), the first
//            page and a deep page (the page after 20,000 agents, reached by
//            following 20 pages of 1000 in that order)
//   browser: headless Chromium (Debian's chromium, playwright-core) opens
//            /agents signed in; time from navigation until the first page's rows
//            are on screen (cold = first load, warm = reloads); then the same
//            sorted by last seen, newest first (/agents?sort=-last_seen)
//   overview: time until the overview shows totals (the console reads every
//            agent: the API has no summary call)
//
//   npx nx run fleet-server:build && node bench/console-agents.bench.js [--agents=100000] [--runs=10]
//
// Writes bench/results/console-agents.json. Target: first page under 1 s.
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { machine, writeResult, percentile } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  { agents: 100_000, runs: 10, basePort: 0, chromium: '/usr/bin/chromium' },
  'console benchmark: first page of the agents table with A agents in the fleet',
);
const repo = path.join(__dirname, '..');
// ListAgents order_by keys (libs/desired-state core/agent-order.ts).
const SORT_KEYS = ['instance_uid', 'service_name', 'host_name', 'last_seen', 'connected_since', 'health', 'config_status'];
// 0: a random base port (four ports from it), so concurrent benchmarks do not collide.
if (!opts.basePort) opts.basePort = 20_000 + Math.floor(Math.random() * 20_000);

function startServer(dataDir) {
  const child = spawn(process.execPath, ['-r', './dist/out-tsc/register-aliases.js', 'dist/out-tsc/apps/fleet-server/src/main.js'], {
    cwd: repo,
    env: {
      ...process.env,
      OPAMP_DATA_DIR: dataDir,
      OPAMP_BIND_HOST: '127.0.0.1',
      OPAMP_GATEWAY_PORT: String(opts.basePort),
      OPAMP_GATEWAY_ADMIN_PORT: String(opts.basePort + 1),
      OPAMP_CONFIG_HTTP_PORT: String(opts.basePort + 2),
      OPAMP_CONFIG_GRPC_PORT: String(opts.basePort + 3),
      OPAMP_DRAIN_WINDOW_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const t = setInterval(() => {
      if (out.includes('metrics ')) {
        clearInterval(t);
        const pick = (re) => re.exec(out)?.[1] ?? '';
        const api = pick(/REST API\s+(\S+)/);
        resolve({ child, api, base: api.replace(/\/api\/v1$/, ''), adminToken: pick(/admin token\s+(\S+)/), startMs: Date.now() - started });
      } else if (child.exitCode !== null || Date.now() - started > 120_000) {
        clearInterval(t);
        reject(new Error(`server did not start:\n${out}`));
      }
    }, 50);
  });
}

async function stopServer(s) {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

/** The rows status-ingest would have written for A agents, in batches of one INSERT ... SELECT generate_series. */
async function seed(dataDir, tenant, count) {
  // The server's own PostgreSQL cluster, started here while the server is stopped.
  const { EmbeddedPostgresCluster } = require(path.join(repo, 'dist', 'out-tsc', 'libs', 'store', 'src'));
  const { Client } = require('pg');
  const cluster = await EmbeddedPostgresCluster.start({ dataDir: path.join(dataDir, 'pg') });
  const db = new Client({ connectionString: cluster.connectionString });
  await db.connect();
  const started = Date.now();
  const batch = 20_000;
  for (let from = 1; from <= count; from += batch) {
    const to = Math.min(count, from + batch - 1);
    await db.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, identifying_attributes, non_identifying_attributes, labels, healthy, remote_config_status,
                           connected, gateway_id, transport, connected_since, last_seen_at)
       SELECT $1,
              decode(lpad(to_hex(i), 32, '0'), 'hex'),
              ${0x1 | 0x2 | 0x4 | 0x400 | 0x800 | 0x1000 | 0x2000},
              jsonb_build_object('service.name', (ARRAY['otelcol','otelcol-contrib','fluent-bit','vector','otelcol'])[1 + i % 5], 'host.name', 'host-' || i, 'env', (ARRAY['prod','staging','dev'])[1 + i % 3], 'region', (ARRAY['eu','us','ap','sa'])[1 + i % 4]),
              jsonb_build_object('os.type', 'linux', 'host.arch', 'amd64'),
              jsonb_build_object('os.type', 'linux', 'host.arch', 'amd64', 'service.name', (ARRAY['otelcol','otelcol-contrib','fluent-bit','vector','otelcol'])[1 + i % 5], 'host.name', 'host-' || i, 'env', (ARRAY['prod','staging','dev'])[1 + i % 3], 'region', (ARRAY['eu','us','ap','sa'])[1 + i % 4]),
              (i % 50) <> 0,
              CASE WHEN i % 200 = 0 THEN 3 ELSE 1 END,
              (i % 20) <> 0,
              -- Spread over a day and an hour, so the time orders are not one tie.
              'embedded', 1, now() - ((i::bigint * 104729) % 86400) * interval '1 second', now() - ((i::bigint * 7919) % 3600) * interval '1 second'
       FROM generate_series($2::int, $3::int) AS i`,
      [tenant, from, to],
    );
  }
  await db.query('ANALYZE agents');
  const { rows } = await db.query('SELECT count(*)::int AS n FROM agents WHERE tenant_id = $1', [tenant]);
  await db.end();
  await cluster.stop();
  return { agents: rows[0].n, ms: Date.now() - started };
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (v) => (v === null ? null : Math.round(v * 10) / 10);
  return { n: s.length, minMs: r(s[0]), p50Ms: r(percentile(s, 50)), p95Ms: r(percentile(s, 95)), maxMs: r(s[s.length - 1]) };
}

async function timeApi(server, query, runs) {
  const samples = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(`${server.api}/agents?${query}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    const json = await res.json();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!res.ok) throw new Error(`${query}: ${JSON.stringify(json)}`);
    rows = json.agents.length;
  }
  return { query, rows, ...stats(samples) };
}

async function main() {
  if (!fs.existsSync(path.join(repo, 'dist/out-tsc/apps/fleet-server/src/main.js'))) throw new Error('build first: npx nx run fleet-server:build');
  execFileSync('bash', [path.join(repo, 'scripts/ensure-chromium.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-bench-'));
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-bench-chromium-'));
  let server;
  let context;
  try {
    console.log(`== schema: first start of the embedded server in ${dataDir}`);
    server = await startServer(dataDir);
    await stopServer(server);
    console.log(`== seeding ${opts.agents} agents`);
    const seeded = await seed(dataDir, 'default', opts.agents);
    console.log(`   ${seeded.agents} agents in ${seeded.ms} ms`);
    server = await startServer(dataDir);
    console.log(`== server up in ${server.startMs} ms`);

    // Find a deep page token: follow 20 pages of 1000.
    let token = '';
    for (let i = 0; i < 20; i++) {
      const r = await (await fetch(`${server.api}/agents?pageSize=1000${token ? `&pageToken=${token}` : ''}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json();
      token = r.nextPageToken;
    }
    const api = [];
    for (const q of ['pageSize=50', 'pageSize=50&selector=env%3Dprod', 'pageSize=50&selector=region%20in%20(eu)', 'pageSize=50&healthy=false', 'pageSize=50&configStatuses=REMOTE_CONFIG_STATUS_FAILED', `pageSize=50&pageToken=${token}`, 'pageSize=1000']) {
      const r = await timeApi(server, q, opts.runs);
      api.push(r);
      console.log(`   api ${q.replace(/pageToken=\S+/, 'pageToken=<page 20,001>')}: ${r.rows} rows, p50 ${r.p50Ms} ms, max ${r.maxMs} ms`);
    }

    const sorted = [];
    for (const key of SORT_KEYS) {
      for (const direction of ['asc', 'desc']) {
        const orderBy = encodeURIComponent(`${key} ${direction}`);
        let deep = '';
        for (let i = 0; i < 20; i++) {
          const r = await (await fetch(`${server.api}/agents?pageSize=1000&orderBy=${orderBy}${deep ? `&pageToken=${deep}` : ''}`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json();
          deep = r.nextPageToken;
        }
        const first = await timeApi(server, `pageSize=50&orderBy=${orderBy}`, opts.runs);
        const deepPage = await timeApi(server, `pageSize=50&orderBy=${orderBy}&pageToken=${deep}`, opts.runs);
        sorted.push({ orderBy: `${key} ${direction}`, first: { ...first, query: undefined }, deep: { ...deepPage, query: undefined } });
        console.log(`   api orderBy=${key} ${direction}: first page p50 ${first.p50Ms} ms (max ${first.maxMs}), page after 20,000 p50 ${deepPage.p50Ms} ms (max ${deepPage.maxMs})`);
      }
    }

    const { chromium } = require('playwright-core');
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: opts.chromium,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.base}/`);
    await page.evaluate((t) => sessionStorage.setItem('opamp.console.adminToken', t), server.adminToken);
    const browser = [];
    for (let i = 0; i < opts.runs; i++) {
      const t = Date.now();
      await page.goto(`${server.base}/agents?selector=${i % 2 ? 'env%3Dprod' : ''}`);
      await page.locator('[data-testid="agent-row"]').first().waitFor({ timeout: 30_000 });
      browser.push(Date.now() - t);
    }
    const rowsShown = await page.locator('[data-testid="agent-row"]').count();
    const browserStats = { cold: browser[0], ...stats(browser.slice(1)), rowsShown };
    console.log(`   browser /agents first page: cold ${browserStats.cold} ms, warm p50 ${browserStats.p50Ms} ms, max ${browserStats.maxMs} ms (${rowsShown} rows)`);
    const browserSorted = [];
    for (let i = 0; i < opts.runs; i++) {
      const t = Date.now();
      await page.goto(`${server.base}/agents?sort=-last_seen${i % 2 ? '&selector=env%3Dprod' : ''}`);
      await page.locator('[data-testid="sort-last_seen"][data-direction="desc"]').waitFor({ timeout: 30_000 });
      await page.locator('[data-testid="agent-row"]').first().waitFor({ timeout: 30_000 });
      browserSorted.push(Date.now() - t);
    }
    const browserSortedStats = { ...stats(browserSorted) };
    console.log(`   browser /agents?sort=-last_seen first page: p50 ${browserSortedStats.p50Ms} ms, max ${browserSortedStats.maxMs} ms`);

    const t = Date.now();
    await page.goto(`${server.base}/`);
    await page.waitForFunction(() => /^\d[\d,]*$/.test(document.querySelector('[data-testid="total-agents"] .stat-value')?.textContent ?? ''), undefined, { timeout: 300_000 });
    const overviewMs = Date.now() - t;
    const shownTotal = await page.locator('[data-testid="total-agents"] .stat-value').innerText();
    console.log(`   overview totals (reads all ${shownTotal} agents): ${overviewMs} ms`);

    const firstPage = Math.max(browserStats.cold, api[0].maxMs);
    const result = {
      bench: 'console-agents',
      time: new Date().toISOString(),
      machine: machine(),
      options: opts,
      agents: seeded.agents,
      seedMs: seeded.ms,
      serverStartMs: server.startMs,
      api,
      sorted,
      browserAgentsFirstPage: browserStats,
      browserAgentsSortedByLastSeen: browserSortedStats,
      overviewTotalsMs: overviewMs,
      target: { firstPageUnderMs: 1000, met: firstPage < 1000 },
    };
    writeResult('console-agents', result);
    console.log(`== first page of ${seeded.agents}: API max ${api[0].maxMs} ms, browser cold ${browserStats.cold} ms: ${result.target.met ? 'under' : 'NOT under'} 1 s`);
  } finally {
    await context?.close().catch(() => undefined);
    if (server) await stopServer(server);
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
