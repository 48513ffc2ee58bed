/**
 * Retrying a package install that failed, pure: the agent reported
 * INSTALL_FAILED for the set it was offered, and the set is offered again
 * after a back-off, a bounded number of times (core/limits.ts
 * DEFAULT_PACKAGE_RETRY_BACKOFF_MS).
 *
 * An agent compares all_packages_hash with the hash of the last set it saw
 * and skips a set it already has (C71; opamp-go records it when a sync
 * starts, so also when the sync failed), so a retry carries another
 * all_packages_hash: the set's own hash for the first offer (attempt 0, what
 * every agent already has), a hash of (the set, the attempt) after. A new
 * set (another version, a rollback) starts from attempt 0.
 *
 * Agents a package rollout has moved are not retried: the rollout's gate
 * judges their failure (and its rollback offers them the previous set).
 */
import { createHash } from 'node:crypto';

export interface PackageRetryState {
  /** The set (its attempt-0 hash) the retries below count for; null: none. */
  readonly of: Buffer | null;
  readonly retries: number;
  /** When the failure of the current attempt was first seen; null: not yet. */
  readonly failedAtMs: number | null;
}

/** all_packages_hash of an attempt: the set's own hash first, then one per retry. */
export function attemptHash(setHash: Buffer, attempt: number): Buffer {
  if (attempt === 0) return setHash;
  return createHash('sha256').update('opamp-fleet package retry\0').update(setHash).update(`\0${attempt}`).digest();
}

/** The attempt an agent is on for this set. */
export function currentAttempt(setHash: Buffer, state: PackageRetryState): number {
  return state.of !== null && state.of.equals(setHash) ? state.retries : 0;
}

export type PackageRetryDecision =
  /** Given up (or not retried here): the failure stands until the set changes. */
  | { kind: 'failed' }
  /** Wait until dueAtMs; record the failure time first when it is new. */
  | { kind: 'wait'; dueAtMs: number; recordFailure: boolean }
  /** Offer the set again as this attempt. */
  | { kind: 'retry'; attempt: number };

/** What to do about a failed install of `attempt` (the agent reported INSTALL_FAILED for the set offered as that attempt). */
export function decidePackageRetry(attempt: number, failedAtMs: number | null, nowMs: number, backoffMs: readonly number[], retriedHere: boolean): PackageRetryDecision {
  if (!retriedHere || attempt >= backoffMs.length) return { kind: 'failed' };
  const since = failedAtMs ?? nowMs;
  const dueAtMs = since + backoffMs[attempt];
  if (nowMs >= dueAtMs) return { kind: 'retry', attempt: attempt + 1 };
  return { kind: 'wait', dueAtMs, recordFailure: failedAtMs === null };
}

/** OPAMP_PACKAGE_RETRY_BACKOFF_MS: waits in ms, comma-separated ("" = never retry). */
export function parseRetryBackoff(text: string, max: number): number[] {
  const t = text.trim();
  if (t === '') return [];
  const out = t.split(',').map((p) => {
    const n = Number(p.trim());
    if (!Number.isInteger(n) || n < 0) throw new Error(`package retry back-off: "${p.trim()}" is not a whole number of milliseconds`);
    return n;
  });
  if (out.length > max) throw new Error(`package retry back-off: at most ${max} waits, got ${out.length}`);
  return out;
}
