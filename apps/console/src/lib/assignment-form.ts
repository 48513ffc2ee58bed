/**
 * The "assign to agents" form's guard: an empty label selector matches every
 * agent, so the form never saves one unless the operator says "all agents"
 * on purpose (it starts empty, and a slip must not reconfigure the fleet).
 */
export interface SelectorGate {
  ok: boolean;
  /** Why the form cannot be saved yet, or what it will do. */
  reason: string;
}

export function assignmentSelectorGate(selector: string, allAgents: boolean): SelectorGate {
  if (selector.trim() !== '') return { ok: true, reason: '' };
  if (allAgents) return { ok: true, reason: 'No selector: this assignment selects every agent.' };
  return { ok: false, reason: 'Type a label selector, or tick “all agents”: an empty selector matches every agent.' };
}
