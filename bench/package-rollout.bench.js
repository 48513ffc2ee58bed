// Package rollout benchmark (issue 17 item 7), on demand, never in CI.
//
// Distributed mode on this machine (infra, one status-ingest, one
// config-service, G gateways serving package files from PostgreSQL) and a
// swarm of A WebSocket agents that take package offers: each downloads the
// offered file over HTTP from a gateway (the download address names one
// load-balanced host; each agent resolves it onto a gateway by instance uid,
// as DNS round robin would), checks its SHA-256, reports DOWNLOADING with
// progress, then INSTALLED, and restarts into the new version (service.version).
//
//   phase "baseline": a package assignment gives every agent otelcol 1.0.0
//     (a small file, --baselineKiB), so the rollout has a version to move from;
//   phase "rollout": a staged package rollout of otelcol 2.0.0 (--fileMiB,
//     20 MiB) in B batches with S s soak, gates on (install failed, unhealthy,
//     the new version not reported within the apply deadline), automatic
//     rollback on.
//
// Measured during the rollout: total time (start -> COMPLETED), per-batch
// times, gateway CPU and RSS (procfs), bytes served per second (the gateways'
// opamp_gateway_package_bytes_out_total), downloads in flight and refused busy
// (503 + Retry-After, which the agents wait out: --busyWaits), the API's
// latency (a GET of the rollout every second, as the console's rollout page
// polls it), and heartbeat round trips of probe agents on every gateway
// (heartbeat-probe.js; a baseline window before the rollout to compare with).
// A run that does not finish within --timeoutS is recorded as far as it got.
//
//   nice -n 5 node -r ./dist/out-tsc/register-aliases.js bench/package-rollout.bench.js [--agents=10000] [--help]
//
// Writes bench/results/package-rollout-<agents>.json and .md (also while it
// runs, every --checkpointS, marked unfinished).
const path = require('path');
const crypto = require('crypto');
const os = require('os');
const S = require('./lib/stack');
const { startStackSwarm, startSwarmStack, waitForFleet } = require('./lib/swarm-stack');
const { startRestProbe } = require('./lib/rest-probe');
const { startHeartbeatProbe } = require('./lib/heartbeat-probe');
const { writeResult } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    agents: 10_000,
    gateways: 2,
    perGateway: 15_000,
    workers: 0,
    ramp: 1_000,
    heartbeatS: 30,
    basePort: 23000,
    skipBuild: false,
    seed: 17,
    fileMiB: 20,
    baselineKiB: 64,
    batches: 4,
    soakS: 30,
    maxFailedPercent: 1,
    // The apply deadline of each member (0: the server's default, 10 minutes).
    applyTimeoutS: 3_600,
    // Per gateway (0: the gateway's defaults, OPAMP_PACKAGE_DOWNLOADS_MAX 64 and OPAMP_PACKAGE_BYTES_PER_SECOND 64 MiB/s).
    downloadsMax: 0,
    bytesPerSecondMiB: 0,
    // 503 + Retry-After answers each agent waits out before it reports INSTALL_FAILED (0: at once, as opamp-go).
    busyWaits: 1_000,
    probesPerGateway: 10,
    probeEveryMs: 1_000,
    timeoutS: 3_600,
    checkpointS: 60,
    // Written into the result: whether other work shared the machine during the run.
    sharedMachine: true,
  },
  'package rollout benchmark: A agents download and install a new package version in a staged rollout through G gateways',
);
const BENCH = 'package-rollout';
/** The download address's host: a name each agent resolves onto one gateway (endpointAliases). */
const DOWNLOAD_HOST = 'packages.bench.invalid';
const PACKAGE = 'otelcol';
const MiB = 1024 * 1024;
const ASSIGNMENT = 'bench-otelcol';
const ROLLOUT = 'bench-otelcol-2';
const ROLLOUT_RUNNING = ['ROLLOUT_STATE_RUNNING', 'ROLLOUT_STATE_PENDING', 'ROLLOUT_STATE_ROLLING_BACK'];

