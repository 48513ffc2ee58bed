// status-ingest's full path at fleet scale: how many DISTINCT agents per second one
// (or more) status-ingest process can register, move to a new credential and take a
// status change from (issue 20 item 3's ">= 10,000 agents/s per process", issue 14's
// activation wall). bench:ingest floods few agents (their records coalesce per batch);
// here every record is another agent, so every one is a row written.
//
// The records go straight onto a private inbound topic (no gateway, no swarm: the
// figure is status-ingest's own), the workers are IngestWorkers in child processes
// (the class, partition concurrency and pool size of the status-ingest app; liveness sweep off), each phase is produced as
// a backlog first and then drained, timed from the first record taken to the last.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/ingest-registration.bench.js \
//     [--agents 50000] [--workers 1] [--partitionConcurrency 4] [--poolMax 10] [--recordsPerTransaction n] [--cpuProf dir] [--out name]
// --cpuProf: each worker writes a V8 CPU profile into dir when it stops.
const { fork } = require('child_process');
const os = require('os');
const { parseArgs } = require('./lib/args');
const { procStats, writeResult } = require('./lib/machine');
const { infraPids, topOthers } = require('./lib/procs');
const stack = require('./lib/stack');

const WORKER = process.env.BENCH_WORKER !== undefined;

async function worker() {
  const { IngestWorker } = require('@opamp/ingest');
  const { createKafkaClient } = require('@opamp/bus-kafka');
  const { createPgPool, PgSqlDatabase } = require('@opamp/store');
  const Redis = require('ioredis');
  const cfg = JSON.parse(process.env.BENCH_WORKER);
  const pool = createPgPool({ connectionString: cfg.databaseUrl, applicationName: 'bench-ingest', max: cfg.poolMax });
  const redis = new Redis(stack.REDIS_URL);
  const kafka = createKafkaClient({ brokers: stack.KAFKA_BROKERS.split(','), clientId: `bench-ingest-${process.pid}` });
  const w = new IngestWorker({
    kafka,
    redis,
    db: new PgSqlDatabase(pool),
    inboundTopic: cfg.inboundTopic,
    eventsTopic: cfg.eventsTopic,
    groupId: cfg.groupId,
    partitionConcurrency: cfg.partitionConcurrency,
    ...(cfg.recordsPerTransaction ? { recordsPerTransaction: cfg.recordsPerTransaction } : {}),
    liveness: { heartbeatIntervalMs: 30_000, staleAfterIntervals: 3, offlineAfterIntervals: 10, sweepIntervalMs: 60_000 },
    sweep: false,
    onBatch: (stats, ms) => {
      batches.n++;
      batches.records += stats.records;
      batches.ms += ms;
    },
  });
  const batches = { n: 0, records: 0, ms: 0 };
  await w.start();
  const timer = setInterval(() => process.send({ totals: w.processor.totals, batches, joined: w.joined }), 100);
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    clearInterval(timer);
    await w.stop();
    await pool.end();
    redis.disconnect();
    process.exit(0);
  });
}

function fakeAgents(ingestTesting, n, tenant) {
  const agents = [];
  for (let i = 0; i < n; i++) agents.push(new ingestTesting.FakeAgent({ tenantId: tenant, uid: ingestTesting.testUid(i, 0x5eed), startMs: Date.now() }));
  return agents;
}

