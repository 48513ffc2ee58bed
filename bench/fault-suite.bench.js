// The fault suite (issue 21 item 4), on demand, never in CI: `npm run test:faults`
// (1,000 agents, short faults) or this script with its options.
//
// Its own Kafka, Redis and PostgreSQL (bench/lib/fault-infra.js, ports 28300..28304),
// two gateways behind a TCP balancer, one status-ingest, two config-services (one
// drives the rollouts), and A simulated WebSocket agents that each report a
// numbered status every statusEveryS and count what the gateway acknowledged.
// Each case runs on a fresh staged rollout: once its second batch started, the
// fault is done and undone (bench/lib/fault-cases.js); then the checks
// (bench/lib/fault-checks.js): every agent connected, every agent APPLIED on the
// new hash, the rollout COMPLETED with the baseline's batches, every agent moved
// once, no acknowledged status lost; and the time to recover.
//
//   node -r ./dist/out-tsc/register-aliases.js bench/fault-suite.bench.js [--agents=10000] [--cases=all|a,b] [--out=name]
//
// Writes bench/results/fault-suite-<agents>-<date>.{json,md} (or --out).
const path = require('path');
const { fork } = require('child_process');
const { parseArgs } = require('./lib/args');
const { faultInfra } = require('./lib/fault-infra');
const { CASES } = require('./lib/fault-cases');
const checks = require('./lib/fault-checks');

const opts = parseArgs(
  {
    agents: 10_000,
    cases: 'all',
    out: '',
    stopS: 30,
    freezeS: 60,
    batches: 4,
    soakS: 30,
    heartbeatS: 30,
    statusEveryS: 30,
    ramp: 500,
    basePort: 28310,
    infraBasePort: 28300,
    recoverTimeoutS: 300,
    rolloutTimeoutS: 900,
    /** all, or some checks (comma list): tampered with on the first case after the baseline, so they must fail. */
    sabotage: '',
    keepInfra: false,
    skipBuild: false,
    seed: 21,
  },
  'fault suite: a staged rollout per case to A agents while a part of the system is killed, stopped or frozen',
);
const BENCH = 'fault-suite';
const A = opts.agents;
const caseNames = opts.cases === 'all' ? Object.keys(CASES) : ['baseline', ...opts.cases.split(',').filter((c) => c && c !== 'baseline')];
for (const c of caseNames) if (!CASES[c]) throw new Error(`unknown case ${c} (${Object.keys(CASES).join(', ')})`);
const CHECKS = ['connected', 'in-sync', 'rollout-finished', 'moved-once', 'status-kept'];
const sabotaging = opts.sabotage === 'all' ? CHECKS : opts.sabotage ? opts.sabotage.split(',') : [];
for (const c of sabotaging) if (!CHECKS.includes(c)) throw new Error(`--sabotage: all or some of ${CHECKS.join(', ')}`);

// The suite's own instances: stack.js reads the addresses at require time.
const infra = faultInfra({ basePort: opts.infraBasePort });
Object.assign(process.env, infra.env);
const S = require('./lib/stack');
const { countAppliedInSync } = require('./lib/swarm-stack');
const { writeResult } = require('./lib/machine');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`${new Date().toISOString().slice(11, 19)} ${msg}`);
const TERMINAL = ['ROLLOUT_STATE_COMPLETED', 'ROLLOUT_STATE_ABORTED', 'ROLLOUT_STATE_ROLLED_BACK', 'ROLLOUT_STATE_PAUSED'];

const { collectorYaml } = require('./lib/collector-config');

const yaml = (version) => collectorYaml('fault suite', version);

