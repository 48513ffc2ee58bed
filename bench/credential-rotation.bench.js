// Credential rotation benchmark (issue 14 item 6), on demand, never in CI.
//
// Distributed mode on this machine: Kafka, Redis, PostgreSQL (already running;
// --infraUp runs infra.sh up first), one status-ingest, one config-service with a
// credential key and a public OpAMP URL, G gateways, and a swarm of A WebSocket
// agents over several worker processes and 127.0.0.N source addresses, each
// following connection settings offers like the OpAMP supervisor
// (--follow-connection-settings of the swarm). The public URL names one
// load-balanced address; the agents resolve it onto the gateways by instance
// uid, as DNS round robin would (agent-sim endpointAliases), so no single
// gateway takes the fleet.
//
//   phase "enroll": every agent connects with the tenant's enrollment token, is
//     offered a credential of its own, reconnects with it (ACTIVE);
//   phase "rotate": POST /agent-credentials:rotate with one selector naming the
//     whole run; every agent is offered a new credential and switches to it
//     (new ACTIVE, old SUPERSEDED).
//
// Per phase: time until every agent is on its credential (PostgreSQL
// agent_credentials states, polled every second), refused connections at the
// gateways (opamp_gateway_rejections_total by reason: unauthorized = 401,
// credential refusals, duplicates) and the swarm's errors, reconnects with new
// settings per second (peak, from the swarm's APPLIED / FAILED counts), CPU and
// RSS per process kind, Redis commands/s and memory (INFO; Redis is shared with
// whatever else runs), PostgreSQL writes (rows and commits).
//
//   node -r ./dist/out-tsc/register-aliases.js bench/credential-rotation.bench.js [--agents=10000] [--help]
//
// Writes bench/results/credential-rotation-<agents>.json.
const path = require('path');
const crypto = require('crypto');
const S = require('./lib/stack');
const { Sampler, infraPids, topOthers } = require('./lib/procs');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');
const { rotationPhase, postLong, dropRedisKeys, emptyRedisDb, foreignKeys } = require('./lib/rotation-bench');

const opts = parseArgs(
  {
    agents: 10_000,
    gateways: 0, // 0: max(2, ceil(agents / perGateway))
    perGateway: 15_000,
    workers: 0, // 0: max(2, ceil(agents / 15000))
    ramp: 1_000, // agents started per second
    heartbeatS: 30,
    timeoutS: 1_800, // per phase
    // A phase ends early once every agent took or refused its offer and the credentials did not change for this long.
    stallS: 60,
    basePort: 15100,
    skipBuild: false,
    // false: use the Kafka, Redis and PostgreSQL already running (a shared machine), not infra.sh up.
    infraUp: false,
    seed: 14,
    // Credential offers per second of the one config-service (0: its default, OPAMP_CREDENTIAL_OFFERS_PER_S).
    offersPerS: 0,
    // Written into the result: whether other work shared the machine during the run.
    sharedMachine: true,
    // A Redis database of the run's own (-1: the highest empty one of 1..15): the credential directory
    // (opamp:agent-tokens) is one hash per Redis database, and any config-service starting on it replaces
    // its content with its own database's view (syncAgentTokens), which would drop this run's credentials.
    redisDb: -1,
    // status-ingest's partitions worked at once and its pool (0: the app's defaults). On a loaded machine
    // every round trip waits for a core, so ingest is latency-bound: more partitions in flight help.
    ingestConcurrency: 0,
    ingestPoolMax: 0,
  },
  'credential rotation: A agents enroll onto their own credentials, then one selector rotates them all; time, refusals, load',
);
const BENCH = 'credential-rotation';
/** The public OpAMP URL's host: a name the agents resolve onto the gateways (endpointAliases). */
const PUBLIC_HOST = 'opamp.bench.invalid';

/** The run tenant's credentials by state. */
async function credentialStates(pg, tenant) {
  const { rows } = await pg.query(`SELECT state, count(*)::int AS n FROM agent_credentials WHERE tenant_id = $1 GROUP BY state`, [tenant]);
  const out = { offered: 0, active: 0, superseded: 0, revoked: 0, expired: 0 };
  for (const r of rows) out[r.state] = r.n;
  return out;
}

