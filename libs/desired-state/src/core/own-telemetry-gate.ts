/**
 * The own-telemetry gate of a rollout batch (issue 19 item 5), pure: the
 * batch's agents' own metrics (the Collector's internal metrics, stored as
 * per-second rates by status-ingest) in a window before the batch started
 * and in the last window of its soak, compared. The batch fails when, summed
 * over the agents that reported in both windows, the share of items that
 * failed to export, or of received items refused or dropped, rose by more
 * percentage points than the rollout allows, or items exported per second
 * fell by more than the allowed percentage.
 *
 * No data is never a silent pass: the driver waits the whole window after
 * every agent applied (the soak lasts at least the window), then too few
 * agents reporting in both windows fails the gate, and so do agents that
 * reported before the change and stopped after it (more than the batch's
 * failure tolerance), since a configuration that breaks an agent's own
 * telemetry pipeline is the same evidence. `min_reporting_percent` 0 is the
 * explicit opt-out: then a batch where no agent reports passes, and says so.
 */
import { echo, invalidArgument } from './errors';
import {
  DEFAULT_OWN_TELEMETRY_GATE_WINDOW_S,
  MAX_OWN_TELEMETRY_GATE_WINDOW_S,
  MIN_OWN_TELEMETRY_GATE_WINDOW_S,
  OWN_TELEMETRY_GATE_WORST_AGENTS,
} from './limits';

export interface OwnTelemetryGate {
  /** Percentage points the share of items failing to export may rise (100 = not checked). */
  readonly maxExportFailureIncreasePercent: number;
  /** Percentage points the share of received items refused (receivers) or dropped (processors) may rise (100 = not checked). */
  readonly maxRefusedDroppedIncreasePercent: number;
  /** Percent items exported per second may fall (100 = not checked). */
  readonly maxThroughputDropPercent: number;
  /** Length of each window compared; the batch soaks at least this long. */
  readonly windowSeconds: number;
  /** Share of the batch's agents (those applied and able to report own metrics) that must report in both windows; 0 = none needed. */
  readonly minReportingPercent: number;
}

export const OWN_TELEMETRY_GATE_DEFAULTS: OwnTelemetryGate = {
  maxExportFailureIncreasePercent: 5,
  maxRefusedDroppedIncreasePercent: 5,
  maxThroughputDropPercent: 50,
  windowSeconds: DEFAULT_OWN_TELEMETRY_GATE_WINDOW_S,
  minReportingPercent: 50,
};

export interface OwnTelemetryGateInput {
  maxExportFailureIncreasePercent?: unknown;
  maxRefusedDroppedIncreasePercent?: unknown;
  maxThroughputDropPercent?: unknown;
  windowSeconds?: unknown;
  minReportingPercent?: unknown;
}

const FIELD = 'gates.own_telemetry';

function percent(v: unknown, fallback: number, field: string, hint = ' (100 = not checked)'): number {
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!(Number.isFinite(n) && n >= 0 && n <= 100)) throw invalidArgument(`${FIELD}.${field} must be a percentage in [0, 100]${hint}, got ${echo(v)}`);
  return n;
}

/**
 * The API's gates.own_telemetry: absent (null) means no such gate; each
 * field unset takes its default. Throws INVALID_ARGUMENT naming the field.
 */
export function parseOwnTelemetryGate(input: OwnTelemetryGateInput | null | undefined): OwnTelemetryGate | null {
  if (input === undefined || input === null) return null;
  if (typeof input !== 'object' || Array.isArray(input)) throw invalidArgument(`${FIELD} must be an object`);
  const d = OWN_TELEMETRY_GATE_DEFAULTS;
  let windowSeconds = d.windowSeconds;
  if (input.windowSeconds !== undefined && input.windowSeconds !== null) {
    const w = typeof input.windowSeconds === 'number' ? input.windowSeconds : Number(input.windowSeconds);
    if (!Number.isInteger(w) || w < MIN_OWN_TELEMETRY_GATE_WINDOW_S || w > MAX_OWN_TELEMETRY_GATE_WINDOW_S) {
      throw invalidArgument(
        `${FIELD}.window_seconds must be an integer from ${MIN_OWN_TELEMETRY_GATE_WINDOW_S} to ${MAX_OWN_TELEMETRY_GATE_WINDOW_S}, got ${echo(input.windowSeconds)}`,
      );
    }
    windowSeconds = w;
  }
  return {
    maxExportFailureIncreasePercent: percent(input.maxExportFailureIncreasePercent, d.maxExportFailureIncreasePercent, 'max_export_failure_increase_percent'),
    maxRefusedDroppedIncreasePercent: percent(input.maxRefusedDroppedIncreasePercent, d.maxRefusedDroppedIncreasePercent, 'max_refused_dropped_increase_percent'),
    maxThroughputDropPercent: percent(input.maxThroughputDropPercent, d.maxThroughputDropPercent, 'max_throughput_drop_percent'),
    windowSeconds,
    minReportingPercent: percent(input.minReportingPercent, d.minReportingPercent, 'min_reporting_percent', ' (0 = none needed)'),
  };
}

