/**
 * What a query of agents' own metrics asks for (GetAgentOwnMetrics,
 * GetFleetOwnMetrics; issue 19 item 3), pure: the time range and which
 * table answers it (10 s points up to a day, 5-minute rollups beyond), the
 * series kinds, the grouping of a fleet roll-up; and the rows read back
 * gathered into series. Bad values are INVALID_ARGUMENT naming the field.
 */
import { echo, invalidArgument } from './errors';
import { OWN_METRIC_DEFAULT_RANGE_MS, OWN_METRIC_MAX_RANGE_MS, OWN_METRIC_POINTS_RANGE_MS } from './limits';

/** The step of each table (ingest's OWN_METRIC_STEP_MS and OWN_METRIC_ROLLUP_MS). */
export const OWN_METRIC_POINT_STEP_MS = 10_000;
export const OWN_METRIC_ROLLUP_STEP_MS = 300_000;

export interface OwnMetricRange {
  startMs: number;
  endMs: number;
  /** 'points' (10 s, rates and gauges as stored) or 'rollups' (5-minute average and maximum). */
  source: 'points' | 'rollups';
  stepMs: number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function time(v: string, field: string): number {
  const ms = RFC3339.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw invalidArgument(`${field} must be an RFC 3339 time (2026-12-02T10:00:00Z), got ${echo(v)}`);
  return ms;
}

/** The range asked for: end defaults to now, start to an hour before end; the source follows the length. */
export function ownMetricRange(start: string, end: string, nowMs: number): OwnMetricRange {
  const endMs = end ? time(end, 'end_time') : nowMs;
  const startMs = start ? time(start, 'start_time') : endMs - OWN_METRIC_DEFAULT_RANGE_MS;
  if (startMs >= endMs) throw invalidArgument(`start_time must be before end_time (${new Date(startMs).toISOString()} is not before ${new Date(endMs).toISOString()})`);
  const length = endMs - startMs;
  if (length > OWN_METRIC_MAX_RANGE_MS) throw invalidArgument(`the range may span at most ${OWN_METRIC_MAX_RANGE_MS / 86_400_000} days, got ${Math.ceil(length / 86_400_000)}`);
  return length <= OWN_METRIC_POINTS_RANGE_MS
    ? { startMs, endMs, source: 'points', stepMs: OWN_METRIC_POINT_STEP_MS }
    : { startMs, endMs, source: 'rollups', stepMs: OWN_METRIC_ROLLUP_STEP_MS };
}

const KIND = /^[a-z][a-z_]{0,63}$/;
const MAX_KINDS = 32;

/** The series kinds asked for (none: all). */
export function ownMetricKinds(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : v === undefined || v === null || v === '' ? [] : String(v).split(',');
  if (list.length > MAX_KINDS) throw invalidArgument(`kinds may name at most ${MAX_KINDS} kinds, got ${list.length}`);
  for (const k of list) if (!KIND.test(k)) throw invalidArgument(`kinds must be series kinds such as exporter_sent, got ${echo(k)}`);
  return [...new Set(list)];
}

const LABEL_KEY = /^[^\s,=!()]{1,253}$/;

/** How a fleet roll-up groups agents: by the configuration they run, or by one label's value. */
export type OwnMetricGrouping = { by: 'configuration' } | { by: 'label'; key: string };

export function ownMetricGrouping(groupByLabel: string): OwnMetricGrouping {
  if (!groupByLabel) return { by: 'configuration' };
  if (!LABEL_KEY.test(groupByLabel)) throw invalidArgument(`group_by_label must be a label key, got ${echo(groupByLabel)}`);
  return { by: 'label', key: groupByLabel };
}

export interface OwnMetricSeriesOut<P> {
  kind: string;
  component: string;
  signal: string;
  points: P[];
}

/** Rows ordered by series then time, gathered into one series each (order kept). */
export function gatherSeries<R, P>(rows: readonly R[], keyOf: (r: R) => { kind: string; component: string; signal: string }, pointOf: (r: R) => P): OwnMetricSeriesOut<P>[] {
  const out: OwnMetricSeriesOut<P>[] = [];
  const byKey = new Map<string, OwnMetricSeriesOut<P>>();
  for (const r of rows) {
    const k = keyOf(r);
    const id = `${k.kind}|${k.component}|${k.signal}`;
    let s = byKey.get(id);
    if (!s) {
      s = { ...k, points: [] };
      byKey.set(id, s);
      out.push(s);
    }
    s.points.push(pointOf(r));
  }
  return out;
}
