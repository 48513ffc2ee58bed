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
const { Sampler, infraPids, topOthers } = require('./lib/procs');
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
const APPLIED = 'REMOTE_CONFIG_STATUS_APPLIED';

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
  const nGateways = opts.gateways || Math.ceil(A / opts.perGateway);
  const nWorkers = opts.workers || Math.max(2, Math.ceil(A / 15_000));
  S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const { runSwarm, formatProgress, formatSummary } = require('@opamp/swarm');

  const ident = S.runIdentity(BENCH);
  const apiPort = opts.basePort + 80;
  console.log(`run ${ident.id}: ${A} agents, ${nGateways} gateways, ${nWorkers} swarm workers, tenant ${ident.tenant}, database ${ident.dbName}`);
  const { ingest, config } = await S.startWorkers(BENCH, ident, { apiPort, grpcPort: apiPort + 1 });
  const gws = await S.startGateways(BENCH, ident, nGateways, { basePort: opts.basePort });
  const api = S.api(`http://127.0.0.1:${apiPort}/api/v1`, ident.adminToken);

  const swarmPids = [];
  const infra = infraPids();
  const sampler = new Sampler(
    {
      gateway: () => gws.map((g) => g.pid),
      'status-ingest': () => [ingest.pid],
      'config-service': () => [config.pid],
      swarm: () => swarmPids,
      kafka: () => infra.kafka,
      redis: () => infra.redis,
      postgres: () => infraPids().postgres,
      'bench-orchestrator': () => [process.pid],
    },
    500,
  );
  const others = await topOthers([...gws, ingest, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);

  const swarm = await runSwarm({
    agents: A,
    endpoints: gws.map((g) => `ws://127.0.0.1:${g.port}/v1/opamp`),
    wsFraction: 1,
    workers: nWorkers,
    rampPerSecond: opts.ramp,
    durationMs: 3_600_000,
    seed: opts.seed,
    description: { extraLabels: { 'bench.run': ident.id } },
    agent: {
      headers: { Authorization: `Bearer ${ident.agentToken}` },
      heartbeatIntervalMs: opts.heartbeatS * 1000,
      applyDelayMs: opts.applyDelayMs,
    },
  });
  S.onCleanup(() => swarm.stop());
  for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
  let lastLine = 0;
  swarm.on('progress', (p) => {
    if (Date.now() - lastLine >= 2_000) {
      lastLine = Date.now();
      console.log(formatProgress(p));
    }
  });

  const tRamp = Date.now();
  await swarm.waitConnected(Math.max(120_000, (A / opts.ramp) * 3_000));
  const connectedAfterMs = Date.now() - tRamp;
  console.log(`all ${A} agents connected after ${(connectedAfterMs / 1000).toFixed(1)} s; waiting for the API to list them`);
  await S.waitUntil('API lists every agent connected', async () => (await api.countAgents('&connected=true')) >= A, 300_000, 2_000);
  const knownAfterMs = Date.now() - tRamp;
  console.log(`API lists ${A} connected agents after ${(knownAfterMs / 1000).toFixed(1)} s`);
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
    let verified = 0;
    let pageToken = '';
    do {
      const page = await api.call('GET', `/agents?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`);
      for (const a of page.agents ?? []) if (a.inSync && a.desiredConfigHash === hash && a.remoteConfigStatus === APPLIED) verified++;
      pageToken = page.nextPageToken ?? '';
    } while (pageToken);
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
