// Reconnect-storm benchmark (issue 7 "reconnect storm"), on demand, never in CI.
//
// Distributed mode: Kafka, Redis, PostgreSQL, one status-ingest, one
// config-service, G gateways behind a TCP load balancer (bench/lib/tcp-balancer.js,
// round-robin over live gateways, a cluster of processes); the agents only know
// the balancer's endpoint. Steps:
//   1. only gateway 0 is up: A agents (default 15,000) connect through the balancer, all on it;
//      a configuration is assigned to all of them and every one is in sync;
//   2. the other G-1 gateways start (empty) and join the balancer;
//   3. gateway 0 is killed (SIGKILL: a crash, no drain; --signal=SIGTERM for a drain);
//   4. measured: time until every agent is connected again (swarm), until the
//      API lists all A connected on the survivors and all in sync; peak CPU and
//      RSS of the survivors; rejected connection attempts; agents lost.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/reconnect-storm.bench.js [--agents=15000] [--gateways=3] [--help]
//
// Writes bench/results/reconnect-storm.json.
const { fork } = require('child_process');
const path = require('path');
const S = require('./lib/stack');
const { Sampler, infraPids, topOthers } = require('./lib/procs');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    agents: 15_000,
    gateways: 3,
    signal: 'SIGKILL',
    ramp: 1_000,
    heartbeatS: 30,
    reconnectInitialMs: 1_000,
    reconnectMaxMs: 30_000,
    timeoutS: 300,
    basePort: 14800,
    skipBuild: false,
  },
  'reconnect storm: kill a gateway holding A agents; time until all are connected elsewhere and in sync',
);
const BENCH = 'reconnect-storm';

