/**
 * Owns the messages between the swarm orchestrator and its worker processes
 * (Node IPC with `serialization: 'advanced'`, so typed arrays travel as such).
 *
 *   parent                         worker
 *     ── fork ───────────────────▶
 *     ◀──────────────────── ready    (baseline memory)
 *     ── start (plan + settings) ─▶   agents ramp from `startAt`
 *     ◀──────── stats (every interval), applied (batched outcomes)
 *     ── stop ───────────────────▶   agents stop gracefully
 *     ◀──────────────── stopped (final stats), then the worker exits
 */
import type { DescriptionModel } from './description';
import type { SwarmAgentSettings } from './options';
import type { Counts } from './stats';
import type { ErrorSampleSet } from './error-samples';

export interface WorkerStart {
  readonly type: 'start';
  readonly workerId: number;
  readonly firstIndex: number;
  readonly count: number;
  readonly addresses: readonly string[];
  readonly endpoints: readonly string[];
  readonly wsFraction: number;
  readonly seed: number;
  readonly description: DescriptionModel;
  readonly agent: SwarmAgentSettings;
  readonly rampPerSecond: number;
  /** Epoch ms at which the ramp starts (the same for every worker). */
  readonly startAt: number;
  readonly statsIntervalMs: number;
}

export interface WorkerStop {
  readonly type: 'stop';
}

/** Numbered status reports (statusCounterIntervalMs) go on or pause. */
export interface WorkerStatusCounting {
  readonly type: 'statusCounting';
  readonly on: boolean;
}

/** Asks for the agents' status counters (answered with WorkerStatusCounters). */
export interface WorkerStatusQuery {
  readonly type: 'statusQuery';
}

export type ParentMessage = WorkerStart | WorkerStop | WorkerStatusCounting | WorkerStatusQuery;

export interface WorkerMemory {
  readonly rss: number;
  readonly heapUsed: number;
}

export interface WorkerReady extends WorkerMemory {
  readonly type: 'ready';
  readonly pid: number;
}

/** Counters are cumulative since the start; latency samples are the new ones since the last report. */
export interface WorkerStats extends WorkerMemory {
  readonly type: 'stats' | 'stopped';
  readonly at: number;
  readonly started: number;
  readonly connected: number;
  readonly sent: number;
  readonly received: number;
  readonly restarts: number;
  readonly healthFlaps: number;
  readonly unhealthy: number;
  readonly errors: Counts;
  /** A few distinct messages per error kind (error-samples.ts). */
  readonly errorSamples: ErrorSampleSet;
  /** Connection settings outcomes (followConnectionSettings), by status: APPLYING, APPLIED, FAILED. */
  readonly connectionSettings: Counts;
  /** Package outcomes (acceptPackages): `<downloading|installed|install_failed> <version>`, `bytes` installed, `resumes`, `busy_waits`. */
  readonly packages: Counts;
  /** Download started → installed, ms, per package install. */
  readonly packageInstallMs: Float64Array;
  /** Start → first ServerToAgent, ms, per agent (first connection only). */
  readonly connectMs: Float64Array;
  /** Disconnected → next ServerToAgent, ms. */
  readonly reconnectMs: Float64Array;
  /** When the last agent of the worker was started (epoch ms), 0 while ramping. */
  readonly rampDoneAt: number;
}

/** Remote config outcomes since the last batch, as parallel arrays. */
export interface WorkerApplied {
  readonly type: 'applied';
  /** Hashes (hex) new to this worker; their ids follow on from those sent before. */
  readonly newHashes: readonly string[];
  readonly index: Int32Array;
  readonly hashId: Int32Array;
  readonly status: Uint8Array;
  readonly at: Float64Array;
}

export interface WorkerFatal {
  readonly type: 'fatal';
  readonly message: string;
}

/** Per agent of the worker (from firstIndex): instance uid (hex), counter last set, last one acknowledged. */
export interface WorkerStatusCounters {
  readonly type: 'statusCounters';
  readonly firstIndex: number;
  readonly uids: readonly string[];
  readonly current: Int32Array;
  readonly acked: Int32Array;
}

export type WorkerMessage = WorkerReady | WorkerStats | WorkerApplied | WorkerFatal | WorkerStatusCounters;