/** Upload raw bytes (POST /api/v1/package-files); the server's SHA-256. */
async function upload(apiBase, token, bytes) {
  const res = await fetch(`${apiBase}/package-files`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: bytes });
  const json = await res.json();
  if (!res.ok) throw new Error(`upload: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json.sha256;
}

/** Sum of a metric's samples in Prometheus text, those with `label` (e.g. result="busy") only when given. */
function sampleSum(text, name, label) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (label && !line.slice(0, line.lastIndexOf(' ')).includes(label)) continue;
    sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** The gateways' package counters summed: bytes served, downloads in flight, refused busy, completed. */
async function gatewayPackageCounters(gws) {
  const per = await Promise.all(
    gws.map(async (g) => {
      const text = await (await fetch(`http://127.0.0.1:${g.adminPort}/metrics`)).text();
      return {
        bytes: sampleSum(text, 'opamp_gateway_package_bytes_out_total'),
        active: sampleSum(text, 'opamp_gateway_package_downloads_active'),
        busy: sampleSum(text, 'opamp_gateway_package_downloads_total', 'result="busy"'),
        complete: sampleSum(text, 'opamp_gateway_package_downloads_total', 'result="complete"'),
        // The event loop's delay (prom-client's monitor): a gateway waiting for a CPU and one busy with
        // downloads both show here, where its CPU time tells them apart.
        loopLagP99Ms: +(sampleSum(text, 'nodejs_eventloop_lag_p99_seconds') * 1000).toFixed(1),
      };
    }),
  );
  const sum = (k) => per.reduce((n, p) => n + p[k], 0);
  return { bytes: sum('bytes'), active: sum('active'), busy: sum('busy'), complete: sum('complete'), loopLagP99Ms: Math.max(...per.map((p) => p.loopLagP99Ms)), perGateway: per };
}

const sec = (ms) => (ms === null || ms === undefined ? null : +(ms / 1000).toFixed(1));

