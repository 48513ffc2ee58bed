// Staged rollout benchmark (issue 8), on demand, never in CI.
//
// Distributed mode on this machine (infra.sh, one status-ingest, one
// config-service, gateways as processes) and a swarm of A WebSocket agents
// running version 1 of a configuration through a pinned assignment. Then a
// rollout of version 2 in B equal batches with S seconds of soak per batch:
// the time each batch takes (start -> passed) against its budget, soak + 10 s.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/staged-rollout.bench.js [--agents=10000] [--batches=4] [--soakS=30]
//
// Writes bench/results/staged-rollout-<agents>.json.
const path = require('path');
const S = require('./lib/stack');
const { Sampler, infraPids, topOthers } = require('./lib/procs');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    agents: 10_000,
    batches: 4,
    soakS: 30,
    gateways: 0,
    perGateway: 15_000,
    workers: 0,
    ramp: 2_000,
    heartbeatS: 30,
    basePort: 14600,
    skipBuild: false,
    seed: 11,
  },
  'staged rollout benchmark: a B-batch rollout with S s soak per batch to A agents',
);
const BENCH = 'staged-rollout';
const APPLIED = 'REMOTE_CONFIG_STATUS_APPLIED';

const yaml = (version) => `# staged rollout v${version}
receivers:
  otlp:
    protocols:
      grpc: {}
processors:
  batch:
    timeout: ${version}s
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`;

