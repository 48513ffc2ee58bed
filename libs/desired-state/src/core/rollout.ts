/**
 * Staged rollouts, the pure part: validating a strategy, planning batches,
 * classifying each agent of a batch, the health gates and the rollout state
 * machine. No I/O and no clock: the driver (runtime/rollout-driver.ts) feeds
 * these from PostgreSQL, with the database's time.
 *
 * A rollout moves the agents one assignment targets from the version that
 * assignment stands for (`fromVersion`) to another (`toVersion`), batch by
 * batch. Batches are sized when they start, from the agents the assignment
 * targets then and that no earlier batch took:
 *
 * - fixed counts (`batchSize` agents each) or percentages (`batchPercent` of
 *   the agents targeted at start, each);
 * - growing steps, cumulative: e.g. 1 agent, 10 %, 50 %, 100 % means the
 *   first batch is one agent, the second brings the rollout to 10 % of the
 *   fleet, and so on;
 * - named stages by label selector (canary hosts, then region by region),
 *   each taking the remaining agents its selector matches.
 *
 * Every plan ends with a batch that takes whatever is left (agents that no
 * stage matched, agents that appeared during the rollout), so completing a
 * rollout never moves an agent without a gate.
 */
import { DEFAULT_APPLY_TIMEOUT_MS, MAX_APPLY_TIMEOUT_MS, MAX_BATCHES, MAX_STAGES } from './limits';
import { echo, invalidArgument } from './errors';
import { CONFIG_NAME } from './configuration';
import { parseSelectorArgument, formatSelector } from './selector';
import { parseOwnTelemetryGate, type OwnTelemetryGate, type OwnTelemetryGateInput } from './own-telemetry-gate';

export type RolloutState = 'pending' | 'running' | 'paused' | 'completed' | 'aborted' | 'rolling_back' | 'rolled_back';
export type BatchState = 'pending' | 'applying' | 'soaking' | 'passed' | 'failed';

export const ROLLOUT_STATES: readonly RolloutState[] = ['pending', 'running', 'paused', 'completed', 'aborted', 'rolling_back', 'rolled_back'];
export const BATCH_STATES: readonly BatchState[] = ['pending', 'applying', 'soaking', 'passed', 'failed'];

/** One cumulative step: how many agents the rollout has reached once this batch started. */
export interface RolloutStep {
  readonly count?: number;
  readonly percent?: number;
}

export interface RolloutStage {
  readonly name: string;
  readonly selector: string;
}

export type RolloutStrategy =
  | { readonly kind: 'fixed'; readonly batchSize: number }
  | { readonly kind: 'percent'; readonly batchPercent: number }
  | { readonly kind: 'steps'; readonly steps: readonly RolloutStep[] }
  | { readonly kind: 'stages'; readonly stages: readonly RolloutStage[] };

export interface RolloutGates {
  /** Bad agents a batch tolerates (FAILED, unhealthy after applying, offline beyond the soak time, past the apply deadline). */
  readonly maxFailedAgents: number;
  /** The same as a percentage of the batch (the larger of the two tolerances applies). */
  readonly maxFailedPercent: number;
  /** The batch's agents' own metrics compared before and after the change (core/own-telemetry-gate.ts); absent = not gated on them. */
  readonly ownTelemetry?: OwnTelemetryGate | null;
}


export interface StrategyInput {
  batchSize?: unknown;
  batchPercent?: unknown;
  steps?: unknown;
  stages?: unknown;
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0;
  return Number.isFinite(n) ? n : NaN;
}

function checkPercent(p: number, what: string): void {
  if (!(p > 0 && p <= 100)) throw invalidArgument(`${what} must be a percentage in (0, 100], got ${p}`);
}

