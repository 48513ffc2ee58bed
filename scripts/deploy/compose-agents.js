#!/usr/bin/env node
// The agents' side of the compose e2e (scripts/test-compose.sh): simulated
// agents (the swarm app, built) through the HAProxy of the compose stack, and
// three checks, each ending with every agent connected and in sync with a new
// configuration version pushed after the event:
//
//   1. all agents connect through the balancer, both gateways serve, all in sync with v1
//   2. kill -9 of one gateway container: every agent on the survivor, in sync with v2
//   3. rolling restart of both gateways (SIGTERM, drain, start, ready; one at a
//      time): no agent lost, every agent connected and in sync with v3; the
//      disconnects are counted
//
// Settings come from the environment the script sets (COMPOSE_E2E_*). Prints
// progress and timings; exits 1 on the first check that fails.
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = process.env;
const AGENTS = Number(env.COMPOSE_E2E_AGENTS ?? 200);
const API = env.COMPOSE_E2E_API; // http://127.0.0.1:<port>/api/v1
const ADMIN_TOKEN = env.COMPOSE_E2E_ADMIN_TOKEN;
const CONVERGE_MS = Number(env.COMPOSE_E2E_CONVERGE_MS ?? 180_000);
const compose = env.COMPOSE_E2E_COMPOSE.split(' '); // the docker-compose command line with -p and -f
const t0 = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const say = (text) => console.log(`== [${secs(Date.now() - t0).padStart(7)}] ${text}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const COLLECTOR = (version) => `receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n# v${version}\n`;

async function api(method, route, body) {
  const res = await fetch(`${API}${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

async function agents() {
  const all = [];
  let token = '';
  do {
    const page = await api('GET', `/agents?pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
    all.push(...page.agents);
    token = page.nextPageToken ?? '';
  } while (token);
  return all.filter((a) => a.labels?.['e2e.run'] === RUN || a.nonIdentifyingAttributes?.['e2e.run'] === RUN);
}

/** Waits until `count` agents of this run hold `pred`; prints the count as it changes. */
async function waitAgents(what, pred) {
  const start = Date.now();
  let last = -1;
  for (;;) {
    const list = await agents().catch((err) => (say(`  (API: ${err.message})`), []));
    const ok = list.filter(pred).length;
    if (ok !== last) say(`  ${what}: ${ok}/${AGENTS}`);
    last = ok;
    if (ok === AGENTS) return { ms: Date.now() - start, list };
    if (Date.now() - start > CONVERGE_MS) throw new Error(`${what}: ${ok}/${AGENTS} after ${secs(CONVERGE_MS)}`);
    if (swarm.exitCode !== null) throw new Error(`the swarm exited (${swarm.exitCode}): see swarm.log`);
    await sleep(500);
  }
}

/** Waits until HAProxy's own health checks have put `server` back in rotation (as a
 * Kubernetes rollout waits for readiness before stopping the next pod). */
async function waitBalancerUp(server) {
  const start = Date.now();
  for (;;) {
    const csv = await fetch(`${env.COMPOSE_E2E_LB_STATS}/;csv`).then((r) => r.text(), () => '');
    const row = csv.split('\n').find((l) => l.startsWith(`gateways,${server},`));
    if (row && row.split(',')[17] === 'UP') return Date.now() - start;
    if (Date.now() - start > CONVERGE_MS) throw new Error(`HAProxy: ${server} not UP after ${secs(CONVERGE_MS)}`);
    await sleep(200);
  }
}

/** Waits for the swarm's progress (the agents' side) to satisfy `pred`. */
async function waitSwarm(what, pred) {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > CONVERGE_MS) throw new Error(`${what}: not after ${secs(CONVERGE_MS)} (swarm connected ${swarmState.connected})`);
    if (swarm.exitCode !== null) throw new Error(`the swarm exited (${swarm.exitCode}): see swarm.log`);
    await sleep(100);
  }
  say(`  ${what} (swarm: connected ${swarmState.connected}/${AGENTS})`);
}

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}
function containerOf(service) {
  return execFileSync(compose[0], [...compose.slice(1), 'ps', '-q', service], { encoding: 'utf8' }).trim();
}
async function waitHealthy(service) {
  const start = Date.now();
  for (;;) {
    const id = containerOf(service);
    const state = id ? docker('inspect', '-f', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id) : 'missing';
    if (state === 'running healthy') return Date.now() - start;
    if (Date.now() - start > CONVERGE_MS) throw new Error(`${service}: ${state} after ${secs(CONVERGE_MS)}`);
    await sleep(500);
  }
}

