/**
 * The own-telemetry gate of a rollout as the detail page shows it (issue 19
 * item 5): its settings in a sentence, and each batch's latest decision with
 * the numbers behind it, read from the rollout's `own_telemetry_gate` events
 * (their details are the server's; anything missing shows as unknown).
 */
import type { OwnTelemetryGate, RolloutEvent } from './types';

export interface OwnTelemetryRatioView {
  before: number;
  after: number;
  increase: number;
  max: number;
  passed: boolean;
}

export interface OwnTelemetryDecisionView {
  batchIndex: number;
  decision: 'passed' | 'failed';
  reason: string;
  time: string;
  windowSeconds: number;
  agents: number;
  comparable: number;
  requiredReporting: number;
  stoppedReporting: number;
  exportFailurePercent: OwnTelemetryRatioView | null;
  refusedDroppedPercent: OwnTelemetryRatioView | null;
  throughput: { before: number; after: number; dropPercent: number; max: number; passed: boolean } | null;
  worstAgents: { instanceUid: string; exportFailurePercentBefore: number; exportFailurePercentAfter: number }[];
  stoppedAgents: string[];
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

function ratio(v: unknown): OwnTelemetryRatioView | null {
  const o = obj(v);
  return o ? { before: num(o['before']), after: num(o['after']), increase: num(o['increase']), max: num(o['max']), passed: o['passed'] === true } : null;
}

/** The gate's settings in one line (a check at 100 is off). */
export function describeOwnTelemetryGate(g: OwnTelemetryGate): string {
  const checks = [
    g.maxExportFailureIncreasePercent < 100 ? `export failures up > ${g.maxExportFailureIncreasePercent} points` : '',
    g.maxRefusedDroppedIncreasePercent < 100 ? `refused/dropped up > ${g.maxRefusedDroppedIncreasePercent} points` : '',
    g.maxThroughputDropPercent < 100 ? `throughput down > ${g.maxThroughputDropPercent}%` : '',
  ].filter(Boolean);
  const reporting = g.minReportingPercent > 0 ? `fails with fewer than ${g.minReportingPercent}% of agents reporting` : 'passes when no agent reports';
  return `${checks.length ? `fails on ${checks.join(', ')}` : 'no thresholds'} · ${g.windowSeconds} s before vs last ${g.windowSeconds} s of the soak · ${reporting}`;
}

/** Each batch's latest own-telemetry decision, by batch. */
export function ownTelemetryDecisions(events: readonly RolloutEvent[]): OwnTelemetryDecisionView[] {
  const byBatch = new Map<number, OwnTelemetryDecisionView>();
  for (const e of events) {
    if (e.type !== 'own_telemetry_gate') continue;
    let d: Record<string, unknown>;
    try {
      d = obj(JSON.parse(e.detailsJson)) ?? {};
    } catch {
      d = {};
    }
    const t = obj(d['throughput']);
    byBatch.set(e.batchIndex, {
      batchIndex: e.batchIndex,
      decision: d['decision'] === 'passed' ? 'passed' : 'failed',
      reason: typeof d['reason'] === 'string' ? d['reason'] : e.message,
      time: e.time,
      windowSeconds: num(d['windowSeconds']),
      agents: num(d['agents']),
      comparable: num(d['comparable']),
      requiredReporting: num(d['requiredReporting']),
      stoppedReporting: num(d['stoppedReporting']),
      exportFailurePercent: ratio(d['exportFailurePercent']),
      refusedDroppedPercent: ratio(d['refusedDroppedPercent']),
      throughput: t ? { before: num(t['before']), after: num(t['after']), dropPercent: num(t['dropPercent']), max: num(t['max']), passed: t['passed'] === true } : null,
      worstAgents: (Array.isArray(d['worstAgents']) ? d['worstAgents'] : [])
        .map(obj)
        .filter((w): w is Record<string, unknown> => w !== null && typeof w['instanceUid'] === 'string')
        .map((w) => ({ instanceUid: String(w['instanceUid']), exportFailurePercentBefore: num(w['exportFailurePercentBefore']), exportFailurePercentAfter: num(w['exportFailurePercentAfter']) })),
      stoppedAgents: (Array.isArray(d['stoppedAgents']) ? d['stoppedAgents'] : []).filter((u): u is string => typeof u === 'string'),
    });
  }
  return [...byBatch.values()].sort((a, b) => a.batchIndex - b.batchIndex);
}

/** "1.2 % → 54 % (+52.8 points, at most 5)". */
export function ratioText(r: OwnTelemetryRatioView): string {
  const sign = r.increase >= 0 ? '+' : '−';
  return `${r.before} % → ${r.after} % (${sign}${Math.abs(r.increase)} points${r.max < 100 ? `, at most ${r.max}` : ', not checked'})`;
}
