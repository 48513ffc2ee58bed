// Rollout benchmark (issue 7 "rollout", issue 5's benchmark), on demand, never in CI.
//
// Distributed mode on this machine: Kafka, Redis, PostgreSQL (infra.sh up), one
// status-ingest, one config-service and N gateway processes (built apps, env
// config), and a swarm of A WebSocket agents (@opamp/swarm, several worker
// processes over 127.0.0.N). Once every agent is connected and known to the API:
//
//   phase "assign":  POST /configurations + POST /assignments selecting all of them
//   phase "update":  PUT /configurations/{name}: a new version (issue 5's case)
//
// For each phase: time from the API call until every agent reported APPLIED
// for the new hash (swarm convergence, agent-side clocks) and until the API
// shows every agent in sync, plus CPU and RSS of each process kind.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/rollout.bench.js [--agents=10000] [--help]
//   (100k: --agents=100000; gateways default to ceil(agents / 15000))
//
// Writes bench/results/rollout-<agents>.json.
const path = require('path');
const S = require('./lib/stack');
const { countAppliedInSync, startStackSwarm, startSwarmStack, waitForFleet } = require('./lib/swarm-stack');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    agents: 10_000,
    gateways: 0, // 0: ceil(agents / perGateway)
    perGateway: 15_000,
    workers: 0, // 0: max(2, ceil(agents / 15000))
    ramp: 2_000, // agents started per second
    applyDelayMs: 0,
    heartbeatS: 30,
    timeoutS: 180, // per phase
    basePort: 14400,
    skipBuild: false,
    seed: 7,
  },
  'rollout benchmark: time for a new configuration version to reach A connected agents and be APPLIED by all',
);
const BENCH = 'rollout';

function collectorYaml(version) {
  return `# bench rollout v${version}
receivers:
  otlp:
    protocols:
      grpc: {}
processors:
  batch:
    timeout: ${version}s
exporters:
  debug:
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
`;
}