/** How long a batch soaks under this gate: the rollout's soak, and at least one window after every agent applied. */
export function gatedSoakMs(soakMs: number, gate: OwnTelemetryGate | null | undefined): number {
  return gate ? Math.max(soakMs, gate.windowSeconds * 1000) : soakMs;
}

export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

/** The windows compared: the one that ended when the batch started, and the last one before now. */
export function ownTelemetryWindows(gate: OwnTelemetryGate, batchStartedAtMs: number, nowMs: number): { before: TimeWindow; after: TimeWindow } {
  const w = gate.windowSeconds * 1000;
  return { before: { fromMs: batchStartedAtMs - w, toMs: batchStartedAtMs }, after: { fromMs: nowMs - w, toMs: nowMs } };
}

/**
 * One agent's own metrics in one window: per-second rates, each the sum over
 * its components and signals of the series' average in the window.
 */
export interface OwnTelemetryRates {
  /** Readings (distinct times) in the window; 0 = the agent did not report. */
  readonly samples: number;
  readonly receiverAccepted: number;
  readonly receiverRefused: number;
  /** Processors' dropped and refused items (older naming), or incoming minus outgoing (newer). */
  readonly processorDropped: number;
  readonly exporterSent: number;
  readonly exporterSendFailed: number;
}

export interface OwnTelemetryAgent {
  /** Hex instance uid (for the numbers shown). */
  readonly instanceUid: string;
  readonly before: OwnTelemetryRates | null;
  readonly after: OwnTelemetryRates | null;
}

export interface OwnTelemetryGateEvaluation {
  readonly gate: OwnTelemetryGate;
  /** Agents of the batch judged: applied and declaring ReportsOwnMetrics. */
  readonly agents: readonly OwnTelemetryAgent[];
  /** Agents that may stop reporting before the gate fails (the batch's failure tolerance). */
  readonly toleratedSilent: number;
}

export interface OwnTelemetryRatio {
  readonly before: number;
  readonly after: number;
  /** after - before, percentage points. */
  readonly increase: number;
  readonly max: number;
  readonly passed: boolean;
}

export interface OwnTelemetryThroughput {
  /** Items exported per second, summed over the comparable agents. */
  readonly before: number;
  readonly after: number;
  /** Percent it fell (negative: it rose). */
  readonly dropPercent: number;
  readonly max: number;
  readonly passed: boolean;
}

export interface OwnTelemetryGateNumbers {
  readonly windowSeconds: number;
  /** Agents judged, those reporting in both windows, before only (stopped), after only, neither; and the least needed. */
  readonly agents: number;
  readonly comparable: number;
  readonly stoppedReporting: number;
  readonly newlyReporting: number;
  readonly notReporting: number;
  readonly requiredReporting: number;
  readonly exportFailurePercent: OwnTelemetryRatio;
  readonly refusedDroppedPercent: OwnTelemetryRatio;
  readonly throughput: OwnTelemetryThroughput;
  /** The agents whose export failure share rose most (the first few), for the operator to look at. */
  readonly worstAgents: ReadonlyArray<{ instanceUid: string; exportFailurePercentBefore: number; exportFailurePercentAfter: number }>;
  /** Agents that stopped reporting (the first few). */
  readonly stoppedAgents: readonly string[];
}

export interface OwnTelemetryDecision {
  readonly decision: 'passed' | 'failed';
  /** One sentence with the numbers: the batch's failure reason, or why it passed. */
  readonly reason: string;
  readonly numbers: OwnTelemetryGateNumbers;
}

const round = (n: number) => Math.round(n * 100) / 100;

function share(part: number, whole: number): number {
  return whole > 0 ? (100 * part) / whole : 0;
}

function failurePercent(r: OwnTelemetryRates): number {
  return share(r.exporterSendFailed, r.exporterSent + r.exporterSendFailed);
}

interface Sums {
  accepted: number;
  refused: number;
  dropped: number;
  sent: number;
  failed: number;
}

function add(s: Sums, r: OwnTelemetryRates): void {
  s.accepted += r.receiverAccepted;
  s.refused += r.receiverRefused;
  s.dropped += r.processorDropped;
  s.sent += r.exporterSent;
  s.failed += r.exporterSendFailed;
}

function ratio(before: number, after: number, max: number): OwnTelemetryRatio {
  const increase = after - before;
  return { before: round(before), after: round(after), increase: round(increase), max, passed: max >= 100 || increase <= max };
}

/**
 * The gate's decision for one batch, with the numbers behind it. Rates are
 * summed over the comparable agents (reporting in both windows) before the
 * shares are taken, so a busy agent weighs more than an idle one, as the
 * items lost do.
 */
