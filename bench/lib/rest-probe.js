// A REST read every `everyMs` (default 100 ms) on its own schedule, whether or
// not the one before answered (a stalled API piles up, as it would for a user),
// each with its start time and latency; percentiles per window of marks.
const { percentile } = require('./machine');

function startRestProbe(url, headers = {}, { everyMs = 100, timeoutMs = 30_000 } = {}) {
  const probes = [];
  const marks = new Map();
  const inFlight = new Set();
  const once = () => {
    const p = { t: Date.now(), ms: null, ok: false };
    probes.push(p);
    const run = (async () => {
      try {
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        p.ok = res.ok;
      } catch {
        p.ok = false;
      }
      p.ms = Date.now() - p.t;
    })();
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };
  let paused = false;
  const timer = setInterval(() => paused || once(), everyMs);
  return {
    /** No new probes until resume() (a window that measures the server without API load). */
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    mark(name) {
      marks.set(name, Date.now());
    },
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
    },
    /** Latency of the probes started between two marks (or from a mark to now). */
    window(from, to) {
      const a = marks.get(from);
      const b = to ? marks.get(to) : Date.now();
      const w = probes.filter((p) => p.t >= a && p.t < b);
      const ms = w.map((p) => (p.ms === null ? timeoutMs : p.ms)).sort((x, y) => x - y);
      return {
        probes: w.length,
        failed: w.filter((p) => !p.ok).length,
        p50Ms: percentile(ms, 50),
        p99Ms: percentile(ms, 99),
        maxMs: ms.length ? ms[ms.length - 1] : null,
      };
    },
  };
}

module.exports = { startRestProbe };