/** The run's processes by role, how each is started again, and what exited on its own. */
function processTable(ident) {
  const apiPort = (i) => opts.basePort + 70 + 2 * i;
  const roles = new Map();
  const unexpected = [];
  const onUnexpectedExit = (role) => (msg) => {
    unexpected.push({ at: new Date().toISOString(), role, message: msg.split('\n')[0] });
    log(`UNEXPECTED: ${msg.split('\n')[0]}; starting it again`);
    // As a supervisor would: the suite records it and starts the process again.
    starters[role]().catch((err) => log(`restart of ${role} failed: ${err.message}`));
  };
  const gatewayStarter = (i) => async () => {
    const port = opts.basePort + 2 * i;
    const child = S.startApp(BENCH, `gateway-${i}`, 'gateway', S.gatewayEnv(ident, i, port, port + 1), { onUnexpectedExit: onUnexpectedExit(`gateway-${i}`) });
    Object.assign(child, { port, adminPort: port + 1 });
    roles.set(`gateway-${i}`, child);
    await S.waitUntil(`gateway-${i}`, S.httpOk(`http://127.0.0.1:${port + 1}/readyz`), 60_000);
    return child;
  };
  const configStarter = (i) => async () => {
    const child = await S.startConfig(BENCH, ident, {
      apiPort: apiPort(i),
      grpcPort: apiPort(i) + 1,
      label: `config-${i}`,
      configEnv: { OPAMP_CONFIG_ROLLOUT_DRIVER_ID: `config-${i}`, OPAMP_CONFIG_CLIENT_ID: `bench-config-${ident.id}-${i}` },
      onUnexpectedExit: onUnexpectedExit(`config-${i}`),
    });
    roles.set(`config-${i}`, child);
    return child;
  };
  const starters = {
    'status-ingest': async () => {
      const child = await S.startIngest(BENCH, ident, { onUnexpectedExit: onUnexpectedExit('status-ingest') });
      roles.set('status-ingest', child);
      return child;
    },
    'config-0': configStarter(0),
    'config-1': configStarter(1),
    'gateway-0': gatewayStarter(0),
    'gateway-1': gatewayStarter(1),
  };
  return { roles, starters, unexpected, apiPorts: [apiPort(0), apiPort(1)] };
}

