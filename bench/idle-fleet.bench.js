// Idle-fleet benchmark (issue 7 "idle fleet"), on demand, never in CI.
//
// Distributed mode: Kafka, Redis, PostgreSQL, one status-ingest, one
// config-service, N gateways (default ceil(agents / 15,000): 7 for 100,000), and
// a swarm of A WebSocket agents (default 100,000) over several worker processes
// and 127.0.0.N addresses, heartbeats every 30 s, held `holdMin` minutes
// (default 10). Records, per process kind: RSS at the start and end of the hold,
// RSS per agent (growth over the baseline taken before any agent connected),
// CPU in steady state; agents lost (swarm connected count over the hold, and the
// API's connected / stale counts at the end); heartbeats sent vs answered;
// PostgreSQL writes per second during the hold (pg_stat_database rows written and
// commits, agents-table rows: the last-seen flush's cost) and how old the API's
// last_seen is at the end (issue 13: true within a heartbeat plus the flush bound).
//
//   node -r ./dist/out-tsc/register-aliases.js bench/idle-fleet.bench.js [--agents=100000] [--holdMin=10] [--help]
//
// Writes bench/results/idle-fleet-<agents>.json.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { summarizeCpuProfile, monoToWallOffsetMs } = require('./lib/cpu-profile');
const S = require('./lib/stack');
const { Sampler, infraPids, topOthers } = require('./lib/procs');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');
const { pgWriteCounters, pgWritesPerSecond } = require('./lib/pg-writes');

const opts = parseArgs(
  {
    agents: 100_000,
    perGateway: 15_000,
    gateways: 0,
    holdMin: 10,
    heartbeatS: 30,
    ramp: 1_000, // the rate of the recorded 100,000-agent run
    basePort: 14700,
    skipBuild: false,
    // false: use the Kafka, Redis and PostgreSQL already running (a shared machine), not infra.sh up.
    infraUp: true,
    // status-ingest's OPAMP_INGEST_LAST_SEEN_FLUSH_MS (0: its default).
    lastSeenFlushMs: 0,
    // With a profile: status-ingest and config-service run with node --cpu-prof (10 ms sampling) and
    // the result gets their top functions while the fleet connects (ramp start -> the API lists all).
    cpuProfile: false,
    // Keep the .cpuprofile files (their folder is printed) for a closer look, e.g. in Chrome's DevTools.
    keepProfiles: false,
  },
  'idle fleet: A agents with 30 s heartbeats held for holdMin minutes; memory per agent and CPU per process kind',
);
const BENCH = 'idle-fleet';

