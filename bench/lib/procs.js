// CPU and resident memory of each process kind (gateway, status-ingest,
// config-service, swarm workers, Kafka, Redis, PostgreSQL ...) sampled from
// procfs, plus the whole machine's CPU, so a result can say how busy each part
// was and how much load came from processes that are not the benchmark's.
const fs = require('fs');
// Result files name processes without this machine's paths.
const REPO = require('path').join(__dirname, '..', '..');

/**
 * A command line as a result file may keep it: no path of this machine (this
 * checkout's, another checkout's, a temp dir's). An absolute path keeps what
 * follows its node_modules/, else only its last segment.
 */
function machineFreeCommand(cmd) {
  return cmd
    .split(`${REPO}/`)
    .join('')
    .replace(/(^|[\s=])\/\S*/g, (m, lead) => {
      const p = m.slice(lead.length);
      const i = p.indexOf('/node_modules/');
      return lead + (i >= 0 ? p.slice(i + 1) : p.slice(p.lastIndexOf('/') + 1));
    });
}
const path = require('path');
const { procStats } = require('./machine');

const repo = path.join(__dirname, '..', '..');
const TICK = 100; // USER_HZ

function readCmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

function allPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function ppidOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** The pids of this repository's infra (deploy/infra/infra.sh): kafka, redis, postgres (postmaster and its children). */
/**
 * The local infrastructure's processes: infra.sh's instances under OPAMP_INFRA_DIR (default
 * .infra), Redis found by the port of OPAMP_REDIS_URL (default 63790).
 */
function infraPids() {
  const pids = allPids();
  const dir = process.env.OPAMP_INFRA_DIR ? path.resolve(process.env.OPAMP_INFRA_DIR) : path.join(repo, '.infra');
  const redisPort = /:(\d+)\/?$/.exec(process.env.OPAMP_REDIS_URL ?? '')?.[1] ?? '63790';
  const kafka = pids.filter((p) => {
    const c = readCmdline(p);
    return c.includes('kafka.Kafka') && c.includes(`${dir}/kafka`);
  });
  const redis = pids.filter((p) => readCmdline(p).startsWith(`redis-server 127.0.0.1:${redisPort}`));
  let postgres = [];
  try {
    const master = Number(fs.readFileSync(path.join(dir, 'postgres/data/postmaster.pid'), 'utf8').split('\n')[0]);
    postgres = [master, ...pids.filter((p) => ppidOf(p) === master)];
  } catch {
    /* not running */
  }
  return { kafka, redis, postgres };
}

function machineBusySeconds() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = line[3] + (line[4] || 0);
  const total = line.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / TICK, total: total / TICK };
}

/**
 * Samples `kinds` (kind -> function returning the current pids) every
 * `intervalMs`. Per kind: cumulative CPU seconds (summed per pid, so a pid
 * that goes away keeps what it used), current and peak RSS, peak CPU% over one
 * interval. `mark(name)` remembers a point; `window(a, b)` gives CPU% per kind
 * between two marks, machine CPU% and the share from other processes.
 */