/** Parses the API's strategy message: exactly one of batch_size, batch_percent, steps, stages. Throws INVALID_ARGUMENT. */
export function parseStrategy(input: StrategyInput | null | undefined): RolloutStrategy {
  const s = input ?? {};
  const batchSize = num(s.batchSize);
  const batchPercent = num(s.batchPercent);
  const steps = Array.isArray(s.steps) ? (s.steps as Array<Record<string, unknown> | null>) : [];
  const stages = Array.isArray(s.stages) ? (s.stages as Array<Record<string, unknown> | null>) : [];
  const given = [batchSize !== 0, batchPercent !== 0, steps.length > 0, stages.length > 0].filter(Boolean).length;
  if (given !== 1) throw invalidArgument('strategy must set exactly one of batch_size, batch_percent, steps, stages');
  if (batchSize !== 0) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument(`strategy.batch_size must be a positive integer, got ${s.batchSize}`);
    return { kind: 'fixed', batchSize };
  }
  if (batchPercent !== 0) {
    checkPercent(batchPercent, 'strategy.batch_percent');
    if (Math.ceil(100 / batchPercent) > MAX_BATCHES) throw invalidArgument(`strategy.batch_percent makes more than ${MAX_BATCHES} batches`);
    return { kind: 'percent', batchPercent };
  }
  if (steps.length > 0) {
    if (steps.length > MAX_BATCHES) throw invalidArgument(`strategy.steps is limited to ${MAX_BATCHES} steps`);
    let lastCount = 0;
    let lastPercent = 0;
    const out: RolloutStep[] = steps.map((step, i) => {
      const count = num(step?.['count']);
      const percent = num(step?.['percent']);
      const at = `strategy.steps[${i}]`;
      if ((count !== 0) === (percent !== 0)) throw invalidArgument(`${at} must set exactly one of count, percent`);
      if (count !== 0) {
        if (!Number.isInteger(count) || count < 1) throw invalidArgument(`${at}.count must be a positive integer`);
        if (count <= lastCount) throw invalidArgument(`${at}.count must grow: steps are cumulative`);
        lastCount = count;
        return { count };
      }
      checkPercent(percent, `${at}.percent`);
      if (percent <= lastPercent) throw invalidArgument(`${at}.percent must grow: steps are cumulative`);
      lastPercent = percent;
      return { percent };
    });
    return { kind: 'steps', steps: out };
  }
  if (stages.length > MAX_STAGES) throw invalidArgument(`strategy.stages is limited to ${MAX_STAGES} stages`);
  const names = new Set<string>();
  const out: RolloutStage[] = stages.map((stage, i) => {
    const name = typeof stage?.['name'] === 'string' ? stage['name'] : '';
    const at = `strategy.stages[${i}]`;
    if (!CONFIG_NAME.test(name)) throw invalidArgument(`${at}.name ${echo(name)} is invalid: 1-63 lowercase letters, digits, '.', '_' or '-'`);
    if (name === REST_BATCH_NAME) throw invalidArgument(`${at}.name '${REST_BATCH_NAME}' is reserved for the final batch`);
    if (names.has(name)) throw invalidArgument(`${at}.name '${name}' is used twice`);
    names.add(name);
    const text = typeof stage?.['selector'] === 'string' ? stage['selector'] : '';
    const selector = parseSelectorArgument(text, `${at}.selector`);
    if (selector.requirements.length === 0) throw invalidArgument(`${at}.selector must not be empty (the final batch takes every remaining agent)`);
    return { name, selector: formatSelector(selector) };
  });
  return { kind: 'stages', stages: out };
}

/** The strategy as the API shows it (the input shape of parseStrategy). */
export function strategyMessage(s: RolloutStrategy): Record<string, unknown> {
  switch (s.kind) {
    case 'fixed':
      return { batchSize: s.batchSize, batchPercent: 0, steps: [], stages: [] };
    case 'percent':
      return { batchSize: 0, batchPercent: s.batchPercent, steps: [], stages: [] };
    case 'steps':
      return { batchSize: 0, batchPercent: 0, steps: s.steps.map((x) => ({ count: x.count ?? 0, percent: x.percent ?? 0 })), stages: [] };
    case 'stages':
      return { batchSize: 0, batchPercent: 0, steps: [], stages: s.stages.map((x) => ({ ...x })) };
  }
}


/**
 * The API's apply_timeout_ms: unset means the default, 0 means no deadline.
 * Throws INVALID_ARGUMENT on a negative, fractional or absurd value (the
 * field is a uint32: the REST mirror refuses negative numbers itself, and a
 * wrapped-around one would be caught here as absurd).
 */
export function parseApplyTimeout(input: unknown): number {
  if (input === undefined || input === null) return DEFAULT_APPLY_TIMEOUT_MS;
  const ms = num(input);
  if (!Number.isInteger(ms) || ms < 0) throw invalidArgument(`apply_timeout_ms must be a non-negative integer (0 = no deadline), got ${echo(input)}`);
  if (ms > MAX_APPLY_TIMEOUT_MS) throw invalidArgument(`apply_timeout_ms must be at most ${MAX_APPLY_TIMEOUT_MS} (24 hours; 0 = no deadline), got ${ms}`);
  return ms;
}

export interface GatesInput {
  maxFailedAgents?: unknown;
  maxFailedPercent?: unknown;
  ownTelemetry?: OwnTelemetryGateInput | null;
}

