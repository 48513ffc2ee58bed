// Shared by the rollout benchmarks (rollout, staged-rollout, package-rollout): the distributed
// stack (infra, one status-ingest, one config-service, N gateways) with a
// WebSocket swarm of A agents in front of it, every agent labelled with the
// run (`bench.run=<id>`) so one selector targets the whole fleet, and a CPU/RSS
// sampler over every process kind.
//
// Options read from the bench's parsed arguments: agents, gateways (0: one per
// perGateway agents), perGateway, workers (0: one per 15,000 agents, at least 2),
// ramp, heartbeatS, basePort (gateways from it; the API at basePort + 80),
// skipBuild, seed.
const S = require('./stack');
const { Sampler, infraPids, topOthers } = require('./procs');

/** How many gateways and swarm workers a run uses. */
function stackSize(opts) {
  return {
    nGateways: opts.gateways || Math.ceil(opts.agents / opts.perGateway),
    nWorkers: opts.workers || Math.max(2, Math.ceil(opts.agents / 15_000)),
  };
}

/**
 * Builds (unless skipBuild) and starts the stack for a run; resolves when every
 * process is ready.
 * - describeRun(ident, size): the line printed once the run has its identity.
 * - samplerIntervalMs, sampleOrchestrator: how often processes are sampled, and
 *   whether this bench process is sampled too (as `bench-orchestrator`).
 * - configEnv, gatewayEnv(ident): settings added to config-service's and every
 *   gateway's environment (e.g. package downloads).
 */
async function startSwarmStack(bench, opts, { describeRun, samplerIntervalMs, sampleOrchestrator = false, configEnv = {}, gatewayEnv = () => ({}) }) {
  const size = stackSize(opts);
  S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  // Loaded only after the build: it comes from dist/out-tsc.
  const swarmLib = require('@opamp/swarm');

  const ident = S.runIdentity(bench);
  const apiPort = opts.basePort + 80;
  console.log(describeRun(ident, size));
  const { ingest, config } = await S.startWorkers(bench, ident, { apiPort, grpcPort: apiPort + 1, configEnv });
  const gws = await S.startGateways(bench, ident, size.nGateways, { basePort: opts.basePort, extraEnv: gatewayEnv(ident) });
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
      ...(sampleOrchestrator ? { 'bench-orchestrator': () => [process.pid] } : {}),
    },
    samplerIntervalMs,
  );
  const others = await topOthers([...gws, ingest, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));
  return { ...size, swarmLib, ident, ingest, config, gws, api, sampler, swarmPids, others };
}

/**
 * Starts the run's swarm against the stack's gateways (stopped on SIGINT too),
 * printing its progress at most every `progressEveryMs`; `agent` and
 * `description` add to the swarm's agent settings and description model.
 */
async function startStackSwarm(stack, opts, { applyDelayMs, progressEveryMs, agent = {}, description = {} }) {
  const { runSwarm, formatProgress } = stack.swarmLib;
  const swarm = await runSwarm({
    agents: opts.agents,
    endpoints: stack.gws.map((g) => `ws://127.0.0.1:${g.port}/v1/opamp`),
    wsFraction: 1,
    workers: stack.nWorkers,
    rampPerSecond: opts.ramp,
    durationMs: 3_600_000,
    seed: opts.seed,
    description: { ...description, extraLabels: { 'bench.run': stack.ident.id } },
    agent: {
      headers: { Authorization: `Bearer ${stack.ident.agentToken}` },
      heartbeatIntervalMs: opts.heartbeatS * 1000,
      applyDelayMs,
      ...agent,
    },
  });
  S.onCleanup(() => swarm.stop());
  for (const w of swarm.report().memory.workers) stack.swarmPids.push(w.pid);
  let lastLine = 0;
  swarm.on('progress', (p) => {
    if (Date.now() - lastLine >= progressEveryMs) {
      lastLine = Date.now();
      console.log(formatProgress(p));
    }
  });
  return swarm;
}

/**
 * Resolves once every agent is connected and the API lists all of them as
 * connected, with the time each took from the call; `log` is told both moments.
 */
async function waitForFleet(stack, swarm, opts, { log = () => undefined } = {}) {
  const A = opts.agents;
  const t0 = Date.now();
  await swarm.waitConnected(Math.max(120_000, (A / opts.ramp) * 3_000));
  const connectedAfterMs = Date.now() - t0;
  log(`all ${A} agents connected after ${(connectedAfterMs / 1000).toFixed(1)} s; waiting for the API to list them`);
  await S.waitUntil('API lists every agent connected', async () => (await stack.api.countAgents('&connected=true')) >= A, 300_000, 2_000);
  const knownAfterMs = Date.now() - t0;
  log(`API lists ${A} connected agents after ${(knownAfterMs / 1000).toFixed(1)} s`);
  return { connectedAfterMs, knownAfterMs };
}

/** How many agents the API lists in sync on `hash` with it APPLIED (a full listing). */
async function countAppliedInSync(api, hash) {
  const APPLIED = 'REMOTE_CONFIG_STATUS_APPLIED';
  let verified = 0;
  let pageToken = '';
  do {
    const page = await api.call('GET', `/agents?pageSize=1000${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`);
    for (const a of page.agents ?? []) if (a.inSync && a.desiredConfigHash === hash && a.remoteConfigStatus === APPLIED) verified++;
    pageToken = page.nextPageToken ?? '';
  } while (pageToken);
  return verified;
}

module.exports = { stackSize, startSwarmStack, startStackSwarm, waitForFleet, countAppliedInSync };