async function main() {
  const A = opts.agents;
  const nGateways = opts.gateways || Math.ceil(A / opts.perGateway);
  if (opts.infraUp) S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const { runSwarm, formatProgress, formatSummary } = require('@opamp/swarm');
  const ident = S.runIdentity(BENCH);
  const apiPort = opts.basePort + 80;
  console.log(`run ${ident.id}: ${A} agents, ${nGateways} gateways, hold ${opts.holdMin} min`);
  const ingestEnv = opts.lastSeenFlushMs > 0 ? { OPAMP_INGEST_LAST_SEEN_FLUSH_MS: String(opts.lastSeenFlushMs) } : {};
  const profileDir = opts.cpuProfile ? fs.mkdtempSync(path.join(os.tmpdir(), `${BENCH}-profile-`)) : null;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=10000'] : [];
  const offsetMs = monoToWallOffsetMs();
  const { ingest, config } = await S.startWorkers(BENCH, ident, { apiPort, grpcPort: apiPort + 1, ingestEnv, nodeArgs });
  const gws = await S.startGateways(BENCH, ident, nGateways, { basePort: opts.basePort });
  const api = S.api(`http://127.0.0.1:${apiPort}/api/v1`, ident.adminToken);
  const swarmPids = [];
  const infra = infraPids();
  const kinds = {
    gateway: () => gws.map((g) => g.pid),
    'status-ingest': () => [ingest.pid],
    'config-service': () => [config.pid],
    swarm: () => swarmPids,
    kafka: () => infra.kafka,
    redis: () => infra.redis,
    postgres: () => infraPids().postgres,
    'bench-orchestrator': () => [process.pid],
  };
  const sampler = new Sampler(kinds, 2_000);
  await S.sleep(5_000);
  sampler.mark('baseline');
  const baseline = sampler.marks.get('baseline');
  const others = await topOthers([...gws, ingest, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);

  const swarm = await runSwarm({
    agents: A,
    endpoints: gws.map((g) => `ws://127.0.0.1:${g.port}/v1/opamp`),
    wsFraction: 1,
    rampPerSecond: opts.ramp,
    durationMs: (opts.holdMin + 30) * 60_000,
    seed: 21,
    description: { extraLabels: { 'bench.run': ident.id } },
    agent: { headers: { Authorization: `Bearer ${ident.agentToken}` }, heartbeatIntervalMs: opts.heartbeatS * 1000 },
  });
  S.onCleanup(() => swarm.stop());
  for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
  let last = 0;
  swarm.on('progress', (p) => {
    if (Date.now() - last >= 5_000) {
      last = Date.now();
      console.log(formatProgress(p));
    }
  });
  const tRamp = Date.now();
  try {
    await swarm.waitConnected(Math.max(300_000, (A / opts.ramp) * 4_000));
  } catch (err) {
    // The fleet never got up: record how far it got and what the gateways saw, then stop.
    console.log(err.message);
    const gatewayMetrics = await Promise.all(
      gws.map(async (g) => ({
        gateway: g.gatewayId,
        connections: await S.metric(g.adminPort, 'opamp_gateway_connections').catch(() => null),
        leaseFailures: await S.metric(g.adminPort, 'opamp_gateway_lease_failures_total').catch(() => null),
        rejections: await S.metric(g.adminPort, 'opamp_gateway_rejections_total').catch(() => null),
        eventLoopLagMaxS: await S.metric(g.adminPort, 'nodejs_eventloop_lag_max_seconds').catch(() => null),
      })),
    );
    const p = swarm.progress();
    sampler.mark('failed');
    const report = await swarm.stop();
    const file = writeResult(`${BENCH}-${A}`, {
      parameters: { mode: 'distributed', agents: A, gateways: nGateways, heartbeatSeconds: opts.heartbeatS, holdMinutes: opts.holdMin, rampPerSecond: opts.ramp },
      otherBusyProcessesAtStart: others,
      failed: `not every agent connected within the ramp timeout: ${p.connected}/${A} connected at the end`,
      atFailure: { connected: p.connected, connecting: p.connecting, errors: p.errors, gatewayMetrics, resources: sampler.window('baseline', 'failed') },
      peakConnected: report.agents.peakConnected,
      connectLatencyMs: report.connectLatencyMs,
      target: { issue7: '100,000 agents held on one 2-core machine, no agent lost', met: false },
    });
    console.log(`written to ${path.relative(S.repo, file)}`);
    await S.stopChildren();
    await S.dropKafkaArtifacts(ident);
    process.exit(2);
  }
  const rampMs = Date.now() - tRamp;
  await S.waitUntil('API lists every agent connected', async () => (await api.countAgents('&connected=true')) >= A, 600_000, 5_000);
  const apiListsAllMs = Date.now() - tRamp;
  console.log(`all ${A} connected after ${(rampMs / 1000).toFixed(1)} s, listed by the API after ${(apiListsAllMs / 1000).toFixed(1)} s; holding ${opts.holdMin} min`);
  await S.sleep(opts.heartbeatS * 1000); // let the ramp's work settle before the steady-state window

  sampler.resetPeaks();
  sampler.mark('hold0');
  const pg0 = await pgWriteCounters(ident.databaseUrl);
  const p0 = swarm.progress();
  let minConnected = A;
  const holdEnd = Date.now() + opts.holdMin * 60_000;
  while (Date.now() < holdEnd) {
    await S.sleep(1_000);
    minConnected = Math.min(minConnected, swarm.progress().connected);
  }
  sampler.mark('hold1');
  const pgWrites = pgWritesPerSecond(pg0, await pgWriteCounters(ident.databaseUrl));
  const p1 = swarm.progress();
  // The oldest last_seen the API shows, while every agent still heartbeats: at most one heartbeat
  // interval plus the last-seen flush bound (apps/status-ingest/README.md).
  const oldest = await api.call('GET', '/agents?pageSize=1&connected=true&orderBy=last_seen%20asc');
  const oldestLastSeenAgeS = oldest.agents?.[0] ? +((Date.now() - Date.parse(oldest.agents[0].lastSeenTime)) / 1000).toFixed(1) : null;
  const hold = sampler.window('hold0', 'hold1');
  const holdStart = sampler.marks.get('hold0');
  const end = sampler.marks.get('hold1');
  const apiConnected = await api.countAgents('&connected=true');
  const apiKnown = await api.countAgents('');
  const errorsDuring = {};
  for (const [k, v] of Object.entries(p1.errors)) if (v - (p0.errors[k] || 0) > 0) errorsDuring[k] = v - (p0.errors[k] || 0);
  const report = await swarm.stop();
  console.log(formatSummary(report));
  sampler.stop();

  const perKind = {};
  for (const kind of Object.keys(kinds)) {
    const b = baseline.kinds[kind]?.rss || 0;
    const e = end.kinds[kind]?.rss || 0;
    perKind[kind] = {
      processes: end.kinds[kind]?.n || 0,
      rssBaselineMiB: +(b / 2 ** 20).toFixed(1),
      rssHoldStartMiB: +((holdStart.kinds[kind]?.rss || 0) / 2 ** 20).toFixed(1),
      rssEndMiB: +(e / 2 ** 20).toFixed(1),
      rssPerAgentKiB: +((e - b) / A / 1024).toFixed(2),
      cpuPercentSteady: hold.cpuPercent[kind],
    };
  }
  const expectedHeartbeats = Math.round((A * opts.holdMin * 60) / opts.heartbeatS);
  const result = {
    parameters: {
      mode: 'distributed',
      agents: A,
      gateways: nGateways,
      swarmWorkers: report.memory.workers.length,
      sourceAddresses: report.parameters.addresses,
      heartbeatSeconds: opts.heartbeatS,
      holdMinutes: opts.holdMin,
      rampPerSecond: opts.ramp,
      lastSeenFlushMs: opts.lastSeenFlushMs || 'status-ingest default',
      infra: 'Kafka, Redis, PostgreSQL of deploy/infra/infra.sh on the same machine',
    },
    otherBusyProcessesAtStart: others,
    ramp: { allConnectedMs: rampMs, apiListsAllMs, connectLatencyMs: report.connectLatencyMs },
    hold: {
      seconds: hold.seconds,
      fewestConnected: minConnected,
      heartbeatsSent: p1.sent - p0.sent,
      heartbeatsAnswered: p1.received - p0.received,
      heartbeatsExpected: expectedHeartbeats,
      swarmErrors: errorsDuring,
      machineBusyPercent: hold.machineBusyPercent,
      otherProcessesCpuPercent: hold.otherProcessesCpuPercent,
      postgresWrites: pgWrites,
    },
    perProcessKind: perKind,
    end: { apiConnected, apiKnown, lost: A - apiConnected, oldestLastSeenAgeS },
    target: { issue7: '100,000 agents held on one 2-core machine, no agent lost', met: A >= 100_000 && minConnected === A && apiConnected === A },
  };
  if (profileDir) {
    // Profiles are written when the processes exit.
    await S.stopChildren();
    const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    const window = { fromMs: tRamp, toMs: tRamp + apiListsAllMs, offsetMs };
    const of = (pid) => {
      const f = files.find((name) => name.includes(`.${pid}.`));
      return f ? summarizeCpuProfile(path.join(profileDir, f), window) : { error: 'no profile written (did it exit cleanly?)' };
    };
    result.connectProfiles = { 'status-ingest': of(ingest.pid), 'config-service': of(config.pid) };
    if (opts.keepProfiles) console.log(`CPU profiles kept in ${profileDir}`);
    else fs.rmSync(profileDir, { recursive: true, force: true });
  }
  const file = writeResult(`${BENCH}-${A}`, result);
  console.log(`\n${JSON.stringify({ ramp: result.ramp, hold: result.hold, perProcessKind: perKind, end: result.end, connectProfiles: result.connectProfiles }, null, 2)}\nwritten to ${path.relative(S.repo, file)}`);
  await S.stopChildren();
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