async function main() {
  const A = opts.agents;
  const urlKey = crypto.randomBytes(32).toString('base64');
  const stack = await startSwarmStack(BENCH, opts, {
    describeRun: (ident, { nGateways }) => `run ${ident.id}: ${A} agents, ${opts.fileMiB} MiB package, ${opts.batches} batches, ${opts.soakS} s soak, ${nGateways} gateways`,
    samplerIntervalMs: 1_000,
    configEnv: { OPAMP_PACKAGE_URL_KEY: urlKey, OPAMP_PACKAGE_DOWNLOAD_URL: `http://${DOWNLOAD_HOST}` },
    gatewayEnv: (ident) => ({
      OPAMP_PACKAGE_DATABASE_URL: ident.databaseUrl,
      OPAMP_PACKAGE_URL_KEY: urlKey,
      ...(opts.downloadsMax > 0 ? { OPAMP_PACKAGE_DOWNLOADS_MAX: String(opts.downloadsMax) } : {}),
      ...(opts.bytesPerSecondMiB > 0 ? { OPAMP_PACKAGE_BYTES_PER_SECOND: String(Math.round(opts.bytesPerSecondMiB * MiB)) } : {}),
    }),
  });
  const { nGateways, nWorkers, ident, api, sampler, others, gws } = stack;
  const apiBase = `http://127.0.0.1:${opts.basePort + 80}/api/v1`;
  const loadAtStart = os.loadavg();
  const swarm = await startStackSwarm(stack, opts, {
    applyDelayMs: 0,
    progressEveryMs: 10_000,
    description: { services: [{ value: PACKAGE, weight: 1 }], serviceVersions: [{ value: '1.0.0', weight: 1 }], osTypes: [{ value: 'linux', weight: 1 }] },
    agent: { acceptPackages: true, agentPackage: PACKAGE, packageDownloadBusyWaits: opts.busyWaits, endpointAliases: { [DOWNLOAD_HOST]: gws.map((g) => `127.0.0.1:${g.port}`) } },
  });
  const fleet = await waitForFleet(stack, swarm, opts, { log: console.log });
  const hb = startHeartbeatProbe({ endpoints: gws.map((g) => `ws://127.0.0.1:${g.port}/v1/opamp`), agentToken: ident.agentToken, runId: ident.id, perGateway: opts.probesPerGateway, everyMs: opts.probeEveryMs });
  S.onCleanup(() => hb.stop());

  // The catalog: 1.0.0 (small) and 2.0.0 (the upgrade), uploaded to this server.
  const small = crypto.randomBytes(opts.baselineKiB * 1024);
  const big = crypto.randomBytes(Math.round(opts.fileMiB * MiB));
  const tUpload = Date.now();
  const sha1 = await upload(apiBase, ident.adminToken, small);
  const sha2 = await upload(apiBase, ident.adminToken, big);
  const uploadMs = Date.now() - tUpload;
  console.log(`uploaded ${opts.fileMiB} MiB in ${(uploadMs / 1000).toFixed(1)} s`);
  await api.call('POST', '/packages', { name: PACKAGE, kind: 'PACKAGE_KIND_AGENT' });
  await api.call('POST', `/packages/${PACKAGE}/versions`, { version: '1.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha1 }] });
  await api.call('POST', `/packages/${PACKAGE}/versions`, { version: '2.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha2 }] });

  // Phase baseline: everyone on 1.0.0.
  const tBase = Date.now();
  await api.call('POST', '/package-assignments', { name: ASSIGNMENT, selector: `bench.run=${ident.id}`, packages: [{ packageName: PACKAGE, version: '1.0.0' }] });
  await S.waitUntil('every agent installed 1.0.0', async () => (swarm.progress().packages['installed 1.0.0'] ?? 0) >= A, 600_000, 1_000);
  await S.waitUntil('the API counts every agent on 1.0.0', async () => (await api.call('GET', `/package-assignments/${ASSIGNMENT}/status`)).installed >= A, 300_000, 2_000);
  const baselineMs = Date.now() - tBase;
  console.log(`baseline: every agent on 1.0.0 after ${(baselineMs / 1000).toFixed(1)} s`);

  // Heartbeats with no download running, to compare with.
  hb.mark('quiet');
  sampler.mark('quiet');
  await S.sleep(Math.max(10_000, opts.probeEveryMs * 15));
  hb.mark('t0');
  sampler.mark('t0');

  // Phase rollout.
  const rest = startRestProbe(`${apiBase}/package-rollouts/${ROLLOUT}`, { authorization: `Bearer ${ident.adminToken}` }, { everyMs: 1_000 });
  S.onCleanup(() => rest.stop());
  rest.mark('t0');
  const c0 = await gatewayPackageCounters(gws);
  const t0 = Date.now();
  const created = await api.call('POST', '/package-rollouts', {
    name: ROLLOUT,
    packageAssignmentName: ASSIGNMENT,
    toPackages: [{ packageName: PACKAGE, version: '2.0.0' }],
    strategy: { batchPercent: 100 / opts.batches },
    gates: { maxFailedPercent: opts.maxFailedPercent },
    soakTimeMs: opts.soakS * 1000,
    autoRollback: true,
    ...(opts.applyTimeoutS > 0 ? { applyTimeoutMs: opts.applyTimeoutS * 1000 } : {}),
    start: true,
  });
  const createMs = Date.now() - t0;
  console.log(`rollout created and started in ${createMs} ms: ${created.batches.length} batches of ${created.batches.map((b) => b.plannedAgents).join(', ')}`);

  const series = [];
  let rollout = created;
  let last = { t: t0, ...c0 };
  let lastLine = '';
  let lastCheckpoint = Date.now();
  let stopReason = 'timeout';
  const snapshot = (finished) => buildResult({ finished, stopReason, rollout, series, c0, last, t0, fleet, baselineMs, uploadMs, createMs, loadAtStart, others, nGateways, nWorkers, swarm, hb, rest, sampler, sha2 });
  while (Date.now() - t0 < opts.timeoutS * 1000) {
    await S.sleep(5_000);
    try {
      rollout = await api.call('GET', `/package-rollouts/${ROLLOUT}`);
    } catch (err) {
      console.log(`GET rollout: ${err.message}`);
    }
    const c = await gatewayPackageCounters(gws).catch(() => null);
    const group = await api.call('GET', `/package-assignments/${ASSIGNMENT}/status`).catch(() => null);
    const now = Date.now();
    if (c) {
      const p = swarm.progress();
      series.push({
        tS: sec(now - t0),
        state: rollout.state,
        batch: rollout.currentBatch + 1,
        servedMiBPerS: +((c.bytes - last.bytes) / MiB / ((now - last.t) / 1000)).toFixed(1),
        downloadsActive: c.active,
        refusedBusyPerS: +((c.busy - last.busy) / ((now - last.t) / 1000)).toFixed(1),
        installed: p.packages['installed 2.0.0'] ?? 0,
        installFailed: p.packages['install_failed 2.0.0'] ?? 0,
        apiGroup: group && { installed: group.installed, downloading: group.downloading, downloadMiBPerS: +(Number(group.downloadBytesPerSecond) / MiB).toFixed(1), installFailed: group.installFailed, otherVersion: group.otherVersion },
        heartbeatP99Ms: hb.series('t0', 5_000).slice(-1)[0]?.p99Ms ?? null,
        gatewayLoopLagP99Ms: c.loopLagP99Ms,
        connected: p.connected,
      });
      last = { t: now, ...c };
    }
    const s = series[series.length - 1];
    const line = `${rollout.state} batch ${rollout.currentBatch + 1}/${rollout.batches.length} ${JSON.stringify(rollout.progress)}`;
    if (line !== lastLine || series.length % 6 === 0) {
      console.log(`${sec(now - t0)} s: ${line}; installed ${s?.installed} · ${s?.servedMiBPerS} MiB/s · ${s?.downloadsActive} downloading · heartbeat p99 ${s?.heartbeatP99Ms} ms`);
      lastLine = line;
    }
    if (!ROLLOUT_RUNNING.includes(rollout.state)) {
      stopReason = rollout.state;
      break;
    }
    if (Date.now() - lastCheckpoint >= opts.checkpointS * 1000) {
      lastCheckpoint = Date.now();
      sampler.mark('now');
      hb.mark('now');
      rest.mark('now');
      save(snapshot(false));
    }
  }
  const totalMs = Date.now() - t0;
  sampler.mark('done');
  hb.mark('done');
  rest.mark('done');
  const result = snapshot(true);
  result.rollout.totalMs = totalMs;
  await rest.stop();
  await hb.stop();
  const report = await swarm.stop();
  sampler.stop();
  // Per install: the agent's download started -> INSTALLED (waiting out busy answers included).
  result.swarmPackages.downloadStartToInstalledMs = report.packages.installMs;
  const file = save(result);
  console.log(JSON.stringify({ rollout: result.rollout, served: result.served, heartbeats: { quiet: result.heartbeats.quiet, rollout: result.heartbeats.rollout }, api: result.apiLatency, gateways: result.gateways }, null, 2));
  console.log(`written to ${path.relative(S.repo, file)} (+ .md)`);
  await S.stopChildren();
  await S.dropKafkaArtifacts(ident);
  process.exit(0);
}

/** The result as it stands (`finished` false: a checkpoint while it runs, or how far a run got). */
function buildResult(x) {
  const { rollout, series, c0, last, t0, sampler, hb, rest, swarm } = x;
  const end = x.finished ? 'done' : 'now';
  const elapsedMs = last.t - t0;
  const served = last.bytes - c0.bytes;
  const p = swarm.progress();
  const resources = sampler.window('t0', end);
  const peaks = sampler.peaks();
  const installed = p.packages['installed 2.0.0'] ?? 0;
  const batches = rollout.batches.map((b) => {
    const ms = b.startTime && b.finishTime ? Date.parse(b.finishTime) - Date.parse(b.startTime) : null;
    return { index: b.index, agents: b.agents || b.plannedAgents, state: b.state, startToFinishS: sec(ms), progress: b.progress, failureReason: b.failureReason || undefined };
  });
  const completed = rollout.state === 'ROLLOUT_STATE_COMPLETED';
  return {
    finished: x.finished,
    parameters: {
      mode: 'distributed',
      agents: opts.agents,
      transport: 'websocket (OpAMP); package files over HTTP GET from the gateways',
      gateways: x.nGateways,
      swarmWorkers: x.nWorkers,
      packageFileMiB: opts.fileMiB,
      baselineFileKiB: opts.baselineKiB,
      batches: opts.batches,
      strategy: `batch_percent ${100 / opts.batches}`,
      soakSeconds: opts.soakS,
      gates: { maxFailedPercent: opts.maxFailedPercent, applyTimeoutS: opts.applyTimeoutS || 'server default (600)' },
      perGatewayDownloadLimits: {
        concurrent: opts.downloadsMax || 'gateway default (64)',
        bytesPerSecond: opts.bytesPerSecondMiB ? `${opts.bytesPerSecondMiB} MiB/s` : 'gateway default (64 MiB/s)',
        busyAnswer: '503 with Retry-After 30-90 s (gateway default range)',
      },
      agentBusyWaits: opts.busyWaits,
      downloadAddress: `one load-balanced host (${DOWNLOAD_HOST}) each agent resolves onto one of the ${x.nGateways} gateways by instance uid`,
      heartbeatProbe: `${opts.probesPerGateway} probe agents per gateway, a heartbeat every ${opts.probeEveryMs} ms each, in a process of their own (not downloading)`,
      apiProbe: `GET /api/v1/package-rollouts/${ROLLOUT} every second`,
      heartbeatSeconds: opts.heartbeatS,
      sharedMachine: opts.sharedMachine ? 'other work (other helpers, the lead) shared the 2 cores during the run' : 'quiet machine',
      loadAverageAtStart: x.loadAtStart.map((l) => +l.toFixed(2)),
      loadAverageAtEnd: os.loadavg().map((l) => +l.toFixed(2)),
    },
    otherBusyProcessesAtStart: x.others,
    setup: { allConnectedS: sec(x.fleet.connectedAfterMs), apiListsAllS: sec(x.fleet.knownAfterMs), uploadS: sec(x.uploadMs), baselineAllOn1S: sec(x.baselineMs), rolloutCreateMs: x.createMs },
    rollout: {
      finalState: rollout.state,
      stateReason: rollout.stateReason || undefined,
      stopReason: x.stopReason,
      elapsedS: sec(elapsedMs),
      totalMs: null,
      agentsInstalledNewVersion: installed,
      installFailed: p.packages['install_failed 2.0.0'] ?? 0,
      progress: rollout.progress,
    },
    batches,
    served: {
      bytes: served,
      GiB: +(served / 1024 ** 3).toFixed(2),
      meanMiBPerS: elapsedMs > 0 ? +(served / MiB / (elapsedMs / 1000)).toFixed(1) : null,
      peakMiBPerS5s: series.length ? Math.max(...series.map((s) => s.servedMiBPerS)) : null,
      downloadsCompleted: last.complete - c0.complete,
      refusedBusy: last.busy - c0.busy,
      perGatewayMiB: last.perGateway.map((g, i) => +((g.bytes - c0.perGateway[i].bytes) / MiB).toFixed(0)),
    },
    swarmPackages: { counts: p.packages, errors: p.errors },
    gateways: {
      eventLoopLagP99MsAtStart: c0.loopLagP99Ms,
      eventLoopLagP99MsDuring: series.length ? Math.max(...series.map((s) => s.gatewayLoopLagP99Ms ?? 0)) : null,
      cpuPercent: resources.cpuPercent.gateway, rssMiB: resources.rssMiB.gateway, peakRssMiB: peaks.peakRssMiB.gateway, peakCpuPercent1s: peaks.peakCpuPercent.gateway, processes: resources.processes.gateway },
    resources,
    peaks,
    heartbeats: { quiet: hb.window('quiet', 't0'), rollout: hb.window('t0', end), probeReconnects: hb.reconnects(), series5s: hb.series('t0', 5_000).filter((_, i, all) => i % Math.max(1, Math.ceil(all.length / 60)) === 0) },
    apiLatency: rest.window('t0', end),
    timeSeries: series.filter((_, i, all) => i % Math.max(1, Math.ceil(all.length / 80)) === 0 || i === all.length - 1),
    target: {
      issue17: `${opts.agents} agents upgrade a ${opts.fileMiB} MiB package through ${x.nGateways} gateways in a staged rollout; heartbeats not delayed by downloads`,
      completed,
    },
  };
}

function save(result) {
  return writeResult(`${BENCH}-${opts.agents}`, result, { title: `Package rollout, ${opts.agents.toLocaleString('en-US')} agents`, script: 'package-rollout.bench.js', body: markdown(result) });
}

function markdown(r) {
  const hbq = r.heartbeats.quiet;
  const hbr = r.heartbeats.rollout;
  const rows = r.batches.map((b) => `| ${b.index + 1} | ${b.agents} | ${b.state.replace('ROLLOUT_BATCH_STATE_', '')} | ${b.startToFinishS ?? '–'} | ${b.progress?.applied ?? 0} | ${(b.progress?.failed ?? 0) + (b.progress?.timedOut ?? 0)} |`);
  return `
${r.finished ? '' : '**Unfinished** (a checkpoint while it ran, or how far it got).\n'}
${r.parameters.agents} simulated agents (swarm, ${r.parameters.swarmWorkers} worker processes) upgrade \`otelcol\` 1.0.0 → 2.0.0, a ${r.parameters.packageFileMiB} MiB file uploaded to this server,
in a staged package rollout of ${r.parameters.batches} batches (${r.parameters.soakSeconds} s soak, gates on, automatic rollback) through ${r.parameters.gateways} gateways that stream
the file from PostgreSQL. Every agent really downloads it over HTTP, checks its SHA-256 and reports DOWNLOADING / INSTALLED; per gateway at most
${r.parameters.perGatewayDownloadLimits.concurrent} downloads at once sharing ${r.parameters.perGatewayDownloadLimits.bytesPerSecond}; agents refused busy wait out the Retry-After.

Shared machine: ${r.parameters.sharedMachine}; load average at start ${r.parameters.loadAverageAtStart.join(' / ')}, at the end ${r.parameters.loadAverageAtEnd.join(' / ')}; CPU of processes not the benchmark's during the rollout: ${r.resources.otherProcessesCpuPercent} % of one core.

| | |
|---|---|
| rollout | ${r.rollout.finalState}${r.rollout.stateReason ? ` (${r.rollout.stateReason})` : ''}, ${r.rollout.elapsedS} s, ${r.rollout.agentsInstalledNewVersion} of ${r.parameters.agents} agents installed 2.0.0, ${r.rollout.installFailed} install failed |
| served | ${r.served.GiB} GiB, mean ${r.served.meanMiBPerS} MiB/s, peak ${r.served.peakMiBPerS5s} MiB/s (5 s), per gateway ${r.served.perGatewayMiB.join(' / ')} MiB; ${r.served.downloadsCompleted} downloads completed, ${r.served.refusedBusy} refused busy (503) |
| gateways (both) | CPU ${r.gateways.cpuPercent} % of one core over the rollout, RSS ${r.gateways.rssMiB} MiB (peak ${r.gateways.peakRssMiB} MiB) |
| heartbeat round trips | before the rollout p50 ${hbq.p50Ms} / p99 ${hbq.p99Ms} / max ${hbq.maxMs} ms (${hbq.heartbeats}); during it p50 ${hbr.p50Ms} / p99 ${hbr.p99Ms} / max ${hbr.maxMs} ms (${hbr.heartbeats}, ${hbr.missed} unanswered within 10 s) |
| API (GET rollout, 1/s) | p50 ${r.apiLatency.p50Ms} / p99 ${r.apiLatency.p99Ms} / max ${r.apiLatency.maxMs} ms, ${r.apiLatency.failed} failed of ${r.apiLatency.probes} |
| CPU % of one core (rollout window) | ${Object.entries(r.resources.cpuPercent).map(([k, v]) => `${k} ${v}`).join(', ')}; machine ${r.resources.machineBusyPercent} |

| batch | agents | state | start → finish s | installed | failed / timed out |
|---|---|---|---|---|---|
${rows.join('\n')}
`;
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
