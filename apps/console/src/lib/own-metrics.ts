/**
 * Agents' own metrics for the charts (issue 19 item 4), pure: the ranges the
 * pages offer and which table answers them, what each chart draws from the
 * API's series kinds, the series put on one time axis for uPlot, the units,
 * and the "since the change" comparison of before and after.
 */

/** The API's series (GetAgentOwnMetrics: value per point; group roll-ups: sum over agents). */
export interface AgentOwnPoint {
  timeUnixMs: string | number;
  value: number;
  max: number;
}
export interface AgentOwnSeries {
  kind: string;
  component: string;
  signal: string;
  points: AgentOwnPoint[];
}
export interface AgentOwnMetricsResponse {
  instanceUid: string;
  startTime: string;
  endTime: string;
  stepSeconds: number;
  series: AgentOwnSeries[];
  truncated: boolean;
}
export interface GroupOwnPoint {
  timeUnixMs: string | number;
  sum: number;
  max: number;
  agents: number;
}
export interface GroupOwnSeries {
  kind: string;
  signal: string;
  points: GroupOwnPoint[];
}
export interface FleetOwnMetricGroup {
  value: string;
  hasValue: boolean;
  remoteConfigHash?: string;
  configurationName?: string;
  configurationVersion?: number;
  agents: number;
  series: GroupOwnSeries[];
}
export interface FleetOwnMetricsResponse {
  groupBy: string;
  startTime: string;
  endTime: string;
  stepSeconds: number;
  groups: FleetOwnMetricGroup[];
  truncated: boolean;
}
export interface RolloutBatchOwnMetricsResponse {
  rolloutName: string;
  batchIndex: number;
  batchName: string;
  batchState: string;
  configurationName: string;
  fromVersion: number;
  toVersion: number;
  startedAt: string;
  finishedAt: string;
  startTime: string;
  endTime: string;
  stepSeconds: number;
  agents: number;
  series: GroupOwnSeries[];
  truncated: boolean;
}
export interface ConfigurationVersionOwnMetricsResponse {
  configurationName: string;
  version: number;
  createdAt: string;
  startTime: string;
  endTime: string;
  stepSeconds: number;
  agents: number;
  series: GroupOwnSeries[];
  truncated: boolean;
}

// --- ranges ---------------------------------------------------------------------------------

export type RangeKey = '1h' | '24h' | '7d' | '30d';

/** Up to a day the API answers from the 10 s points, beyond from the 5-minute rollups. */
export const RANGES: readonly { key: RangeKey; label: string; ms: number; pollMs: number }[] = [
  { key: '1h', label: '1 h', ms: 3_600_000, pollMs: 10_000 },
  { key: '24h', label: '24 h', ms: 86_400_000, pollMs: 30_000 },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000, pollMs: 60_000 },
  { key: '30d', label: '30 d', ms: 30 * 86_400_000, pollMs: 60_000 },
];

export function rangeOf(key: string): (typeof RANGES)[number] {
  return RANGES.find((r) => r.key === key) ?? RANGES[0];
}

/** The query of a range ending now. */
export function rangeQuery(key: RangeKey, nowMs: number): { startTime: string; endTime: string } {
  return { startTime: new Date(nowMs - rangeOf(key).ms).toISOString(), endTime: new Date(nowMs).toISOString() };
}

// --- what the charts draw -------------------------------------------------------------------

export type Unit = 'rate' | 'bytes' | 'percent';

/**
 * One line: the sum of `kinds`, plus what processors dropped when they report
 * items in and out (the newer naming: incoming minus outgoing), or the ratio of
 * two kinds (queue fill); times `scale`.
 */
export interface LineSpec {
  key: string;
  label: string;
  color: string;
  kinds?: readonly string[];
  difference?: readonly [string, string];
  ratio?: readonly [string, string];
  scale?: number;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: Unit;
  lines: readonly LineSpec[];
}

const DROPPED: LineSpec = { key: 'dropped', label: 'dropped by processors', color: '#a16207', kinds: ['processor_dropped', 'processor_refused'], difference: ['processor_incoming', 'processor_outgoing'] };