async function main() {
  const A = opts.agents;
  const nGateways = opts.gateways || Math.ceil(A / opts.perGateway);
  const nWorkers = opts.workers || Math.max(2, Math.ceil(A / 15_000));
  S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const { runSwarm, formatProgress } = require('@opamp/swarm');

  const ident = S.runIdentity(BENCH);
  const apiPort = opts.basePort + 80;
  console.log(`run ${ident.id}: ${A} agents, ${opts.batches} batches, ${opts.soakS} s soak, ${nGateways} gateways`);
  const { ingest, config } = await S.startWorkers(BENCH, ident, { apiPort, grpcPort: apiPort + 1 });
  const gws = await S.startGateways(BENCH, ident, nGateways, { basePort: opts.basePort });
  const api = S.api(`http://127.0.0.1:${apiPort}/api/v1`, ident.adminToken);
  const infra = infraPids();
  const swarmPids = [];
  const sampler = new Sampler(
    {
      gateway: () => gws.map((g) => g.pid),
      'status-ingest': () => [ingest.pid],
      'config-service': () => [config.pid],
      swarm: () => swarmPids,
      kafka: () => infra.kafka,
      redis: () => infra.redis,
      postgres: () => infraPids().postgres,
    },
    1_000,
  );
  const others = await topOthers([...gws, ingest, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));

  const swarm = await runSwarm({
    agents: A,
    endpoints: gws.map((g) => `ws://127.0.0.1:${g.port}/v1/opamp`),
    wsFraction: 1,
    workers: nWorkers,
    rampPerSecond: opts.ramp,
    durationMs: 3_600_000,
    seed: opts.seed,
    description: { extraLabels: { 'bench.run': ident.id } },
    agent: { headers: { Authorization: `Bearer ${ident.agentToken}` }, heartbeatIntervalMs: opts.heartbeatS * 1000, applyDelayMs: 0 },
  });
  S.onCleanup(() => swarm.stop());
  for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
  let lastLine = 0;
  swarm.on('progress', (p) => {
    if (Date.now() - lastLine >= 5_000) {
      lastLine = Date.now();
      console.log(formatProgress(p));
    }
  });
  await swarm.waitConnected(Math.max(120_000, (A / opts.ramp) * 3_000));
  await S.waitUntil('API lists every agent connected', async () => (await api.countAgents('&connected=true')) >= A, 300_000, 2_000);

  // Version 1 everywhere, through an assignment pinned to it.
  const selector = `bench.run=${ident.id}`;
  const v1 = await api.call('POST', '/configurations', { name: 'staged', files: { 'collector.yaml': { body: yaml(1), contentType: 'text/yaml' } } });
  await api.call('POST', '/assignments', { name: 'staged-all', configurationName: 'staged', selector, priority: 10, pinnedVersion: 1 });
  swarm.markConvergenceStart(v1.contentHash, {}, Date.now());
  const c1 = await swarm.waitConverged(300_000);
  console.log(`version 1 applied by ${c1.applied}/${c1.targeted} in ${c1.convergenceMs} ms`);
  await S.waitUntil('API shows everyone in sync on v1', async () => !(await api.anyAgent('&inSync=false')), 120_000, 1_000);

  // Version 2, rolled out in equal batches.
  const v2 = await api.call('PUT', '/configurations/staged', { name: 'staged', files: { 'collector.yaml': { body: yaml(2), contentType: 'text/yaml' } } });
  sampler.mark('t0');
  const t0 = Date.now();
  swarm.markConvergenceStart(v2.contentHash, {}, t0);
  await api.call('POST', '/rollouts', {
    name: 'staged-v2',
    assignmentName: 'staged-all',
    strategy: { batchPercent: 100 / opts.batches },
    gates: { maxFailedPercent: 1 },
    soakTimeMs: opts.soakS * 1000,
    autoRollback: true,
    start: true,
  });
  let rollout;
  let lastState = '';
  const budgetMs = opts.batches * (opts.soakS * 1000 + 10_000);
  while (Date.now() - t0 < budgetMs * 3) {
    rollout = await api.call('GET', '/rollouts/staged-v2');
    const line = `${rollout.state} batch ${rollout.currentBatch + 1}/${rollout.batches.length} ${JSON.stringify(rollout.progress)}`;
    if (line !== lastState) {
      console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${line}`);
      lastState = line;
    }
    if (!['ROLLOUT_STATE_RUNNING', 'ROLLOUT_STATE_PENDING'].includes(rollout.state)) break;
    await S.sleep(500);
  }
  const totalMs = Date.now() - t0;
  sampler.mark('done');
  const c2 = await swarm.waitConverged(10_000);
  const batches = rollout.batches.map((b) => {
    const ms = b.startTime && b.finishTime ? Date.parse(b.finishTime) - Date.parse(b.startTime) : null;
    return {
      index: b.index,
      agents: b.agents,
      state: b.state,
      startToPassedMs: ms,
      overSoakMs: ms === null ? null : ms - opts.soakS * 1000,
      withinBudget: ms !== null && ms <= opts.soakS * 1000 + 10_000,
    };
  });
  let verified = 0;
  let pageToken = '';
  do {
    const page = await api.call('GET', `/agents?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`);
    for (const a of page.agents ?? []) if (a.desiredConfigHash === v2.contentHash && a.remoteConfigStatus === APPLIED && a.inSync) verified++;
    pageToken = page.nextPageToken ?? '';
  } while (pageToken);
  sampler.stop();
  const result = {
    parameters: { mode: 'distributed', agents: A, batches: opts.batches, soakSeconds: opts.soakS, gateways: nGateways, swarmWorkers: nWorkers, strategy: `batch_percent ${100 / opts.batches}` },
    otherBusyProcessesAtStart: others,
    rollout: { finalState: rollout.state, stateReason: rollout.stateReason, totalMs, budgetMs, withinBudget: rollout.state === 'ROLLOUT_STATE_COMPLETED' && totalMs <= budgetMs },
    batches,
    agentsOnV2InSync: verified,
    swarmConvergence: { applied: c2.applied, targeted: c2.targeted, failed: c2.failed },
    resources: sampler.window('t0', 'done'),
    target: { issue8: `${opts.batches} batches, ${opts.soakS} s soak: each within soak + 10 s`, met: batches.every((b) => b.withinBudget) && rollout.state === 'ROLLOUT_STATE_COMPLETED' },
  };
  const file = writeResult(`${BENCH}-${A}`, result);
  console.log(JSON.stringify({ rollout: result.rollout, batches, verified, target: result.target }, null, 2));
  console.log(`written to ${path.relative(S.repo, file)}`);
  await swarm.stop();
  await S.stopChildren();
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
