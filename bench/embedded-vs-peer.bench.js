// Embedded server vs an in-memory peer (issue 15 item 4), on demand, never in
// CI. In one run on one machine, for each fleet size: the same Go swarm
// (bench/go-peer peer-swarm: opamp-go WebSocket clients, heartbeats every 5 s,
// AcceptsRemoteConfig + ReportsRemoteConfig + ReportsEffectiveConfig) first
// against the naive in-memory OpAMP server on opamp-go's server package
// (bench/go-peer peer-server: no durability at all), then against the built
// embedded server (apps/fleet-server with its own PostgreSQL, a data
// directory in a temp folder, heartbeat interval 5 s, otherwise its defaults).
// Per target:
//   connect   swarm start -> every agent listed connected by the server's API
//   idle      a window of `idleS` with the fleet connected and no API load: server
//             CPU per 1,000 heartbeats/s (heartbeats counted by the server), RSS per agent
//   assign    the first configuration (peer: POST /config; embedded: a
//             configuration and an assignment on the run's label), not compared
//   change    a new version of it: until every agent reported APPLIED (the
//             swarm's count) and the API shows all in sync; server CPU-seconds
//   REST p99  a list read (a page of 100 agents) every 100 ms, but in the idle window
//   loop      the embedded server's event-loop delay (nodejs_eventloop_lag_*,
//             prom-client's perf_hooks.monitorEventLoopDelay, read every second)
// and, with --cpuProfile (default on, 10 ms sampling), the embedded server's
// top functions during the connect, the idle window and the change.
//
//   npm run bench:peer -- [--agents=4000,15000] [--idleS=30] [--help]
//
// Writes bench/results/embedded-vs-peer-<date>-<agents>.json and the section
// of that size in bench/results/embedded-vs-peer-<date>.md.
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const S = require('./lib/stack');
const { parseArgs } = require('./lib/args');
const { machine, procStats } = require('./lib/machine');
const { Sampler, topOthers, postgresPids, pssBytes } = require('./lib/procs');
const { buildGoPeer, startPeer, startSwarm, goVersion } = require('./lib/go-peer');
const { startRestProbe } = require('./lib/rest-probe');
const { summarizeCpuProfile, longTasks, monoToWallOffsetMs } = require('./lib/cpu-profile');
const { renderMarkdown, writeMarkdownSection } = require('./lib/peer-report');

const opts = parseArgs(
  {
    agents: '4000',
    heartbeatS: 5,
    ramp: 1000, // agents started a second, the same for both (the embedded edge admits 1,000 upgrades/s by default)
    perProcess: 8000, // agents per swarm process (20,000 open files a process)
    idleS: 30,
    settleS: 10,
    timeoutS: 300,
    basePort: 14700,
    cpuProfile: true,
    keepProfile: '', // a directory to copy the embedded server's .cpuprofile into (open it in Chrome DevTools)
    connectOnly: false,
    label: '', // a name for the result file of a --connectOnly or embedded-only run (before / after)
    targets: 'peer,embedded', // `embedded` alone to profile or compare the embedded server without the peer
    skipBuild: false,
  },
  'embedded server vs the in-memory opamp-go peer: the same Go swarm against both, one after the other',
);
const BENCH = 'embedded-vs-peer';
const sleep = S.sleep;

/** The embedded PostgreSQL server of a data directory: its postmaster and that one's children. */
function collectorYaml(version) {
  return `# bench configuration v${version}\nreceivers:\n  otlp:\n    protocols:\n      grpc: {}\nprocessors:\n  batch:\n    timeout: ${version}s\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}\n`;
}

