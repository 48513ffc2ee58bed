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
const { countAppliedInSync, startStackSwarm, startSwarmStack, waitForFleet } = require('./lib/swarm-stack');
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

const { collectorYaml } = require('./lib/collector-config');

const yaml = (version) => collectorYaml('staged rollout', version);

async function main() {
  const A = opts.agents;
  const stack = await startSwarmStack(BENCH, opts, {
    describeRun: (ident, { nGateways }) => `run ${ident.id}: ${A} agents, ${opts.batches} batches, ${opts.soakS} s soak, ${nGateways} gateways`,
    samplerIntervalMs: 1_000,
  });
  const { nGateways, nWorkers, ident, api, sampler, others } = stack;
  const swarm = await startStackSwarm(stack, opts, { applyDelayMs: 0, progressEveryMs: 5_000 });
  await waitForFleet(stack, swarm, opts);

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
  const verified = await countAppliedInSync(api, v2.contentHash);
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
