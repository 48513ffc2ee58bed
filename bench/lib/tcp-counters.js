// The kernel's TCP counters a connection-heavy benchmark must report: when a
// listener's accept queue is full (uWebSockets.js listens with a backlog of
// 512), new connections are dropped or reset and clients see "socket hang up"
// or ECONNRESET; ListenOverflows says that happened, machine-wide.
const fs = require('fs');

const WANTED = ['ListenOverflows', 'ListenDrops', 'TCPAbortOnData', 'TCPReqQFullDrop'];

/** TcpExt counters of /proc/net/netstat (null where the file is not there). */
function tcpCounters(file = '/proc/net/netstat') {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].startsWith('TcpExt:') || !lines[i + 1].startsWith('TcpExt:')) continue;
    const names = lines[i].split(/\s+/).slice(1);
    const values = lines[i + 1].split(/\s+/).slice(1).map(Number);
    const out = {};
    for (const w of WANTED) {
      const at = names.indexOf(w);
      if (at >= 0) out[w] = values[at];
    }
    return out;
  }
  return null;
}

/** What grew between two readings (machine-wide: other processes' listeners count too). */
function tcpCountersDelta(before, after) {
  if (!before || !after) return null;
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
}

module.exports = { tcpCounters, tcpCountersDelta };