async function main() {
  const A = opts.agents;
  const stack = await startSwarmStack(BENCH, opts, {
    describeRun: (ident, { nGateways, nWorkers }) =>
      `run ${ident.id}: ${A} agents, ${nGateways} gateways, ${nWorkers} swarm workers, tenant ${ident.tenant}, database ${ident.dbName}`,
    samplerIntervalMs: 500,
    sampleOrchestrator: true,
  });
  const { nGateways, ident, api, sampler, others } = stack;
  const { formatSummary } = stack.swarmLib;
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);

  const swarm = await startStackSwarm(stack, opts, { applyDelayMs: opts.applyDelayMs, progressEveryMs: 2_000 });
  const { connectedAfterMs, knownAfterMs } = await waitForFleet(stack, swarm, opts, { log: console.log });
  await S.sleep(5_000);
  sampler.mark('idle0');
  await S.sleep(10_000);
  sampler.mark('idle1');
  const idle = sampler.window('idle0', 'idle1');
  console.log(`connected, idle: CPU% ${JSON.stringify(idle.cpuPercent)}; RSS MiB ${JSON.stringify(idle.rssMiB)}`);

  const phases = {};
  const selector = `bench.run=${ident.id}`;
  const configName = 'bench-collector';

  async function phase(name, change) {
    sampler.resetPeaks();
    sampler.mark(`${name}:t0`);
    const t0 = Date.now();
    const created = await change();
    const apiCallMs = Date.now() - t0;
    const hash = created.contentHash;
    swarm.markConvergenceStart(hash, {}, t0);
    console.log(`${name}: change made in ${apiCallMs} ms (version ${created.version}, hash ${hash.slice(0, 12)}...), waiting for APPLIED`);
    // The API side: after every agent reported the new hash, "no agent out of sync" means all in sync on it.
    let apiInSyncMs;
    let swarmDone = false;
    const apiWatch = (async () => {
      while (Date.now() - t0 < opts.timeoutS * 1000) {
        if (swarmDone && !(await api.anyAgent('&inSync=false'))) {
          apiInSyncMs = Date.now() - t0;
          return;
        }
        await S.sleep(swarmDone ? 100 : 250);
      }
    })();
    const c = await swarm.waitConverged(opts.timeoutS * 1000);
    swarmDone = true;
    sampler.mark(`${name}:converged`);
    console.log(`${name}: swarm ${c.converged ? `converged in ${c.convergenceMs} ms` : `NOT converged: ${c.applied}/${c.targeted} applied, ${c.failed} failed`}`);
    await apiWatch;
    sampler.mark(`${name}:insync`);
    // Verify with a full listing: every agent in sync on the new hash, APPLIED.
    const verified = await countAppliedInSync(api, hash);
    console.log(`${name}: API in sync after ${apiInSyncMs ?? 'timeout'} ms; verified ${verified}/${A} in sync on the new hash`);
    const win = sampler.window(`${name}:t0`, `${name}:insync`);
    phases[name] = {
      configurationVersion: created.version,
      hash,
      apiCallMs,
      allAppliedMs: c.converged ? c.convergenceMs : null,
      applied: c.applied,
      failed: c.failed,
      targeted: c.targeted,
      perAgentAppliedLatencyMs: c.appliedLatencyMs,
      apiAllInSyncMs: apiInSyncMs ?? null,
      verifiedInSyncByApi: verified,
      withinTarget10s: c.converged && c.convergenceMs <= 10_000,
      resources: { ...win, ...sampler.peaks() },
    };
  }

  await phase('assign', async () => {
    const cfg = await api.call('POST', '/configurations', {
      name: configName,
      files: { 'collector.yaml': { body: collectorYaml(1), contentType: 'text/yaml' } },
    });
    await api.call('POST', '/assignments', { name: 'bench-all', configurationName: configName, selector, priority: 10 });
    return cfg;
  });
  await S.sleep(5_000);
  await phase('update', () =>
    api.call('PUT', `/configurations/${configName}`, {
      name: configName,
      files: { 'collector.yaml': { body: collectorYaml(2), contentType: 'text/yaml' } },
    }),
  );

  const report = await swarm.stop();
  console.log(formatSummary(report));
  sampler.stop();
  const result = {
    parameters: {
      mode: 'distributed',
      agents: A,
      transport: 'websocket',
      gateways: nGateways,
      statusIngest: 1,
      configService: 1,
      swarmWorkers: report.memory.workers.length,
      sourceAddresses: report.parameters.addresses,
      rampPerSecond: opts.ramp,
      heartbeatSeconds: opts.heartbeatS,
      applyDelayMs: opts.applyDelayMs,
      selector: 'all agents of the run (bench.run label)',
      configBytes: collectorYaml(2).length,
      infra: 'Kafka, Redis, PostgreSQL of deploy/infra/infra.sh on the same machine',
    },
    otherBusyProcessesAtStart: others,
    ramp: { allConnectedMs: connectedAfterMs, apiListsAllConnectedMs: knownAfterMs, connectLatencyMs: report.connectLatencyMs, errors: report.errors },
    idleConnected: idle,
    phases,
    target: { issue5: '10,000 agents, all APPLIED within 10 s', met: phases.update?.withinTarget10s ?? false },
    swarmMemory: { rssPerAgentBytes: report.memory.rssPerAgentBytes },
  };
  const file = writeResult(`${BENCH}-${A}`, result);
  const brief = {};
  for (const [k, v] of Object.entries(phases)) {
    brief[k] = { allAppliedMs: v.allAppliedMs, apiAllInSyncMs: v.apiAllInSyncMs, verified: v.verifiedInSyncByApi, cpuPercent: v.resources.cpuPercent, machineBusyPercent: v.resources.machineBusyPercent, otherProcessesCpuPercent: v.resources.otherProcessesCpuPercent };
  }
  console.log(`\n${JSON.stringify(brief, null, 2)}`);
  console.log(`written to ${path.relative(S.repo, file)}`);
  await S.stopChildren();
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
