// Certificate rotation benchmark (issue 18 item 7), on demand, never in CI.
//
// Distributed mode on this machine: Kafka, Redis, PostgreSQL (already running),
// one status-ingest, one config-service with a credential key, a tenant CA and
// a public OpAMP URL naming the mutual-TLS terminator, G gateways that believe
// the terminator's certificate headers from loopback, and in front of each
// gateway its own HAProxy running the shipped deploy/mtls/haproxy-mtls.cfg
// (one HAProxy per gateway: each proxied agent costs HAProxy two descriptors,
// so 10,000 agents through one process would need 20,000+ open files, the
// per-process limit here; two processes hold 5,000 agents / ~10,000 files
// each). A swarm of A WebSocket agents in client-certificate mode
// (--client-certificate of the swarm): each enrolls on a gateway with the
// tenant's token, sends a CSR, is offered its own credential and certificate
// with the terminator's URL, and reconnects through a terminator (picked by
// uid, agent-sim endpointAliases) presenting its certificate.
//
//   phase "enroll": every agent on its certificate (agent_certificates ACTIVE);
//   phase "rotate": POST /agent-certificates:rotate with one selector naming the
//     whole run: every certificate renewed for the agent's key and offered; the
//     agents reconnect with the renewal (new ACTIVE, old SUPERSEDED).
//
// Per phase: time until every agent is on its certificate, refused connections
// at the gateways (opamp_gateway_rejections_total) and at the terminators
// (handshake failures in HAProxy's log), the swarm's errors, CPU and RSS of
// HAProxy, gateways, config-service and the rest.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/certificate-rotation.bench.js [--agents=10000] [--help]
//
// Writes bench/results/certificate-rotation-<agents>.json.
const path = require('path');
const crypto = require('crypto');
const S = require('./lib/stack');
const { Sampler, infraPids, topOthers } = require('./lib/procs');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');
const { rotationPhase, postLong, dropRedisKeys, emptyRedisDb, foreignKeys } = require('./lib/rotation-bench');
const fs = require('fs');
const os = require('os');
const { execFileSync, spawn } = require('child_process');

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
    basePort: 15300,
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
  },
  'certificate rotation behind the HAProxy mTLS terminator: A agents get certificates from CSRs, then one selector rotates them all; time, refusals, load',
);
const BENCH = 'certificate-rotation';
/** The public OpAMP URL's host: a name the agents resolve onto the gateways (endpointAliases). */
const PUBLIC_HOST = 'opamp.bench.invalid';

/** The run tenant's certificates by state ("offered": issued, not yet seen on a connection). */
async function credentialStates(pg, tenant) {
  const { rows } = await pg.query(`SELECT state, count(*)::int AS n FROM agent_certificates WHERE tenant_id = $1 GROUP BY state`, [tenant]);
  const out = { offered: 0, active: 0, superseded: 0, revoked: 0, expired: 0 };
  for (const r of rows) out[r.state === 'issued' ? 'offered' : r.state] = r.n;
  return out;
}

