// Gateway benchmarks (issue 3), on demand, never in CI. Runs one real gateway
// process against the real Kafka and Redis of infra:up and a swarm of WebSocket
// agents in several processes and source addresses.
//
//   npm run bench:gateway -- idle        [agents=19000] [holdSeconds=60]
//   npm run bench:gateway -- throughput  [connections=200] [seconds=20]
//   npm run bench:gateway -- connect     [agents=10000] [rate=1000]
//
// Prints progress and a summary; writes bench/results/gateway-<mode>.json.
const { fork, spawn, execSync } = require('child_process');
const path = require('path');
const crypto = require('crypto');
const { procStats, percentile, writeResult } = require('./lib/machine');

const repo = path.join(__dirname, '..');
const mode = process.argv[2] || 'idle';
const arg = (i, dflt) => (process.argv[i] ? Number(process.argv[i]) : dflt);
const PER_WORKER = 6_500; // under the 20,000 open files and the per-address port range
const port = 14320;
const adminPort = 14321;
const token = crypto.randomBytes(16).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function metric(name) {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

async function main() {
  execSync('bash deploy/infra/infra.sh up', { cwd: repo, stdio: 'inherit' });
  execSync('npx nx run gateway:build --output-style=static', { cwd: repo, stdio: 'ignore', env: { ...process.env, NX_DAEMON: 'false' } });
  const gateway = spawn(
    process.execPath,
    ['-r', './dist/out-tsc/register-aliases.js', 'dist/out-tsc/apps/gateway/src/main.js'],
    {
      cwd: repo,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        OPAMP_GATEWAY_ID: `bench-${process.pid}`,
        OPAMP_GATEWAY_HOST: '127.0.0.1',
        OPAMP_GATEWAY_PORT: String(port),
        OPAMP_GATEWAY_ADMIN_PORT: String(adminPort),
        OPAMP_AGENT_TOKENS: `bench=${token}`,
        OPAMP_MAX_CONNECTIONS: '19500',
        OPAMP_UPGRADES_PER_SECOND: '100000',
        OPAMP_UPGRADE_BURST: '100000',
        OPAMP_MESSAGES_PER_SECOND: '1000000',
        OPAMP_MESSAGE_BURST: '1000000',
        OPAMP_MAX_PENDING_INBOUND: '200000',
        OPAMP_DRAIN_WINDOW_MS: '0',
      },
    },
  );
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok) break;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  await sleep(3_000);
  const baseline = procStats(gateway.pid);
  console.log(`gateway pid ${gateway.pid}, baseline RSS ${(baseline.rssBytes / 2 ** 20).toFixed(1)} MiB`);

  const agents = mode === 'throughput' ? arg(3, 200) : arg(3, mode === 'idle' ? 19_000 : 10_000);
  const rate = mode === 'connect' ? arg(4, 1_000) : 2_000;
  const workers = [];
  const nWorkers = mode === 'throughput' ? 4 : Math.ceil(agents / PER_WORKER);
  const reports = new Map();
  const latencies = [];
  for (let w = 0; w < nWorkers; w++) {
    const count = Math.floor(agents / nWorkers) + (w < agents % nWorkers ? 1 : 0);
    const child = fork(path.join(__dirname, 'lib', 'ws-swarm-worker.js'), [
      JSON.stringify({
        worker: w,
        url: `ws://127.0.0.1:${port}/v1/opamp`,
        token,
        localAddress: `127.0.0.${2 + w}`,
        count,
        ratePerSecond: rate / nWorkers,
        heartbeatMs: 30_000,
        mode: mode === 'throughput' ? 'flood' : 'idle',
        window: 16,
      }),
    ], { cwd: repo, execArgv: ['-r', path.join(repo, 'dist/out-tsc/register-aliases.js')] });
    child.on('message', (r) => {
      reports.set(r.worker, r);
      latencies.push(...r.latencies);
    });
    workers.push(child);
  }
  const total = (k) => [...reports.values()].reduce((n, r) => n + r[k], 0);
  const poll = async () => {
    for (const w of workers) w.send('report');
    await sleep(1_000);
  };

  const rampStarted = Date.now();
  while (total('connected') + total('failed') < agents && Date.now() - rampStarted < 300_000) {
    await poll();
    process.stdout.write(`\rconnected ${total('connected')}/${agents}, failed ${total('failed')}   `);
  }
  await poll();
  const rampSeconds = (Date.now() - rampStarted) / 1000;
  console.log(`\nramp done in ${rampSeconds.toFixed(1)} s`);

  let result;
  if (mode === 'idle') {
    const hold = arg(4, 60);
    const cpu0 = procStats(gateway.pid);
    const t0 = Date.now();
    while (Date.now() - t0 < hold * 1000) {
      await poll();
      const s = procStats(gateway.pid);
      process.stdout.write(`\rholding ${((Date.now() - t0) / 1000).toFixed(0)}/${hold} s, RSS ${(s.rssBytes / 2 ** 20).toFixed(1)} MiB, replies ${total('replies')}   `);
    }
    const end = procStats(gateway.pid);
    const connectedNow = total('connected');
    result = {
      parameters: { agents, heartbeatSeconds: 30, holdSeconds: hold, workers: nWorkers, rampPerSecond: rate },
      connected: connectedNow,
      failed: total('failed'),
      gatewayBaselineRssMiB: +(baseline.rssBytes / 2 ** 20).toFixed(1),
      gatewayRssMiB: +(end.rssBytes / 2 ** 20).toFixed(1),
      rssPerAgentKiB: +((end.rssBytes - baseline.rssBytes) / connectedNow / 1024).toFixed(2),
      gatewayCpuPercentSteady: +(((end.cpuSeconds - cpu0.cpuSeconds) / ((Date.now() - t0) / 1000)) * 100).toFixed(1),
      heartbeatsAnswered: total('replies'),
      messagesIn: await metric('opamp_gateway_messages_in_total'),
    };
  } else if (mode === 'throughput') {
    const seconds = arg(4, 20);
    const in0 = await metric('opamp_gateway_messages_in_total');
    const kafka0 = await metric('opamp_gateway_inbound_produce_seconds_count');
    const cpu0 = procStats(gateway.pid);
    const t0 = Date.now();
    for (const w of workers) w.send('flood');
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(1_000);
      const n = await metric('opamp_gateway_messages_in_total');
      process.stdout.write(`\r${((n - in0) / ((Date.now() - t0) / 1000)).toFixed(0)} msg/s in   `);
    }
    const elapsed = (Date.now() - t0) / 1000;
    const in1 = await metric('opamp_gateway_messages_in_total');
    const kafka1 = await metric('opamp_gateway_inbound_produce_seconds_count');
    const end = procStats(gateway.pid);
    result = {
      parameters: { connections: agents, windowPerConnection: 16, seconds, workers: nWorkers },
      messagesPerSecondIn: Math.round((in1 - in0) / elapsed),
      messagesPerSecondDurableInKafka: Math.round((kafka1 - kafka0) / elapsed),
      gatewayCpuPercent: +(((end.cpuSeconds - cpu0.cpuSeconds) / elapsed) * 100).toFixed(1),
      gatewayRssMiB: +(end.rssBytes / 2 ** 20).toFixed(1),
      produceFailures: await metric('opamp_gateway_inbound_produce_failures_total'),
      rejected: await metric('opamp_gateway_rejections_total'),
    };
  } else {
    latencies.sort((a, b) => a - b);
    result = {
      parameters: { agents, ratePerSecond: rate, workers: nWorkers },
      connected: total('connected'),
      failed: total('failed'),
      rampSeconds,
      connectToFirstReplyMs: {
        p50: +percentile(latencies, 50).toFixed(2),
        p90: +percentile(latencies, 90).toFixed(2),
        p99: +percentile(latencies, 99).toFixed(2),
        max: +latencies[latencies.length - 1].toFixed(2),
        samples: latencies.length,
      },
    };
  }
  for (const w of workers) w.send('stop');
  gateway.kill('SIGTERM');
  const file = writeResult(`gateway-${mode}`, result);
  console.log(`\n${JSON.stringify(result, null, 2)}\nwritten to ${path.relative(repo, file)}`);
  await sleep(500);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
