// Top functions of a V8 CPU profile (`node --cpu-prof`) within a wall-clock
// window: self time per function and per module (a package under
// node_modules, a lib or app of this repository, or V8's own rows such as
// (garbage collector)), so a result says where a phase's time went.
// Sample times are CLOCK_MONOTONIC microseconds, the clock of process.hrtime,
// so `monoToWall` (from this process) maps them onto Date.now().
const fs = require('fs');

/** Offset to add to a monotonic µs timestamp to get wall-clock ms. */
function monoToWallOffsetMs() {
  return Date.now() - Number(process.hrtime.bigint() / 1000n) / 1000;
}

function moduleOf(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /\/dist\/out-tsc\/((?:libs|apps)\/[^/]+)\//.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node (core)';
  return url.slice(url.lastIndexOf('/') + 1);
}

/** Where a function is, for its row: a repository file under dist/out-tsc, or a package and its file. */
function whereOf(url) {
  const m = /\/dist\/out-tsc\/(.*)$/.exec(url);
  if (m) return m[1];
  const mod = moduleOf(url);
  const file = url.slice(url.lastIndexOf('/') + 1);
  return mod && mod !== file ? `${mod}/${file}` : mod;
}

function summarizeCpuProfile(file, { fromMs, toMs, offsetMs, top = 15 }) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const nd of prof.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  /** The nearest caller outside Node's core with a source location: where a native function's time comes from. */
  const jsCaller = (id) => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const cf = byId.get(p).callFrame;
      if (cf.url && !cf.url.startsWith('node:')) return `${cf.functionName || '(anonymous)'} ${whereOf(cf.url)}:${cf.lineNumber + 1}`;
    }
    return '(none)';
  };
  const callers = new Map();
  const self = new Map();
  const mods = new Map();
  let t = prof.startTime;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    const wall = t / 1000 + offsetMs;
    if (wall < fromMs || wall > toMs) continue;
    const dt = (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i]) / 1000;
    const n = byId.get(prof.samples[i]);
    const cf = n.callFrame;
    const mod = moduleOf(cf.url);
    const key = `${cf.functionName || '(anonymous)'} ${whereOf(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) || 0) + dt);
    if (!cf.url && !cf.functionName.startsWith('(')) {
      const by = callers.get(key) ?? new Map();
      const c = jsCaller(n.id);
      by.set(c, (by.get(c) || 0) + dt);
      callers.set(key, by);
    }
    // V8's own rows are named in parentheses; other rows without a url are native or generated at run time.
    const group = mod || (cf.functionName.startsWith('(') ? cf.functionName : '(native or generated code)');
    mods.set(group, (mods.get(group) || 0) + dt);
    total += dt;
  }
  const rows = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: +ms.toFixed(0), percent: +((ms / total) * 100).toFixed(1) }));
  const topFunctions = rows(self).map((f) => (callers.has(f.name) ? { ...f, calledFrom: rows(callers.get(f.name)).slice(0, 3) } : f));
  return { windowMs: toMs - fromMs, sampledMs: +total.toFixed(0), topFunctions, topModules: rows(mods) };
}

/**
 * The stretches of a window in which the thread never went idle for at least
 * `minMs` (the event loop was blocked that long: no timer, no socket served),
 * longest first, each with the repository functions that held it (inclusive
 * time: the stack from the task's entry down to the work) and the top
 * functions by self time, so a stall is named at its cause.
 */
function longTasks(file, { fromMs, toMs, offsetMs, minMs = 50, top = 8 }) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const nd of prof.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const label = (cf) => `${cf.functionName || '(anonymous)'} ${whereOf(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
  const stretches = [];
  let cur = null;
  const close = () => {
    if (cur && cur.ms >= minMs) stretches.push(cur);
    cur = null;
  };
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i];
    const wall = t / 1000 + offsetMs;
    if (wall < fromMs || wall > toMs) continue;
    const dt = (prof.timeDeltas[i + 1] ?? prof.timeDeltas[i]) / 1000;
    const n = byId.get(prof.samples[i]);
    if (n.callFrame.functionName === '(idle)') {
      close();
      continue;
    }
    cur ??= { atMs: Math.round(wall - fromMs), ms: 0, self: new Map(), inclusive: new Map() };
    cur.ms += dt;
    const selfKey = label(n.callFrame);
    cur.self.set(selfKey, (cur.self.get(selfKey) || 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id).callFrame;
      if (!/\/dist\/out-tsc\//.test(cf.url)) continue;
      const key = label(cf);
      if (seen.has(key)) continue;
      seen.add(key);
      cur.inclusive.set(key, (cur.inclusive.get(key) || 0) + dt);
    }
  }
  close();
  const rows = (m, total) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: +ms.toFixed(0), percent: +((ms / total) * 100).toFixed(0) }));
  return stretches
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
    .map((s) => ({ atMs: s.atMs, ms: +s.ms.toFixed(0), repositoryFunctions: rows(s.inclusive, s.ms), selfTime: rows(s.self, s.ms) }));
}

module.exports = { summarizeCpuProfile, longTasks, monoToWallOffsetMs };
