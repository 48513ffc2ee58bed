/**
 * Owns the swarm's own label selectors (`key=value,key2=value2`, all must
 * match), used to pick the agents a convergence measurement waits for.
 * An empty selector targets every agent.
 */

export type EqualitySelector = Readonly<Record<string, string>>;

export function parseEqualitySelector(text: string | undefined): EqualitySelector {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = part.indexOf('=');
    if (at <= 0) throw new Error(`selector: "${part}" is not key=value`);
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key in out && out[key] !== value) throw new Error(`selector: "${key}" given twice with different values`);
    out[key] = value;
  }
  return out;
}

export function formatEqualitySelector(selector: EqualitySelector): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function matchesEquality(selector: EqualitySelector, labels: Readonly<Record<string, string>>): boolean {
  for (const key in selector) {
    if (labels[key] !== selector[key]) return false;
  }
  return true;
}
