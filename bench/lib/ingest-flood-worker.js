// One process of the ingest-throughput swarm: `count` WebSocket agents from
// one source address, each a well-behaved OpAMP agent (full first message with
// description, capabilities and health; sequence numbers that never gap), that
// on command keeps `window` messages in flight per connection (closed loop: the
// gateway's acknowledgement of one message releases the next). What the next
// message is depends on the phase:
//   heartbeat  only instance_uid, sequence_num, capabilities (nothing changed: no row write)
//   status     a health change (healthy flips, status text changes): a real change, a row write
//   mix        status with probability `statusFraction`, heartbeat otherwise
// Parent commands over IPC: {cmd:'flood', kind, statusFraction}, {cmd:'pause'}, 'report', 'stop'.
const WebSocket = require('ws');
const { AgentCapabilities: C, encodeAgentToServerFrame, newInstanceUidV7 } = require('@opamp/protocol');

const opts = JSON.parse(process.argv[2]);
const CAPS = C.ReportsStatus | C.ReportsHealth | C.ReportsHeartbeat | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig;
let connected = 0;
let failed = 0;
let closed = 0;
let replies = 0;
const sent = { heartbeat: 0, status: 0 };
const agents = [];
let phase = null; // { kind, statusFraction }

function description(i) {
  return {
    identifyingAttributes: [
      { key: 'service.name', value: { stringValue: 'otelcol-bench' } },
      { key: 'service.instance.id', value: { stringValue: `${opts.worker}-${i}` } },
    ],
    nonIdentifyingAttributes: [
      { key: 'host.name', value: { stringValue: `host-${opts.worker}-${i}` } },
      { key: 'os.type', value: { stringValue: 'linux' } },
      { key: 'bench.run', value: { stringValue: opts.runId } },
    ],
  };
}

function health(a) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return { healthy: a.healthy, status: a.healthy ? 'running' : 'degraded', startTimeUnixNano: a.startNs, statusTimeUnixNano: now };
}

function next(a) {
  const status = phase.kind === 'status' || (phase.kind === 'mix' && Math.random() < phase.statusFraction);
  a.seq++;
  if (status) {
    a.healthy = !a.healthy;
    sent.status++;
    return encodeAgentToServerFrame({ instanceUid: a.uid, sequenceNum: a.seq, capabilities: CAPS, health: health(a) });
  }
  sent.heartbeat++;
  return encodeAgentToServerFrame({ instanceUid: a.uid, sequenceNum: a.seq, capabilities: CAPS });
}

function pump(a) {
  while (phase && a.inFlight < opts.window && a.ws.readyState === WebSocket.OPEN) {
    a.inFlight++;
    a.ws.send(next(a));
  }
}

function open(i) {
  const a = { uid: newInstanceUidV7(), seq: 0, healthy: true, startNs: BigInt(Date.now()) * 1_000_000n, inFlight: 0, ws: null };
  a.ws = new WebSocket(opts.url, { localAddress: opts.localAddress, perMessageDeflate: false, headers: { Authorization: `Bearer ${opts.token}` } });
  a.ws.on('open', () => {
    connected++;
    a.inFlight++;
    a.ws.send(encodeAgentToServerFrame({ instanceUid: a.uid, sequenceNum: 0, capabilities: CAPS, agentDescription: description(i), health: health(a) }));
  });
  a.ws.on('message', () => {
    replies++;
    a.inFlight = Math.max(0, a.inFlight - 1);
    pump(a);
  });
  a.ws.on('error', () => failed++);
  a.ws.on('close', () => {
    closed++;
    if (a.ws.readyState !== WebSocket.OPEN) connected = Math.max(0, connected - 1);
  });
  agents.push(a);
}

let opened = 0;
const started = Date.now();
const ramp = setInterval(() => {
  const target = Math.min(opts.count, Math.floor(((Date.now() - started) / 1000) * opts.ratePerSecond) + 1);
  while (opened < target) open(opened++);
  if (opened >= opts.count) clearInterval(ramp);
}, 5);

process.on('message', (msg) => {
  if (msg === 'report') {
    process.send({ worker: opts.worker, connected, failed, closed, replies, sentHeartbeat: sent.heartbeat, sentStatus: sent.status });
  } else if (msg && msg.cmd === 'flood') {
    phase = { kind: msg.kind, statusFraction: msg.statusFraction ?? 0.1 };
    for (const a of agents) pump(a);
  } else if (msg && msg.cmd === 'pause') {
    phase = null;
  } else if (msg === 'stop') {
    phase = null;
    for (const a of agents) a.ws.terminate();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
