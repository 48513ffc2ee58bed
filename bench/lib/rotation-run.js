// The set-up and the end both rotation benchmarks (credential-rotation,
// certificate-rotation) run: their options, the stack (one status-ingest, one
// config-service with a credential key and a public OpAMP URL, G gateways, on
// a Redis database of the run's own), the database and Redis clients, the
// process sampler, the swarm that enrolls, and the result's common part with
// the clean-up. What each benchmark does between (terminators, the phases'
// conditions) stays in its file.
const crypto = require('crypto');
const path = require('path');
const S = require('./stack');
const { Sampler, infraPids, topOthers } = require('./procs');
const { writeResult } = require('./machine');
const { parseArgs } = require('./args');
const { dropRedisKeys, emptyRedisDb, foreignKeys } = require('./rotation-bench');

/** The public OpAMP URL's host: a name the agents resolve onto the gateways or terminators (agent-sim endpointAliases). */
const PUBLIC_HOST = 'opamp.bench.invalid';

/** Both benchmarks' options; `basePort` keeps two of them apart on one machine. */
function rotationOptions(basePort, description) {
  return parseArgs(
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
      basePort,
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
      // status-ingest's partitions worked at once and its pool (0: the app's defaults). Tried at 100,000
      // agents (16 and 20): no gain, ingest is round-trip bound on a loaded machine (bench results note).
      ingestConcurrency: 0,
      ingestPoolMax: 0,
      // status-ingest processes in its group (the partitions split between them).
      ingests: 1,
    },
    description,
  );
}

function ingestTuning(opts) {
  return {
    ...(opts.ingestConcurrency ? { OPAMP_INGEST_PARTITION_CONCURRENCY: String(opts.ingestConcurrency) } : {}),
    ...(opts.ingestPoolMax ? { OPAMP_PG_POOL_MAX: String(opts.ingestPoolMax) } : {}),
  };
}

/** What S.startWorkers gives the first status-ingest, for a further replica in its group. */
function ingestReplicaEnv(ident, opts, redisEnv) {
  return {
    OPAMP_KAFKA_BROKERS: S.KAFKA_BROKERS,
    OPAMP_DATABASE_URL: ident.databaseUrl,
    OPAMP_INGEST_GROUP_ID: ident.ingestGroup,
    OPAMP_INGEST_EVENTS_TOPIC: ident.eventsTopic,
    OPAMP_INGEST_METRICS_PORT: '0',
    ...redisEnv,
    ...ingestTuning(opts),
  };
}

/**
 * Builds (unless skipped) and starts status-ingest, config-service and the
 * gateways for `bench`; `publicScheme` is the public OpAMP URL's (http, wss),
 * `gatewayEnv` what the gateways get besides Redis.
 */
async function startRotationStack(bench, opts, { publicScheme, gatewayEnv = {} }) {
  const A = opts.agents;
  const nGateways = opts.gateways || Math.max(2, Math.ceil(A / opts.perGateway));
  const nWorkers = opts.workers || Math.max(2, Math.ceil(A / 15_000));
  if (opts.infraUp) S.infraUp();
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const ident = S.runIdentity(bench);
  if (opts.redisDb < 0) opts.redisDb = await emptyRedisDb();
  const redisUrl = `${S.REDIS_URL.replace(/\/\d*$/, '')}/${opts.redisDb}`;
  const redisEnv = { OPAMP_REDIS_URL: redisUrl };
  const apiPort = opts.basePort + 80;
  console.log(`run ${ident.id}: ${A} agents, ${nGateways} gateways, ${nWorkers} swarm workers, tenant ${ident.tenant}, database ${ident.dbName}`);
  const { ingest, config } = await S.startWorkers(bench, ident, {
    apiPort,
    grpcPort: apiPort + 1,
    ingestEnv: {
      ...redisEnv,
      ...ingestTuning(opts),
    },
    configEnv: {
      ...redisEnv,
      OPAMP_CREDENTIAL_KEY: crypto.randomBytes(32).toString('base64'),
      OPAMP_PUBLIC_OPAMP_URL: `${publicScheme}://${PUBLIC_HOST}/v1/opamp`,
      OPAMP_OFFER_HEARTBEAT_S: String(opts.heartbeatS),
      // Credential offers config-service sends per second (its default when 0).
      ...(opts.offersPerS > 0 ? { OPAMP_CREDENTIAL_OFFERS_PER_S: String(opts.offersPerS) } : {}),
    },
  });
  // Further status-ingest replicas: the first one's settings, a client id of their own.
  const ingests = [ingest];
  for (let i = 1; i < opts.ingests; i++) {
    const extra = S.startApp(bench, `status-ingest-${i}`, 'status-ingest', { ...ingestReplicaEnv(ident, opts, redisEnv), OPAMP_INGEST_CLIENT_ID: `bench-ingest-${ident.id}-${i}` });
    await S.waitUntil(`status-ingest-${i}`, () => /consuming .* as /.test(extra.output), 120_000);
    ingests.push(extra);
  }
  const gws = await S.startGateways(bench, ident, nGateways, { basePort: opts.basePort, extraEnv: { ...redisEnv, ...gatewayEnv } });
  return { bench, opts, A, nGateways, nWorkers, ident, redisUrl, apiPort, ingest, ingests, config, gws, swarmPids: [] };
}