const RUN = `compose-${Date.now().toString(36)}`;
let swarm;
const swarmState = { connected: 0, minConnected: Infinity, lines: 0 };

function startSwarm() {
  const report = path.join(env.COMPOSE_E2E_OUT, 'swarm-report.json');
  swarm = spawn(process.execPath, ['-r', env.COMPOSE_E2E_SWARM_ALIASES, env.COMPOSE_E2E_SWARM_MAIN], {
    env: {
      ...env,
      SWARM_AGENTS: String(AGENTS),
      SWARM_ENDPOINTS: env.COMPOSE_E2E_ENDPOINT,
      SWARM_TOKEN: env.COMPOSE_E2E_AGENT_TOKEN,
      SWARM_LABELS: `e2e.run=${RUN}`,
      SWARM_RAMP_PER_SECOND: '100',
      SWARM_DURATION_S: '3600',
      SWARM_HEARTBEAT_S: '10',
      SWARM_RECONNECT_INITIAL_MS: '200',
      SWARM_RECONNECT_MAX_MS: '5000',
      SWARM_STATS_INTERVAL_MS: '250',
      SWARM_JSON: report,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = fs.createWriteStream(path.join(env.COMPOSE_E2E_OUT, 'swarm.log'));
  swarm.stdout.on('data', (chunk) => {
    log.write(chunk);
    for (const m of String(chunk).matchAll(/connected ([\d,. ]+)\/[\d,. ]+/g)) {
      swarmState.connected = Number(m[1].replace(/\D/g, ''));
      swarmState.minConnected = Math.min(swarmState.minConnected, swarmState.connected);
    }
  });
  swarm.stderr.pipe(log);
  return report;
}
async function stopSwarm(report) {
  if (!swarm || swarm.exitCode !== null) return null;
  const done = new Promise((r) => swarm.once('exit', r));
  swarm.kill('SIGTERM');
  await done;
  return fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : null;
}

async function pushVersion(version) {
  if (version === 1) {
    await api('POST', '/configurations', { name: RUN, files: { 'collector.yaml': { body: COLLECTOR(1), contentType: 'text/yaml' } } });
    await api('POST', '/assignments', { name: RUN, configurationName: RUN, selector: `e2e.run=${RUN}`, priority: 1 });
  } else {
    const r = await api('PUT', `/configurations/${RUN}`, { files: { 'collector.yaml': { body: COLLECTOR(version), contentType: 'text/yaml' } } });
    if (r.version !== version) throw new Error(`PUT /configurations/${RUN}: version ${r.version}, expected ${version}`);
  }
  const synced = (a) => a.connected && a.inSync && a.configurationVersion === version && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED';
  return waitAgents(`connected and in sync with v${version}`, synced);
}

async function main() {
  const timings = {};
  const report = startSwarm();
  try {
    say(`${AGENTS} simulated agents through ${env.COMPOSE_E2E_ENDPOINT} (run ${RUN})`);
    const up = await waitAgents('connected', (a) => a.connected);
    timings.connect = up.ms;
    const gateways = [...new Set(up.list.map((a) => a.gatewayId))].sort();
    say(`  per gateway: ${gateways.map((g) => `${g} ${up.list.filter((a) => a.gatewayId === g).length}`).join(', ')}`);
    if (gateways.length !== 2) throw new Error(`agents on ${gateways.length} gateway(s), expected 2 behind the balancer`);
    timings.syncV1 = (await pushVersion(1)).ms;
    say(`check 1 passed: every agent connected through the balancer and in sync (${secs(timings.syncV1)})`);

    // ---- 2. kill -9 one gateway (COMPOSE_E2E_SKIP_KILL=1: only checks 1 and 3)
    const skipKill = env.COMPOSE_E2E_SKIP_KILL === '1';
    if (!skipKill) {
    const victim = 'gateway-1';
    const before = await agents();
    const onVictim = before.filter((a) => a.gatewayId === victim).length;
    say(`kill -9 ${victim} (${onVictim} agents on it)`);
    const killedAt = Date.now();
    swarmState.minConnected = swarmState.connected;
    docker('kill', '--signal', 'KILL', containerOf(victim));
    // The agents' own view: their sockets dropped and all of them are connected
    // again (to gateway-2, or to gateway-1 once its restart policy brought it
    // back). The server's view follows: in sync with a version pushed after the kill.
    await waitSwarm('agents dropped by the kill', () => swarmState.minConnected < AGENTS);
    await waitSwarm('every agent connected again', () => swarmState.connected === AGENTS);
    timings.failover = Date.now() - killedAt;
    say(`  ${AGENTS - swarmState.minConnected} agents were disconnected; all back in ${secs(timings.failover)}`);
    timings.syncV2 = (await pushVersion(2)).ms;
    say(`check 2 passed: every agent back and in sync after kill -9 (failover ${secs(timings.failover)}, v2 in ${secs(timings.syncV2)})`);
    // restart: unless-stopped brings it back by itself; start it in case it did not
    execFileSync(compose[0], [...compose.slice(1), 'start', victim], { stdio: 'ignore' });
    say(`${victim} running again and ready (${secs(await waitHealthy(victim))} more)`);
    }

    // ---- 3. rolling restart
    swarmState.minConnected = swarmState.connected;
    const rollStart = Date.now();
    for (const gw of ['gateway-1', 'gateway-2']) {
      const t = Date.now();
      say(`rolling restart: ${gw} (SIGTERM, drain, start)`);
      execFileSync(compose[0], [...compose.slice(1), 'restart', '-t', '60', gw], { stdio: 'ignore' });
      const ready = await waitHealthy(gw);
      const inRotation = await waitBalancerUp(gw);
      say(`  ${gw} in HAProxy's rotation ${secs(inRotation)} after ready`);
      say(`  ${gw} back and ready in ${secs(Date.now() - t)} (ready ${secs(ready)} after start); swarm connected now ${swarmState.connected}, lowest ${swarmState.minConnected}`);
    }
    timings.rolling = Date.now() - rollStart;
    await waitSwarm('every agent connected after the roll', () => swarmState.connected === AGENTS);
    const after = await waitAgents('connected after the rolling restart', (a) => a.connected);
    const perGw = [...new Set(after.list.map((a) => a.gatewayId))].sort().map((g) => `${g} ${after.list.filter((a) => a.gatewayId === g).length}`);
    timings.syncV3 = (await pushVersion(skipKill ? 2 : 3)).ms;
    const lowest = swarmState.minConnected;
    const final = await stopSwarm(report);
    const reconnects = final?.reconnectLatencyMs?.count ?? 'n/a';
    say(`check 3 passed: rolling restart in ${secs(timings.rolling)}, ${AGENTS}/${AGENTS} agents connected and in sync with the version pushed after it (${secs(timings.syncV3)}); now ${perGw.join(', ')}`);
    say(`  disconnects: at most ${AGENTS - lowest} agents reconnecting at once during the roll; reconnects over the whole run (kill + roll): ${reconnects}; agents lost: 0`);
    say(`timings: connect ${secs(timings.connect)}, v1 sync ${secs(timings.syncV1)}, ${skipKill ? '' : `failover ${secs(timings.failover)}, v2 sync ${secs(timings.syncV2)}, `}rolling restart ${secs(timings.rolling)}, v3 sync ${secs(timings.syncV3)}`);
    if (final) say(`  swarm: reconnect time ${JSON.stringify(final.reconnectLatencyMs)}; errors ${JSON.stringify(final.errors)}`);
    return 0;
  } catch (err) {
    say(`FAILED: ${err.message}`);
    await stopSwarm(report);
    return 1;
  }
}

main().then((code) => process.exit(code));