async function pollUntil(what, probe, timeoutMs, everyMs = 100) {
  const t0 = Date.now();
  for (;;) {
    let v;
    try {
      v = await probe();
    } catch {
      v = undefined;
    }
    if (v) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** One target's API as the bench uses it: counts, the heartbeat counter, and the two configuration changes. */
async function peerTarget(bins) {
  const peer = await startPeer(BENCH, bins);
  const summary = async () => (await fetch(`${peer.api}/summary`)).json();
  return {
    name: 'peer',
    endpoint: peer.opamp,
    token: '',
    listUrl: `${peer.api}/agents?pageSize=100`,
    listHeaders: {},
    serverKinds: { server: () => [peer.pid] },
    memory: () => procStats(peer.pid).rssBytes,
    counts: async () => {
      const s = await summary();
      return { known: s.agents, connected: s.connected, inSync: s.inSync };
    },
    idleRead: async () => ({ messages: (await summary()).messages, loop: null }),
    change: async (version) => {
      const res = await fetch(`${peer.api}/config`, { method: 'POST', body: collectorYaml(version) });
      if (!res.ok) throw new Error(`POST /config: HTTP ${res.status}`);
      return (await res.json()).hash;
    },
    loopDelay: null,
    stop: () => S.stopApp(peer.child),
  };
}

async function embeddedTarget(run, dataDir, profileDir) {
  const adminToken = `opamp_admin_${crypto.randomBytes(18).toString('base64url')}`;
  const agentToken = `opamp_agent_${crypto.randomBytes(18).toString('base64url')}`;
  const p = opts.basePort;
  const env = S.embeddedServerEnv({ dataDir, basePort: p, adminToken, agentToken }, { OPAMP_HEARTBEAT_INTERVAL_S: String(opts.heartbeatS), OPAMP_DRAIN_WINDOW_MS: '0' });
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=10000'] : [];
  const server = S.startApp(BENCH, 'fleet-server', 'fleet-server', env, { nodeArgs });
  await S.waitUntil('fleet-server', S.httpOk(`http://127.0.0.1:${p + 1}/readyz`), 120_000);
  await S.waitUntil('fleet-server API', S.httpOk(`http://127.0.0.1:${p + 2}/api/v1/openapi.json`), 60_000);
  const api = S.api(`http://127.0.0.1:${p + 2}/api/v1`, adminToken);
  const metricsText = async () => (await fetch(`http://127.0.0.1:${p + 1}/metrics`)).text();
  /** The first sample of a metric (the server's registries each carry Node's default metrics: one is enough). */
  const firstSample = (text, name) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? null : Number(line.split(' ').pop());
  };
  const configName = 'bench-peer-collector';
  return {
    name: 'embedded',
    endpoint: `ws://127.0.0.1:${p}/v1/opamp`,
    token: agentToken,
    listUrl: `http://127.0.0.1:${p + 2}/api/v1/agents?pageSize=100`,
    listHeaders: { authorization: `Bearer ${adminToken}` },
    serverKinds: { server: () => [server.pid], 'server-postgres': () => postgresPids(dataDir) },
    memory: () => procStats(server.pid).rssBytes + postgresPids(dataDir).reduce((sum, pid) => sum + pssBytes(pid), 0),
    counts: async () => {
      const t = (await api.call('GET', '/fleet-summary')).totals ?? {};
      return { known: t.agents ?? 0, connected: t.connected ?? 0, inSync: t.inSync ?? 0 };
    },
    // One scrape: the messages received and the event-loop delay since the scrape before.
    idleRead: async () => {
      const text = await metricsText();
      let messages = 0;
      for (const l of text.split('\n')) if (l.startsWith('opamp_gateway_messages_in_total')) messages += Number(l.split(' ').pop());
      return { messages, loop: { p99Ms: firstSample(text, 'nodejs_eventloop_lag_p99_seconds') * 1000, maxMs: firstSample(text, 'nodejs_eventloop_lag_max_seconds') * 1000 } };
    },
    change: async (version) => {
      const files = { 'collector.yaml': { body: collectorYaml(version), contentType: 'text/yaml' } };
      if (version === 1) {
        const cfg = await api.call('POST', '/configurations', { name: configName, files });
        await api.call('POST', '/assignments', { name: 'bench-peer-all', configurationName: configName, selector: `bench.run=${run}`, priority: 10 });
        return cfg.contentHash;
      }
      return (await api.call('PUT', `/configurations/${configName}`, { name: configName, files })).contentHash;
    },
    loopDelay: async () => {
      const text = await metricsText();
      // With the pool's queue: a REST read waits there, not on the loop, when every connection is taken.
      return { p99Ms: firstSample(text, 'nodejs_eventloop_lag_p99_seconds') * 1000, maxMs: firstSample(text, 'nodejs_eventloop_lag_max_seconds') * 1000, poolWaiting: firstSample(text, 'opamp_config_db_pool_waiting_requests') };
    },
    stop: () => S.stopApp(server, 'SIGTERM', 30_000),
    pid: server.pid,
  };
}

/** Every second: the event-loop delay since the last read (prom-client resets its histogram on each scrape). */
function watchLoopDelay(read) {
  const rows = [];
  const marks = new Map();
  let stopped = false;
  let paused = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now();
      try {
        if (!paused) rows.push({ t, ...(await read()) });
      } catch {
        /* a scrape that did not answer shows as the gap it leaves */
      }
      await sleep(Math.max(0, 1000 - (Date.now() - t)));
    }
  })();
  return {
    mark: (name) => marks.set(name, Date.now()),
    pause: () => (paused = true),
    resume: () => (paused = false),
    async stop() {
      stopped = true;
      await loop;
    },
    window(from, to) {
      const a = marks.get(from);
      const b = marks.get(to);
      const w = rows.filter((r) => r.t >= a && r.t <= b);
      if (!w.length) return null;
      const p99s = w.map((r) => r.p99Ms).sort((x, y) => x - y);
      const waiting = w.map((r) => r.poolWaiting).filter((x) => typeof x === 'number');
      return {
        reads: w.length,
        maxMs: +Math.max(...w.map((r) => r.maxMs)).toFixed(1),
        p99MedianMs: +p99s[Math.floor(p99s.length / 2)].toFixed(1),
        p99MaxMs: +p99s[p99s.length - 1].toFixed(1),
        ...(waiting.length ? { poolWaitingMax: Math.max(...waiting), poolWaitingReadsAboveZero: waiting.filter((x) => x > 0).length } : {}),
      };
    },
  };
}