export const THROUGHPUT: ChartSpec = {
  id: 'throughput',
  title: 'Throughput',
  unit: 'rate',
  lines: [
    { key: 'in', label: 'in (receivers accepted)', color: '#2563eb', kinds: ['receiver_accepted'] },
    { key: 'out', label: 'out (exporters sent)', color: '#15803d', kinds: ['exporter_sent'] },
  ],
};
export const FAILURES: ChartSpec = {
  id: 'failures',
  title: 'Refused / failed items',
  unit: 'rate',
  lines: [
    { key: 'refused', label: 'refused by receivers', color: '#7c3aed', kinds: ['receiver_refused'] },
    { key: 'failed', label: 'export failed', color: '#b91c1c', kinds: ['exporter_send_failed'] },
    DROPPED,
  ],
};
export const QUEUE: ChartSpec = {
  id: 'queue',
  title: 'Exporter queue fill',
  unit: 'percent',
  lines: [{ key: 'fill', label: 'size / capacity', color: '#0e7490', ratio: ['exporter_queue_size', 'exporter_queue_capacity'], scale: 100 }],
};
export const CPU: ChartSpec = {
  id: 'cpu',
  title: 'CPU',
  unit: 'percent',
  lines: [{ key: 'cpu', label: 'of one core', color: '#c2410c', kinds: ['process_cpu_seconds'], scale: 100 }],
};
export const MEMORY: ChartSpec = {
  id: 'memory',
  title: 'Memory (RSS)',
  unit: 'bytes',
  lines: [{ key: 'rss', label: 'resident', color: '#4338ca', kinds: ['process_memory_rss'] }],
};

export const AGENT_CHARTS: readonly ChartSpec[] = [THROUGHPUT, FAILURES, QUEUE, CPU, MEMORY];
/** Fleet and group charts: sums over agents (CPU and memory summed say little: left to the agent page). */
export const GROUP_CHARTS: readonly ChartSpec[] = [THROUGHPUT, FAILURES, QUEUE];

// --- series on one time axis ----------------------------------------------------------------

/** Per kind, per bucket start (ms): the total, and how many agents reported (1 for one agent's series). */
export type KindTotals = Map<string, Map<number, { total: number; agents: number }>>;

/**
 * One agent's series summed per kind and bucket of `stepMs`: each series
 * (component, signal) averaged within a bucket first, so a reading that
 * lands twice in one bucket does not count double.
 */
export function agentTotals(series: readonly AgentOwnSeries[], stepMs: number): KindTotals {
  const out: KindTotals = new Map();
  for (const s of series) {
    const buckets = new Map<number, { sum: number; n: number }>();
    for (const p of s.points) {
      const b = Math.floor(Number(p.timeUnixMs) / stepMs) * stepMs;
      const cur = buckets.get(b) ?? { sum: 0, n: 0 };
      cur.sum += p.value;
      cur.n += 1;
      buckets.set(b, cur);
    }
    const kind = out.get(s.kind) ?? new Map<number, { total: number; agents: number }>();
    for (const [b, { sum, n }] of buckets) {
      const cur = kind.get(b) ?? { total: 0, agents: 1 };
      cur.total += sum / n;
      kind.set(b, cur);
    }
    out.set(s.kind, kind);
  }
  return out;
}

/** Group series (already summed over agents by the server) per kind and bucket; several groups add up. */
export function groupTotals(seriesLists: readonly (readonly GroupOwnSeries[])[], stepMs: number): KindTotals {
  const out: KindTotals = new Map();
  for (const list of seriesLists) {
    for (const s of list) {
      const kind = out.get(s.kind) ?? new Map<number, { total: number; agents: number }>();
      for (const p of s.points) {
        const b = Math.floor(Number(p.timeUnixMs) / stepMs) * stepMs;
        const cur = kind.get(b) ?? { total: 0, agents: 0 };
        cur.total += p.sum;
        // The signals of one kind are the same agents: the most of them, not their sum.
        cur.agents = Math.max(cur.agents, p.agents);
        kind.set(b, cur);
      }
      out.set(s.kind, kind);
    }
  }
  return out;
}

