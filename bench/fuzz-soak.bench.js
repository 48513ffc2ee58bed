// Fuzz soak (issue 13, items 18 and 27), on demand, never in CI: drives a
// running server with mutated input from a fixed seed for a set time while
// well-behaved agents check that they are still served.
//
// Fuzzers (each a few concurrent loops, mutants from @opamp/fuzz):
//   ws    WebSocket connections sending mutated AgentToServer frames
//   http  OpAMP plain-HTTP POSTs with mutated bodies and envelopes
//   rest  platform API calls with hostile paths, queries and JSON bodies
//   grpc  platform API gRPC calls with hostile, cut, flipped, random and oversized request
//         bodies, some without or with a forged token or to an unknown method (every rpc
//         but UpdateTenantSettings, which may lawfully shut the good agents out)
// Good agents (@opamp/agent-sim, WebSocket and HTTP) heartbeat every
// `heartbeatS`; every sample checks each was answered within 3 intervals.
// At the end: every good agent's stored state is read back through the API
// (connected, its description), and for the embedded target the server is
// restarted on the same data directory and read again (a damaged data
// directory shows there).
//
// Targets:
//   embedded (default)  starts the built fleet-server on its own ports and data dir
//   --ws=… --http=… --api=… --grpc=host:port --agentToken=… --adminToken=… [--metrics=…] [--pid=…]
//                       any running server (distributed mode: a gateway and config-service)
//
//   nice -n 10 node -r ./dist/out-tsc/register-aliases.js bench/fuzz-soak.bench.js [--durationS=1800] [--seed=13] [--help]
//
// Writes bench/results/fuzz-soak-<target>.json (--out to rename).
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const S = require('./lib/stack');
const { writeResult, procStats } = require('./lib/machine');
const { parseArgs } = require('./lib/args');

const opts = parseArgs(
  {
    durationS: 300,
    seed: '13',
    goodWs: 8,
    goodHttp: 4,
    heartbeatS: 5,
    wsLoops: 3,
    httpLoops: 2,
    restLoops: 2,
    grpcLoops: 2,
    sampleS: 10,
    basePort: 41300,
    ws: '',
    http: '',
    api: '',
    grpc: '',
    metrics: '',
    pid: 0,
    agentToken: '',
    adminToken: '',
    out: '',
    skipBuild: false,
    restart: true,
  },
  'fuzz soak: mutated WebSocket frames, HTTP bodies and REST calls from a seed, while good agents check they are served',
);
const BENCH = 'fuzz-soak';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startEmbedded(dataDir, adminToken, agentToken, errors, label = 'fleet-server') {
  const p = opts.basePort;
  const server = S.startApp(BENCH, label, 'fleet-server', S.embeddedServerEnv({ dataDir, basePort: p, adminToken, agentToken }, { OPAMP_HEARTBEAT_INTERVAL_S: String(opts.heartbeatS), OPAMP_DRAIN_WINDOW_MS: '500' }), {
    onUnexpectedExit: (msg) => errors.count('server', `exited: ${msg.split('\n')[0]}`),
  });
  await S.waitUntil('fleet-server', async () => (await fetch(`http://127.0.0.1:${p + 1}/readyz`)).ok, 180_000);
  return {
    server,
    ws: `ws://127.0.0.1:${p}/v1/opamp`,
    http: `http://127.0.0.1:${p}/v1/opamp`,
    api: `http://127.0.0.1:${p + 2}/api/v1`,
    grpc: `127.0.0.1:${p + 3}`,
    metrics: `http://127.0.0.1:${p + 1}/metrics`,
  };
}

/** Error and warning lines of the server's JSON log, by message (fields dropped: values from agents stay out of the keys). */
function logLines(output, tally) {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) {
      if (/RuntimeError|Aborted|bad buffer|ERRORDATA/.test(line)) tally.count('server-log', `raw: ${line.slice(0, 120)}`);
      continue;
    }
    try {
      const rec = JSON.parse(line);
      if (rec.level === 'error' || rec.level === 'warn') {
        const detail = typeof rec.error === 'string' ? `: ${rec.error.replace(/[0-9a-f-]{16,}/g, '…').slice(0, 100)}` : '';
        tally.count('server-log', `${rec.level} ${rec.msg ?? rec.message}${detail}`);
      }
    } catch {
      tally.count('server-log', 'unparsed line');
    }
  }
}