async function main() {
  const args = parseArgs({ agents: 50_000, workers: 1, partitionConcurrency: 4, poolMax: 10, recordsPerTransaction: 0, cpuProf: '', out: '' }, 'status-ingest full path, distinct agents per second');
  const { ingestTesting } = require('@opamp/ingest');
  const { fleet } = require('@opamp/contracts');
  const { createKafkaClient } = require('@opamp/bus-kafka');
  const { migrateToLatest } = require('@opamp/store');
  const { Client } = require('pg');

  const ident = stack.runIdentity('ingestreg');
  const inboundTopic = `bench.${ident.id}.agent-inbound`;
  await stack.freshDatabase(ident.dbName);
  const c = new Client({ connectionString: ident.databaseUrl });
  await c.connect();
  await migrateToLatest(c);
  const kafka = createKafkaClient({ brokers: stack.KAFKA_BROKERS.split(','), clientId: 'bench-ingest-producer' });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: inboundTopic, numPartitions: 24 }, { topic: ident.eventsTopic, numPartitions: 24 }], waitForLeaders: true });
  // The run's topics and group go at the end, and on Ctrl-C.
  const dropArtifacts = async () => {
    await admin.deleteTopics({ topics: [inboundTopic, ident.eventsTopic] }).catch(() => undefined);
    await admin.deleteGroups([ident.ingestGroup]).catch(() => undefined);
  };
  stack.onCleanup(dropArtifacts);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();

  const cfg = { databaseUrl: ident.databaseUrl, inboundTopic, eventsTopic: ident.eventsTopic, groupId: ident.ingestGroup, partitionConcurrency: args.partitionConcurrency, poolMax: args.poolMax, recordsPerTransaction: args.recordsPerTransaction };
  const workers = [];
  for (let i = 0; i < args.workers; i++) {
    const child = fork(__filename, [], { env: { ...process.env, BENCH_WORKER: JSON.stringify(cfg) }, execArgv: ['-r', './dist/out-tsc/register-aliases.js', ...(args.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${args.cpuProf}`] : [])] });
    const state = { child, totals: null, batches: null, joined: false };
    child.on('message', (m) => Object.assign(state, m));
    stack.children.add(child);
    workers.push(state);
  }
  await stack.waitUntil('workers joined the group', () => workers.every((w) => w.joined), 60_000);

  const agents = fakeAgents(ingestTesting, args.agents, ident.tenant);
  const phases = [
    // New agents: connected + the full first report (insert, events, enrollment labels).
    { name: 'register', records: (a) => [a.connect(), a.full()] },
    // A new credential on a new connection (issue 14's activation): credential change + first message.
    { name: 'credential', records: (a) => { a.credentialId = `cred-${a.uid.toString('hex')}`; a.credentialKind = fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT; return [a.connect(), a.heartbeat()]; } },
    // One status change per agent (health flips to unhealthy).
    { name: 'status', records: (a) => [a.send({ health: { healthy: false, status: 'degraded', startTimeUnixNano: 1_700_000_000_000_000 } })] },
  ];
  const results = {};
  const processed = () => workers.reduce((n, w) => n + (w.totals?.records ?? 0), 0);
  for (const phase of phases) {
    const messages = [];
    for (const a of agents) for (const env of phase.records(a)) messages.push(a.toKafka(env));
    const before = processed();
    const target = before + messages.length;
    // Produce the whole phase as a backlog while the workers wait on an empty topic.
    const t0 = Date.now();
    for (let i = 0; i < messages.length; i += 5_000) await producer.send({ topic: inboundTopic, acks: -1, messages: messages.slice(i, i + 5_000) });
    const producedS = (Date.now() - t0) / 1000;
    const cpu0 = cpuOf(workers);
    const infra0 = infraCpu();
    let first = null;
    await stack.waitUntil(
      `phase ${phase.name} drained`,
      () => {
        const n = processed();
        if (first === null && n > before) first = Date.now();
        return n >= target;
      },
      30 * 60_000,
      20,
    );
    const drainS = (Date.now() - (first ?? t0)) / 1000;
    const cpu1 = cpuOf(workers);
    const infra1 = infraCpu();
    const sinceProduceS = (Date.now() - t0) / 1000;
    const batches = workers.reduce((s, w) => ({ n: s.n + w.batches.n, records: s.records + w.batches.records, ms: s.ms + w.batches.ms }), { n: 0, records: 0, ms: 0 });
    results[phase.name] = {
      records: messages.length,
      agents: agents.length,
      produceSeconds: +producedS.toFixed(2),
      drainSeconds: +drainS.toFixed(2),
      agentsPerSecond: Math.round(agents.length / drainS),
      agentsPerSecondPerWorker: Math.round(agents.length / drainS / args.workers),
      secondsFromProduceStart: +sinceProduceS.toFixed(2),
      workerCpuSeconds: +(cpu1 - cpu0).toFixed(2),
      workerCpuMsPerAgent: +(((cpu1 - cpu0) * 1000) / agents.length).toFixed(3),
      infraCpuSeconds: Object.fromEntries(Object.keys(infra1).map((k) => [k, +(infra1[k] - infra0[k]).toFixed(2)])),
      batchesSoFar: batches,
    };
    console.log(`${phase.name}: ${agents.length} agents (${messages.length} records) drained in ${drainS.toFixed(2)} s = ${results[phase.name].agentsPerSecond}/s; worker CPU ${(cpu1 - cpu0).toFixed(1)} s; infra CPU ${JSON.stringify(results[phase.name].infraCpuSeconds)}`);
  }
  const rows = await c.query('SELECT count(*)::int AS n FROM agents');
  const others = await topOthers([process.pid, ...workers.map((w) => w.child.pid)]);
  for (const w of workers) w.child.send('stop');
  await stack.waitUntil('workers stopped', () => workers.every((w) => w.child.exitCode !== null), 60_000);
  await producer.disconnect();
  await c.end();
  const name = args.out || `ingest-registration-${args.agents}-w${args.workers}`;
  const result = { parameters: { ...args, partitions: 24, load: os.loadavg() }, agentRows: rows.rows[0].n, phases: results, otherBusyProcesses: others };
  const file = writeResult(name, result);
  console.log(`agents rows ${rows.rows[0].n}; written ${file}`);
  await dropArtifacts();
  await admin.disconnect();
  process.exit(0);
}

function cpuOf(workers) {
  return workers.reduce((s, w) => s + procStats(w.child.pid).cpuSeconds, 0);
}

function infraCpu() {
  const pids = infraPids();
  const sum = (list) => list.reduce((s, p) => { try { return s + procStats(p).cpuSeconds; } catch { return s; } }, 0);
  return { postgres: sum(pids.postgres), kafka: sum(pids.kafka), redis: sum(pids.redis) };
}

(WORKER ? worker() : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
