// The heartbeat probe's process (heartbeat-probe.js starts it): a few OpAMP
// agents over WebSocket on each gateway, each sending a heartbeat every
// `everyMs` and timing the gateway's answer. One heartbeat in flight per agent;
// one that gets no answer within `timeoutMs` counts as missed and is sent again
// on the next tick. Samples go to the parent in batches: [sentAtMs, rttMs, gateway].
const crypto = require('crypto');
const WebSocket = require('ws');
const { AgentCapabilities: C, decodeServerToAgent, decodeWsMessage, encodeAgentToServerFrame } = require('@opamp/protocol');

const FLUSH_MS = 500;
const CAPS = C.ReportsStatus | C.ReportsHeartbeat;
const FULL_STATE = 1; // ServerToAgentFlags_ReportFullState

function startAgent(spec, gateway, n, out) {
  const uid = crypto.randomBytes(16);
  let seq = 0;
  let ws;
  let pending = null; // { at, full }
  let stopped = false;
  let fullNext = true;
  const description = {
    identifyingAttributes: [
      { key: 'service.name', value: { stringValue: 'heartbeat-probe' } },
      { key: 'service.instance.id', value: { stringValue: `${spec.runId}-probe-${gateway}-${n}` } },
    ],
    nonIdentifyingAttributes: [{ key: 'bench.probe', value: { stringValue: spec.runId } }],
  };
  const send = () => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (pending && now - pending.at < spec.timeoutMs) return;
    if (pending) out.missed[gateway]++;
    const message = { instanceUid: uid, sequenceNum: ++seq, capabilities: CAPS };
    if (fullNext) {
      message.agentDescription = description;
      fullNext = false;
    }
    pending = { at: now };
    ws.send(encodeAgentToServerFrame(message));
  };
  const connect = () => {
    if (stopped) return;
    ws = new WebSocket(spec.endpoints[gateway], { headers: { Authorization: `Bearer ${spec.agentToken}` }, perMessageDeflate: false });
    ws.on('open', () => {
      fullNext = true;
      pending = null;
      send();
    });
    ws.on('message', (data) => {
      let m;
      try {
        m = decodeServerToAgent(decodeWsMessage(data));
      } catch {
        return;
      }
      if ((Number(m.flags ?? 0) & FULL_STATE) !== 0) fullNext = true;
      if (!pending) return;
      out.samples.push(pending.at, Date.now() - pending.at, gateway);
      pending = null;
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (pending) out.missed[gateway]++;
      pending = null;
      if (!stopped) {
        out.reconnects[gateway]++;
        setTimeout(connect, 500);
      }
    });
  };
  connect();
  // Spread the agents over the interval so the probe itself is no burst.
  const timer = setTimeout(function tick() {
    send();
    agent.timer = setTimeout(tick, spec.everyMs);
  }, Math.floor((n / spec.perGateway) * spec.everyMs));
  const agent = {
    timer,
    stop() {
      stopped = true;
      clearTimeout(agent.timer);
      ws?.close();
    },
  };
  return agent;
}

// The benchmark went away (crashed, killed): so do the probes.
process.on('disconnect', () => process.exit(0));

process.once('message', (spec) => {
  const out = { samples: [], missed: spec.endpoints.map(() => 0), reconnects: spec.endpoints.map(() => 0) };
  const agents = [];
  for (let g = 0; g < spec.endpoints.length; g++) for (let n = 0; n < spec.perGateway; n++) agents.push(startAgent(spec, g, n, out));
  const flush = () => {
    process.send({ samples: out.samples, missed: out.missed, reconnects: out.reconnects });
    out.samples = [];
  };
  const flusher = setInterval(flush, FLUSH_MS);
  process.on('message', (m) => {
    if (m !== 'stop') return;
    clearInterval(flusher);
    for (const a of agents) a.stop();
    flush();
    setTimeout(() => process.exit(0), 200);
  });
});