async function main() {
  const A = opts.agents;
  if (A > 19_000) throw new Error('one gateway holds at most ~19,000 agents (open-files limit): --agents <= 19000');
  S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const { runSwarm, formatProgress, formatSummary } = require('@opamp/swarm');
  const ident = S.runIdentity(BENCH);
  const apiPort = opts.basePort + 80;
  const lbPort = opts.basePort + 90;
  console.log(`run ${ident.id}: ${A} agents on one gateway of ${opts.gateways}, balancer :${lbPort}+, kill with ${opts.signal}`);
  const { ingest, config } = await S.startWorkers(BENCH, ident, { apiPort, grpcPort: apiPort + 1 });
  const api = S.api(`http://127.0.0.1:${apiPort}/api/v1`, ident.adminToken);
  const [gw0] = await S.startGateways(BENCH, ident, 1, { basePort: opts.basePort });

  // Balancer processes (one port each, <= 9,000 connections each: two sockets per connection, 20,000 open files).
  const lbCount = Math.max(2, Math.ceil(A / 8_000));
  const lbs = [];
  for (let i = 0; i < lbCount; i++) {
    const lb = fork(path.join(__dirname, 'lib', 'tcp-balancer.js'), [JSON.stringify({ port: lbPort + i, index: i, backends: [{ host: '127.0.0.1', port: gw0.port }], probeMs: 500 })], { cwd: S.repo });
    S.children.add(lb);
    await new Promise((resolve, reject) => {
      lb.once('message', (m) => (m.type === 'ready' ? resolve() : reject(new Error('balancer'))));
      lb.once('exit', () => reject(new Error('balancer exited')));
    });
    lbs.push(lb);
  }
  const lbStats = () =>
    Promise.all(
      lbs.map(
        (lb) =>
          new Promise((resolve) => {
            const on = (m) => {
              if (m.type !== 'stats') return;
              lb.off('message', on);
              resolve(m);
            };
            lb.on('message', on);
            lb.send({ cmd: 'stats' });
          }),
      ),
    );
  const lbPids = () => lbs.map((lb) => lb.pid);

  const gws = [gw0];
  const swarmPids = [];
  const infra = infraPids();
  const sampler = new Sampler(
    {
      'gateway-killed': () => (gw0.exitCode === null && gw0.signalCode === null ? [gw0.pid] : []),
      'gateway-survivors': () => gws.slice(1).map((g) => g.pid),
      'status-ingest': () => [ingest.pid],
      'config-service': () => [config.pid],
      balancer: lbPids,
      swarm: () => swarmPids,
      kafka: () => infra.kafka,
      redis: () => infra.redis,
      postgres: () => infraPids().postgres,
      'bench-orchestrator': () => [process.pid],
    },
    500,
  );
  const others = await topOthers([gw0.pid, ingest.pid, config.pid, ...infra.kafka, ...infra.redis, ...infra.postgres]);
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);

  const swarm = await runSwarm({
    agents: A,
    endpoints: lbs.map((_, i) => `ws://127.0.0.1:${lbPort + i}/v1/opamp`), // the balancer's ports
    wsFraction: 1,
    workers: Math.max(2, Math.ceil(A / 10_000)),
    rampPerSecond: opts.ramp,
    durationMs: 3_600_000,
    seed: 11,
    description: { extraLabels: { 'bench.run': ident.id } },
    agent: {
      headers: { Authorization: `Bearer ${ident.agentToken}` },
      heartbeatIntervalMs: opts.heartbeatS * 1000,
      reconnect: { initialMs: opts.reconnectInitialMs, maxMs: opts.reconnectMaxMs },
    },
  });
  S.onCleanup(() => swarm.stop());
  for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
  let last = 0;
  swarm.on('progress', (p) => {
    if (Date.now() - last >= 3_000) {
      last = Date.now();
      console.log(formatProgress(p));
    }
  });
  await swarm.waitConnected(Math.max(180_000, (A / opts.ramp) * 4_000));
  await S.waitUntil('API lists every agent connected', async () => (await api.countAgents('&connected=true')) >= A, 300_000, 2_000);

  // A configuration for all of them, so "in sync" after the storm means something.
  const t0c = Date.now();
  const cfg = await api.call('POST', '/configurations', {
    name: 'storm',
    files: { 'collector.yaml': { body: 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n', contentType: 'text/yaml' } },
  });
  await api.call('POST', '/assignments', { name: 'storm-all', configurationName: 'storm', selector: `bench.run=${ident.id}`, priority: 1 });
  swarm.markConvergenceStart(cfg.contentHash, {}, t0c);
  const c0 = await swarm.waitConverged(120_000);
  await S.waitUntil('API: all in sync before the storm', async () => !(await api.anyAgent('&inSync=false')), 120_000, 500);
  console.log(`before the storm: ${A} agents on gateway 0, config applied by all in ${c0.convergenceMs} ms, API all in sync`);

  // The survivors join.
  const more = await S.startGateways(BENCH, ident, opts.gateways - 1, { basePort: opts.basePort, firstIndex: 1 });
  more.forEach((g) => {
    gws.push(g);
    for (const lb of lbs) lb.send({ cmd: 'add', backend: { host: '127.0.0.1', port: g.port } });
  });
  await S.sleep(10_000);
  const rejected0 = await Promise.all(more.map((g) => S.metric(g.adminPort, 'opamp_gateway_rejections_total')));
  const errors0 = { ...swarm.progress().errors };
  sampler.resetPeaks();
  sampler.mark('before');
  await S.sleep(5_000);

  // The storm.
  console.log(`\nkilling gateway 0 (pid ${gw0.pid}, ${A} agents) with ${opts.signal}`);
  sampler.mark('kill');
  const tKill = Date.now();
  await S.stopApp(gw0, opts.signal, 60_000);
  let minConnected = A;
  let allBackMs;
  let apiConnectedMs;
  let apiInSyncMs;
  const watchMin = setInterval(() => (minConnected = Math.min(minConnected, swarm.progress().connected)), 200);
  try {
    // The swarm's own count (workers report once a second): first see the drop, then all back.
    // Connected means the agent had its reply on the new connection.
    await S.waitUntil('the swarm sees the drop', () => swarm.progress().connected < A, 15_000, 100).catch(() => undefined);
    await S.waitUntil('all agents reconnected', async () => {
      const p = await swarm.waitConnected(1_000).catch(() => null);
      return p !== null;
    }, opts.timeoutS * 1000, 0);
    allBackMs = Date.now() - tKill;
    console.log(`all ${A} agents connected again after ${(allBackMs / 1000).toFixed(1)} s`);
    sampler.mark('reconnected');
    await S.waitUntil('API lists all connected on the survivors', async () => {
      let n = 0;
      let token = '';
      do {
        const page = await api.call('GET', `/agents?pageSize=1000&connected=true${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
        for (const a of page.agents ?? []) if (a.gatewayId !== gw0.gatewayId) n++;
        token = page.nextPageToken ?? '';
      } while (token);
      return n >= A;
    }, opts.timeoutS * 1000, 1_000);
    apiConnectedMs = Date.now() - tKill;
    await S.waitUntil('API all in sync', async () => !(await api.anyAgent('&inSync=false')) && (await api.countAgents('&inSync=true')) >= A, opts.timeoutS * 1000, 1_000);
    apiInSyncMs = Date.now() - tKill;
  } catch (err) {
    console.log(err.message);
  }
  clearInterval(watchMin);
  sampler.mark('settled');
  const settled = sampler.window('kill', 'settled');
  const peaks = sampler.peaks();
  const rejected1 = await Promise.all(more.map((g) => S.metric(g.adminPort, 'opamp_gateway_rejections_total')));
  const connectionsPerSurvivor = await Promise.all(more.map((g) => S.metric(g.adminPort, 'opamp_gateway_connections')));
  const errors1 = swarm.progress().errors;
  const errorsDuring = {};
  for (const [k, v] of Object.entries(errors1)) if (v - (errors0[k] || 0) > 0) errorsDuring[k] = v - (errors0[k] || 0);
  const balancer = await lbStats();
  const finalConnected = await api.countAgents('&connected=true');
  const finalInSync = await api.countAgents('&inSync=true');
  const knownTotal = await api.countAgents('');
  console.log(`API: ${finalConnected} connected, ${finalInSync} in sync, ${knownTotal} known (expected ${A})`);
  const report = await swarm.stop();
  console.log(formatSummary(report));
  sampler.stop();

  const result = {
    parameters: {
      mode: 'distributed, gateways behind bench/lib/tcp-balancer.js (round-robin over live gateways)',
      agents: A,
      gateways: opts.gateways,
      killedGatewayHeld: A,
      signal: opts.signal,
      balancerProcesses: lbCount,
      heartbeatSeconds: opts.heartbeatS,
      agentReconnectBackoff: { initialMs: opts.reconnectInitialMs, maxMs: opts.reconnectMaxMs, jitter: 'full' },
      rampPerSecond: opts.ramp,
      infra: 'Kafka, Redis, PostgreSQL of deploy/infra/infra.sh on the same machine',
    },
    otherBusyProcessesAtStart: others,
    beforeStorm: { configAppliedByAllMs: c0.convergenceMs },
    storm: {
      allReconnectedMs: allBackMs ?? null,
      apiAllConnectedOnSurvivorsMs: apiConnectedMs ?? null,
      apiAllInSyncMs: apiInSyncMs ?? null,
      fewestConnectedDuringStorm: minConnected,
      reconnectLatencyMs: report.reconnectLatencyMs,
      rejectedByGateways: rejected1.reduce((a, b) => a + b, 0) - rejected0.reduce((a, b) => a + b, 0),
      swarmErrorsDuringStorm: errorsDuring,
      connectionsPerSurvivor,
      balancer,
      target: 'settled (all connected elsewhere and in sync) in under 60 s with nothing lost',
      met: apiInSyncMs !== undefined && apiInSyncMs <= 60_000 && finalConnected === A && finalInSync === A && knownTotal === A,
    },
    end: { apiConnected: finalConnected, apiInSync: finalInSync, apiKnown: knownTotal, lost: A - finalConnected },
    resources: { ...settled, ...peaks },
  };
  const file = writeResult(BENCH, result);
  console.log(`\n${JSON.stringify(result.storm, null, 2)}\nwritten to ${path.relative(S.repo, file)}`);
  await S.stopChildren();
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
