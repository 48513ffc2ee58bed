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
//     Only after the enrollment completed (every agent ACTIVE): otherwise the
//     run records the enrollment, says so, and does not rotate.
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
const S = require('./lib/stack');
const { rotationPhase, postLong } = require('./lib/rotation-bench');
const { rotationOptions, startRotationStack, connectRotationStores, rotationSampler, startEnrollingSwarm, commonParameters, finishRotationRun } = require('./lib/rotation-run');
const fs = require('fs');
const os = require('os');
const { execFileSync, spawn } = require('child_process');

const opts = rotationOptions(15300, 'certificate rotation behind the HAProxy mTLS terminator: A agents get certificates from CSRs, then one selector rotates them all; time, refusals, load');
const BENCH = 'certificate-rotation';

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

/** config-service's certificate counters (issued, repeated CSRs, activations, renewals), from its /metrics. */
async function certificateCounters(apiPort) {
  const text = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(opamp_config_certificate_\w+|opamp_config_agent_certificate_requests\w*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out[m[1] + (m[2] ?? '')] = Number(m[3]);
  }
  return out;
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
  const run = await startRotationStack(BENCH, opts, {
    publicScheme: 'wss',
    gatewayEnv: { OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256', OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject', OPAMP_TRUSTED_PROXIES: '127.0.0.0/8' },
  });
  const { A, gws, ident, apiPort } = run;
  const { formatSummary } = require('@opamp/swarm');
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
  const stores = await connectRotationStores(run);
  const { sampler, others } = await rotationSampler(run, { haproxy: () => haproxyPids(terminators) });

  let swarm;
  const ctx = {
    opts,
    agents: A,
    gws,
    sampler,
    redis: stores.redis,
    databaseUrl: ident.databaseUrl,
    states: () => credentialStates(stores.pg, ident.tenant),
    swarm: () => swarm,
    refusedElsewhere: handshakeFailures,
  };
  const phase = (name, start, done) => rotationPhase(ctx, name, start, done);
  const phases = {};
  phases.enroll = await phase(
    'enroll',
    async () => {
      swarm = await startEnrollingSwarm(
        run,
        terminators.map((t) => `127.0.0.1:${t.port}`),
        { requestClientCertificate: true, serverCaPem: serverTls.certPem },
      );
      return { swarmStarted: A };
    },
    (s) => s.active >= A && s.offered === 0,
  );
  // A rotation started before every agent is on its certificate measures the enrollment, not the rotation.
  const enrolled = phases.enroll.allOnTheirCredentialMs !== null;
  if (enrolled) {
    await S.sleep(5_000);
    phases.rotate = await phase(
      'rotate',
      () => postLong(apiPort, '/api/v1/agent-certificates:rotate', ident.adminToken, { selector: `bench.run=${ident.id}` }),
      (s) => s.active >= A && s.superseded >= A && s.offered === 0,
    );
  } else {
    phases.rotate = { skipped: `enrollment did not complete within ${opts.timeoutS} s (${JSON.stringify(phases.enroll.credentialStates)}): not rotated` };
    console.log(phases.rotate.skipped);
  }

  const configServiceCounters = await certificateCounters(apiPort).catch((err) => ({ error: String(err) }));
  // Its consumer losing the group replays uncommitted agent events (CSRs among them): what its log (last 64 KiB) says of that.
  configServiceCounters.consumerGroupTroubleInLog = (run.config.output.match(/rebalanc|re-joining|not aware of this member/gi) ?? []).length;
  const report = await swarm.stop();
  console.log(formatSummary(report));
  sampler.stop();
  const rotate = phases.rotate;
  const result = {
    parameters: {
      ...commonParameters(run, report),
      publicOpampUrl: `wss:// a load-balanced name resolved by each agent onto one of ${run.nGateways} HAProxy mTLS terminators (by instance uid), one per gateway`,
      terminators: `${run.nGateways} HAProxy processes (deploy/mtls/haproxy-mtls.cfg), one per gateway; open-files limit of this process ${(() => { try { return execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim(); } catch { return '?'; } })()}`,
      keys: 'ECDSA P-256 per agent (WebCrypto), CSR with CN = uid; rotation renews for the same key (server-initiated)',
      selector: 'all agents of the run (bench.run label)',
      infra: 'Kafka, Redis, PostgreSQL already running on the same machine (shared); the run on Redis database ' + opts.redisDb,
      sharedMachine: opts.sharedMachine ? 'other work (other helpers builds and tests) shared the 2 cores during the run' : 'quiet machine',
    },
    configServiceCounters,
    otherBusyProcessesAtStart: others,
    phases,
    swarm: { connectLatencyMs: report.connectLatencyMs, reconnectLatencyMs: report.reconnectLatencyMs, errors: report.errors, errorSamples: report.errorSamples, connectionSettings: report.connectionSettings },
    target: {
      issue18: 'a rotation of 10,000 agents behind the terminator with zero refused well-behaved connections',
      met:
        enrolled &&
        rotate.allOnTheirCredentialMs !== null &&
        phases.enroll.refusedAtTerminators === 0 &&
        Object.keys(phases.enroll.refusedAtGateways).length === 0 &&
        rotate.refusedAtTerminators === 0 &&
        Object.keys(rotate.refusedAtGateways).length === 0 &&
        Object.keys(rotate.swarmErrors).length === 0,
    },
  };
  // Not children of the stack (cleanup hooks run only on a failed run): stopped here.
  for (const t of terminators) t.child.kill('SIGTERM');
  await finishRotationRun(run, stores, result, (v) => ({ apiCallMs: v.apiCallMs, allOnTheirCredentialMs: v.allOnTheirCredentialMs, refused: v.refusedAtGateways, refusedAtTerminators: v.refusedAtTerminators, swarmErrors: v.swarmErrors, peakReconnectsPerS: v.peakReconnectsWithNewSettingsPerS, cpuPercent: v.resources.cpuPercent, redis: v.redis, postgresWrites: v.postgresWrites }));
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