async function measure(target, bins, N, run, firstHost) {
  const label = `${target.name}-${N}`;
  console.log(`\n[${label}] ${target.name} ready; settling ${opts.settleS} s`);
  await sleep(opts.settleS * 1000);
  const baselineRss = target.memory();
  const swarmPids = [];
  const sampler = new Sampler({ ...target.serverKinds, swarm: () => swarmPids }, 250);
  const serverCpu = (from, to) => {
    const a = sampler.marks.get(from);
    const b = sampler.marks.get(to);
    return +Object.keys(target.serverKinds).reduce((s, k) => s + (b.kinds[k].cpu - a.kinds[k].cpu), 0).toFixed(2);
  };
  const probe = startRestProbe(target.listUrl, target.listHeaders);
  const loop = target.loopDelay ? watchLoopDelay(target.loopDelay) : null;
  // REST windows are read once every probe answered (a probe still in flight has no latency yet).
  const restWindows = [];
  const restWindow = (into, from, to) => restWindows.push({ into, from, to });
  const mark = (name) => {
    sampler.mark(name);
    probe.mark(name);
    loop?.mark(name);
    return Date.now();
  };
  const out = { baselineRssMiB: +(baselineRss / 2 ** 20).toFixed(1) };

  // connect
  const t0 = mark('connect:t0');
  const swarm = startSwarm(BENCH, bins, {
    label,
    endpoint: target.endpoint,
    token: target.token,
    agents: N,
    perProcess: opts.perProcess,
    heartbeatS: opts.heartbeatS,
    ramp: opts.ramp,
    run,
    firstHost,
  });
  swarmPids.push(...swarm.pids());
  let swarmConnectedMs = null;
  await pollUntil(
    `${label}: all ${N} listed connected`,
    async () => {
      if (swarmConnectedMs === null && swarm.progress().connected >= N) swarmConnectedMs = Date.now() - t0;
      const c = await target.counts();
      return c.known >= N && c.connected >= N;
    },
    opts.timeoutS * 1000,
    250,
  );
  const listedMs = mark('connect:listed') - t0;
  if (swarmConnectedMs === null) await pollUntil(`${label}: swarm connected`, () => swarm.progress().connected >= N, 60_000).then(() => (swarmConnectedMs = Date.now() - t0));
  out.connect = {
    allListedMs: listedMs,
    swarmAllConnectedMs: swarmConnectedMs,
    cpuSeconds: serverCpu('connect:t0', 'connect:listed'),
    rest: null,
    loop: loop?.window('connect:t0', 'connect:listed') ?? null,
    wall: { from: t0, to: t0 + listedMs },
    connectFailed: swarm.progress().connectFailed,
  };
  restWindow(out.connect, 'connect:t0', 'connect:listed');
  console.log(`[${label}] all ${N} listed after ${listedMs} ms (swarm connected ${swarmConnectedMs} ms)`);

  // --connectOnly: the connect phase alone (a loaded machine, or profiling the connect)
  if (!opts.connectOnly) {
    // idle: two heartbeat intervals to settle, then the window, without REST probes or
    // per-second scrapes: heartbeats alone (one scrape at each end; the one at the end gives
    // the event-loop delay over the whole window).
    await sleep(opts.heartbeatS * 2000);
    probe.pause();
    loop?.pause();
    await sleep(1_000);
    const m0 = (await target.idleRead()).messages;
    mark('idle:t0');
    await sleep(opts.idleS * 1000);
    mark('idle:t1');
    const end = await target.idleRead();
    const m1 = end.messages;
    probe.resume();
    loop?.resume();
    const idleSecs = (sampler.marks.get('idle:t1').t - sampler.marks.get('idle:t0').t) / 1000;
    const idleCpuPercent = (serverCpu('idle:t0', 'idle:t1') / idleSecs) * 100;
    const hbPerS = (m1 - m0) / idleSecs;
    const rss = target.memory();
    out.idle = {
      seconds: +idleSecs.toFixed(1),
      heartbeatsPerS: +hbPerS.toFixed(0),
      serverCpuPercent: +idleCpuPercent.toFixed(1),
      cpuPercentPer1000HeartbeatsPerS: +((idleCpuPercent / hbPerS) * 1000).toFixed(2),
      rssMiB: +(rss / 2 ** 20).toFixed(1),
      rssPerAgentKiB: +(rss / N / 1024).toFixed(1),
      rssGrowthPerAgentKiB: +((rss - baselineRss) / N / 1024).toFixed(1),
      loop: end.loop && { maxMs: +end.loop.maxMs.toFixed(1), p99Ms: +end.loop.p99Ms.toFixed(1) },
      window: sampler.window('idle:t0', 'idle:t1'),
      wall: { from: sampler.marks.get('idle:t0').t, to: sampler.marks.get('idle:t1').t },
    };
    console.log(`[${label}] idle: ${out.idle.heartbeatsPerS} heartbeats/s, server ${out.idle.serverCpuPercent} % of a core, RSS ${out.idle.rssMiB} MiB (${out.idle.rssPerAgentKiB} KiB/agent)`);

    // changes: v1 (assign) then v2 (the measured change)
    for (const [phase, version] of [
      ['assign', 1],
      ['change', 2],
    ]) {
      const c0 = mark(`${phase}:t0`);
      const hash = await target.change(version);
      const callMs = Date.now() - c0;
      let appliedMs = null;
      await pollUntil(
        `${label} ${phase}: all APPLIED and in sync`,
        async () => {
          const a = swarm.progress().applied[hash];
          if (appliedMs === null && a && a.agents >= N) appliedMs = a.lastMs - c0;
          if (appliedMs === null) return false;
          return (await target.counts()).inSync >= N;
        },
        opts.timeoutS * 1000,
        50,
      );
      const c1 = mark(`${phase}:insync`);
      const inSyncMs = c1 - c0;
      out[phase] = {
        callMs,
        allAppliedMs: appliedMs,
        apiAllInSyncMs: inSyncMs,
        cpuSeconds: serverCpu(`${phase}:t0`, `${phase}:insync`),
        rest: null,
        loop: loop?.window(`${phase}:t0`, `${phase}:insync`) ?? null,
        window: sampler.window(`${phase}:t0`, `${phase}:insync`),
        wall: { from: c0, to: c1 },
      };
      restWindow(out[phase], `${phase}:t0`, `${phase}:insync`);
      console.log(`[${label}] ${phase}: all APPLIED ${appliedMs} ms, API in sync ${inSyncMs} ms, server ${out[phase].cpuSeconds} CPU-s`);
      await sleep(5_000);
    }
  }
  mark('end');
  out.throughout = { rest: null, loop: loop?.window('connect:t0', 'end') ?? null };
  restWindow(out.throughout, 'connect:t0', 'end');
  out.swarmEnd = swarm.progress();
  delete out.swarmEnd.applied;
  out.others = await topOthers([...Object.values(target.serverKinds).flatMap((f) => f()), ...swarm.pids()]);
  await probe.stop();
  for (const w of restWindows) w.into.rest = probe.window(w.from, w.to);
  console.log(`[${label}] REST p99: connect ${out.connect.rest.p99Ms} ms, change ${out.change?.rest.p99Ms ?? '-'} ms, throughout ${out.throughout.rest.p99Ms} ms`);
  await loop?.stop();
  sampler.stop();
  await swarm.stop();
  return out;
}

