/**
 * Agent (enrollment) tokens in the console: the create form's fields turned
 * into a CreateAgentToken request (checked as the server checks them, so the
 * operator hears of a bad label before submitting), and how a token's state
 * and use count read.
 */
import type { AgentToken, AgentTokenState } from './types';

/** The server's limits (libs/desired-state/src/core/limits.ts). */
export const MAX_TOKEN_USES = 10_000_000;
export const MAX_TOKEN_LIFETIME_DAYS = 3650;
export const MAX_TOKEN_LABELS = 64;
const MAX_KEY = 128;
const MAX_VALUE = 256;
const KEY = /^[A-Za-z0-9_./-]+$/;

export interface TokenForm {
  name: string;
  /** A datetime-local value (the browser's local time), or empty: never. */
  expiresAt: string;
  /** Digits, or empty: no limit. */
  maxUses: string;
  /** One `key=value` per line (or separated by commas). */
  labels: string;
}

export interface CreateTokenRequest {
  name: string;
  expireTime?: string;
  maxUses?: number;
  labels?: Record<string, string>;
}

/** `key=value` lines (or comma-separated pairs) into labels; throws with the line at fault. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const parts = text
    .split(/\n|,/)
    .map((p) => p.trim())
    .filter(Boolean);
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${part}": write a label as key=value`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!KEY.test(key)) throw new Error(`"${key}": a label key is made of letters, digits and _ . - /`);
    if (key.length > MAX_KEY) throw new Error(`"${key.slice(0, 20)}…": a label key has at most ${MAX_KEY} characters`);
    if (value.length > MAX_VALUE) throw new Error(`"${key}": a label value has at most ${MAX_VALUE} characters`);
    if (key in labels) throw new Error(`"${key}" is given twice`);
    labels[key] = value;
  }
  if (Object.keys(labels).length > MAX_TOKEN_LABELS) throw new Error(`at most ${MAX_TOKEN_LABELS} labels`);
  return labels;
}

/** The form as a CreateAgentToken request; throws with a message for the field at fault. */
export function tokenRequest(form: TokenForm, nowMs: number = Date.now()): CreateTokenRequest {
  const req: CreateTokenRequest = { name: form.name.trim() };
  if (form.expiresAt) {
    const at = new Date(form.expiresAt).getTime();
    if (Number.isNaN(at)) throw new Error('Expires: not a date and time');
    if (at <= nowMs) throw new Error('Expires: must be in the future');
    if (at - nowMs > MAX_TOKEN_LIFETIME_DAYS * 86_400_000) throw new Error(`Expires: at most ${MAX_TOKEN_LIFETIME_DAYS} days ahead`);
    req.expireTime = new Date(at).toISOString();
  }
  if (form.maxUses.trim()) {
    const n = Number(form.maxUses.trim());
    if (!Number.isInteger(n) || n < 1 || n > MAX_TOKEN_USES) throw new Error(`Use limit: a whole number from 1 to ${MAX_TOKEN_USES.toLocaleString('en-US')}, or empty for none`);
    req.maxUses = n;
  }
  const labels = parseLabels(form.labels);
  if (Object.keys(labels).length > 0) req.labels = labels;
  return req;
}

const STATES: Record<AgentTokenState, { text: string; tone: 'ok' | 'bad' | 'warn' | 'muted' }> = {
  AGENT_TOKEN_STATE_UNSPECIFIED: { text: 'unknown', tone: 'muted' },
  AGENT_TOKEN_STATE_ACTIVE: { text: 'active', tone: 'ok' },
  AGENT_TOKEN_STATE_EXPIRED: { text: 'expired', tone: 'warn' },
  AGENT_TOKEN_STATE_EXHAUSTED: { text: 'used up', tone: 'warn' },
  AGENT_TOKEN_STATE_REVOKED: { text: 'revoked', tone: 'bad' },
};

export function tokenStateView(state: AgentTokenState): { text: string; tone: 'ok' | 'bad' | 'warn' | 'muted' } {
  return STATES[state] ?? STATES.AGENT_TOKEN_STATE_UNSPECIFIED;
}

/** "3 / 500" with a limit, "3" without. */
export function usesText(t: Pick<AgentToken, 'uses' | 'maxUses'>): string {
  return t.maxUses > 0 ? `${t.uses} / ${t.maxUses}` : String(t.uses);
}

/** Labels as the table shows them: `key=value` sorted by key. */
export function labelsText(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
}

/** Only an active token can be revoked (a revoked one stays listed). */
export function canRevoke(t: Pick<AgentToken, 'state' | 'revokeTime'>): boolean {
  return t.revokeTime === '';
}