function sumOf(totals: KindTotals, kinds: readonly string[], b: number): { total: number; agents: number } | null {
  let found = false;
  let total = 0;
  let agents = 0;
  for (const k of kinds) {
    const v = totals.get(k)?.get(b);
    if (!v) continue;
    found = true;
    total += v.total;
    agents = Math.max(agents, v.agents);
  }
  return found ? { total, agents } : null;
}

/** A line's value in one bucket (null: nothing reported for it), with the agents behind it. */
export function lineValue(line: LineSpec, totals: KindTotals, b: number): { value: number; agents: number } | null {
  const scale = line.scale ?? 1;
  if (line.ratio) {
    const num = sumOf(totals, [line.ratio[0]], b);
    const den = sumOf(totals, [line.ratio[1]], b);
    if (!num || !den || den.total <= 0) return null;
    return { value: (num.total / den.total) * scale, agents: Math.max(num.agents, den.agents) };
  }
  const direct = sumOf(totals, line.kinds ?? [], b);
  let value = direct?.total ?? 0;
  let agents = direct?.agents ?? 0;
  let found = direct !== null;
  if (line.difference) {
    const a = sumOf(totals, [line.difference[0]], b);
    const z = sumOf(totals, [line.difference[1]], b);
    if (a && z) {
      // What a processor holds back for a moment (batching) is not lost: never below zero.
      value += Math.max(0, a.total - z.total);
      agents = Math.max(agents, a.agents, z.agents);
      found = true;
    }
  }
  return found ? { value: value * scale, agents } : null;
}

export interface ChartData {
  /** Bucket starts in seconds (uPlot's x). */
  x: number[];
  /** Per line of the spec, a value per x (null: a gap). */
  ys: (number | null)[][];
}

/**
 * The buckets any line has a value in, in order, with a gap (a null bucket)
 * where more than `gapSteps` steps pass without one: an agent that stopped
 * reporting shows as a break, not a straight line across.
 */
export function chartData(spec: ChartSpec, totals: KindTotals, stepMs: number, gapSteps = 3): ChartData {
  const buckets = new Set<number>();
  for (const line of spec.lines) {
    const kinds = [...(line.kinds ?? []), ...(line.difference ?? []), ...(line.ratio ?? [])];
    for (const k of kinds) for (const b of totals.get(k)?.keys() ?? []) buckets.add(b);
  }
  const sorted = [...buckets].sort((a, b) => a - b);
  const x: number[] = [];
  const ys: (number | null)[][] = spec.lines.map(() => []);
  let prev: number | null = null;
  for (const b of sorted) {
    if (prev !== null && b - prev > gapSteps * stepMs) {
      x.push((prev + stepMs) / 1000);
      ys.forEach((y) => y.push(null));
    }
    x.push(b / 1000);
    spec.lines.forEach((line, i) => ys[i].push(lineValue(line, totals, b)?.value ?? null));
    prev = b;
  }
  return { x, ys };
}

/** The last value of a line that is not a gap (the legend's "now"). */
export function latestValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

// --- units ----------------------------------------------------------------------------------

function compact(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${trim(n / 1e9)}G`;
  if (abs >= 1e6) return `${trim(n / 1e6)}M`;
  if (abs >= 1e3) return `${trim(n / 1e3)}k`;
  return trim(n);
}

function trim(n: number): string {
  const abs = Math.abs(n);
  const digits = abs === 0 || abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return String(Number(n.toFixed(digits)));
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatValue(v: number | null, unit: Unit): string {
  if (v === null || !Number.isFinite(v)) return '—';
  if (unit === 'rate') return `${compact(v)}/s`;
  if (unit === 'percent') return `${trim(v)} %`;
  let n = v;
  let i = 0;
  while (Math.abs(n) >= 1024 && i < BYTE_UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${trim(n)} ${BYTE_UNITS[i]}`;
}