/** A self-signed terminator certificate for 127.0.0.1 (agents trust it as the server CA), with openssl. */
function terminatorCertificate(dir) {
  const key = path.join(dir, 'terminator.key');
  const crt = path.join(dir, 'terminator.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=opamp-bench-terminator', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { certPem: fs.readFileSync(crt, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') };
}

/** The shipped terminator config run by Debian's haproxy (master-worker) in front of one gateway; resolves once loaded. */
async function startHaproxy(index, port, gateway, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-haproxy-${index}-`));
  fs.writeFileSync(path.join(dir, 'server.pem'), files.serverPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'ca-bundle.pem'), files.caPem);
  fs.writeFileSync(path.join(dir, 'crl.pem'), files.crlPem);
  const child = spawn('haproxy', ['-W', '-f', path.join(S.repo, 'deploy', 'mtls', 'haproxy-mtls.cfg')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      OPAMP_MTLS_BIND: `127.0.0.1:${port}`,
      OPAMP_MTLS_SERVER_CERT: path.join(dir, 'server.pem'),
      OPAMP_MTLS_CA_FILE: path.join(dir, 'ca-bundle.pem'),
      OPAMP_MTLS_CRL_FILE: path.join(dir, 'crl.pem'),
      OPAMP_MTLS_GATEWAY: gateway,
    },
  });
  const t = { child, port, pid: child.pid, handshakeFailures: 0, log: '' };
  const onData = (d) => {
    const text = d.toString();
    t.handshakeFailures += (text.match(/SSL handshake failure|client certificate not trusted|certificate (revoked|expired)/g) ?? []).length;
    if (!t.loaded) t.log += text;
    if (text.includes('Loading success.')) t.loaded = true;
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  S.onCleanup(() => {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const t0 = Date.now();
  while (!t.loaded) {
    if (child.exitCode !== null || Date.now() - t0 > 15_000) throw new Error(`haproxy ${index} did not start: ${t.log}`);
    await S.sleep(100);
  }
  return t;
}

/** The master and its workers (HAProxy forks its worker). */
function haproxyPids(ts) {
  const out = [];
  for (const t of ts) {
    out.push(t.pid);
    try {
      out.push(...fs.readFileSync(`/proc/${t.pid}/task/${t.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      // exited
    }
  }
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
    ingestEnv: redisEnv,
    configEnv: {
      ...redisEnv,
      OPAMP_CREDENTIAL_KEY: crypto.randomBytes(32).toString('base64'),
      OPAMP_PUBLIC_OPAMP_URL: `wss://${PUBLIC_HOST}/v1/opamp`,
      OPAMP_OFFER_HEARTBEAT_S: String(opts.heartbeatS),
      // Credential offers config-service sends per second (its default when 0).
      ...(opts.offersPerS > 0 ? { OPAMP_CREDENTIAL_OFFERS_PER_S: String(opts.offersPerS) } : {}),
    },
  });
  const gws = await S.startGateways(BENCH, ident, nGateways, {
    basePort: opts.basePort,
    extraEnv: { ...redisEnv, OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256', OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject', OPAMP_TRUSTED_PROXIES: '127.0.0.0/8' },
  });
  // The tenant's CA (managed by the server), its CRL, and one terminator per gateway.
  const apiCall = async (method, p, accept = 'application/json') => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1${p}`, { method, headers: { authorization: `Bearer ${ident.adminToken}`, 'content-type': 'application/json', accept }, body: method === 'POST' ? '{}' : undefined });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return accept === 'application/json' ? JSON.parse(text) : text;
  };
  const tenantCa = await apiCall('POST', '/certificate-authorities');
  const crlPem = await apiCall('GET', `/certificate-authorities/${encodeURIComponent(tenantCa.id)}/crl`, 'application/x-pem-file');
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-certrot-'));
  S.onCleanup(() => fs.rmSync(tlsDir, { recursive: true, force: true }));
  const serverTls = terminatorCertificate(tlsDir);
  const terminators = [];
  for (let i = 0; i < gws.length; i++) {
    terminators.push(await startHaproxy(i, opts.basePort + 90 + i, `127.0.0.1:${gws[i].port}`, { serverPem: serverTls.certPem + serverTls.keyPem, caPem: tenantCa.certificatePem, crlPem }));
  }
  const handshakeFailures = () => terminators.reduce((n, t) => n + t.handshakeFailures, 0);
  const pg = new Client({ connectionString: ident.databaseUrl });
  await pg.connect();
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const foreign = await foreignKeys(redis, 'bench-certificaterotation');
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
      haproxy: () => haproxyPids(terminators),
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
    refusedElsewhere: handshakeFailures,
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
          requestClientCertificate: true,
          serverCaPem: serverTls.certPem,
          endpointAliases: { [PUBLIC_HOST]: terminators.map((t) => `127.0.0.1:${t.port}`) },
        },
      });
      S.onCleanup(() => swarm.stop());
      for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
      return { swarmStarted: A };
    },
    (s) => s.active >= A && s.offered === 0,
  );
  // Refused at the terminators before the rotation: none expected (agents reach them only with a certificate).

  await S.sleep(5_000);
  phases.rotate = await phase(
    'rotate',
    () => postLong(apiPort, '/api/v1/agent-certificates:rotate', ident.adminToken, { selector: `bench.run=${ident.id}` }),
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
      publicOpampUrl: `wss:// a load-balanced name resolved by each agent onto one of ${nGateways} HAProxy mTLS terminators (by instance uid), one per gateway`,
      terminators: `${nGateways} HAProxy processes (deploy/mtls/haproxy-mtls.cfg), one per gateway; open-files limit of this process ${(() => { try { return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })()}`,
      keys: 'ECDSA P-256 per agent (WebCrypto), CSR with CN = uid; rotation renews for the same key (server-initiated)',
      selector: 'all agents of the run (bench.run label)',
      infra: 'Kafka, Redis, PostgreSQL already running on the same machine (shared); the run on Redis database ' + opts.redisDb,
      sharedMachine: opts.sharedMachine ? 'other work (other helpers builds and tests) shared the 2 cores during the run' : 'quiet machine',
    },
    otherBusyProcessesAtStart: others,
    phases,
    swarm: { connectLatencyMs: report.connectLatencyMs, reconnectLatencyMs: report.reconnectLatencyMs, errors: report.errors, errorSamples: report.errorSamples, connectionSettings: report.connectionSettings },
    target: {
      issue18: 'a rotation of 10,000 agents behind the terminator with zero refused well-behaved connections',
      met: rotate.allOnTheirCredentialMs !== null && rotate.refusedAtTerminators === 0 && Object.keys(rotate.refusedAtGateways).length === 0 && Object.keys(rotate.swarmErrors).length === 0,
    },
  };
  for (const p of Object.values(phases)) p.timeSeries = p.timeSeries.filter((_, i, all) => i % Math.max(1, Math.ceil(all.length / 60)) === 0 || i === all.length - 1);
  const file = writeResult(`${BENCH}-${A}`, result);
  const brief = {};
  for (const [k, v] of Object.entries(phases)) {
    brief[k] = { apiCallMs: v.apiCallMs, allOnTheirCredentialMs: v.allOnTheirCredentialMs, refused: v.refusedAtGateways, refusedAtTerminators: v.refusedAtTerminators, swarmErrors: v.swarmErrors, peakReconnectsPerS: v.peakReconnectsWithNewSettingsPerS, cpuPercent: v.resources.cpuPercent, redis: v.redis, postgresWrites: v.postgresWrites };
  }
  console.log(`\n${JSON.stringify(brief, null, 2)}`);
  console.log(`written to ${path.relative(S.repo, file)}`);
  await pg.end().catch(() => undefined);
  // Not children of the stack (cleanup hooks run only on a failed run): stopped here.
  for (const t of terminators) t.child.kill('SIGTERM');
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
