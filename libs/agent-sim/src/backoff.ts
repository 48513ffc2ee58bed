/**
 * Owns the reconnect delay after transport failures: "full jitter"
 * exponential backoff, delay = random(0 .. min(maxMs, initialMs * 2^attempt)).
 * Full jitter spreads a fleet that lost its server at the same instant over
 * the whole window, so the reconnect wave is flat instead of a herd.
 */

export interface BackoffSettings {
  /** Upper bound of the first delay (attempt 0). */
  readonly initialMs: number;
  /** Cap on the window, however many attempts failed. */
  readonly maxMs: number;
}

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Rng = () => number;

/** The window (upper bound) of attempt `attempt` (0-based). */
export function backoffCeilingMs(attempt: number, settings: BackoffSettings): number {
  const initial = Math.max(0, settings.initialMs);
  const max = Math.max(initial, settings.maxMs);
  // 2^attempt overflows to Infinity for huge attempts, which min() clamps.
  return Math.min(max, initial * 2 ** Math.max(0, Math.floor(attempt)));
}

/** A full-jitter delay for attempt `attempt` (0-based), an integer number of ms. */
export function fullJitterDelayMs(attempt: number, settings: BackoffSettings, rng: Rng): number {
  const r = rng();
  const unit = r >= 0 && r < 1 ? r : 0;
  return Math.floor(unit * backoffCeilingMs(attempt, settings));
}