// --- before and after a change --------------------------------------------------------------

/** What the comparisons look at: failures and drops first, throughput last. */
export const COMPARED: readonly { line: LineSpec; label: string; worseWhenUp: boolean }[] = [
  { line: FAILURES.lines[1], label: 'export failures', worseWhenUp: true },
  { line: FAILURES.lines[0], label: 'refused items', worseWhenUp: true },
  { line: DROPPED, label: 'dropped items', worseWhenUp: true },
  { line: THROUGHPUT.lines[1], label: 'throughput out', worseWhenUp: false },
];

/** Mean per agent of a line over the buckets in [fromMs, toMs): per bucket total / agents, averaged; null when none. */
export function meanPerAgent(line: LineSpec, totals: KindTotals, fromMs: number, toMs: number): number | null {
  const buckets = new Set<number>();
  for (const k of [...(line.kinds ?? []), ...(line.difference ?? [])]) for (const b of totals.get(k)?.keys() ?? []) if (b >= fromMs && b < toMs) buckets.add(b);
  let sum = 0;
  let n = 0;
  for (const b of buckets) {
    const v = lineValue(line, totals, b);
    if (!v || v.agents <= 0) continue;
    sum += v.value / v.agents;
    n++;
  }
  return n > 0 ? sum / n : null;
}

export interface Change {
  label: string;
  before: number | null;
  after: number | null;
  /** Percent change of after over before; null when before is zero or a side is missing. */
  percent: number | null;
  /** up, down, unchanged (within 1 %), new (none before, some after), none (zero on both sides), unknown (a side has no data). */
  direction: 'up' | 'down' | 'unchanged' | 'new' | 'none' | 'unknown';
  worse: boolean;
}

export function change(label: string, before: number | null, after: number | null, worseWhenUp: boolean): Change {
  if (before === null || after === null) return { label, before, after, percent: null, direction: 'unknown', worse: false };
  if (before === 0) {
    if (after === 0) return { label, before, after, percent: null, direction: 'none', worse: false };
    return { label, before, after, percent: null, direction: 'new', worse: worseWhenUp };
  }
  const percent = ((after - before) / before) * 100;
  const direction = Math.abs(percent) < 1 ? 'unchanged' : percent > 0 ? 'up' : 'down';
  const worse = direction === 'unchanged' ? false : (direction === 'up') === worseWhenUp;
  return { label, before, after, percent, direction, worse };
}

/** "since v7, export failures up 40 % (1.2/s → 1.7/s per agent)". */
export function changeText(since: string, c: Change): string {
  const per = (v: number | null) => `${formatValue(v, 'rate')}`;
  const values = `(${per(c.before)} → ${per(c.after)} per agent)`;
  switch (c.direction) {
    case 'up':
    case 'down':
      return `${since}, ${c.label} ${c.direction} ${Math.round(Math.abs(c.percent ?? 0))} % ${values}`;
    case 'unchanged':
      return `${since}, ${c.label} unchanged ${values}`;
    case 'new':
      return `${since}, ${c.label} up from none to ${per(c.after)} per agent`;
    case 'none':
      return `${since}, no ${c.label} before or after`;
    default:
      return `${since}, ${c.label}: ${c.before === null ? 'no data before' : 'no data after'}`;
  }
}

/** Every compared line before and after `changeMs` within one set of totals (the same agents, before and after). */
export function changesAround(totals: KindTotals, changeMs: number, fromMs: number, toMs: number): Change[] {
  return COMPARED.map((c) => change(c.label, meanPerAgent(c.line, totals, fromMs, changeMs), meanPerAgent(c.line, totals, changeMs, toMs), c.worseWhenUp));
}

/** Every compared line of two groups (the agents on the previous version, those on the new one) over the same range. */
export function changesBetween(before: KindTotals, after: KindTotals, fromMs: number, toMs: number): Change[] {
  return COMPARED.map((c) => change(c.label, meanPerAgent(c.line, before, fromMs, toMs), meanPerAgent(c.line, after, fromMs, toMs), c.worseWhenUp));
}
