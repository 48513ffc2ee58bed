/**
 * Bounds the tenant label of a per-tenant gauge: the tenants with most agents
 * keep their own series, the rest are summed into one (OTHER_TENANTS).
 */

/** The label value the tenants beyond the bound share. */
export const OTHER_TENANTS = '_other';

/** Agents per tenant from the tenants of the bound agents. */
export function countByTenant(tenants: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tenants) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/**
 * At most `max` series: the largest tenants (ties by name, so a scrape is
 * stable), then OTHER_TENANTS with the sum of the others when there are any.
 */
export function boundedTenantSeries(counts: ReadonlyMap<string, number>, max: number): Array<[tenant: string, agents: number]> {
  const sorted = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length <= max) return sorted;
  const named = max > 0 ? sorted.slice(0, max - 1) : [];
  const rest = sorted.slice(named.length).reduce((n, [, c]) => n + c, 0);
  return [...named, [OTHER_TENANTS, rest]];
}