async function metricValue(url, name) {
  const text = await (await fetch(url)).text();
  for (const line of text.split('\n')) if (line.startsWith(`${name} `)) return Number(line.split(' ').pop());
  return null;
}

/** Every sample of the counters and gauges named (with their labels), e.g. {'x_total{reason="a"}': 3}. */
async function metricSamples(url, names) {
  const text = await (await fetch(url)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const name = line.split(/[{ ]/)[0];
    if (names.includes(name)) out[line.slice(0, line.lastIndexOf(' '))] = Number(line.split(' ').pop());
  }
  return out;
}

/** How the store waited for its pool (issue 13: a starved pool must make writes wait, not fail). */
const STORE_WAIT_METRICS = ['opamp_config_db_pool_connect_retries_total', 'opamp_config_db_pool_unavailable_total', 'opamp_embedded_queue_retries_total', 'opamp_config_db_pool_waiting_requests'];

/** A failed fetch: the server's doing (timeout, reset), or the client's (undici refuses e.g. a NUL in a header: never sent). */
function fetchFailure(err) {
  if (err.name === 'TimeoutError') return 'fetch timeout';
  if (err.name === 'TypeError' && !err.cause) return 'not sent (client refused the request)';
  return `fetch ${err.cause?.code ?? err.name}`;
}

function outcomeOfReply(decodeServerToAgent, bytes) {
  try {
    const m = decodeServerToAgent(bytes.subarray(1));
    if (m.errorResponse) return `reply error ${m.errorResponse.type ?? 0}`;
    return 'reply';
  } catch {
    return 'reply undecodable';
  }
}

/** One WebSocket fuzz loop: a connection per burst of mutants, each mutant waits for a reply or the close. */
async function wsLoop(ctx, index) {
  const WebSocket = require('ws');
  const { mutateAgentMessage, seededRng, drawInt } = ctx.fuzz;
  const rng = seededRng(ctx.seed + 1000 + index);
  while (!ctx.stopping) {
    const uid = Buffer.from(Array.from({ length: 16 }, () => Math.floor(rng() * 256)));
    let seq = 0;
    const ws = new WebSocket(ctx.target.ws, { headers: { authorization: `Bearer ${ctx.agentToken}` }, perMessageDeflate: false });
    const opened = await new Promise((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('unexpected-response', (_req, res) => resolve(`upgrade ${res.statusCode}`));
      ws.once('error', (err) => resolve(`error ${err.code ?? err.message}`));
      setTimeout(() => resolve('timeout'), 10_000);
    });
    if (opened !== 'open') {
      ctx.tally.count('ws/connect', opened);
      ws.terminate();
      await sleep(200);
      continue;
    }
    const burst = drawInt(rng, 1, 8);
    for (let i = 0; i < burst && !ctx.stopping && ws.readyState === WebSocket.OPEN; i++) {
      const m = mutateAgentMessage(rng, uid, seq++);
      const outcome = await new Promise((resolve) => {
        const done = (o) => {
          ws.off('message', onMessage);
          ws.off('close', onClose);
          clearTimeout(t);
          resolve(o);
        };
        const onMessage = (data) => done(outcomeOfReply(ctx.protocol.decodeServerToAgent, Buffer.from(data)));
        const onClose = (code) => done(`close ${code}`);
        const t = setTimeout(() => done('no reply in 5 s'), 5_000);
        ws.on('message', onMessage);
        ws.on('close', onClose);
        ws.send(m.frame, { binary: true }, (err) => err && done(`send error ${err.code ?? err.message}`));
      });
      ctx.tally.count(`ws/${m.mutation}`, outcome);
    }
    ws.terminate();
  }
}

async function httpLoop(ctx, index) {
  const { mutateHttpRequest, seededRng } = ctx.fuzz;
  const rng = seededRng(ctx.seed + 2000 + index);
  while (!ctx.stopping) {
    const uid = Buffer.from(Array.from({ length: 16 }, () => Math.floor(rng() * 256)));
    const req = mutateHttpRequest(rng, uid, 0);
    let outcome;
    try {
      const res = await fetch(ctx.target.http, {
        method: 'POST',
        headers: { authorization: `Bearer ${ctx.agentToken}`, ...req.headers },
        body: req.body,
        signal: AbortSignal.timeout(15_000),
      });
      const body = Buffer.from(await res.arrayBuffer());
      outcome = `http ${res.status}`;
      if (res.status === 200) {
        try {
          const m = ctx.protocol.decodeServerToAgent(body);
          if (m.errorResponse) outcome += ` error ${m.errorResponse.type ?? 0}`;
        } catch {
          outcome += ' undecodable';
        }
      }
    } catch (err) {
      outcome = fetchFailure(err);
    }
    ctx.tally.count(`http/${req.kind}`, outcome);
  }
}

async function restLoop(ctx, index) {
  const { mutateRestRequest, seededRng } = ctx.fuzz;
  const rng = seededRng(ctx.seed + 3000 + index);
  // Streams (agents:watch) would hold a loop; they are left out.
  const routes = ctx.routes.filter((r) => !r.stream);
  while (!ctx.stopping) {
    const req = mutateRestRequest(rng, routes, ctx.adminToken);
    let outcome;
    try {
      const res = await fetch(`${ctx.target.api}${req.path}`, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(15_000) });
      await res.arrayBuffer();
      outcome = `http ${res.status}`;
    } catch (err) {
      outcome = fetchFailure(err);
    }
    ctx.tally.count(`rest/${req.kind}`, outcome);
  }
}

