/**
 * Fleet totals and breakdowns by a label, computed from agents as the API
 * lists them. The definitions match the ListAgents filters, so every count can
 * be checked with one filtered query: connected=true, healthy=true,
 * healthy=false, inSync=true, configStatuses=REMOTE_CONFIG_STATUS_FAILED.
 */
export interface SummaryAgent {
  labels: Record<string, string>;
  connected: boolean;
  health: string;
  inSync: boolean;
  configurationName: string;
  remoteConfigStatus: string;
}

export interface FleetTotals {
  agents: number;
  connected: number;
  disconnected: number;
  healthy: number;
  unhealthy: number;
  /** Agents that report no health. */
  healthUnknown: number;
  inSync: number;
  /** Not in sync (ListAgents inSync=false): they do not run what they should, or no assignment selects a configuration for them. */
  outOfSync: number;
  /** No assignment selects a configuration for them (counted in outOfSync too). */
  unassigned: number;
  configFailed: number;
  configApplying: number;
}

export function emptyTotals(): FleetTotals {
  return { agents: 0, connected: 0, disconnected: 0, healthy: 0, unhealthy: 0, healthUnknown: 0, inSync: 0, outOfSync: 0, unassigned: 0, configFailed: 0, configApplying: 0 };
}

export function addAgent(t: FleetTotals, a: SummaryAgent): void {
  t.agents++;
  if (a.connected) t.connected++;
  else t.disconnected++;
  if (a.health === 'HEALTH_STATE_HEALTHY') t.healthy++;
  else if (a.health === 'HEALTH_STATE_UNHEALTHY') t.unhealthy++;
  else t.healthUnknown++;
  if (a.inSync) t.inSync++;
  else t.outOfSync++;
  if (!a.configurationName) t.unassigned++;
  if (a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_FAILED') t.configFailed++;
  if (a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLYING') t.configApplying++;
}

export function totalsOf(agents: Iterable<SummaryAgent>): FleetTotals {
  const t = emptyTotals();
  for (const a of agents) addAgent(t, a);
  return t;
}

/** Label value used for agents without the label. */
export const NO_VALUE = '(none)';

export interface BreakdownRow {
  value: string;
  totals: FleetTotals;
}

/** Accumulates totals overall, per label key and per label value, in one pass over the agents. */
export class FleetSummary {
  readonly totals = emptyTotals();
  private readonly byKey = new Map<string, Map<string, FleetTotals>>();
  private readonly keyCounts = new Map<string, number>();

  add(a: SummaryAgent): void {
    addAgent(this.totals, a);
    for (const [key, value] of Object.entries(a.labels)) {
      this.keyCounts.set(key, (this.keyCounts.get(key) ?? 0) + 1);
      let values = this.byKey.get(key);
      if (!values) this.byKey.set(key, (values = new Map()));
      let t = values.get(value);
      if (!t) values.set(value, (t = emptyTotals()));
      addAgent(t, a);
    }
  }

  /** Label keys, the most common first, then by name. */
  keys(): string[] {
    return [...this.keyCounts.entries()].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).map(([k]) => k);
  }

  /** Rows per value of `key` (largest first), with a row for agents lacking the label. */
  breakdown(key: string): BreakdownRow[] {
    const values = this.byKey.get(key) ?? new Map<string, FleetTotals>();
    const rows = [...values.entries()].map(([value, totals]) => ({ value, totals }));
    rows.sort((x, y) => y.totals.agents - x.totals.agents || x.value.localeCompare(y.value));
    const labelled = rows.reduce((n, r) => n + r.totals.agents, 0);
    if (labelled < this.totals.agents) {
      // Agents without the label: the overall totals minus every labelled row.
      const none = { ...this.totals };
      for (const r of rows) for (const k of Object.keys(none) as (keyof FleetTotals)[]) none[k] -= r.totals[k];
      rows.push({ value: NO_VALUE, totals: none });
    }
    return rows;
  }
}

/** The label selector that lists the agents of one breakdown row. */
export function selectorForLabel(key: string, value: string): string {
  return value === NO_VALUE ? `!${key}` : `${key}=${value}`;
}
