/** The component health tree (fleet.v1.ComponentHealth) for display: counts and which nodes start open. */
import type { ComponentHealth } from './types';

export interface HealthCounts {
  components: number;
  unhealthy: number;
}

/** Every node of the tree, the root included. */
export function healthCounts(node: ComponentHealth): HealthCounts {
  let components = 1;
  let unhealthy = node.healthy ? 0 : 1;
  for (const child of Object.values(node.children ?? {})) {
    const c = healthCounts(child);
    components += c.components;
    unhealthy += c.unhealthy;
  }
  return { components, unhealthy };
}

/** Children by name, the unhealthy first. */
export function sortedChildren(node: ComponentHealth): [string, ComponentHealth][] {
  return Object.entries(node.children ?? {}).sort(([an, a], [bn, b]) => Number(a.healthy) - Number(b.healthy) || an.localeCompare(bn));
}

/** A node starts open at the top level, or when something under it is unhealthy (so problems show without clicking). */
export function startsOpen(node: ComponentHealth, depth: number): boolean {
  if (Object.keys(node.children ?? {}).length === 0) return false;
  if (depth === 0) return true;
  return sortedChildren(node).some(([, c]) => healthCounts(c).unhealthy > 0);
}
