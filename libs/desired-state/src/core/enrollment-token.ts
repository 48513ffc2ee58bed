/**
 * What an enrollment (agent) token may carry besides its secret, checked
 * before anything is stored: an expiry (RFC 3339, in the future, within
 * MAX_AGENT_TOKEN_LIFETIME_MS), a use limit (agents it may enroll) and the
 * labels its agents get (keys a selector can name, bounded values). And the
 * state a token is in, for listing.
 */
import { echo, invalidArgument } from './errors';
import {
  MAX_AGENT_TOKEN_LIFETIME_MS,
  MAX_AGENT_TOKEN_USES,
  MAX_ENROLLMENT_LABELS,
  MAX_LABEL_KEY_CHARS,
  MAX_LABEL_VALUE_CHARS,
} from './limits';
import { isLabelKey } from './selector';

export type AgentTokenState = 'ACTIVE' | 'EXPIRED' | 'EXHAUSTED' | 'REVOKED';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
// Control characters would make a label unreadable in a list and unselectable by hand.
const hasControl = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** An RFC 3339 time to ms since the epoch, or null when it is not one (Date.parse alone takes "Feb 30" as March 2). */
export function parseRfc3339(text: string): number | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.parse(text.toUpperCase());
  return Number.isFinite(ms) ? ms : null;
}

/** `expire_time` of a new token: empty = never; otherwise after `nowMs` and at most the lifetime limit ahead. */
export function enrollmentExpiry(text: string, nowMs: number): number | null {
  if (text === '') return null;
  const ms = parseRfc3339(text);
  if (ms === null) throw invalidArgument(`expire_time must be an RFC 3339 time such as 2030-01-31T12:00:00Z, got ${echo(text)}`);
  if (ms <= nowMs) throw invalidArgument(`expire_time must be in the future, got ${echo(text)}`);
  if (ms - nowMs > MAX_AGENT_TOKEN_LIFETIME_MS) {
    throw invalidArgument(`expire_time may be at most ${MAX_AGENT_TOKEN_LIFETIME_MS / (24 * 3600 * 1000)} days ahead, got ${echo(text)}`);
  }
  return ms;
}

/** `max_uses` of a new token: 0 (absent) = no limit, else 1..MAX_AGENT_TOKEN_USES. */
export function enrollmentMaxUses(n: number): number | null {
  if (n === 0) return null;
  if (!Number.isInteger(n) || n < 1 || n > MAX_AGENT_TOKEN_USES) {
    throw invalidArgument(`max_uses must be between 1 and ${MAX_AGENT_TOKEN_USES} (or absent for no limit), got ${echo(n)}`);
  }
  return n;
}

/** `labels` of a new token, sorted by key; every key usable in a selector, values plain text. */
export function enrollmentLabels(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument('labels must be a map of strings');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_ENROLLMENT_LABELS) throw invalidArgument(`labels holds at most ${MAX_ENROLLMENT_LABELS} entries, got ${entries.length}`);
  const out: Record<string, string> = {};
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key.length > MAX_LABEL_KEY_CHARS) throw invalidArgument(`label key ${echo(key)} is longer than ${MAX_LABEL_KEY_CHARS} characters`);
    if (!isLabelKey(key)) throw invalidArgument(`label key ${echo(key)} must be made of letters, digits and _ . - / (as selectors name keys)`);
    if (typeof value !== 'string') throw invalidArgument(`label ${echo(key)} must have a string value`);
    if (value.length > MAX_LABEL_VALUE_CHARS) throw invalidArgument(`label ${echo(key)} has a value longer than ${MAX_LABEL_VALUE_CHARS} characters`);
    if (hasControl(value)) throw invalidArgument(`label ${echo(key)} must not contain control characters, got ${echo(value)}`);
    out[key] = value;
  }
  return out;
}

/** Revoked wins over expired, expired over used up. */
export function agentTokenState(t: { revoked: boolean; expiresAtMs: number | null; maxUses: number | null; uses: number }, nowMs: number): AgentTokenState {
  if (t.revoked) return 'REVOKED';
  if (t.expiresAtMs !== null && t.expiresAtMs <= nowMs) return 'EXPIRED';
  if (t.maxUses !== null && t.uses >= t.maxUses) return 'EXHAUSTED';
  return 'ACTIVE';
}
