/**
 * Assignments: a configuration applied to the agents a label selector
 * matches, with a priority. An agent's desired configuration is the one of
 * the highest-priority matching assignment; among equal priorities the
 * assignment whose name sorts first (by code point) wins, so the outcome
 * never depends on storage order. Connection profiles resolve the same way
 * (any resource with a name, a selector and a priority).
 */
import { matchesSelector, type LabelSelector, type Labels } from './selector';

export interface Assignment {
  readonly name: string;
  readonly configurationName: string;
  /** A fixed version, or null for the configuration's latest version. */
  readonly pinnedVersion: number | null;
  readonly selector: LabelSelector;
  readonly selectorText: string;
  readonly priority: number;
}

/** What the resolution needs of a resource: assignments and connection profiles both are one. */
export interface SelectorRanked {
  readonly name: string;
  readonly selector: LabelSelector;
  readonly priority: number;
}

export function compareAssignments(a: SelectorRanked, b: SelectorRanked): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Sorts once, so resolving many agents is a first-match scan. */
export function orderAssignments<T extends SelectorRanked>(assignments: readonly T[]): T[] {
  return [...assignments].sort(compareAssignments);
}

/** The winning assignment for an agent, or null. `ordered` must come from orderAssignments. */
export function resolveAssignment<T extends SelectorRanked>(ordered: readonly T[], labels: Labels): T | null {
  for (const a of ordered) if (matchesSelector(a.selector, labels)) return a;
  return null;
}
