/**
 * The labels an agent gets from the enrollment token it came in with: they
 * join the labels derived from its attributes (the ones selectors query) and
 * win on the same key, since the operator set them for every agent of that
 * token. Looked up once per credential change (store/enrollment-label.repository.ts),
 * never per heartbeat.
 */
import type { AgentState } from './agent-state';
import { sortKeys } from './json';

/** Attribute-derived labels with the enrollment labels over them, keys sorted. */
export function mergeEnrollmentLabels(attributeLabels: Readonly<Record<string, string>>, enrollment: Readonly<Record<string, string>>): Record<string, string> {
  return sortKeys({ ...attributeLabels, ...enrollment });
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/**
 * Gives `state` the enrollment labels of its (new) credential, recomputing
 * its labels from its attributes. True when its labels changed (selectors
 * must look at it again).
 */
export function withEnrollmentLabels(state: AgentState, enrollment: Readonly<Record<string, string>>, attributeLabels: Readonly<Record<string, string>>): boolean {
  const labels = mergeEnrollmentLabels(attributeLabels, enrollment);
  const changed = !sameLabels(labels, state.labels);
  state.enrollmentLabels = sortKeys({ ...enrollment });
  state.labels = labels;
  return changed;
}
