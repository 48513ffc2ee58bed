/**
 * Owns the swarm's statistics arithmetic: latency samples and their
 * percentiles, counters by kind, rates from cumulative counters.
 */

export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export const EMPTY_SUMMARY: LatencySummary = Object.freeze({ count: 0, min: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0, mean: 0 });

/** Nearest-rank percentile of ascending `sorted` (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  if (p <= 0) return sorted[0];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: ArrayLike<number>): LatencySummary {
  if (values.length === 0) return EMPTY_SUMMARY;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    count: sorted.length,
    min: round(sorted[0]),
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(sum / sorted.length),
  };
}

/** A growable list of numbers without per-sample objects. */
export class SampleBuffer {
  private data = new Float64Array(1024);
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  pushAll(values: ArrayLike<number>): void {
    for (let i = 0; i < values.length; i++) this.push(values[i]);
  }

  /** The samples (a copy). */
  values(): Float64Array {
    return this.data.slice(0, this.size);
  }

  /** Take the samples and empty the buffer. */
  drain(): Float64Array {
    const out = this.values();
    this.size = 0;
    return out;
  }
}

export type Counts = Record<string, number>;

export function addCounts(into: Counts, from: Readonly<Counts>): Counts {
  for (const key in from) into[key] = (into[key] ?? 0) + from[key];
  return into;
}

/** Per-key difference of two cumulative snapshots (keys only in `now` count from 0). */
export function diffCounts(now: Readonly<Counts>, before: Readonly<Counts>): Counts {
  const out: Counts = {};
  for (const key in now) {
    const d = now[key] - (before[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

export function sumCounts(counts: Readonly<Counts>): number {
  let total = 0;
  for (const key in counts) total += counts[key];
  return total;
}

/** Events per second between two cumulative readings. */
export function ratePerSecond(now: number, before: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) return 0;
  return Math.max(0, ((now - before) * 1000) / elapsedMs);
}
