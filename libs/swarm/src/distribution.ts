/**
 * Owns weighted categorical distributions ("prod:70,staging:20,dev:10") and
 * sampling from them with a caller-supplied uniform number, so sampling is
 * deterministic under a seeded generator.
 */

export interface WeightedValue {
  readonly value: string;
  readonly weight: number;
}

export type Distribution = readonly WeightedValue[];

/**
 * Parse `value:weight,value:weight,...`; a value without a weight weighs 1.
 * Weights are relative (they need not sum to 100).
 */
export function parseDistribution(text: string, field = 'distribution'): Distribution {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const at = item.lastIndexOf(':');
      const value = (at > 0 ? item.slice(0, at) : item).trim();
      const weight = at > 0 ? Number(item.slice(at + 1)) : 1;
      if (!value) throw new Error(`${field}: empty value in "${text}"`);
      if (!Number.isFinite(weight) || weight < 0) throw new Error(`${field}: weight of "${value}" must be a number >= 0`);
      return { value, weight };
    });
  checkDistribution(items, field);
  return items;
}

export function checkDistribution(dist: Distribution, field = 'distribution'): void {
  if (dist.length === 0) throw new Error(`${field}: needs at least one value`);
  const total = dist.reduce((sum, d) => sum + d.weight, 0);
  if (!(total > 0)) throw new Error(`${field}: weights must add up to more than 0`);
}

export function formatDistribution(dist: Distribution): string {
  return dist.map((d) => `${d.value}:${d.weight}`).join(',');
}

/** Samples a distribution by inverse CDF (binary search over cumulative weights). */
export class WeightedSampler {
  private readonly values: string[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(dist: Distribution) {
    checkDistribution(dist);
    this.values = dist.map((d) => d.value);
    this.cumulative = new Float64Array(dist.length);
    let sum = 0;
    dist.forEach((d, i) => {
      sum += d.weight;
      this.cumulative[i] = sum;
    });
    this.total = sum;
  }

  /** The value for a uniform number `u` in [0, 1) (zero-weight values are never drawn). */
  sample(u: number): string {
    const target = u * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] > target) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo];
  }
}
