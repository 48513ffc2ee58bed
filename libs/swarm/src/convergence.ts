/**
 * Owns config convergence measurement: from a moment the caller marks (t0,
 * e.g. right after an API change) until every targeted agent has reported
 * APPLIED for a given config hash.
 *
 * Workers report each remote-config outcome (agent index, hash, APPLIED or
 * FAILED, when). The tracker keeps the latest outcome of every agent in
 * typed arrays (a few bytes per agent), so a mark made after some agents
 * already applied still counts them (at t0), and a mark costs one pass over
 * the agents. Within a measurement an agent's first APPLIED for the hash
 * counts; a FAILED counts until an APPLIED replaces it.
 */
import { EMPTY_SUMMARY, type LatencySummary, summarize } from './stats';

/** Outcome codes: the values of opamp RemoteConfigStatuses. */
export const APPLIED = 1;
export const APPLYING = 2;
export const FAILED = 3;

export interface ConvergenceStatus {
  readonly hash: string;
  readonly selector: string;
  /** Epoch ms of the mark. */
  readonly t0: number;
  readonly targeted: number;
  readonly applied: number;
  readonly failed: number;
  /** Targeted agents with neither outcome yet. */
  readonly pending: number;
  /** Every targeted agent reported APPLIED. */
  readonly converged: boolean;
  /** t0 → the last targeted agent's APPLIED (when converged). */
  readonly convergenceMs?: number;
  /** Every targeted agent reported APPLIED or FAILED: t0 → the last of them. */
  readonly settledMs?: number;
  /** Per-agent t0 → APPLIED (agents that applied before t0 count 0). */
  readonly appliedLatencyMs: LatencySummary;
}

/** State of an agent within a measurement. */
const NOT_TARGETED = 0;
const PENDING = 1;
const DONE_APPLIED = 2;
const DONE_FAILED = 3;

interface Measurement {
  readonly hashId: number;
  readonly hash: string;
  readonly selector: string;
  readonly t0: number;
  /** Per agent: NOT_TARGETED, PENDING, DONE_APPLIED or DONE_FAILED. */
  readonly state: Uint8Array;
  /** Per agent: when it reported APPLIED (DONE_APPLIED only). */
  readonly appliedAt: Float64Array;
  targeted: number;
  applied: number;
  failed: number;
  lastAppliedAt: number;
  lastOutcomeAt: number;
}

export class ConvergenceTracker {
  private readonly hashIds = new Map<string, number>();
  private readonly hashes: string[] = [];
  private readonly status: Uint8Array;
  private readonly hashOf: Int32Array;
  private readonly at: Float64Array;
  private current: Measurement | undefined;
  private readonly finished: ConvergenceStatus[] = [];

  constructor(readonly agentCount: number) {
    this.status = new Uint8Array(agentCount);
    this.hashOf = new Int32Array(agentCount).fill(-1);
    this.at = new Float64Array(agentCount);
  }

  /** The tracker's id for a hex hash (lower-cased). */
  hashId(hex: string): number {
    const key = hex.toLowerCase();
    let id = this.hashIds.get(key);
    if (id === undefined) {
      id = this.hashes.length;
      this.hashes.push(key);
      this.hashIds.set(key, id);
    }
    return id;
  }

  /** Agent `index` reported `status` (APPLIED / FAILED / APPLYING) for hash `hashId` at `atMs`. */
  record(index: number, hashId: number, status: number, atMs: number): void {
    if (index < 0 || index >= this.agentCount) return;
    const m = this.current;
    if (m && hashId === m.hashId) this.count(m, index, status, atMs);
    this.hashOf[index] = hashId;
    this.status[index] = status;
    this.at[index] = atMs;
  }

  /** The first APPLIED of a targeted agent counts (a FAILED before it is taken back). */
  private count(m: Measurement, index: number, status: number, atMs: number): void {
    const state = m.state[index];
    if (state === NOT_TARGETED || state === DONE_APPLIED) return;
    if (status === APPLIED) {
      if (state === DONE_FAILED) m.failed--;
      m.state[index] = DONE_APPLIED;
      m.appliedAt[index] = atMs;
      m.applied++;
      m.lastAppliedAt = Math.max(m.lastAppliedAt, atMs);
      m.lastOutcomeAt = Math.max(m.lastOutcomeAt, atMs);
    } else if (status === FAILED && state === PENDING) {
      m.state[index] = DONE_FAILED;
      m.failed++;
      m.lastOutcomeAt = Math.max(m.lastOutcomeAt, atMs);
    }
  }

  /**
   * Start measuring convergence on `hash` for the agents `isTarget` accepts,
   * from `t0`. Replaces the measurement in progress (which is kept in history).
   */
  mark(hash: string, selector: string, isTarget: (index: number) => boolean, t0: number): ConvergenceStatus {
    if (this.current) this.finished.push(this.snapshot(this.current));
    const hashId = this.hashId(hash);
    const m: Measurement = {
      hashId,
      hash: this.hashes[hashId],
      selector,
      t0,
      state: new Uint8Array(this.agentCount),
      appliedAt: new Float64Array(this.agentCount),
      targeted: 0,
      applied: 0,
      failed: 0,
      lastAppliedAt: t0,
      lastOutcomeAt: t0,
    };
    for (let i = 0; i < this.agentCount; i++) {
      if (!isTarget(i)) continue;
      m.state[i] = PENDING;
      m.targeted++;
      // What the agent reported before the mark still counts (at t0 at the earliest).
      if (this.hashOf[i] === hashId) this.count(m, i, this.status[i], Math.max(t0, this.at[i]));
    }
    this.current = m;
    return this.snapshot(m);
  }

  /** The measurement in progress (undefined before the first mark). */
  get latest(): ConvergenceStatus | undefined {
    return this.current ? this.snapshot(this.current) : undefined;
  }

  /** Every measurement, oldest first, the one in progress last. */
  all(): ConvergenceStatus[] {
    const out = [...this.finished];
    if (this.current) out.push(this.snapshot(this.current));
    return out;
  }

  private snapshot(m: Measurement): ConvergenceStatus {
    const converged = m.applied === m.targeted;
    const settled = m.applied + m.failed === m.targeted;
    let latency = EMPTY_SUMMARY;
    if (m.applied > 0) {
      const samples = new Float64Array(m.applied);
      let k = 0;
      for (let i = 0; i < this.agentCount && k < m.applied; i++) {
        if (m.state[i] === DONE_APPLIED) samples[k++] = m.appliedAt[i] - m.t0;
      }
      latency = summarize(samples.subarray(0, k));
    }
    return {
      hash: m.hash,
      selector: m.selector,
      t0: m.t0,
      targeted: m.targeted,
      applied: m.applied,
      failed: m.failed,
      pending: m.targeted - m.applied - m.failed,
      converged,
      convergenceMs: converged ? Math.max(0, m.lastAppliedAt - m.t0) : undefined,
      settledMs: settled ? Math.max(0, m.lastOutcomeAt - m.t0) : undefined,
      appliedLatencyMs: latency,
    };
  }
}