/** PostgreSQL and Redis clients of the run (closed on a failed run), with a warning when its Redis database is not its own. */
async function connectRotationStores(run) {
  const { Client } = require('pg');
  const Redis = require('ioredis');
  const pg = new Client({ connectionString: run.ident.databaseUrl });
  await pg.connect();
  const redis = new Redis(run.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const foreign = await foreignKeys(redis, `bench-${run.bench.replace(/-/g, '')}`);
  if (foreign.length > 0) console.log(`warning: Redis database ${run.opts.redisDb} holds keys of others (e.g. ${foreign[0]}); pick a free one with --redisDb`);
  S.onCleanup(() => pg.end().catch(() => undefined));
  S.onCleanup(() => redis.quit().catch(() => undefined));
  return { pg, redis };
}

/** CPU / RSS per process kind (`extra`: kinds of the benchmark's own), and the other busy processes at the start. */
async function rotationSampler(run, extra = {}) {
  const { gws, ingests, config } = run;
  const infra = infraPids();
  const sampler = new Sampler(
    {
      gateway: () => gws.map((g) => g.pid),
      'status-ingest': () => run.ingests.map((i) => i.pid),
      'config-service': () => [config.pid],
      ...extra,
      swarm: () => run.swarmPids,
      kafka: () => infra.kafka,
      redis: () => infra.redis,
      postgres: () => infraPids().postgres,
      'bench-orchestrator': () => [process.pid],
    },
    1_000,
  );
  const others = await topOthers([...gws, ...ingests, config].map((c) => c.pid).concat(infra.kafka, infra.redis, infra.postgres));
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);
  return { sampler, others };
}

/** The swarm of A WebSocket agents enrolling with the tenant's token, following offers; `aliases` are where the public host resolves. */
async function startEnrollingSwarm(run, aliases, agentExtra = {}) {
  const { runSwarm } = require('@opamp/swarm');
  const { opts, ident } = run;
  const swarm = await runSwarm({
    agents: run.A,
    endpoints: run.gws.map((g) => `ws://127.0.0.1:${g.port}/v1/opamp`),
    wsFraction: 1,
    workers: run.nWorkers,
    rampPerSecond: opts.ramp,
    durationMs: 3_600_000,
    seed: opts.seed,
    description: { extraLabels: { 'bench.run': ident.id } },
    agent: {
      headers: { Authorization: `Bearer ${ident.agentToken}` },
      heartbeatIntervalMs: opts.heartbeatS * 1000,
      followConnectionSettings: true,
      ...agentExtra,
      endpointAliases: { [PUBLIC_HOST]: aliases },
    },
  });
  S.onCleanup(() => swarm.stop());
  for (const w of swarm.report().memory.workers) run.swarmPids.push(w.pid);
  return swarm;
}

/** The parameters every rotation result has. */
function commonParameters(run, report) {
  const { opts } = run;
  return {
    mode: 'distributed',
    agents: run.A,
    transport: 'websocket',
    gateways: run.nGateways,
    statusIngest: 1,
    configService: 1,
    swarmWorkers: report.memory.workers.length,
    sourceAddresses: report.parameters.addresses,
    rampPerSecond: opts.ramp,
    heartbeatSeconds: opts.heartbeatS,
    offersPerSecond: opts.offersPerS || 'default (500)',
  };
}

/**
 * Writes the result (time series thinned to ~60 points), prints each phase's
 * figures (`brief` picks them), stops the stack and removes the run's Redis
 * keys and Kafka topics; exits.
 */
async function finishRotationRun(run, { pg, redis }, result, brief) {
  const { opts, ident } = run;
  for (const p of Object.values(result.phases)) if (p.timeSeries) p.timeSeries = p.timeSeries.filter((_, i, all) => i % Math.max(1, Math.ceil(all.length / 60)) === 0 || i === all.length - 1);
  const file = writeResult(`${run.bench}-${run.A}`, result);
  const figures = {};
  for (const [k, v] of Object.entries(result.phases)) if (v.resources) figures[k] = brief(v);
  console.log(`\n${JSON.stringify(figures, null, 2)}`);
  console.log(`written to ${path.relative(S.repo, file)}`);
  await pg.end().catch(() => undefined);
  await S.stopChildren();
  console.log(`removed ${await dropRedisKeys(redis, ident.tenant)} keys of the run from Redis database ${opts.redisDb}`);
  await redis.quit().catch(() => undefined);
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

module.exports = { PUBLIC_HOST, rotationOptions, startRotationStack, connectRotationStores, rotationSampler, startEnrollingSwarm, commonParameters, finishRotationRun };