export function parseGates(input: GatesInput | null | undefined): RolloutGates {
  const count = num(input?.maxFailedAgents);
  const percent = num(input?.maxFailedPercent);
  if (!Number.isInteger(count) || count < 0) throw invalidArgument('gates.max_failed_agents must be a non-negative integer');
  if (!(percent >= 0 && percent <= 100)) throw invalidArgument('gates.max_failed_percent must be a percentage in [0, 100]');
  const ownTelemetry = parseOwnTelemetryGate(input?.ownTelemetry);
  return ownTelemetry ? { maxFailedAgents: count, maxFailedPercent: percent, ownTelemetry } : { maxFailedAgents: count, maxFailedPercent: percent };
}

/** The gates as the API shows them (the input shape of parseGates). */
export function gatesMessage(g: RolloutGates): Record<string, unknown> {
  return { maxFailedAgents: g.maxFailedAgents, maxFailedPercent: g.maxFailedPercent, ...(g.ownTelemetry ? { ownTelemetry: { ...g.ownTelemetry } } : {}) };
}

/** How a batch picks its agents when it starts. */
export type BatchTake =
  /** Agents until the rollout has reached `upTo` agents in total. */
  | { readonly kind: 'count'; readonly upTo: number }
  /** Remaining agents matching the stage selector (canonical text). */
  | { readonly kind: 'stage'; readonly selector: string }
  /** Every remaining agent. */
  | { readonly kind: 'rest' };

export interface BatchPlan {
  readonly index: number;
  readonly name: string;
  readonly take: BatchTake;
  /** Agents expected when planned (stage batches: unknown at plan time, -1). */
  readonly plannedAgents: number;
}

export const REST_BATCH_NAME = 'rest';

/**
 * The batches of a rollout over `total` targeted agents. Count batches that
 * would be empty for this total are dropped (1 agent, then 10 % of 5 agents
 * is still 1); the last batch always takes the rest.
 */
export function planBatches(strategy: RolloutStrategy, total: number): BatchPlan[] {
  const n = Math.max(0, Math.floor(total));
  const uptos: number[] = [];
  switch (strategy.kind) {
    case 'fixed':
      for (let k = strategy.batchSize; k < n && uptos.length < MAX_BATCHES - 1; k += strategy.batchSize) uptos.push(k);
      break;
    case 'percent':
      for (let p = strategy.batchPercent; p < 100; p += strategy.batchPercent) uptos.push(Math.ceil((n * p) / 100));
      break;
    case 'steps':
      for (const s of strategy.steps) uptos.push(s.count !== undefined ? s.count : Math.ceil((n * (s.percent ?? 100)) / 100));
      break;
    case 'stages': {
      const plans: BatchPlan[] = strategy.stages.map((s, index) => ({ index, name: s.name, take: { kind: 'stage', selector: s.selector }, plannedAgents: -1 }));
      plans.push({ index: plans.length, name: REST_BATCH_NAME, take: { kind: 'rest' }, plannedAgents: -1 });
      return plans;
    }
  }
  const plans: BatchPlan[] = [];
  let reached = 0;
  for (const upTo of uptos) {
    if (upTo <= reached || upTo >= n) continue;
    plans.push({ index: plans.length, name: `batch-${plans.length + 1}`, take: { kind: 'count', upTo }, plannedAgents: upTo - reached });
    reached = upTo;
  }
  plans.push({ index: plans.length, name: `batch-${plans.length + 1}`, take: { kind: 'rest' }, plannedAgents: n - reached });
  return plans;
}

/** How many agents a starting batch takes, given how many the rollout already holds (Infinity = all that qualify). */
export function batchQuota(take: BatchTake, alreadyInRollout: number): number {
  return take.kind === 'count' ? Math.max(0, take.upTo - alreadyInRollout) : Number.POSITIVE_INFINITY;
}

// --- progress of one agent ---------------------------------------------------------

export type AgentPhase = 'pending' | 'applying' | 'applied' | 'failed' | 'unhealthy' | 'offline' | 'not_sent' | 'timed_out';
export const AGENT_PHASES: readonly AgentPhase[] = ['pending', 'applying', 'applied', 'failed', 'unhealthy', 'offline', 'not_sent', 'timed_out'];

/** RemoteConfigStatuses values (opamp). */
const STATUS_APPLIED = 1;
const STATUS_FAILED = 3;

