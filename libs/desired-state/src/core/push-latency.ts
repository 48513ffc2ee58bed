/**
 * Push latency (issue 21): since when an agent's desired configuration has
 * been desired, and whether a status report is the APPLIED that ends the
 * wait. "My change took N s to reach agents" counts from the desired-state
 * change (the tenant revision's time: a new version, an assignment change)
 * or, for an agent a rollout moved, from the batch that moved it (the
 * operator chose to stage it: the wait for the batch is not delivery). A
 * change the agent caused itself (a new agent seen first by its own event,
 * its own attributes changing its rendered configuration) is not a push and
 * is not timed.
 */
import { RemoteConfigStatuses } from '@opamp/protocol';

/** What the reconciler recorded for the agent before this decision. */
export interface PreviousDecision {
  readonly configurationName: string | null;
  readonly configurationVersion: number | null;
  readonly desiredHash: Buffer | null;
  readonly desiredSinceMs: number | null;
}

export interface DesiredNow {
  readonly configurationName: string;
  readonly version: number;
  readonly hash: Buffer;
  /** When the rollout batch that pins this version moved the agent (null: not pinned). */
  readonly pinMovedAtMs: number | null;
  /** When the tenant's desired state last changed (the snapshot's revision). */
  readonly revisionChangedAtMs: number;
  /** Reconciled because desired state changed (a re-evaluation, a rollout batch), not for the agent's own event. */
  readonly changeDriven: boolean;
}

/**
 * The time to count the agent's push latency from (ms), or null when this
 * desired hash is not timed. An unchanged hash keeps its time.
 */
export function desiredSinceMs(previous: PreviousDecision | null, now: DesiredNow): number | null {
  // Never decided before: a change reaching an agent not reconciled yet counts; the agent's own first event does not.
  if (!previous) return now.changeDriven ? (now.pinMovedAtMs ?? now.revisionChangedAtMs) : null;
  if (previous.desiredHash && previous.desiredHash.equals(now.hash)) return previous.desiredSinceMs;
  // Same configuration version, another rendering: the agent's own attributes (or components) changed.
  if (previous.configurationName === now.configurationName && previous.configurationVersion === now.version) return null;
  return now.pinMovedAtMs ?? now.revisionChangedAtMs;
}

/** Whether this report is the first APPLIED of a timed desired hash (the one to observe). */
export function isTimedApply(
  reportedHash: Buffer | null,
  reportedStatus: number,
  desiredHash: Buffer,
  sinceMs: number | null,
  countedHash: Buffer | null,
): boolean {
  if (sinceMs === null || reportedStatus !== RemoteConfigStatuses.RemoteConfigStatuses_APPLIED) return false;
  if (!reportedHash || !reportedHash.equals(desiredHash)) return false;
  return !(countedHash && countedHash.equals(desiredHash));
}
