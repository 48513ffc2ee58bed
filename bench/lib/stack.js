// Shared by the system benchmarks (rollout, ingest-throughput, embedded, idle-fleet,
// reconnect-storm): starting the built apps as child processes with their env
// config, an isolated database / consumer groups / events topic per run,
// readiness, cleanup on exit and on SIGINT, and the REST API client.
//
// Isolation on a shared dev machine: each run gets its own tenant and tokens,
// its own PostgreSQL database (dropped and recreated), its own status-ingest
// consumer group started at the END of opamp.agent-inbound (the gateway topic is
// not configurable, so records other people produce meanwhile are consumed too,
// and counted as noise), and its own agent-events topic and config-service group.
// The infrastructure's addresses are read once, at require time, from
// OPAMP_KAFKA_BROKERS / OPAMP_REDIS_URL / OPAMP_DATABASE_URL (the fault suite
// sets them to its own instances before requiring this file).
const { spawn, execSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const repo = path.join(__dirname, '..', '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const REGISTER = './dist/out-tsc/register-aliases.js';
const KAFKA_BROKERS = process.env.OPAMP_KAFKA_BROKERS || '127.0.0.1:19092';
const REDIS_URL = process.env.OPAMP_REDIS_URL || 'redis://127.0.0.1:63790';
const PG_ADMIN_URL = process.env.OPAMP_DATABASE_URL || 'postgres://opamp:opamp@127.0.0.1:54320/opamp';
const INBOUND_TOPIC = 'opamp.agent-inbound';

/** Every child process a benchmark started; killed on exit, SIGINT and SIGTERM. */
const children = new Set();
let cleanupHooks = [];
let exiting = false;

function killAllSync(signal = 'SIGKILL') {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }
}

async function shutdown(code) {
  if (exiting) return;
  exiting = true;
  for (const hook of cleanupHooks.reverse()) {
    await Promise.race([Promise.resolve().then(hook).catch(() => undefined), sleep(15_000)]);
  }
  await stopChildren();
  process.exit(code);
}

process.on('SIGINT', () => {
  console.error('\ninterrupted: stopping every process this benchmark started');
  void shutdown(130);
});
process.on('SIGTERM', () => void shutdown(143));
process.on('exit', () => killAllSync('SIGKILL'));

/** Run `fn` on shutdown (SIGINT) before the children are stopped (e.g. stop the swarm). */
function onCleanup(fn) {
  cleanupHooks.push(fn);
}

/** SIGTERM every child still running, SIGKILL after `graceMs`. */
async function stopChildren(graceMs = 10_000) {
  const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of live) c.expectExit = true;
  for (const c of live) c.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (live.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(100);
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

function logDir(bench) {
  const dir = path.join(repo, '.infra', 'bench', bench);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Start a built app (`dist/out-tsc/apps/<app>/src/main.js`) as a child process.
 * Output goes to .infra/bench/<bench>/<label>.log and is kept in memory (tail)
 * for readiness checks. A child that dies before `expectExit` is set fails the run.
 */
/**
 * The environment of the embedded server (fleet-server) on four consecutive
 * loopback ports from `basePort` (agents, admin, REST, gRPC), with its own data
 * dir and tokens; `extra` adds or overrides settings.
 */
function embeddedServerEnv({ dataDir, basePort: p, adminToken, agentToken }, extra = {}) {
  return {
    OPAMP_DATA_DIR: dataDir,
    OPAMP_BIND_HOST: '127.0.0.1',
    OPAMP_GATEWAY_PORT: String(p),
    OPAMP_GATEWAY_ADMIN_PORT: String(p + 1),
    OPAMP_CONFIG_HTTP_PORT: String(p + 2),
    OPAMP_CONFIG_GRPC_PORT: String(p + 3),
    OPAMP_ADMIN_TOKEN: adminToken,
    OPAMP_AGENT_TOKEN: agentToken,
    ...extra,
  };
}

function startApp(bench, label, app, env, { onUnexpectedExit, nodeArgs = [] } = {}) {
  const log = fs.createWriteStream(path.join(logDir(bench), `${label}.log`));
  const child = spawn(process.execPath, [...nodeArgs, '-r', REGISTER, `dist/out-tsc/apps/${app}/src/main.js`], {
    cwd: repo,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.label = label;
  child.app = app;
  child.output = '';
  const take = (d) => {
    log.write(d);
    child.output = (child.output + d.toString()).slice(-64 * 1024);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  children.add(child);
  child.once('exit', (code, signal) => {
    log.end();
    if (!child.expectExit && !exiting) {
      const msg = `${label} exited (code ${code}, signal ${signal}); last output:\n${child.output.slice(-2000)}`;
      if (onUnexpectedExit) onUnexpectedExit(msg);
      else {
        console.error(`\n${msg}`);
        void shutdown(1);
      }
    }
  });
  return child;
}

/** Stop one child on purpose (SIGTERM, SIGKILL after graceMs); resolves when it exited. */
async function stopApp(child, signal = 'SIGTERM', graceMs = 15_000) {
  child.expectExit = true;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

async function waitUntil(what, probe, timeoutMs = 120_000, everyMs = 250) {
  const started = Date.now();
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

const httpOk = (url) => async () => (await fetch(url)).ok;

function build(apps) {
  console.log(`building ${apps.join(', ')} ...`);
  execSync(`npx nx run-many -t build -p ${apps.join(' ')} --output-style=static`, {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true' },
  });
}

function infraUp() {
  execSync('bash deploy/infra/infra.sh up', { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** A run's identity: tenant, tokens, database, consumer groups, events topic. */
function runIdentity(bench) {
  const id = `${bench.replace(/[^a-z0-9]/gi, '')}${Date.now().toString(36)}`;
  const dbName = `opamp_bench_${bench.replace(/[^a-z0-9]/gi, '_')}`;
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${dbName}`;
  return {
    id,
    tenant: `bench-${id}`,
    agentToken: crypto.randomBytes(18).toString('base64url'),
    adminToken: crypto.randomBytes(18).toString('base64url'),
    dbName,
    databaseUrl: u.toString(),
    ingestGroup: `bench.${id}.status-ingest`,
    configGroup: `bench.${id}.config-service`,
    eventsTopic: `bench.${id}.agent-events`,
  };
}

/** Drop and recreate the run's database (so row counts are the run's own). */
async function freshDatabase(dbName) {
  const { Client } = require('pg');
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    // The previous run's backends of our own role are ended; an autovacuum worker on its tables
    // (a superuser process nobody else may end) is waited out.
    for (let attempt = 0; ; attempt++) {
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND usename = current_user`, [dbName]);
      try {
        await c.query(`DROP DATABASE IF EXISTS ${dbName}`);
        break;
      } catch (err) {
        if (err.code !== '55006' || attempt >= 120) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await c.query(`CREATE DATABASE ${dbName}`);
  } finally {
    await c.end();
  }
}

function kafka() {
  const { Kafka, logLevel } = require('kafkajs');
  return new Kafka({ brokers: KAFKA_BROKERS.split(','), clientId: `bench-${process.pid}`, logLevel: logLevel.NOTHING });
}

/** Make a new consumer group start at the current end of the inbound topic. */
async function groupAtEnd(groupId, topic = INBOUND_TOPIC) {
  const admin = kafka().admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  } finally {
    await admin.disconnect();
  }
}

/** Remove the run's events topic and consumer groups (best effort). */
async function dropKafkaArtifacts(ident) {
  const admin = kafka().admin();
  try {
    await admin.connect();
    await admin.deleteGroups([ident.ingestGroup, ident.configGroup]).catch(() => undefined);
    await admin.deleteTopics({ topics: [ident.eventsTopic], timeout: 5_000 }).catch(() => undefined);
  } catch {
    /* best effort */
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Consumer-group progress on a topic: sum of the group's committed offsets and
 * of the topic's end offsets (lag = end - committed). An admin client kept open.
 */
async function lagProbe(groupId, topic = INBOUND_TOPIC) {
  const admin = kafka().admin();
  await admin.connect();
  const sum = (parts, key) => parts.reduce((n, p) => n + Math.max(0, Number(p[key])), 0);
  return {
    async read() {
      const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const end = sum(ends, 'high');
      const done = sum(committed.partitions, 'offset');
      return { end, committed: done, lag: end - done };
    },
    close: () => admin.disconnect().catch(() => undefined),
  };
}

/** Start a run's status-ingest; resolves when it consumes. */
async function startIngest(bench, ident, { ingestEnv = {}, nodeArgs = [], label = 'status-ingest', onUnexpectedExit } = {}) {
  const ingest = startApp(bench, label, 'status-ingest', {
    OPAMP_KAFKA_BROKERS: KAFKA_BROKERS,
    OPAMP_REDIS_URL: REDIS_URL,
    OPAMP_DATABASE_URL: ident.databaseUrl,
    OPAMP_INGEST_GROUP_ID: ident.ingestGroup,
    OPAMP_INGEST_EVENTS_TOPIC: ident.eventsTopic,
    OPAMP_INGEST_CLIENT_ID: `bench-ingest-${ident.id}`,
    // Metrics port off: runs in parallel would collide on the default 9464.
    OPAMP_INGEST_METRICS_PORT: '0',
    ...ingestEnv,
  }, { nodeArgs, onUnexpectedExit });
  await waitUntil(label, () => /consuming .* as /.test(ingest.output), 120_000);
  return ingest;
}

/** Start a run's config-service (API on apiPort, gRPC on grpcPort); resolves when its API answers. */
async function startConfig(bench, ident, { apiPort, grpcPort, configEnv = {}, nodeArgs = [], label = 'config-service', onUnexpectedExit }) {
  const config = startApp(bench, label, 'config-service', {
    OPAMP_KAFKA_BROKERS: KAFKA_BROKERS,
    OPAMP_REDIS_URL: REDIS_URL,
    OPAMP_DATABASE_URL: ident.databaseUrl,
    OPAMP_CONFIG_BIND_HOST: '127.0.0.1',
    OPAMP_CONFIG_HTTP_PORT: String(apiPort),
    OPAMP_CONFIG_GRPC_PORT: String(grpcPort),
    OPAMP_CONFIG_EVENTS_TOPIC: ident.eventsTopic,
    OPAMP_CONFIG_CONSUMER_GROUP: ident.configGroup,
    OPAMP_CONFIG_CLIENT_ID: `bench-config-${ident.id}`,
    OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS: `${ident.tenant}=${ident.adminToken}`,
    ...configEnv,
  }, { nodeArgs, onUnexpectedExit });
  await waitUntil(label, httpOk(`http://127.0.0.1:${apiPort}/api/v1/openapi.json`), 120_000);
  return config;
}

/** Start the distributed stack's workers (status-ingest, config-service) for a run; resolves when both are ready. */
async function startWorkers(bench, ident, { apiPort, grpcPort, ingestEnv = {}, configEnv = {}, nodeArgs = [] }) {
  await freshDatabase(ident.dbName);
  await groupAtEnd(ident.ingestGroup);
  const ingest = await startIngest(bench, ident, { ingestEnv, nodeArgs });
  const config = await startConfig(bench, ident, { apiPort, grpcPort, configEnv, nodeArgs });
  return { ingest, config };
}

/** Gateway env for benchmarks: limits out of the way of the load generator. */
function gatewayEnv(ident, i, port, adminPort, extra = {}) {
  return {
    OPAMP_KAFKA_BROKERS: KAFKA_BROKERS,
    OPAMP_REDIS_URL: REDIS_URL,
    OPAMP_GATEWAY_ID: `bench-${ident.id}-gw${i}`,
    OPAMP_GATEWAY_HOST: '127.0.0.1',
    OPAMP_GATEWAY_PORT: String(port),
    OPAMP_GATEWAY_ADMIN_PORT: String(adminPort),
    OPAMP_AGENT_TOKENS: `${ident.tenant}=${ident.agentToken}`,
    OPAMP_MAX_CONNECTIONS: '19500',
    OPAMP_UPGRADES_PER_SECOND: '100000',
    OPAMP_UPGRADE_BURST: '100000',
    OPAMP_MESSAGES_PER_SECOND: '1000',
    OPAMP_MESSAGE_BURST: '1000',
    OPAMP_MAX_PENDING_INBOUND: '200000',
    OPAMP_DRAIN_WINDOW_MS: '0',
    ...extra,
  };
}

/** Start `count` gateways numbered from `firstIndex` (ids, labels and ports follow the number). */
async function startGateways(bench, ident, count, { basePort, extraEnv = {}, firstIndex = 0 }) {
  const gws = [];
  for (let i = firstIndex; i < firstIndex + count; i++) {
    const port = basePort + 2 * i;
    const child = startApp(bench, `gateway-${i}`, 'gateway', gatewayEnv(ident, i, port, port + 1, extraEnv));
    child.port = port;
    child.gatewayId = `bench-${ident.id}-gw${i}`;
    child.adminPort = port + 1;
    gws.push(child);
  }
  for (const g of gws) await waitUntil(g.label, httpOk(`http://127.0.0.1:${g.adminPort}/readyz`), 60_000);
  return gws;
}

/** Sum of the Prometheus samples whose line starts with `name` on an admin port. */
async function metric(adminPort, name) {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

/** REST client of /api/v1 with the admin token. */
function api(baseUrl, token) {
  const call = async (method, p, body) => {
    const res = await fetch(`${baseUrl}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 500)}`);
    return json;
  };
  return {
    call,
    /** Count agents matching query parameters, paging through 1000 at a time. */
    async countAgents(query = '') {
      let n = 0;
      let token = '';
      do {
        const page = await call('GET', `/agents?pageSize=1000${query}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
        n += (page.agents ?? []).length;
        token = page.nextPageToken ?? '';
      } while (token);
      return n;
    },
    /** True when at least one agent matches (one small page). */
    async anyAgent(query = '') {
      const page = await call('GET', `/agents?pageSize=1${query}`);
      return (page.agents ?? []).length > 0;
    },
  };
}

module.exports = {
  embeddedServerEnv,
  logDir,
  repo,
  sleep,
  children,
  onCleanup,
  stopChildren,
  shutdown,
  startApp,
  stopApp,
  waitUntil,
  httpOk,
  build,
  infraUp,
  runIdentity,
  freshDatabase,
  groupAtEnd,
  dropKafkaArtifacts,
  lagProbe,
  startWorkers,
  startIngest,
  startConfig,
  startGateways,
  gatewayEnv,
  metric,
  api,
  KAFKA_BROKERS,
  REDIS_URL,
  INBOUND_TOPIC,
};
