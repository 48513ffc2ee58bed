/**
 * Agents' credentials as the console shows them: the API's messages
 * (fleet.v1 AgentCredentialSummary, AgentCredential, AgentEnrollment), the
 * words and tones of their states, when Rotate and Revoke make sense, and the
 * reason a revocation must carry.
 */
/** Badge tones (components/badges Tone). */
type Tone = 'ok' | 'bad' | 'warn' | 'muted' | 'info';

/** Agent.credential.state: the agent's own credential. */
export type CredentialState = 'NONE' | 'OFFERED' | 'ACTIVE' | 'ROTATING' | 'REVOKED';
export const CREDENTIAL_STATES: readonly CredentialState[] = ['NONE', 'OFFERED', 'ACTIVE', 'ROTATING', 'REVOKED'];

/** What the agent's last connection was admitted with ('' when unknown). */
export type CredentialKind = 'ENROLLMENT_TOKEN' | 'OWN_CREDENTIAL' | '';

export interface AgentCredentialSummary {
  kind: CredentialKind;
  state: CredentialState;
  /** While ROTATING: when the old credential stops being accepted. */
  retireTime: string;
}

/** One credential of an agent (never its secret). */
export interface AgentCredential {
  id: string;
  instanceUid: string;
  state: 'OFFERED' | 'ACTIVE' | 'SUPERSEDED' | 'REVOKED' | 'EXPIRED';
  enrollmentTokenId: string;
  createTime: string;
  activateTime: string;
  offerTime: string;
  retireTime: string;
  revokeTime: string;
  revokeReason: string;
  /** Its offer (for one being rotated: its successor's): PENDING, SENT, FAILED; absent when none is on offer. */
  offerState?: 'PENDING' | 'SENT' | 'FAILED' | '';
  offerError?: string;
  offerFailures?: number;
}

export interface AgentEnrollment {
  enrollmentTokenId: string;
  enrollTime: string;
  enrollments: number;
}

export interface ListAgentCredentialsResponse {
  credentials: AgentCredential[];
  /** Absent (null) when the agent never enrolled with an enrollment token. */
  enrollment?: AgentEnrollment | null;
}

export interface AgentCredentialsChange {
  agents: number;
  credentials: number;
}

/** The API's revocation reason limit. */
export const MAX_REVOKE_REASON = 500;

const STATE_VIEW: Record<CredentialState, { text: string; tone: Tone; title: string }> = {
  NONE: { text: 'none', tone: 'muted', title: 'No credential of its own: the agent connects with the enrollment token' },
  OFFERED: { text: 'offered', tone: 'info', title: 'A credential of its own is on offer; the agent has not switched to it yet' },
  ACTIVE: { text: 'active', tone: 'ok', title: 'The agent connects with a credential of its own' },
  ROTATING: { text: 'rotating', tone: 'warn', title: 'A new credential is on offer; the old one is accepted until the deadline' },
  REVOKED: { text: 'revoked', tone: 'bad', title: 'Its credential was revoked; it may enroll again with a valid enrollment token' },
};

const KIND_TEXT: Record<string, string> = { ENROLLMENT_TOKEN: 'enrollment token', OWN_CREDENTIAL: 'own credential' };

/** The badge of an agent's credential state (an older server without the field shows as unknown). */
export function credentialView(c: AgentCredentialSummary | null | undefined): { text: string; tone: Tone; title: string } {
  const view = c ? STATE_VIEW[c.state] : undefined;
  if (!c || !view) return { text: 'unknown', tone: 'muted', title: 'The server does not report credential states' };
  return c.state === 'ROTATING' && c.retireTime ? { ...view, title: `${view.title} (${c.retireTime})` } : view;
}

export function credentialKindText(kind: string): string {
  return KIND_TEXT[kind] ?? 'unknown';
}

const RECORD_TONES: Record<string, Tone> = { OFFERED: 'info', ACTIVE: 'ok', SUPERSEDED: 'muted', REVOKED: 'bad', EXPIRED: 'warn' };

export function credentialRecordTone(state: string): Tone {
  return RECORD_TONES[state] ?? 'muted';
}

export interface Gate {
  ok: boolean;
  reason: string;
}

/** A rotation replaces the credential in use: only an ACTIVE agent has one to replace (the server skips the others). */
export function rotateGate(c: AgentCredentialSummary | null | undefined): Gate {
  switch (c?.state) {
    case 'ACTIVE':
      return { ok: true, reason: '' };
    case 'ROTATING':
      return { ok: false, reason: 'A rotation is under way: the agent has not switched to the new credential yet.' };
    case 'OFFERED':
      return { ok: false, reason: 'The agent has not switched to its first credential yet: there is nothing to rotate.' };
    case 'REVOKED':
      return { ok: false, reason: 'Its credential is revoked: the agent gets a new one when it enrolls again.' };
    default:
      return { ok: false, reason: 'The agent has no credential of its own (it does not accept connection settings, or the server issues none).' };
  }
}

/** Revocation ends credentials that are still accepted (on offer or in use). */
export function revokeGate(credentials: readonly Pick<AgentCredential, 'state'>[]): Gate {
  return credentials.some((c) => c.state === 'OFFERED' || c.state === 'ACTIVE') ? { ok: true, reason: '' } : { ok: false, reason: 'No credential of this agent is accepted now: nothing to revoke.' };
}

/** What is wrong with a revocation reason ('' = nothing): the audit log keeps it, so one is required. */
export function revokeReasonProblem(reason: string): string {
  if (reason.trim() === '') return 'Say why (the audit log keeps the reason).';
  if (reason.length > MAX_REVOKE_REASON) return `At most ${MAX_REVOKE_REASON} characters (${reason.length} now).`;
  return '';
}

/** A pending switch's deadline: "in 6 d", or overdue once passed (the old credential expires at the next sweep). */
export function deadlineText(retireTime: string, now: number, relative: (iso: string, now: number) => string): { text: string; overdue: boolean } {
  const t = Date.parse(retireTime);
  if (!retireTime || Number.isNaN(t)) return { text: '—', overdue: false };
  return t <= now ? { text: 'overdue: expires at the next sweep', overdue: true } : { text: relative(retireTime, now), overdue: false };
}
