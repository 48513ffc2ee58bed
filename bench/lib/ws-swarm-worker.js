// One process of a benchmark swarm: opens `count` WebSocket agents from one
// source address at `ratePerSecond`, answers nothing, sends a full first
// message and then a heartbeat every `heartbeatMs` (or, in flood mode, keeps
// `window` messages in flight per connection). Reports to the parent over IPC.
const WebSocket = require('ws');
const { encodeAgentToServerFrame, newInstanceUidV7 } = require('@opamp/protocol');

const opts = JSON.parse(process.argv[2]);
const latencies = [];
let connected = 0;
let failed = 0;
let replies = 0;
let sent = 0;
const sockets = [];

function description(i) {
  return {
    identifyingAttributes: [
      { key: 'service.name', value: { stringValue: 'otelcol-bench' } },
      { key: 'service.instance.id', value: { stringValue: `${opts.worker}-${i}` } },
    ],
    nonIdentifyingAttributes: [
      { key: 'host.name', value: { stringValue: `host-${opts.worker}-${i}` } },
      { key: 'os.type', value: { stringValue: 'linux' } },
    ],
  };
}

function open(i) {
  const uid = newInstanceUidV7();
  const started = process.hrtime.bigint();
  const ws = new WebSocket(opts.url, {
    localAddress: opts.localAddress,
    perMessageDeflate: false,
    headers: { Authorization: `Bearer ${opts.token}` },
  });
  let seq = 0;
  let first = true;
  const agent = { ws, uid, inFlight: 0 };
  const heartbeat = encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: 0, capabilities: 0x3 });
  ws.on('open', () => {
    connected++;
    ws.send(encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq++, capabilities: 0x3, agentDescription: description(i) }));
    sent++;
    if (opts.mode === 'idle') {
      const jitter = Math.floor(Math.random() * opts.heartbeatMs);
      setTimeout(() => {
        agent.timer = setInterval(() => {
          if (ws.readyState === WebSocket.OPEN) {
            ws.send(encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq++, capabilities: 0x3 }));
            sent++;
          }
        }, opts.heartbeatMs);
      }, jitter);
    }
  });
  ws.on('message', () => {
    replies++;
    if (first) {
      first = false;
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    if (opts.mode === 'flood' && flooding) {
      ws.send(heartbeat);
      sent++;
    }
  });
  ws.on('error', () => {
    failed++;
  });
  ws.on('close', () => {
    if (agent.timer) clearInterval(agent.timer);
  });
  sockets.push(agent);
}

let flooding = false;
let opened = 0;
const started = Date.now();
const ramp = setInterval(() => {
  const target = Math.min(opts.count, Math.floor(((Date.now() - started) / 1000) * opts.ratePerSecond) + 1);
  while (opened < target) open(opened++);
  if (opened >= opts.count) clearInterval(ramp);
}, 5);

process.on('message', (msg) => {
  if (msg === 'report') {
    process.send({ worker: opts.worker, connected, failed, replies, sent, latencies: latencies.splice(0) });
  } else if (msg === 'flood') {
    flooding = true;
    for (const a of sockets) {
      for (let k = 0; k < opts.window; k++) {
        if (a.ws.readyState === WebSocket.OPEN) {
          a.ws.send(encodeAgentToServerFrame({ instanceUid: a.uid, sequenceNum: k + 1, capabilities: 0x3 }));
          sent++;
        }
      }
    }
  } else if (msg === 'stop') {
    flooding = false;
    for (const a of sockets) a.ws.terminate();
    setTimeout(() => process.exit(0), 200);
  }
});