class Sampler {
  constructor(kinds, intervalMs = 1_000) {
    this.kinds = kinds;
    this.intervalMs = intervalMs;
    this.lastCpu = new Map(); // pid -> cpu seconds
    this.acc = {}; // kind -> cumulative cpu seconds
    this.rss = {}; // kind -> current rss
    this.peakRss = {};
    this.peakCpu = {};
    this.count = {};
    this.marks = new Map();
    this.prev = null;
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample() {
    const now = Date.now();
    const m = machineBusySeconds();
    const snap = { t: now, machine: m, kinds: {} };
    for (const [kind, get] of Object.entries(this.kinds)) {
      let rss = 0;
      let n = 0;
      for (const pid of get() || []) {
        let s;
        try {
          s = procStats(pid);
        } catch {
          continue;
        }
        n++;
        const key = `${kind}:${pid}`;
        const before = this.lastCpu.get(key);
        this.lastCpu.set(key, s.cpuSeconds);
        this.acc[kind] = (this.acc[kind] || 0) + (before === undefined ? 0 : Math.max(0, s.cpuSeconds - before));
        rss += s.rssBytes;
      }
      this.acc[kind] = this.acc[kind] || 0;
      this.rss[kind] = rss;
      this.count[kind] = n;
      this.peakRss[kind] = Math.max(this.peakRss[kind] || 0, rss);
      snap.kinds[kind] = { cpu: this.acc[kind], rss, n };
      if (this.prev) {
        const pct = ((this.acc[kind] - this.prev.kinds[kind]?.cpu || 0) / ((now - this.prev.t) / 1000)) * 100;
        this.peakCpu[kind] = Math.max(this.peakCpu[kind] || 0, pct);
      }
    }
    this.prev = snap;
    this.last = snap;
    return snap;
  }

  mark(name) {
    const s = this.sample();
    this.marks.set(name, s);
    return s;
  }

  resetPeaks() {
    this.peakRss = { ...this.rss };
    this.peakCpu = {};
  }

  /** CPU% per kind (100 = one core), machine busy %, and CPU% not accounted for by the kinds. */
  window(from, to) {
    const a = this.marks.get(from);
    const b = this.marks.get(to);
    const secs = (b.t - a.t) / 1000;
    const out = { seconds: +secs.toFixed(1), cpuPercent: {}, rssMiB: {}, processes: {} };
    let ours = 0;
    for (const kind of Object.keys(this.kinds)) {
      const d = (b.kinds[kind]?.cpu || 0) - (a.kinds[kind]?.cpu || 0);
      ours += d;
      out.cpuPercent[kind] = +((d / secs) * 100).toFixed(1);
      out.rssMiB[kind] = +((b.kinds[kind]?.rss || 0) / 2 ** 20).toFixed(1);
      out.processes[kind] = b.kinds[kind]?.n || 0;
    }
    const busy = b.machine.busy - a.machine.busy;
    const total = b.machine.total - a.machine.total;
    // busy time of all cores, as % of one core (200 = both cores of a 2-core machine busy)
    void total;
    out.machineBusyPercent = +((busy / secs) * 100).toFixed(1);
    out.otherProcessesCpuPercent = +(Math.max(0, busy - ours) / secs * 100).toFixed(1);
    return out;
  }

  peaks() {
    const out = { peakRssMiB: {}, peakCpuPercent: {} };
    for (const kind of Object.keys(this.kinds)) {
      out.peakRssMiB[kind] = +((this.peakRss[kind] || 0) / 2 ** 20).toFixed(1);
      out.peakCpuPercent[kind] = +(this.peakCpu[kind] || 0).toFixed(1);
    }
    return out;
  }

  stop() {
    clearInterval(this.timer);
  }
}

/** The busiest processes on the machine right now that are not in `ours` (for "load from others"). */
async function topOthers(ours, seconds = 1) {
  const own = new Set(ours);
  const first = new Map();
  for (const p of allPids()) {
    try {
      first.set(p, procStats(p).cpuSeconds);
    } catch {
      /* gone */
    }
  }
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rows = [];
  for (const [p, c0] of first) {
    if (own.has(p) || p === process.pid) continue;
    try {
      const d = procStats(p).cpuSeconds - c0;
      if (d > 0.02) rows.push({ pid: p, cpuPercent: +((d / seconds) * 100).toFixed(0), cmd: machineFreeCommand(readCmdline(p)).slice(0, 100) });
    } catch {
      /* gone */
    }
  }
  return rows.sort((a, b) => b.cpuPercent - a.cpuPercent).slice(0, 8);
}

/** The embedded server's PostgreSQL: its postmaster (from the data directory's pid file) and that postmaster's children. */
function postgresPids(dataDir) {
  let master;
  try {
    master = Number(fs.readFileSync(require('path').join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const pids = [master];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Proportional set size in bytes: PostgreSQL's processes share their buffers, RSS would count them once per process. */
function pssBytes(pid) {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]) * 1024;
  } catch {
    return 0;
  }
}

module.exports = { Sampler, infraPids, machineBusySeconds, topOthers, readCmdline, postgresPids, pssBytes };
