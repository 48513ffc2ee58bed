/**
 * Owns the swarm's error samples: a few distinct messages per error kind, so a
 * run that counts 3,818 "transport" errors also says what they were ("socket
 * hang up", "read ECONNRESET") without keeping one string per error. Numbers
 * in a message (ports, ids, counts) are folded to N so that the same failure
 * on many agents is one sample, with how often it was seen.
 */

/** Distinct messages kept per kind. */
export const MAX_SAMPLES_PER_KIND = 3;
/** Kinds sampled at most (kinds beyond are counted elsewhere, not sampled). */
export const MAX_SAMPLED_KINDS = 16;
/** A sample's message is cut to this many characters. */
export const MAX_SAMPLE_CHARS = 200;

export interface ErrorSample {
  readonly message: string;
  readonly count: number;
}

/** kind -> its samples, most frequent first. */
export type ErrorSampleSet = Record<string, ErrorSample[]>;

export function foldMessage(message: string): string {
  const folded = message.replace(/\d+/g, 'N').replace(/\s+/g, ' ').trim();
  return folded.length > MAX_SAMPLE_CHARS ? `${folded.slice(0, MAX_SAMPLE_CHARS - 1)}…` : folded;
}

export class ErrorSamples {
  private readonly byKind = new Map<string, Map<string, number>>();

  record(kind: string, message: string): void {
    let messages = this.byKind.get(kind);
    if (!messages) {
      if (this.byKind.size >= MAX_SAMPLED_KINDS) return;
      this.byKind.set(kind, (messages = new Map()));
    }
    const folded = foldMessage(message);
    const seen = messages.get(folded);
    if (seen !== undefined) messages.set(folded, seen + 1);
    else if (messages.size < MAX_SAMPLES_PER_KIND) messages.set(folded, 1);
  }

  snapshot(): ErrorSampleSet {
    const out: ErrorSampleSet = {};
    for (const [kind, messages] of this.byKind) {
      out[kind] = [...messages].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count);
    }
    return out;
  }
}

/** The samples of several workers as one set: counts of the same message added, the most frequent kept. */
export function mergeErrorSamples(sets: readonly ErrorSampleSet[]): ErrorSampleSet {
  const merged = new Map<string, Map<string, number>>();
  for (const set of sets) {
    for (const [kind, samples] of Object.entries(set)) {
      let messages = merged.get(kind);
      if (!messages) merged.set(kind, (messages = new Map()));
      for (const s of samples) messages.set(s.message, (messages.get(s.message) ?? 0) + s.count);
    }
  }
  const out: ErrorSampleSet = {};
  for (const [kind, messages] of merged) {
    out[kind] = [...messages]
      .map(([message, count]) => ({ message, count }))
      .sort((a, b) => b.count - a.count)
      .slice(0, MAX_SAMPLES_PER_KIND);
  }
  return out;
}

/** One line per kind, e.g. `transport: "socket hang up" ×3,001, "read ECONNRESET" ×817`. */
export function formatErrorSamples(set: ErrorSampleSet): string[] {
  return Object.keys(set)
    .sort()
    .map((kind) => `${kind}: ${set[kind].map((s) => `${JSON.stringify(s.message)} ×${s.count.toLocaleString('en-US')}`).join(', ')}`);
}
