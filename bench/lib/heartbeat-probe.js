// Heartbeat round trips through the gateways while a benchmark loads them:
// `perGateway` probe agents on each gateway (a process of their own,
// heartbeat-probe-worker.js, so this process's work does not delay them), each
// sending a heartbeat every `everyMs` over WebSocket and timing the answer.
// The probes carry `bench.probe=<run>`, not the run's own label, so the run's
// selectors leave them out. Percentiles per window of marks, overall and per
// gateway.
const path = require('path');
const { fork } = require('child_process');
const { percentile } = require('./machine');

const REPO = path.join(__dirname, '..', '..');

function startHeartbeatProbe({ endpoints, agentToken, runId, perGateway = 10, everyMs = 1_000, timeoutMs = 10_000 }) {
  const child = fork(path.join(__dirname, 'heartbeat-probe-worker.js'), [], { cwd: REPO, execArgv: ['-r', './dist/out-tsc/register-aliases.js'] });
  const samples = []; // [sentAt, rtt, gateway]
  let missed = endpoints.map(() => 0);
  let reconnects = endpoints.map(() => 0);
  const marks = new Map();
  const missedAt = new Map();
  child.on('message', (m) => {
    for (let i = 0; i < m.samples.length; i += 3) samples.push([m.samples[i], m.samples[i + 1], m.samples[i + 2]]);
    missed = m.missed;
    reconnects = m.reconnects;
  });
  child.send({ endpoints, agentToken, runId, perGateway, everyMs, timeoutMs });
  const summary = (rows) => {
    const ms = rows.map((r) => r[1]).sort((a, b) => a - b);
    return { heartbeats: ms.length, p50Ms: percentile(ms, 50), p90Ms: percentile(ms, 90), p99Ms: percentile(ms, 99), maxMs: ms.length ? ms[ms.length - 1] : null };
  };
  return {
    pid: child.pid,
    mark(name) {
      marks.set(name, Date.now());
      missedAt.set(name, [...missed]);
    },
    /** Round trips of the heartbeats sent between two marks (or from a mark to now). */
    window(from, to) {
      const a = marks.get(from);
      const b = to ? marks.get(to) : Date.now();
      const rows = samples.filter((s) => s[0] >= a && s[0] < b);
      const m0 = missedAt.get(from) ?? endpoints.map(() => 0);
      const m1 = to ? missedAt.get(to) : missed;
      return {
        ...summary(rows),
        missed: m1.reduce((n, x, i) => n + x - m0[i], 0),
        perGateway: endpoints.map((_, g) => ({ gateway: g, ...summary(rows.filter((r) => r[2] === g)), missed: m1[g] - m0[g] })),
      };
    },
    /** p50 / p99 of the heartbeats sent in each `bucketMs` from a mark (a time series). */
    series(from, bucketMs) {
      const a = marks.get(from);
      const out = [];
      for (const s of samples) {
        if (s[0] < a) continue;
        const k = Math.floor((s[0] - a) / bucketMs);
        (out[k] ??= []).push(s);
      }
      return out.map((rows, k) => (rows ? { tS: (k * bucketMs) / 1000, ...summary(rows) } : null)).filter(Boolean);
    },
    reconnects: () => reconnects.reduce((n, x) => n + x, 0),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
    },
  };
}

module.exports = { startHeartbeatProbe };
