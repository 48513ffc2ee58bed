/**
 * Owns the swarm's deterministic randomness: a small seeded generator and a
 * way to derive an independent stream per agent index, so that agent i gets
 * the same description whichever worker process runs it (and the parent can
 * recompute it to pick convergence targets without asking the workers).
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32: 32-bit state, fast, good enough for sampling distributions. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit mix of two integers (murmur3 finaliser over seed and index). */
export function mixSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The random stream of agent `index` in a swarm seeded with `seed`. */
export function agentRng(seed: number, index: number): Rng {
  return seededRng(mixSeed(seed, index));
}

/** A numeric seed from text (FNV-1a), so `--seed fleet-a` works as well as `--seed 42`. */
export function seedFromText(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) >>> 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