/** REST client over both config-services: the next one when a call cannot reach the first. */
function failoverApi(ports, token) {
  const clients = ports.map((p) => S.api(`http://127.0.0.1:${p}/api/v1`, token));
  let first = 0;
  const call = async (...args) => {
    let last;
    for (let k = 0; k < clients.length; k++) {
      const i = (first + k) % clients.length;
      try {
        const out = await clients[i].call(...args);
        first = i;
        return out;
      } catch (err) {
        last = err;
        if (!/fetch failed|ECONNREFUSED|HTTP 5\d\d/.test(String(err.message) + String(err.cause ?? ''))) throw err;
      }
    }
    throw last;
  };
  const listAll = async (p, key) => {
    const out = [];
    let token = '';
    do {
      const sep = p.includes('?') ? '&' : '?';
      const page = await call('GET', `${p}${sep}pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
      out.push(...(page[key] ?? []));
      token = page.nextPageToken ?? '';
    } while (token);
    return out;
  };
  return { call, listAll, countAgents: async (q = '') => (await listAll(`/agents${q ? `?${q.replace(/^&/, '')}` : ''}`, 'agents')).length };
}

/** Keeps calling `probe` until it gives a truthy value; API errors while a part is down count as "not yet". */
async function until(what, probe, timeoutMs, everyMs = 1_000) {
  const t0 = Date.now();
  let lastErr;
  for (;;) {
    try {
      const v = await probe();
      if (v) return { value: v, ms: Date.now() - t0 };
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() - t0 > timeoutMs) return { value: null, ms: Date.now() - t0, error: `${what}: not within ${timeoutMs} ms${lastErr ? ` (last error: ${lastErr.message.slice(0, 200)})` : ''}` };
    await sleep(everyMs);
  }
}

/** The status counter (`StatusOK #n`) the API shows for each of `uids` (GetAgent, a few at a time). */
async function apiCounters(api, uids, into = new Map()) {
  let next = 0;
  const one = async () => {
    while (next < uids.length) {
      const uid = uids[next++];
      const a = await api.call('GET', `/agents/${uid}`);
      const m = /#(\d+)$/.exec(a.componentHealth?.status ?? '');
      into.set(uid, m ? Number(m[1]) : 0);
    }
  };
  await Promise.all(Array.from({ length: 16 }, one));
  return into;
}

/** Tampers with one observation so that its check must fail (--sabotage): shows the check can fail. */
function sabotage(name, obs) {
  if (name === 'connected') obs.connected.apiConnected -= 1;
  if (name === 'in-sync') obs.inSync.apiAgents[0] = { ...obs.inSync.apiAgents[0], remoteConfigHash: 'sabotaged' };
  if (name === 'rollout-finished') obs.rollout.rollout = { ...obs.rollout.rollout, batches: obs.rollout.rollout.batches.map((b, i) => (i === 0 ? { ...b, state: 'ROLLOUT_BATCH_STATE_FAILED' } : b)) };
  if (name === 'moved-once') obs.members.members = [...obs.members.members, { ...obs.members.members[0], batchIndex: 1 }];
  if (name === 'status-kept') {
    const uid = obs.status.counters.uids[0];
    obs.status.apiCounters.set(uid, obs.status.counters.acked[0] - 1);
  }
}

async function main() {
  log(`fault suite: ${A} agents, cases ${caseNames.join(', ')}; own infra on ${opts.infraBasePort}..${opts.infraBasePort + 4}`);
  await infra.up();
  S.onCleanup(() => (opts.keepInfra ? undefined : infra.down()));
  if (!opts.skipBuild) S.build(['gateway', 'status-ingest', 'config-service', 'swarm']);
  const { runSwarm, formatProgress } = require('@opamp/swarm');

  const ident = S.runIdentity(BENCH);
  await S.freshDatabase(ident.dbName);
  await S.groupAtEnd(ident.ingestGroup);
  const procs = processTable(ident);
  await procs.starters['status-ingest']();
  await procs.starters['config-0']();
  await procs.starters['config-1']();
  await procs.starters['gateway-0']();
  await procs.starters['gateway-1']();
  const api = failoverApi(procs.apiPorts, ident.adminToken);

  // Agents reach the gateways through TCP balancers (at most ~9,000 connections each), as behind a load balancer.
  const nLb = Math.ceil(A / 8_000);
  const gwBackends = [0, 1].map((i) => ({ host: '127.0.0.1', port: procs.roles.get(`gateway-${i}`).port }));
  const lbPorts = [];
  for (let i = 0; i < nLb; i++) {
    const port = opts.basePort + 20 + i;
    const lb = fork(path.join(__dirname, 'lib', 'tcp-balancer.js'), [JSON.stringify({ port, index: i, backends: gwBackends, probeMs: 500 })], { cwd: S.repo });
    S.children.add(lb);
    lb.expectExit = true;
    await new Promise((resolve) => lb.once('message', resolve));
    lbPorts.push(port);
  }

  const swarm = await runSwarm({
    agents: A,
    endpoints: lbPorts.map((p) => `ws://127.0.0.1:${p}/v1/opamp`),
    wsFraction: 1,
    workers: Math.max(1, Math.ceil(A / 10_000)),
    rampPerSecond: opts.ramp,
    durationMs: 6 * 3_600_000,
    seed: opts.seed,
    description: { extraLabels: { 'bench.run': ident.id } },
    agent: {
      headers: { Authorization: `Bearer ${ident.agentToken}` },
      heartbeatIntervalMs: opts.heartbeatS * 1000,
      statusCounterIntervalMs: opts.statusEveryS * 1000,
      reconnect: { initialMs: 1_000, maxMs: 30_000 },
    },
  });
  S.onCleanup(() => swarm.stop());
  let lastLine = 0;
  swarm.on('progress', (p) => {
    if (Date.now() - lastLine >= 15_000) {
      lastLine = Date.now();
      log(formatProgress(p));
    }
  });
  await swarm.waitConnected(Math.max(120_000, (A / opts.ramp) * 3_000));
  const fleet = await until('API lists every agent connected', async () => (await api.countAgents('connected=true')) >= A, 300_000, 2_000);
  if (!fleet.value) throw new Error(fleet.error);
  log(`${A} agents connected; API lists them`);

  // Version 1 everywhere through an assignment pinned to it; each case rolls out the next version.
  const selector = `bench.run=${ident.id}`;
  const v1 = await api.call('POST', '/configurations', { name: 'faults', files: { 'collector.yaml': { body: yaml(1), contentType: 'text/yaml' } } });
  await api.call('POST', '/assignments', { name: 'faults-all', configurationName: 'faults', selector, priority: 10, pinnedVersion: 1 });
  swarm.markConvergenceStart(v1.contentHash);
  const c1 = await swarm.waitConverged(300_000);
  log(`version 1 applied by ${c1.applied}/${c1.targeted}`);

  const ctx = {
    opts,
    infra,
    app: (role) => procs.roles.get(role),
    async kill(role) {
      const child = procs.roles.get(role);
      await S.stopApp(child, 'SIGKILL');
    },
    restart: (role) => procs.starters[role](),
    driverRole: () => ctx.driver || 'config-0',
  };

  const results = [];
  /** Writes the results so far (after every case: an interrupted run keeps what it measured). */
  const writeAll = (done) => {
    const date = new Date().toISOString().slice(0, 10);
    const outName = opts.out || `${BENCH}-${A}-${date}`;
    const pass = results.every((r) => r.passed);
    const s = (ms) => (ms / 1000).toFixed(1);
    const rows = results.map((r) => {
      const cell = (id) => (r.checks.find((v) => v.check === id).ok ? 'ok' : '**FAIL**');
      return `| ${r.case} | ${s(r.faultMs)} | ${r.rolloutState.replace('ROLLOUT_STATE_', '')} ${s(r.rolloutMs)} | ${r.recovered ? s(r.recoverMsAfterUndone) : '**not**'} | ${CHECKS.map(cell).join(' | ')} | ${r.unexpectedExits.length} |`;
    });
    const failures = results.flatMap((r) => r.checks.filter((v) => !v.ok).map((v) => `- ${r.case} / ${v.check}${r.sabotaged?.includes(v.check) ? ' (sabotaged on purpose)' : ''}: ${v.detail}`));
    const body = [
      `${A} agents over WebSocket through ${nLb} TCP balancer(s) to 2 gateways; 1 status-ingest; 2 config-services; the suite's own Kafka, Redis, PostgreSQL.`,
      `Each case: a rollout of the next version in ${opts.batches} batches with ${opts.soakS} s soak; the fault once batch 2 started. Stops ${opts.stopS} s, freeze ${opts.freezeS} s; heartbeat ${opts.heartbeatS} s, a numbered status every ${opts.statusEveryS} s per agent.`,
      '',
      `Result: ${pass ? 'every case passed every check' : 'NOT every check passed'}${opts.sabotage ? ` (--sabotage=${opts.sabotage}: checks made to fail on purpose)` : ''}.`,
      '',
      `| case | fault s | rollout (s) | recovered s after undone | ${CHECKS.join(' | ')} | unexpected exits |`,
      `|---|---|---|---|${CHECKS.map(() => '---').join('|')}|---|`,
      ...rows,
      '',
      failures.length ? '## Failed checks\n' : '',
      ...failures,
    ].join('\n');
    const result = {
      complete: done,
      parameters: { ...opts, cases: caseNames, gateways: 2, configServices: 2, statusIngests: 1, balancers: nLb },
      passed: pass,
      cases: results,
      swarm: { errors: swarm.progress().errors },
    };
    const file = writeResult(outName, result, { title: `Fault suite, ${A} agents`, script: 'fault-suite.bench.js', body });
    return { file, pass };
  };
  let baseline;
  let version = 1;
  for (const name of caseNames) {
    version++;
    const c = CASES[name];
    log(`--- case ${name}: ${c.what}`);
    const exitsBefore = procs.unexpected.length;
    const errorsBefore = { ...swarm.progress().errors };
    const cfg = await api.call('PUT', '/configurations/faults', { name: 'faults', files: { 'collector.yaml': { body: yaml(version), contentType: 'text/yaml' } } });
    const hash = cfg.contentHash;
    swarm.markConvergenceStart(hash);
    const rolloutName = `faults-v${version}-${name}`;
    const t0 = Date.now();
    await api.call('POST', '/rollouts', {
      name: rolloutName,
      assignmentName: 'faults-all',
      strategy: { batchPercent: 100 / opts.batches },
      gates: { maxFailedPercent: 1 },
      soakTimeMs: opts.soakS * 1000,
      autoRollback: true,
      start: true,
    });
    // The fault comes once the second batch has started: some agents moved, some not yet.
    const midway = await until('second batch started', async () => {
      const r = await api.call('GET', `/rollouts/${rolloutName}`);
      return r.currentBatch >= Math.min(1, opts.batches - 1) || TERMINAL.includes(r.state) ? r : null;
    }, opts.rolloutTimeoutS * 1000, 250);
    ctx.driver = midway.value?.driverId || 'config-0';
    const fault = await c.inject(ctx);
    log(`fault done ${((fault.restoredAt - fault.began) / 1000).toFixed(1)} s, undone; ${ctx.driver} was driving`);

    // Recovered: every agent connected (swarm and API) and none out of sync with what it should have now.
    const recovered = await until('recovered', async () => {
      if (swarm.progress().connected < A) return null;
      if ((await api.countAgents('connected=true')) < A) return null;
      return !(await api.call('GET', '/agents?pageSize=1&inSync=false')).agents?.length;
    }, opts.recoverTimeoutS * 1000, 1_000);
    const recoveredAt = Date.now();
    const finished = await until('rollout finished', async () => {
      const r = await api.call('GET', `/rollouts/${rolloutName}`);
      return TERMINAL.includes(r.state) ? r : null;
    }, opts.rolloutTimeoutS * 1000, 500);
    const rolloutMs = Date.now() - t0;
    // Every agent on the new version, in the API's view.
    const completed = finished.value?.state === 'ROLLOUT_STATE_COMPLETED';
    const onNew = await until('every agent APPLIED on the new version', async () => (await countAppliedInSync(api, hash)) >= A, completed ? opts.recoverTimeoutS * 1000 : 5_000, 2_000);
    log(`${recovered.value ? 'recovered' : 'NOT recovered'} ${((recoveredAt - fault.restoredAt) / 1000).toFixed(1)} s after the fault was undone; rollout ${finished.value?.state ?? 'not finished'} after ${(rolloutMs / 1000).toFixed(1)} s${onNew.value ? '' : '; NOT every agent on the new version'}`);

    // Numbered statuses pause; once the last ones had time to be answered, the API must show at least each acknowledged one.
    swarm.setStatusCounting(false);
    const answered = await until('last statuses answered', async () => {
      const k = await swarm.statusCounters();
      return k.current.every((v, i) => k.acked[i] === v);
    }, 15_000, 1_000);
    const counters = await swarm.statusCounters();
    const shown = new Map();
    const statusWait = await until('API shows every acknowledged status', async () => {
      const behind = counters.uids.filter((u, i) => !(shown.get(u) >= counters.acked[i]));
      await apiCounters(api, behind, shown);
      return counters.uids.every((u, i) => shown.get(u) >= counters.acked[i]);
    }, 60_000, 2_000);

    const rollout = finished.value ?? (await api.call('GET', `/rollouts/${rolloutName}`).catch(() => ({ state: 'UNKNOWN', batches: [] })));
    const obs = {
      connected: { agents: A, swarmConnected: swarm.progress().connected, apiConnected: await api.countAgents('connected=true').catch(() => -1) },
      inSync: { agents: A, hash, apiAgents: await api.listAll('/agents', 'agents'), swarmApplied: swarm.convergence()?.applied ?? 0 },
      rollout: { rollout, events: await api.listAll(`/rollouts/${rolloutName}/events`, 'events').catch(() => []), baseline },
      members: { agents: A, rollout, members: await api.listAll(`/rollouts/${rolloutName}/agents`, 'agents').catch(() => []) },
      status: { counters, apiCounters: shown },
    };
    const sabotaged = name !== 'baseline' && !results.some((r) => r.sabotaged) && sabotaging.length ? sabotaging : null;
    for (const check of sabotaged ?? []) sabotage(check, obs);
    const verdicts = [
      checks.checkConnected(obs.connected),
      checks.checkInSync(obs.inSync),
      checks.checkRolloutFinished(obs.rollout),
      checks.checkMovedOnce(obs.members),
      checks.checkStatusKept(obs.status),
    ];
    swarm.setStatusCounting(true);
    for (const v of verdicts) log(`  ${v.ok ? 'ok  ' : 'FAIL'} ${v.check}: ${v.detail}`);
    const errorsAfter = swarm.progress().errors;
    const swarmErrors = {};
    for (const [k, n] of Object.entries(errorsAfter)) if (n - (errorsBefore[k] ?? 0) > 0) swarmErrors[k] = n - (errorsBefore[k] ?? 0);
    const r = {
      case: name,
      what: c.what,
      faultMs: fault.restoredAt - fault.began,
      restartReadyMs: fault.readyAt - fault.restoredAt,
      rolloutState: rollout.state,
      rolloutMs,
      recovered: !!recovered.value,
      recoverMsAfterUndone: recoveredAt - fault.restoredAt,
      recoverMsAfterFault: recoveredAt - fault.began,
      statusAnsweredAfterMs: answered.ms,
      statusVisibleAfterMs: statusWait.ms,
      waitErrors: [midway, recovered, finished, onNew, answered, statusWait].map((w) => w.error).filter(Boolean),
      driver: ctx.driver,
      checks: verdicts,
      passed: verdicts.every((v) => v.ok),
      unexpectedExits: procs.unexpected.slice(exitsBefore),
      swarmErrors,
      batches: rollout.batches.map((b) => ({ index: b.index, agents: b.agents, state: b.state, startTime: b.startTime, finishTime: b.finishTime })),
      ...(sabotaged ? { sabotaged } : {}),
    };
    results.push(r);
    if (name === 'baseline') baseline = { rolloutMs, batchSizes: rollout.batches.map((b) => b.agents) };
    writeAll(false);
  }

  const { file, pass } = writeAll(true);
  log(`written to ${path.relative(S.repo, file)}; ${pass ? 'PASSED' : 'FAILED'}`);
  await swarm.stop();
  await S.stopChildren();
  if (!opts.keepInfra) await infra.down();
  // Sabotaged: passing means exactly the sabotaged checks failed.
  const expected = sabotaging.length ? results.every((r) => r.checks.every((v) => v.ok !== !!r.sabotaged?.includes(v.check))) : pass;
  process.exit(expected ? 0 : 1);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
