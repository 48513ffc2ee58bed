/**
 * Own metrics of one group of agents (GetRolloutBatchOwnMetrics,
 * GetConfigurationVersionOwnMetrics; issue 19 item 4), pure: which agents
 * are asked for, the range (by default around the change, so the same agents
 * are seen before and after it) and the step of the summed series. The
 * group's sums follow GetFleetOwnMetrics: per bucket, the sum over agents and
 * components of each one's average, with the agents that reported.
 */
import { echo, invalidArgument } from './errors';
import { OWN_METRIC_MAX_RANGE_MS } from './limits';
import { OWN_METRIC_ROLLUP_STEP_MS, type OwnMetricRange } from './own-metric-query';

/**
 * From the 10 s points, each agent's values are averaged per minute before
 * they are summed: agents' clocks are not aligned, so a 10 s bucket would hold
 * one reading of some agents and two or none of others.
 */
export const OWN_METRIC_GROUP_POINT_STEP_MS = 60_000;

/** How long before a change the default range starts: enough of "before" to compare with. */
export const OWN_METRIC_GROUP_BEFORE_MS = 3_600_000;

/** The bucket of a group's sums for a range: a minute from the points, 5 minutes from the rollups. */
export function groupOwnMetricStep(range: Pick<OwnMetricRange, 'source'>): number {
  return range.source === 'points' ? OWN_METRIC_GROUP_POINT_STEP_MS : OWN_METRIC_ROLLUP_STEP_MS;
}

/**
 * The default start of a group's range when the caller names none: an hour
 * before the change (a batch's start), no earlier than the longest range
 * allows; '' (the usual last hour) when nothing changed yet or the change is
 * in the future of `endMs`.
 */
export function groupDefaultStart(changedAtMs: number | null, endMs: number): string {
  if (changedAtMs === null || changedAtMs >= endMs) return '';
  const start = Math.max(changedAtMs - OWN_METRIC_GROUP_BEFORE_MS, endMs - OWN_METRIC_MAX_RANGE_MS);
  return new Date(start).toISOString();
}

/** A rollout batch's index (0 = the first batch). */
export function batchIndexArgument(n: number): number {
  if (n < 0) throw invalidArgument(`batch_index must be 0 or more, got ${echo(n)}`);
  return n;
}

/** A configuration's version number (1 = the first). */
export function versionArgument(n: number): number {
  if (n < 1) throw invalidArgument(`version must be 1 or more, got ${echo(n)}`);
  return n;
}
