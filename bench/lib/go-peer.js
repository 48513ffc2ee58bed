// The Go side of bench/embedded-vs-peer.bench.js (bench/go-peer): builds the
// in-memory peer server and the Go swarm once per source version into
// tmp/go-peer/<hash>/, starts the peer, and starts a swarm of N agents as
// ceil(N / perProcess) processes (one loopback source address each), each
// read as its JSON stats lines.
const { execFileSync, spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const S = require('./stack');

const SOURCES = path.join(S.repo, 'bench', 'go-peer');

function goVersion() {
  return execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
}

/** A digest of the Go sources and the Go version: a change means a new build directory. */
function sourceHash() {
  const hash = crypto.createHash('sha256').update(`${goVersion()}\n`);
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.go$|^go\.(mod|sum)$/.test(e.name) && !e.name.endsWith('_test.go')) hash.update(`${path.relative(SOURCES, p)}\n`).update(fs.readFileSync(p));
    }
  };
  walk(SOURCES);
  return hash.digest('hex').slice(0, 16);
}

/** The two binaries, built when missing (the first build fetches opamp-go from the Go module proxy). */
function buildGoPeer() {
  const out = path.join(S.repo, 'tmp', 'go-peer', sourceHash());
  const bins = { server: path.join(out, 'peer-server'), swarm: path.join(out, 'peer-swarm') };
  if (fs.existsSync(bins.server) && fs.existsSync(bins.swarm)) return bins;
  console.log(`building bench/go-peer (${goVersion()}) ...`);
  fs.mkdirSync(out, { recursive: true });
  execFileSync('go', ['build', '-o', `${out}${path.sep}`, './cmd/peer-server', './cmd/peer-swarm'], { cwd: SOURCES, stdio: ['ignore', 'inherit', 'inherit'] });
  return bins;
}

/** JSON lines of a child's stdout, one callback per line. */
function onJsonLines(child, fn) {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) {
      if (!l.trim()) continue;
      try {
        fn(JSON.parse(l));
      } catch {
        /* not a JSON line */
      }
    }
  });
}

function startGoProcess(bench, label, binary, args) {
  const log = fs.createWriteStream(path.join(S.logDir(bench), `${label}.log`));
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d) => log.write(d));
  child.once('exit', () => log.end());
  S.children.add(child);
  child.label = label;
  return child;
}

/** The peer server on loopback ports of its own choosing; resolves with its URLs once it listens. */
async function startPeer(bench, bins) {
  const child = startGoProcess(bench, 'peer-server', bins.server, ['-listen', '127.0.0.1:0', '-api', '127.0.0.1:0']);
  const ready = await new Promise((resolve, reject) => {
    onJsonLines(child, (m) => m.event === 'ready' && resolve(m));
    child.once('exit', (code) => reject(new Error(`peer-server exited (${code}) before it listened`)));
  });
  return { child, pid: child.pid, opamp: ready.opamp, api: ready.api };
}

/**
 * N agents over ceil(N / perProcess) swarm processes (source 127.0.0.<firstHost + k>).
 * progress(): started, connected, connect failures, server errors, summed; per configuration hash the
 * agents that applied it and when the last of them did (agent clocks: the same machine).
 */
function startSwarm(bench, bins, { label, endpoint, token, agents, perProcess, heartbeatS, ramp, run, firstHost }) {
  const n = Math.ceil(agents / perProcess);
  const procs = [];
  for (let k = 0; k < n; k++) {
    const count = Math.min(perProcess, agents - k * perProcess);
    const args = ['-endpoint', endpoint, '-agents', String(count), '-first', String(k * perProcess), '-run', run];
    args.push('-heartbeat', `${heartbeatS}s`, '-ramp', String(Math.max(1, Math.floor(ramp / n))), '-source', `127.0.0.${firstHost + k}`, '-stats', '50ms');
    if (token) args.push('-token', token);
    const child = startGoProcess(bench, `${label}-swarm-${k}`, bins.swarm, args);
    const p = { child, last: null, startedAll: false };
    onJsonLines(child, (m) => {
      p.last = m;
      if (m.event === 'started') p.startedAll = true;
    });
    procs.push(p);
  }
  return {
    pids: () => procs.map((p) => p.child.pid),
    progress() {
      const sum = { started: 0, connected: 0, connectFailed: 0, serverErrors: 0, applied: {}, allStarted: procs.every((p) => p.startedAll) };
      for (const p of procs) {
        const m = p.last;
        if (!m) continue;
        sum.started += m.started;
        sum.connected += m.connected;
        sum.connectFailed += m.connectFailed;
        sum.serverErrors += m.serverErrors;
        for (const [h, c] of Object.entries(m.applied)) {
          const a = (sum.applied[h] ??= { agents: 0, lastMs: 0 });
          a.agents += c.agents;
          a.lastMs = Math.max(a.lastMs, c.lastMs);
        }
      }
      return sum;
    },
    async stop() {
      await Promise.all(procs.map((p) => S.stopApp(p.child, 'SIGTERM', 10_000)));
    },
  };
}

module.exports = { buildGoPeer, startPeer, startSwarm, goVersion };