export interface MemberObservation {
  readonly connected: boolean;
  /** How long a disconnected agent has been gone (ms), null when unknown (counts as long gone). */
  readonly offlineForMs: number | null;
  /** agents.healthy: null = the agent reports no health. */
  readonly healthy: boolean | null;
  /** The agent reports its remote-config status (ReportsRemoteConfig). */
  readonly reportsRemoteConfig: boolean;
  readonly reportedHash: Uint8Array | null;
  readonly reportedStatus: number;
  /** The reconciler has decided this agent at the version the rollout dictates for it. */
  readonly decided: boolean;
  readonly desiredHash: Uint8Array | null;
  readonly lastSentHash: Uint8Array | null;
  /** Why the reconciler did not send it (missing components, template error, capability). */
  readonly notSentReason: string | null;
  /**
   * When the apply deadline started for this agent (ms, the database's
   * clock): when the version was first pushed to it, i.e. when its batch was
   * (re)started or, if later, when it connected; null = unknown (no
   * deadline applies).
   */
  readonly applyingSinceMs: number | null;
}

/** What classifyMember needs to judge the apply deadline. */
export interface ApplyDeadline {
  /** 0 = no deadline. */
  readonly applyTimeoutMs: number;
  readonly nowMs: number;
}

export interface MemberProgress {
  readonly phase: AgentPhase;
  /** Counts against the gate: FAILED, unhealthy after applying, offline beyond the soak time, timed out. */
  readonly bad: boolean;
  /** Nothing more to wait for (applied, not sent, or bad). */
  readonly settled: boolean;
}

