/**
 * Owns the fuzzer's choices: small draws over a seeded stream (the swarm's
 * mulberry32, so a run is replayed exactly from its seed) and the hostile
 * values every mutator plants: text PostgreSQL, YAML, HTML or a log line
 * would mistake for structure, or cannot store at all.
 */
import { seededRng, seedFromText, type Rng } from '@opamp/swarm';

export { seededRng, seedFromText };
export type { Rng };

/** An integer in [lo, hi]. */
export function drawInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function drawOne<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)];
}

export function drawBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

/** Kinds of hostile text; each names what it attacks. */
export const HOSTILE_TEXT_KINDS = [
  'nul',
  'lone-surrogate',
  'control',
  'sql',
  'yaml',
  'template',
  'html',
  'log-line',
  'format',
  'unicode',
  'long',
  'empty',
  'plain',
] as const;
export type HostileTextKind = (typeof HOSTILE_TEXT_KINDS)[number];

/** Text of one hostile kind; `long` stays below `maxLong` characters. */
export function hostileText(rng: Rng, kind: HostileTextKind = drawOne(rng, HOSTILE_TEXT_KINDS), maxLong = 64 * 1024): string {
  const tag = drawInt(rng, 0, 9999).toString(36);
  switch (kind) {
    case 'nul':
      return `a\u0000${tag}\u0000`;
    case 'lone-surrogate':
      return `x\ud800${tag}\udfff`;
    case 'control':
      return `\u0001\u0008\u001b[31m${tag}\u007f\r`;
    case 'sql':
      return `'); DROP TABLE agents; -- ${tag} \\' $1 E'\\x00'`;
    case 'yaml':
      return `a: b\n- ${tag}: [\n!!binary AAAA\n&x *x\n---\n`;
    case 'template':
      return `{{ .agent.${tag} }}\${env:HOME}{{#each}}{{/if}}`;
    case 'html':
      return `<script>alert("${tag}")</script><img src=x onerror=1>`;
    case 'log-line':
      return `ok\n{"level":"error","msg":"forged ${tag}"}\n`;
    case 'format':
      return `%s%n%x%d%%${tag}`;
    case 'unicode':
      return `\u202e${tag}\u200b\ufeff🦀\u0301\uffff`;
    case 'long':
      return tag.repeat(Math.ceil(drawInt(rng, 1024, maxLong) / tag.length));
    case 'empty':
      return '';
    case 'plain':
      return `value-${tag}`;
  }
}