async function main() {
  const A = opts.agents;
  const nGateways = opts.gateways || Math.max(2, Math.ceil(A / opts.perGateway));
  const nWorkers = opts.workers || Math.max(2, Math.ceil(A / 15_000));
  if (opts.infraUp) S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const { runSwarm, formatProgress, formatSummary } = require('@opamp/swarm');
  const { Client } = require('pg');
  const Redis = require('ioredis');

  const ident = S.runIdentity(BENCH);
  if (opts.redisDb < 0) opts.redisDb = await emptyRedisDb();
  const redisUrl = `${S.REDIS_URL.replace(/\/\d*$/, '')}/${opts.redisDb}`;
  const redisEnv = { OPAMP_REDIS_URL: redisUrl };
  const apiPort = opts.basePort + 80;
  console.log(`run ${ident.id}: ${A} agents, ${nGateways} gateways, ${nWorkers} swarm workers, tenant ${ident.tenant}, database ${ident.dbName}`);
  const { ingest, config } = await S.startWorkers(BENCH, ident, {
    apiPort,
    grpcPort: apiPort + 1,
    ingestEnv: {
      ...redisEnv,
      ...(opts.ingestConcurrency ? { OPAMP_INGEST_PARTITION_CONCURRENCY: String(opts.ingestConcurrency) } : {}),
      ...(opts.ingestPoolMax ? { OPAMP_PG_POOL_MAX: String(opts.ingestPoolMax) } : {}),
    },
    configEnv: {
      ...redisEnv,
      OPAMP_CREDENTIAL_KEY: crypto.randomBytes(32).toString('base64'),
      OPAMP_PUBLIC_OPAMP_URL: `http://${PUBLIC_HOST}/v1/opamp`,
      OPAMP_OFFER_HEARTBEAT_S: String(opts.heartbeatS),
      // Credential offers config-service sends per second (its default when 0).
      ...(opts.offersPerS > 0 ? { OPAMP_CREDENTIAL_OFFERS_PER_S: String(opts.offersPerS) } : {}),
    },
  });
  const gws = await S.startGateways(BENCH, ident, nGateways, { basePort: opts.basePort, extraEnv: redisEnv });
  const pg = new Client({ connectionString: ident.databaseUrl });
  await pg.connect();
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const foreign = await foreignKeys(redis, 'bench-credentialrotation');
  if (foreign.length > 0) console.log(`warning: Redis database ${opts.redisDb} holds keys of others (e.g. ${foreign[0]}); pick a free one with --redisDb`);
  S.onCleanup(() => pg.end().catch(() => undefined));
  S.onCleanup(() => redis.quit().catch(() => undefined));

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
    1_000,
  );
  const others = await topOthers([...gws, ingest, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);

  let swarm;
  const ctx = {
    opts,
    agents: A,
    gws,
    sampler,
    redis,
    databaseUrl: ident.databaseUrl,
    states: () => credentialStates(pg, ident.tenant),
    swarm: () => swarm,
  };
  const phase = (name, start, done) => rotationPhase(ctx, name, start, done);
  const phases = {};
  phases.enroll = await phase(
    'enroll',
    async () => {
      swarm = await runSwarm({
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
          followConnectionSettings: true,
          endpointAliases: { [PUBLIC_HOST]: gws.map((g) => `127.0.0.1:${g.port}`) },
        },
      });
      S.onCleanup(() => swarm.stop());
      for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
      return { swarmStarted: A };
    },
    (s) => s.active >= A && s.offered === 0,
  );

  await S.sleep(5_000);
  phases.rotate = await phase(
    'rotate',
    () => postLong(apiPort, '/api/v1/agent-credentials:rotate', ident.adminToken, { selector: `bench.run=${ident.id}` }),
    (s) => s.active >= A && s.superseded >= A && s.offered === 0,
  );

  const report = await swarm.stop();
  console.log(formatSummary(report));
  sampler.stop();
  const rotate = phases.rotate;
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
      offersPerSecond: opts.offersPerS || 'default (500)',
      publicOpampUrl: `a load-balanced name resolved by each agent onto one of the ${nGateways} gateways (by instance uid)`,
      selector: 'all agents of the run (bench.run label)',
      infra: 'Kafka, Redis, PostgreSQL already running on the same machine (shared); the run on Redis database ' + opts.redisDb,
      sharedMachine: opts.sharedMachine ? 'other work (other helpers builds and tests) shared the 2 cores during the run' : 'quiet machine',
    },
    otherBusyProcessesAtStart: others,
    phases,
    swarm: { connectLatencyMs: report.connectLatencyMs, reconnectLatencyMs: report.reconnectLatencyMs, errors: report.errors, errorSamples: report.errorSamples, connectionSettings: report.connectionSettings },
    target: {
      issue14: 'every agent on its new credential within 2 minutes, zero refused connections of well-behaved agents',
      met: rotate.allOnTheirCredentialMs !== null && rotate.allOnTheirCredentialMs <= 120_000 && Object.keys(rotate.refusedAtGateways).length === 0 && Object.keys(rotate.swarmErrors).length === 0,
    },
  };
  for (const p of Object.values(phases)) p.timeSeries = p.timeSeries.filter((_, i, all) => i % Math.max(1, Math.ceil(all.length / 60)) === 0 || i === all.length - 1);
  const file = writeResult(`${BENCH}-${A}`, result);
  const brief = {};
  for (const [k, v] of Object.entries(phases)) {
    brief[k] = { apiCallMs: v.apiCallMs, allOnTheirCredentialMs: v.allOnTheirCredentialMs, refused: v.refusedAtGateways, swarmErrors: v.swarmErrors, peakReconnectsPerS: v.peakReconnectsWithNewSettingsPerS, cpuPercent: v.resources.cpuPercent, redis: v.redis, postgresWrites: v.postgresWrites };
  }
  console.log(`\n${JSON.stringify(brief, null, 2)}`);
  console.log(`written to ${path.relative(S.repo, file)}`);
  await pg.end().catch(() => undefined);
  await S.stopChildren();
  console.log(`removed ${await dropRedisKeys(redis, ident.tenant)} keys of the run from Redis database ${opts.redisDb}`);
  await redis.quit().catch(() => undefined);
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