function ratios(peer, emb) {
  const r = (a, b) => (a === null || b === null || b === 0 ? null : +(a / b).toFixed(2));
  return {
    allListed: r(emb.connect.allListedMs, peer.connect.allListedMs),
    changeInSync: r(emb.change.apiAllInSyncMs, peer.change.apiAllInSyncMs),
    changeApplied: r(emb.change.allAppliedMs, peer.change.allAppliedMs),
    changeCpuSeconds: r(emb.change.cpuSeconds, peer.change.cpuSeconds),
    cpuPer1000Heartbeats: r(emb.idle.cpuPercentPer1000HeartbeatsPerS, peer.idle.cpuPercentPer1000HeartbeatsPerS),
    rssPerAgent: r(emb.idle.rssPerAgentKiB, peer.idle.rssPerAgentKiB),
    restP99Throughout: r(emb.throughout.rest.p99Ms, peer.throughout.rest.p99Ms),
  };
}

function environment() {
  const sh = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  const m = machine();
  delete m.hostname;
  return { ...m, nproc: Number(sh('nproc', [])), go: goVersion(), loadAverage: os.loadavg().map((x) => +x.toFixed(2)) };
}

async function main() {
  const sizes = opts.agents.split(',').map(Number);
  const targets = new Set(opts.targets.split(','));
  if (!opts.skipBuild) S.build(['fleet-server']);
  const bins = buildGoPeer();
  const env = environment();
  const othersAtStart = await topOthers([]);
  console.log(`machine: ${env.nproc} cores, ${env.memoryGiB} GiB, Node ${env.node}, ${env.go}, load ${env.loadAverage.join(' ')}`);
  if (othersAtStart.length) console.log(`other busy processes: ${othersAtStart.map((o) => `${o.cpuPercent}% ${o.cmd.slice(0, 60)}`).join('; ')}`);
  const date = new Date().toISOString().slice(0, 10);
  for (const [i, N] of sizes.entries()) {
    const run = `peer-${crypto.randomBytes(4).toString('hex')}`;
    const result = { options: { ...opts, agents: N }, environment: env, otherBusyProcessesAtStart: othersAtStart };
    if (targets.has('peer')) {
      const peer = await peerTarget(bins);
      try {
        result.peer = await measure(peer, bins, N, run, 10 + i * 10);
      } finally {
        await peer.stop();
      }
    }
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-bench-peer-'));
    fs.chmodSync(base, 0o755);
    S.onCleanup(() => fs.rmSync(base, { recursive: true, force: true }));
    const profileDir = opts.cpuProfile ? path.join(base, 'profile') : null;
    const offsetMs = monoToWallOffsetMs();
    const emb = await embeddedTarget(run, path.join(base, 'data'), profileDir);
    try {
      result.embedded = await measure(emb, bins, N, run, 15 + i * 10);
    } finally {
      await emb.stop();
    }
    if (profileDir) {
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      const missing = { error: 'no profile written (did the server exit cleanly?)' };
      const windowOf = (w) => (file ? summarizeCpuProfile(path.join(profileDir, file), { fromMs: w.from, toMs: w.to, offsetMs }) : missing);
      if (!opts.connectOnly) {
        result.embedded.changeProfile = windowOf(result.embedded.change.wall);
        result.embedded.idleProfile = windowOf(result.embedded.idle.wall);
      }
      result.embedded.connectProfile = windowOf(result.embedded.connect.wall);
      // What blocked the loop longest during the connect (busy stretches of 50 ms and more).
      result.embedded.connectLongTasks = file ? longTasks(path.join(profileDir, file), { fromMs: result.embedded.connect.wall.from, toMs: result.embedded.connect.wall.to, offsetMs }) : missing;
      if (file && opts.keepProfile) {
        fs.mkdirSync(opts.keepProfile, { recursive: true });
        fs.copyFileSync(path.join(profileDir, file), path.join(opts.keepProfile, `embedded-${N}.cpuprofile`));
        fs.writeFileSync(path.join(opts.keepProfile, `embedded-${N}.offset.json`), JSON.stringify({ offsetMs, connect: result.embedded.connect.wall, idle: result.embedded.idle?.wall, change: result.embedded.change?.wall }));
      }
    }
    fs.rmSync(base, { recursive: true, force: true });
    if (!result.peer || opts.connectOnly) {
      // Embedded alone: its figures only, no comparison table.
      const json = path.join(S.repo, 'bench', 'results', `${BENCH}-${date}-${N}-${opts.connectOnly ? 'connect' : 'embedded'}-only${opts.label ? `-${opts.label}` : ''}.json`);
      fs.writeFileSync(json, `${JSON.stringify({ benchmark: BENCH, at: new Date().toISOString(), ...result }, null, 2)}\n`);
      const e = result.embedded;
      console.log(`\n[embedded-${N}] listed ${e.connect.allListedMs} ms, REST p99 connect ${e.connect.rest?.p99Ms} ms, loop max connect ${e.connect.loop?.maxMs} ms, change in sync ${e.change?.apiAllInSyncMs ?? '-'} ms\nwritten to ${path.relative(S.repo, json)}`);
      continue;
    }
    result.ratioEmbeddedToPeer = ratios(result.peer, result.embedded);
    const json = path.join(S.repo, 'bench', 'results', `${BENCH}-${date}-${N}.json`);
    fs.writeFileSync(json, `${JSON.stringify({ benchmark: BENCH, at: new Date().toISOString(), ...result }, null, 2)}\n`);
    const md = writeMarkdownSection(path.join(S.repo, 'bench', 'results', `${BENCH}-${date}.md`), N, renderMarkdown(N, result));
    console.log(`\n${renderMarkdown(N, result)}\nwritten to ${path.relative(S.repo, json)} and ${path.relative(S.repo, md)}`);
  }
  await S.stopChildren();
  process.exit(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
