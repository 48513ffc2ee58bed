// Certificate issuance benchmark (issue 18 item 7, first half), on demand, never in CI.
//
// What one config-service process spends per agent CSR on its signing path,
// with the built code of libs/certificate-authority: the CSR parsed and its
// signature verified, the tenant policy decided (uid, key type, SANs), a
// client certificate signed by the tenant's built-in CA (its key opened once
// from the sealed form, as CertificateAuthorityRepository does) with the
// agent's subject, SAN, extensions and fingerprint. The CSRs are made
// beforehand (that is the agents' work), distinct keys, one per agent.
// Not measured: the PostgreSQL insert and the directory put of each
// certificate (they are per-agent round trips like every other write).
//
// Runs the path with several numbers of CSRs in flight (WebCrypto signs and
// verifies on libuv's thread pool, so concurrency can use more than the main
// thread), each for --seconds, and reports certificates per second.
//
//   npm run bench:certificates   (builds first)
//   node -r ./dist/out-tsc/register-aliases.js bench/certificate-issuance.bench.js [--keyType=ecdsa-p256] [--help]
//
// Writes bench/results/certificate-issuance-<keyType>.json.
const crypto = require('crypto');
const { machine } = require('./lib/machine');
const { writeResult } = require('./lib/machine');
const { topOthers } = require('./lib/procs');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  { keyType: 'ecdsa-p256', csrs: 2000, seconds: 10, concurrency: '1,4,16', target: 500, uvThreads: 0 },
  'certificate issuance: CSRs signed per second by the signing path of one config-service process',
);
if (opts.uvThreads > 0) process.env.UV_THREADPOOL_SIZE = String(opts.uvThreads);

require('reflect-metadata');
const x509 = require('@peculiar/x509');
const ca = require('@opamp/certificate-authority');

x509.cryptoProvider.set(crypto.webcrypto);
const subtle = crypto.webcrypto.subtle;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

async function makeCsrs(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const keys = await subtle.generateKey(ALG, true, ['sign', 'verify']);
    const uid = crypto.randomBytes(16).toString('hex');
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: [uid] }], keys, signingAlgorithm: ALG });
    out.push({ uid, pem: csr.toString('pem') });
  }
  return out;
}

async function signOne(signer, policy, c) {
  const request = await ca.parseCertificateRequest(c.pem);
  const grant = ca.decideRequest(policy, request, { tenantId: 'bench', uidHex: c.uid });
  return ca.issueClientCertificate(signer, request, grant, policy.lifetimeHours);
}

async function run(signer, policy, csrs, concurrency, seconds) {
  let next = 0;
  let done = 0;
  const latencies = [];
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  async function lane() {
    while (Date.now() < deadline) {
      const c = csrs[next++ % csrs.length];
      const s = process.hrtime.bigint();
      const issued = await signOne(signer, policy, c);
      if (!issued.fingerprintHex) throw new Error('no fingerprint');
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      done++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const p = (q) => +latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2);
  return {
    concurrency,
    certificates: done,
    seconds: +elapsedS.toFixed(2),
    perSecond: Math.round(done / elapsedS),
    latencyMs: { p50: p(0.5), p99: p(0.99) },
    processCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / elapsedS) * 100),
    // What one core fully given to it would do: the figure that does not depend on how busy the machine is.
    perCpuSecond: Math.round(done / ((cpu.user + cpu.system) / 1e6)),
  };
}

async function main() {
  console.log(`making ${opts.csrs} agent CSRs (P-256) ...`);
  const csrs = await makeCsrs(opts.csrs);
  // The tenant CA as config-service holds it: made, sealed under a key derived from the credential key, opened.
  const credentialKey = crypto.randomBytes(32);
  const made = await ca.createCertificateAuthority({ tenantId: 'bench', keyType: opts.keyType });
  const sealingKey = ca.deriveSealingKey(credentialKey);
  const sealed = ca.sealPrivateKey(sealingKey, 'bench', 'ca-1', made.pkcs8);
  const signer = await ca.LocalCaSigner.fromPkcs8(made.certificatePem, made.keyType, ca.openPrivateKey(sealingKey, 'bench', 'ca-1', sealed));
  const policy = ca.DEFAULT_CERTIFICATE_POLICY;
  // Warm-up: JIT and the CA's key identifier.
  for (let i = 0; i < 200; i++) await signOne(signer, policy, csrs[i % csrs.length]);
  const othersAtStart = await topOthers([process.pid]);
  const loadAtStart = require('os').loadavg();
  const runs = [];
  for (const c of String(opts.concurrency).split(',').map(Number)) {
    const r = await run(signer, policy, csrs, c, opts.seconds);
    console.log(`concurrency ${String(c).padStart(3)}: ${r.perSecond} certificates/s (p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, CPU ${r.processCpuPercent} %: ${r.perCpuSecond} per CPU second)`);
    runs.push(r);
  }
  const othersAtEnd = await topOthers([process.pid]);
  const best = Math.max(...runs.map((r) => r.perSecond));
  const file = writeResult(`certificate-issuance-${opts.keyType}`, {
    parameters: { ...opts, uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE || 4) },
    caKeyType: opts.keyType,
    agentKeyType: 'ecdsa-p256',
    runs,
    best,
    target: opts.target,
    met: best >= opts.target,
    bestPerCpuSecond: Math.max(...runs.map((r) => r.perCpuSecond)),
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: require('os').loadavg(),
    note: 'shared 2-core machine: other helpers ran builds, linters and integration tests meanwhile (see otherBusyProcesses*, loadAverage*)',
    otherBusyProcessesAtStart: othersAtStart,
    otherBusyProcessesAtEnd: othersAtEnd,
    machineAtRun: machine(),
  });
  console.log(`best ${best} certificates/s (target ${opts.target}: ${best >= opts.target ? 'met' : 'NOT met'}); ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