export function evaluateOwnTelemetryGate(e: OwnTelemetryGateEvaluation): OwnTelemetryDecision {
  const g = e.gate;
  const before: Sums = { accepted: 0, refused: 0, dropped: 0, sent: 0, failed: 0 };
  const after: Sums = { accepted: 0, refused: 0, dropped: 0, sent: 0, failed: 0 };
  const stopped: string[] = [];
  const worst: Array<{ instanceUid: string; exportFailurePercentBefore: number; exportFailurePercentAfter: number; rise: number }> = [];
  let comparable = 0;
  let newly = 0;
  let none = 0;
  for (const a of e.agents) {
    const b = a.before && a.before.samples > 0 ? a.before : null;
    const n = a.after && a.after.samples > 0 ? a.after : null;
    if (b && n) {
      comparable++;
      add(before, b);
      add(after, n);
      const fb = failurePercent(b);
      const fa = failurePercent(n);
      worst.push({ instanceUid: a.instanceUid, exportFailurePercentBefore: round(fb), exportFailurePercentAfter: round(fa), rise: fa - fb });
    } else if (b) stopped.push(a.instanceUid);
    else if (n) newly++;
    else none++;
  }
  const required = g.minReportingPercent > 0 ? Math.max(1, Math.ceil((g.minReportingPercent * e.agents.length) / 100)) : 0;
  const exportFailurePercent = ratio(share(before.failed, before.sent + before.failed), share(after.failed, after.sent + after.failed), g.maxExportFailureIncreasePercent);
  const refusedDroppedPercent = ratio(
    share(before.refused + before.dropped, before.accepted + before.refused),
    share(after.refused + after.dropped, after.accepted + after.refused),
    g.maxRefusedDroppedIncreasePercent,
  );
  const dropPercent = before.sent > 0 ? (100 * (before.sent - after.sent)) / before.sent : 0;
  const throughput: OwnTelemetryThroughput = {
    before: round(before.sent),
    after: round(after.sent),
    dropPercent: round(dropPercent),
    max: g.maxThroughputDropPercent,
    passed: g.maxThroughputDropPercent >= 100 || dropPercent <= g.maxThroughputDropPercent,
  };
  worst.sort((x, y) => y.rise - x.rise || (x.instanceUid < y.instanceUid ? -1 : 1));
  const numbers: OwnTelemetryGateNumbers = {
    windowSeconds: g.windowSeconds,
    agents: e.agents.length,
    comparable,
    stoppedReporting: stopped.length,
    newlyReporting: newly,
    notReporting: none,
    requiredReporting: required,
    exportFailurePercent,
    refusedDroppedPercent,
    throughput,
    worstAgents: worst.slice(0, OWN_TELEMETRY_GATE_WORST_AGENTS).map(({ rise: _rise, ...w }) => w),
    stoppedAgents: [...stopped].sort().slice(0, OWN_TELEMETRY_GATE_WORST_AGENTS),
  };
  const fail = (reason: string): OwnTelemetryDecision => ({ decision: 'failed', reason, numbers });
  const windowText = `${g.windowSeconds} s before the batch started and the last ${g.windowSeconds} s`;

  if (stopped.length > e.toleratedSilent) {
    return fail(`own telemetry: ${stopped.length} of ${e.agents.length} agents reported own metrics before the change and none after it; ${e.toleratedSilent} tolerated`);
  }
  if (comparable < required) {
    return fail(
      `own telemetry: ${comparable} of ${e.agents.length} agents reported own metrics in both windows (${windowText}); ` +
        `${required} needed (min_reporting_percent ${g.minReportingPercent})`,
    );
  }
  const failed: string[] = [];
  if (!exportFailurePercent.passed) {
    failed.push(`export failures up ${exportFailurePercent.increase} points (${exportFailurePercent.before} % -> ${exportFailurePercent.after} % of items; at most ${g.maxExportFailureIncreasePercent} allowed)`);
  }
  if (!refusedDroppedPercent.passed) {
    failed.push(
      `refused or dropped items up ${refusedDroppedPercent.increase} points (${refusedDroppedPercent.before} % -> ${refusedDroppedPercent.after} % of received; at most ${g.maxRefusedDroppedIncreasePercent} allowed)`,
    );
  }
  if (!throughput.passed) {
    failed.push(`items exported per second down ${throughput.dropPercent} % (${throughput.before} -> ${throughput.after}; at most ${g.maxThroughputDropPercent} % allowed)`);
  }
  if (failed.length > 0) return fail(`own telemetry of ${comparable} agents: ${failed.join('; ')}`);
  if (comparable === 0) {
    return { decision: 'passed', reason: `own telemetry: no agent of ${e.agents.length} reported in both windows; passed because min_reporting_percent is 0`, numbers };
  }
  return {
    decision: 'passed',
    reason:
      `own telemetry of ${comparable} agents within limits: export failures ${exportFailurePercent.before} % -> ${exportFailurePercent.after} %, ` +
      `refused or dropped ${refusedDroppedPercent.before} % -> ${refusedDroppedPercent.after} %, exported ${throughput.before} -> ${throughput.after} items/s`,
    numbers,
  };
}
