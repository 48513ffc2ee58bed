/**
 * An agent's credential state as ListAgents and GetAgent show it (fleet.v1
 * AgentCredentialSummary), and the ListAgents credential_state filter: the
 * names, how a page row's credential facts give the state, and the filter as
 * SQL over agents `a` (EXISTS on agent_credentials, one index probe per agent
 * at most, so the page query stays a seek).
 */
import { echo, invalidArgument } from './errors';

export const CREDENTIAL_STATES = ['NONE', 'OFFERED', 'ACTIVE', 'ROTATING', 'REVOKED'] as const;
export type AgentCredentialState = (typeof CREDENTIAL_STATES)[number];

/** agents.credential_kind (fleet.v1.CredentialKind) -> the API's name; "" when unknown. */
const KIND_NAMES: Record<number, string> = { 1: 'ENROLLMENT_TOKEN', 2: 'OWN_CREDENTIAL' };

/** What one agent's credentials say (aggregated in SQL by CREDENTIAL_SUMMARY_JOIN). */
export interface AgentCredentialFacts {
  /** It has a credential in use (state active). */
  active: boolean;
  /** When the active one stops being accepted (a rotation it has not followed yet); null otherwise. */
  retireAt: string | null;
  /** A credential on offer, not used yet. */
  offered: boolean;
  revoked: boolean;
}

/**
 * ROTATING beats ACTIVE (the active one has a deadline), ACTIVE beats OFFERED
 * (a rotation's new one on offer is part of ROTATING), and REVOKED is shown only
 * while nothing is alive: a revoked agent that enrolls again is OFFERED.
 */
export function credentialStateOf(f: AgentCredentialFacts): AgentCredentialState {
  if (f.active) return f.retireAt ? 'ROTATING' : 'ACTIVE';
  if (f.offered) return 'OFFERED';
  return f.revoked ? 'REVOKED' : 'NONE';
}

export function credentialKindName(kind: number): string {
  return KIND_NAMES[kind] ?? '';
}

/** ListAgentsRequest.credential_state: names (any case), each at most once; unknown ones are INVALID_ARGUMENT. */
export function parseCredentialStates(v: unknown): AgentCredentialState[] {
  const given = Array.isArray(v) ? (v as unknown[]) : v === undefined || v === null || v === '' ? [] : [v];
  const out = new Set<AgentCredentialState>();
  for (const s of given) {
    const name = (typeof s === 'string' ? s.trim().toUpperCase() : '') as AgentCredentialState;
    if (!CREDENTIAL_STATES.includes(name)) throw invalidArgument(`credential_state: unknown state ${echo(s)}; one of ${CREDENTIAL_STATES.join(', ')}`);
    out.add(name);
  }
  return [...out];
}

/** The page's credential columns: the kind the last connection was admitted with, and the facts of credentialStateOf. */
export const CREDENTIAL_SUMMARY_COLUMNS = `a.credential_kind, cred.active AS cred_active, cred.offered AS cred_offered, cred.revoked AS cred_revoked, cred.retire_at AS cred_retire_at`;

/**
 * One aggregate per agent row, run per row the page emits (agent_credentials_agent_idx):
 * never over the fleet. Without GROUP BY it yields one row also for an agent without credentials.
 */
export const CREDENTIAL_SUMMARY_JOIN = `CROSS JOIN LATERAL (
    SELECT coalesce(bool_or(c.state = 'active'), false) AS active, coalesce(bool_or(c.state = 'offered'), false) AS offered,
           coalesce(bool_or(c.state = 'revoked'), false) AS revoked, max(c.retire_at) FILTER (WHERE c.state = 'active') AS retire_at
      FROM agent_credentials c WHERE c.tenant_id = a.tenant_id AND c.instance_uid = a.instance_uid) cred`;

function has(condition: string): string {
  return `EXISTS (SELECT 1 FROM agent_credentials c WHERE c.tenant_id = a.tenant_id AND c.instance_uid = a.instance_uid AND ${condition})`;
}

const ALIVE = `c.state IN ('offered', 'active')`;

/** Each state as a predicate over agents `a`; mirrors credentialStateOf (at most one active credential per agent). */
const STATE_SQL: Record<AgentCredentialState, string> = {
  ROTATING: has(`c.state = 'active' AND c.retire_at IS NOT NULL`),
  ACTIVE: has(`c.state = 'active' AND c.retire_at IS NULL`),
  OFFERED: `${has(`c.state = 'offered'`)} AND NOT ${has(`c.state = 'active'`)}`,
  REVOKED: `${has(`c.state = 'revoked'`)} AND NOT ${has(ALIVE)}`,
  NONE: `NOT ${has(`c.state IN ('offered', 'active', 'revoked')`)}`,
};

/** The credential_state filter (any of the states); no parameters. */
export function credentialStateSql(states: readonly AgentCredentialState[]): string {
  return states.map((s) => `(${STATE_SQL[s]})`).join(' OR ');
}

/** fleet.v1.AgentCredentialSummary of a page row (CREDENTIAL_SUMMARY_COLUMNS). */
export function credentialSummaryFromRow(r: Record<string, unknown>, toIso: (v: unknown) => string): { kind: string; state: AgentCredentialState; retireTime: string } {
  const retireAt = r['cred_retire_at'] === null || r['cred_retire_at'] === undefined ? null : toIso(r['cred_retire_at']);
  const state = credentialStateOf({ active: r['cred_active'] === true, retireAt, offered: r['cred_offered'] === true, revoked: r['cred_revoked'] === true });
  return { kind: credentialKindName(Number(r['credential_kind'] ?? 0)), state, retireTime: state === 'ROTATING' && retireAt ? retireAt : '' };
}