/** The service's unary and server-streaming rpcs with their request types, from the API's own proto. */
function grpcMethods() {
  const protobuf = require('protobufjs');
  const { findFleetApiProto } = require('@opamp/platform-api');
  const { protoPath, includeDir } = findFleetApiProto();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(includeDir, target));
  root.loadSync(protoPath, { keepCase: false }).resolveAll();
  const service = root.lookupService('fleet.v1.FleetService');
  return service.methodsArray
    .filter((m) => !m.requestStream && m.name !== 'UpdateTenantSettings')
    .map((m) => ({ path: `/fleet.v1.FleetService/${m.name}`, requestType: m.resolvedRequestType, serverStream: m.responseStream === true }));
}

async function grpcLoop(ctx, index) {
  const grpc = require('@grpc/grpc-js');
  const { mutateGrpcCall, seededRng } = ctx.fuzz;
  const rng = seededRng(ctx.seed + 4000 + index);
  const client = new grpc.Client(ctx.target.grpc, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const raw = (b) => b;
  const status = (err) => `grpc ${grpc.status[err.code] ?? err.code}`;
  while (!ctx.stopping) {
    const call = mutateGrpcCall(rng, ctx.grpcMethods, ctx.adminToken);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(call.metadata)) md.set(k, v);
    const deadline = Date.now() + 15_000;
    const outcome = await new Promise((resolve) => {
      if (!call.serverStream) {
        client.makeUnaryRequest(call.path, raw, raw, call.body, md, { deadline }, (err) => resolve(err ? status(err) : 'grpc OK'));
        return;
      }
      // A watch: its first event (or its refusal) is the answer; then it is cancelled.
      const stream = client.makeServerStreamRequest(call.path, raw, raw, call.body, md, { deadline });
      let settled = false;
      const settle = (o) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stream.cancel();
        resolve(o);
      };
      const timer = setTimeout(() => settle('grpc stream open'), 2000);
      stream.on('data', () => settle('grpc stream data'));
      stream.on('error', (err) => settle(err.code === grpc.status.CANCELLED ? 'grpc stream cancelled' : status(err)));
      stream.on('end', () => settle('grpc OK'));
    });
    ctx.tally.count(`grpc/${call.kind}`, outcome);
  }
  client.close();
}

function goodAgents(ctx) {
  const { SimulatedAgent } = require('@opamp/agent-sim');
  const agents = [];
  const make = (transport, i) => {
    const id = `good-${transport}-${i}`;
    const agent = new SimulatedAgent({
      endpoint: transport === 'ws' ? ctx.target.ws : ctx.target.http,
      headers: { authorization: `Bearer ${ctx.agentToken}` },
      heartbeatIntervalMs: opts.heartbeatS * 1000,
      reconnect: { initialMs: 200, maxMs: 2000 },
      description: { identifying: { 'service.name': 'fuzz-soak-good', 'service.instance.id': id }, nonIdentifying: { 'host.name': id } },
    });
    const rec = { id, transport, agent, lastReplyAt: Date.now(), replies: 0, errors: 0, unserved: 0 };
    agent.on('serverMessage', () => {
      rec.replies++;
      rec.lastReplyAt = Date.now();
    });
    agent.on('error', () => rec.errors++);
    agent.start();
    agents.push(rec);
  };
  for (let i = 0; i < opts.goodWs; i++) make('ws', i);
  for (let i = 0; i < opts.goodHttp; i++) make('http', i);
  return agents;
}

