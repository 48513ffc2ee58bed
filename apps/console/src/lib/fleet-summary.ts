/**
 * Fleet totals and breakdowns by a label, as GetFleetSummary returns them
 * (one aggregate on the server; the console no longer reads every agent).
 * The definitions match the ListAgents filters, so every count links to the
 * filtered agents table: connected=true, healthy=true, healthy=false,
 * inSync=true, inSync=false, configStatuses=REMOTE_CONFIG_STATUS_FAILED.
 *
 * Agents no assignment selects ("unmanaged") are shown apart from the sync
 * counts: the server counts them out of sync (no desired hash is never in
 * sync), which made a fleet with unassigned agents read "out of sync 43 %".
 */
import type { FleetCounts, FleetSummaryResponse } from './types';

export type FleetTotals = FleetCounts;

export function emptyTotals(): FleetTotals {
  return { agents: 0, connected: 0, disconnected: 0, healthy: 0, unhealthy: 0, healthUnknown: 0, inSync: 0, outOfSync: 0, unassigned: 0, configFailed: 0, configApplying: 0 };
}

/** Shown for the group of agents without the label. */
export const NO_VALUE = '(none)';

export interface BreakdownRow {
  /** What the table shows (NO_VALUE for agents without the label). */
  value: string;
  hasLabel: boolean;
  /** The label value itself ("" for agents without the label). */
  labelValue: string;
  totals: FleetTotals;
}

/** Missing counters (proto3 JSON writes them all, but be lenient) read as 0. */
function counts(c: Partial<FleetCounts> | undefined): FleetTotals {
  return { ...emptyTotals(), ...(c ?? {}) };
}

export function summaryTotals(s: FleetSummaryResponse): FleetTotals {
  return counts(s.totals);
}

/** Rows per value of the summary's group_by label, in the server's order (largest first, agents without the label last). */
export function breakdownRows(s: FleetSummaryResponse): BreakdownRow[] {
  if (!s.groupBy) return [];
  return s.groups.map((g) => ({ value: g.hasLabel ? g.value : NO_VALUE, hasLabel: g.hasLabel, labelValue: g.value, totals: counts(g.counts) }));
}

/** The label to break down by: the operator's choice when agents have it, else env, else the most common key. */
export function chooseGroupBy(labelKeys: readonly string[], wanted: string): string {
  if (wanted && labelKeys.includes(wanted)) return wanted;
  return labelKeys.find((k) => k === 'env') ?? labelKeys[0] ?? '';
}

/** The label selector that lists the agents of one breakdown row. */
export function selectorForLabel(key: string, row: Pick<BreakdownRow, 'hasLabel' | 'labelValue'>): string {
  return row.hasLabel ? `${key}=${row.labelValue}` : `!${key}`;
}

/** Sync counts of the agents an assignment selects, and the unmanaged ones apart; shares in whole percent. */
export interface SyncView {
  managed: number;
  unmanaged: number;
  inSync: number;
  /** Managed agents not in sync (the server's outOfSync less the unmanaged, which it counts there). */
  outOfSync: number;
  /** Of the managed agents. */
  inSyncPercent: number;
  outOfSyncPercent: number;
  /** Of all agents. */
  unmanagedPercent: number;
}

const percent = (n: number, of: number) => (of > 0 ? Math.round((100 * n) / of) : 0);

export function syncView(t: FleetTotals): SyncView {
  const unmanaged = Math.min(t.unassigned, t.agents);
  const managed = t.agents - unmanaged;
  const outOfSync = Math.max(0, t.outOfSync - unmanaged);
  return {
    managed,
    unmanaged,
    inSync: t.inSync,
    outOfSync,
    inSyncPercent: percent(t.inSync, managed),
    outOfSyncPercent: percent(outOfSync, managed),
    unmanagedPercent: percent(unmanaged, t.agents),
  };
}