function same(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return !!a && !!b && a.length > 0 && b.length > 0 && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Whether a connected agent that has not reported the version APPLIED or
 * FAILED is past its apply deadline: `applyTimeoutMs` since the version was
 * first pushed to it (see applyingSinceMs). 0 = no deadline.
 */
export function applyTimedOut(applyingSinceMs: number | null, deadline: ApplyDeadline | undefined): boolean {
  if (!deadline || deadline.applyTimeoutMs <= 0 || applyingSinceMs === null) return false;
  return deadline.nowMs - applyingSinceMs >= deadline.applyTimeoutMs;
}

/**
 * The phase of one agent of a started batch. Without `deadline` (or with a
 * timeout of 0) an agent that never reports holds its batch for as long as
 * it stays connected; with one, it is `timed_out` once the deadline passes:
 * settled (nothing more to wait for) and bad (it counts against the gate like
 * FAILED), so the batch is decided either way. A timed-out agent that
 * reports APPLIED later is applied again at the next look.
 */
export function classifyMember(o: MemberObservation, soakMs: number, deadline?: ApplyDeadline): MemberProgress {
  const waiting = (phase: 'pending' | 'applying'): MemberProgress =>
    o.connected && applyTimedOut(o.applyingSinceMs, deadline) ? { phase: 'timed_out', bad: true, settled: true } : { phase, bad: false, settled: false };
  if (!o.decided) return o.connected ? waiting('pending') : { phase: 'pending', bad: false, settled: false };
  if (o.notSentReason) return { phase: 'not_sent', bad: false, settled: true };
  if (!o.connected) {
    const gone = o.offlineForMs === null || o.offlineForMs >= soakMs;
    return { phase: 'offline', bad: gone, settled: gone };
  }
  let applied: boolean;
  if (o.reportsRemoteConfig) {
    if (!same(o.reportedHash, o.desiredHash)) return waiting('applying');
    if (o.reportedStatus === STATUS_FAILED) return { phase: 'failed', bad: true, settled: true };
    applied = o.reportedStatus === STATUS_APPLIED;
  } else {
    applied = same(o.lastSentHash, o.desiredHash);
  }
  if (!applied) return waiting('applying');
  if (o.healthy === false) return { phase: 'unhealthy', bad: true, settled: true };
  return { phase: 'applied', bad: false, settled: true };
}

// --- gates ----------------------------------------------------------------------------

export type PhaseCounts = Record<AgentPhase, number>;

export function emptyCounts(): PhaseCounts {
  return { pending: 0, applying: 0, applied: 0, failed: 0, unhealthy: 0, offline: 0, not_sent: 0, timed_out: 0 };
}

export function toleratedFailures(gates: RolloutGates, batchAgents: number): number {
  return Math.max(gates.maxFailedAgents, Math.floor((gates.maxFailedPercent * batchAgents) / 100));
}

export type BatchVerdict =
  /** Agents still pending or applying: the soak has not begun (or begins again). */
  | { readonly verdict: 'waiting'; readonly counts: PhaseCounts }
  /** Every agent settled; soaking since `soakStartedAtMs`. */
  | { readonly verdict: 'soaking'; readonly counts: PhaseCounts; readonly soakStartedAtMs: number }
  | { readonly verdict: 'passed'; readonly counts: PhaseCounts }
  | { readonly verdict: 'failed'; readonly counts: PhaseCounts; readonly reason: string };

export interface BatchEvaluation {
  readonly members: readonly MemberProgress[];
  readonly gates: RolloutGates;
  readonly soakMs: number;
  readonly nowMs: number;
  /** When every agent of the batch was last seen settled without interruption (null = not yet). */
  readonly soakStartedAtMs: number | null;
}

/**
 * The gate of one batch. It fails as soon as its bad agents exceed the
 * tolerance; it passes once every agent is settled and has stayed so for the
 * soak time. An agent that goes back to applying restarts the soak.
 */
export function evaluateBatch(e: BatchEvaluation): BatchVerdict {
  const counts = emptyCounts();
  let bad = 0;
  let unsettled = 0;
  let offlineBad = 0;
  for (const m of e.members) {
    counts[m.phase]++;
    if (m.bad) bad++;
    if (m.bad && m.phase === 'offline') offlineBad++;
    if (!m.settled) unsettled++;
  }
  const tolerated = toleratedFailures(e.gates, e.members.length);
  if (bad > tolerated) {
    return {
      verdict: 'failed',
      counts,
      reason:
        `${bad} of ${e.members.length} agents failed the gate (${counts.failed} FAILED, ${counts.unhealthy} unhealthy after applying, ` +
        `${offlineBad} offline beyond the soak time, ${counts.timed_out} past the apply deadline); ${tolerated} tolerated`,
    };
  }
  if (e.members.length === 0) return { verdict: 'passed', counts };
  if (unsettled > 0) return { verdict: 'waiting', counts };
  const since = e.soakStartedAtMs ?? e.nowMs;
  if (e.nowMs - since >= e.soakMs) return { verdict: 'passed', counts };
  return { verdict: 'soaking', counts, soakStartedAtMs: since };
}

// --- state machine ---------------------------------------------------------------------

export type RolloutControl = 'start' | 'pause' | 'resume' | 'abort' | 'rollback';

export type RolloutTransition =
  | { readonly kind: 'control'; readonly action: RolloutControl }
  | { readonly kind: 'gate_failed'; readonly autoRollback: boolean }
  | { readonly kind: 'all_batches_passed' }
  | { readonly kind: 'rollback_done' };

export type TransitionResult = { readonly ok: true; readonly state: RolloutState } | { readonly ok: false; readonly reason: string };

const CONTROL: Record<RolloutControl, Partial<Record<RolloutState, RolloutState>>> = {
  start: { pending: 'running' },
  pause: { running: 'paused' },
  resume: { paused: 'running' },
  abort: { pending: 'aborted', running: 'aborted', paused: 'aborted' },
  rollback: { running: 'rolling_back', paused: 'rolling_back', aborted: 'rolling_back' },
};

export function nextRolloutState(state: RolloutState, t: RolloutTransition): TransitionResult {
  let next: RolloutState | undefined;
  switch (t.kind) {
    case 'control':
      next = CONTROL[t.action][state];
      if (!next) return { ok: false, reason: `cannot ${t.action} a rollout that is ${state.replace('_', ' ')}` };
      return { ok: true, state: next };
    case 'gate_failed':
      next = state === 'running' ? (t.autoRollback ? 'rolling_back' : 'paused') : undefined;
      break;
    case 'all_batches_passed':
      next = state === 'running' ? 'completed' : undefined;
      break;
    case 'rollback_done':
      next = state === 'rolling_back' ? 'rolled_back' : undefined;
      break;
  }
  return next ? { ok: true, state: next } : { ok: false, reason: `${t.kind} does not apply to a rollout that is ${state}` };
}

/** States in which a driver has work to do. */
export function needsDriver(state: RolloutState): boolean {
  return state === 'running' || state === 'rolling_back';
}

/** States in which the rollout still holds the assignment (no other rollout may start, the assignment may not change). */
export function isActive(state: RolloutState): boolean {
  return state === 'pending' || state === 'running' || state === 'paused' || state === 'rolling_back';
}

export function isTerminal(state: RolloutState): boolean {
  return state === 'completed' || state === 'rolled_back';
}

/**
 * The version a member of a rollout should have: moved agents the new one,
 * agents the rollout has not reached (or has reverted) the assignment's
 * version. Pins only count for the rollout that currently holds the
 * assignment and while the assignment still names the same configuration.
 */
export interface RolloutPin {
  readonly assignmentName: string;
  readonly configurationName: string;
  readonly version: number;
  /** When the agent's batch moved it (push latency counts from it). */
  readonly movedAtMs?: number;
}

export function pinnedVersion(assignment: { name: string; configurationName: string }, pin: RolloutPin | undefined): number | null {
  if (!pin) return null;
  return pin.assignmentName === assignment.name && pin.configurationName === assignment.configurationName ? pin.version : null;
}