/** Reads every good agent back through the API: listed, connected, its description as sent. */
async function checkGoodState(ctx, agents) {
  const api = S.api(ctx.target.api, ctx.adminToken);
  const wrong = [];
  for (const a of agents) {
    try {
      const got = await api.call('GET', `/agents/${a.agent.instanceUidString}`);
      const agent = got.agent ?? got;
      const text = JSON.stringify(agent);
      const problems = [];
      if (!text.includes(a.id)) problems.push('description lost');
      if (agent.connected === false || /"status":"(OFFLINE|STALE)"/.test(text)) problems.push(`not live: ${text.slice(0, 160)}`);
      if (problems.length) wrong.push({ id: a.id, problems });
    } catch (err) {
      wrong.push({ id: a.id, problems: [String(err.message).slice(0, 200)] });
    }
  }
  return wrong;
}

async function main() {
  // Built first: on a fresh checkout @opamp/fuzz exists only after the build.
  if (!opts.skipBuild && !opts.ws) S.build(['fleet-server', 'fuzz', 'agent-sim']);
  const fuzz = require('@opamp/fuzz');
  const { FuzzTally } = fuzz;
  const protocol = require('@opamp/protocol');
  const { REST_ROUTES } = require('@opamp/platform-api');
  const tally = new FuzzTally();
  const serverLog = new FuzzTally();
  const embedded = !opts.ws;
  let target;
  let dataDir;
  let adminToken = opts.adminToken;
  let agentToken = opts.agentToken;
  let server;
  if (embedded) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-fuzz-soak-'));
    adminToken = `opamp_admin_${crypto.randomBytes(18).toString('base64url')}`;
    agentToken = `opamp_agent_${crypto.randomBytes(18).toString('base64url')}`;
    ({ server, ...target } = await startEmbedded(dataDir, adminToken, agentToken, serverLog));
    console.log(`embedded server pid ${server.pid}, data ${dataDir}`);
  } else {
    target = { ws: opts.ws, http: opts.http, api: opts.api, grpc: opts.grpc, metrics: opts.metrics };
  }
  const pid = embedded ? server.pid : opts.pid;
  const seed = fuzz.seedFromText(String(opts.seed));
  const ctx = { fuzz, protocol, routes: REST_ROUTES, grpcMethods: target.grpc ? grpcMethods() : [], target, adminToken, agentToken, seed, tally, stopping: false };

  const good = goodAgents(ctx);
  await S.waitUntil('good agents served', async () => good.every((a) => a.replies > 0), 60_000);
  const loops = [];
  for (let i = 0; i < opts.wsLoops; i++) loops.push(wsLoop(ctx, i));
  for (let i = 0; i < opts.httpLoops; i++) loops.push(httpLoop(ctx, i));
  for (let i = 0; i < opts.restLoops; i++) loops.push(restLoop(ctx, i));
  if (target.grpc) for (let i = 0; i < opts.grpcLoops; i++) loops.push(grpcLoop(ctx, i));

  const samples = [];
  const started = Date.now();
  let firstUnserved = null;
  let firstServerError = null;
  while (Date.now() - started < opts.durationS * 1000) {
    await sleep(opts.sampleS * 1000);
    const now = Date.now();
    const unserved = good.filter((a) => now - a.lastReplyAt > 3 * opts.heartbeatS * 1000);
    for (const a of unserved) a.unserved++;
    if (unserved.length && !firstUnserved) firstUnserved = { atS: Math.round((now - started) / 1000), agents: unserved.map((a) => a.id) };
    const sample = { atS: Math.round((now - started) / 1000), requests: tally.total, unservedGood: unserved.length };
    if (pid) {
      try {
        const st = procStats(pid);
        sample.rssMiB = Math.round(st.rssBytes / 2 ** 20);
        sample.cpuSeconds = st.cpuSeconds;
      } catch {
        sample.rssMiB = null;
      }
    }
    if (target.metrics) {
      try {
        const lag = await metricValue(target.metrics, 'nodejs_eventloop_lag_p99_seconds');
        sample.eventLoopP99Ms = lag === null ? null : Math.round(lag * 1000);
        sample.eventLoopMaxMs = Math.round(((await metricValue(target.metrics, 'nodejs_eventloop_lag_max_seconds')) ?? 0) * 1000);
        sample.dbWaiting = (await metricValue(target.metrics, 'opamp_config_db_pool_waiting_requests')) ?? undefined;
      } catch {
        sample.eventLoopP99Ms = 'metrics unreachable';
      }
    }
    if (embedded) {
      const fresh = new FuzzTally();
      logLines(server.output, fresh);
      sample.serverErrors = Object.keys(fresh.byOutcome()).length;
      const fatal = Object.keys(fresh.byOutcome()).find((k) => /RuntimeError|Aborted|bad buffer|ERRORDATA|liveness sweep failed/.test(k));
      if (fatal && !firstServerError) firstServerError = { atS: sample.atS, line: fatal };
    }
    samples.push(sample);
    const byOutcome = tally.byOutcome();
    // gRPC's INTERNAL and UNKNOWN are its 500s.
    const fiveXX = Object.entries(byOutcome).filter(([k]) => / 5\d\d|^grpc (INTERNAL|UNKNOWN)$/.test(k)).reduce((n, [, v]) => n + v, 0);
    console.log(
      `${sample.atS}s requests ${sample.requests} 5xx ${fiveXX} unserved good ${sample.unservedGood} rss ${sample.rssMiB ?? '-'} MiB loop p99 ${sample.eventLoopP99Ms ?? '-'} ms` +
        (firstServerError ? ` FIRST FATAL at ${firstServerError.atS}s: ${firstServerError.line}` : ''),
    );
  }
  ctx.stopping = true;
  await Promise.race([Promise.all(loops), sleep(20_000)]);
  const storeWaits = target.metrics ? await metricSamples(target.metrics, STORE_WAIT_METRICS).catch((err) => ({ error: String(err) })) : null;
  // Let the good agents report once more without fuzzing around them.
  await sleep(2 * opts.heartbeatS * 1000);
  const goodWrong = await checkGoodState(ctx, good);
  for (const a of good) await a.agent.stop();
  let afterRestart = null;
  if (embedded) {
    if (opts.restart) {
      await S.stopApp(server);
      const again = await startEmbedded(dataDir, adminToken, agentToken, serverLog, 'fleet-server-restarted');
      const api = S.api(again.api, adminToken);
      let listed = null;
      let error = null;
      try {
        listed = await api.countAgents('&selector=' + encodeURIComponent('service.name=fuzz-soak-good'));
      } catch (err) {
        error = String(err.message).slice(0, 300);
      }
      afterRestart = { goodAgentsListed: listed, error };
      await S.stopApp(again.server);
      logLines(again.server.output, serverLog);
    } else await S.stopApp(server);
    // The first run's whole log (the in-memory output keeps only its tail).
    logLines(fs.readFileSync(path.join(S.repo, '.infra', 'bench', BENCH, 'fleet-server.log'), 'utf8'), serverLog);
  }
  const byKind = tally.toJSON();
  const result = {
    target: embedded ? 'embedded' : target.ws,
    seed: opts.seed,
    durationS: opts.durationS,
    loops: { ws: opts.wsLoops, http: opts.httpLoops, rest: opts.restLoops, grpc: target.grpc ? opts.grpcLoops : 0 },
    load: os.loadavg(),
    requests: tally.total,
    outcomes: tally.byOutcome(),
    byKind,
    serverLog: serverLog.byOutcome(),
    good: {
      agents: good.length,
      firstUnserved,
      unservedSamples: good.reduce((n, a) => n + a.unserved, 0),
      replies: good.reduce((n, a) => n + a.replies, 0),
      stateWrong: goodWrong,
    },
    firstServerError,
    afterRestart,
    storeWaits,
    samples,
  };
  const file = writeResult(opts.out || `${BENCH}-${embedded ? 'embedded' : 'distributed'}`, result);
  console.log(JSON.stringify({ requests: result.requests, outcomes: result.outcomes, serverLog: result.serverLog, good: result.good, afterRestart, storeWaits }, null, 2));
  console.log(`wrote ${file}`);
  if (embedded && dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  await S.shutdown(0);
}

main().catch(async (err) => {
  console.error(err);
  await S.shutdown(1);
});
