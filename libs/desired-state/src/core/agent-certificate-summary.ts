/**
 * An agent's client certificate at a glance (ListAgents and GetAgent,
 * fleet.v1.AgentCertificateSummary), and the ListAgents filter
 * certificate_expires_within_days: which certificate counts is the one the
 * agent connects with (its active one), else the one issued to it and not
 * used yet, else its last dead one: expired, or REVOKED (revocation, issue 18
 * item 5) when a revoked one ends later than the last expired one; NONE when
 * it never had one. A revoked certificate never counts as expiring.
 */
import { invalidArgument } from './errors';

export type AgentCertificateSummaryState = 'NONE' | 'ACTIVE' | 'ISSUED' | 'EXPIRED' | 'REVOKED';

export interface AgentCertificateFacts {
  readonly activeUntil: string | null;
  readonly issuedUntil: string | null;
  readonly expiredAt: string | null;
  /** The latest not_after of its revoked certificates. */
  readonly revokedUntil: string | null;
}

export interface AgentCertificateSummary {
  readonly state: AgentCertificateSummaryState;
  /** not_after of the certificate that counts ('' for NONE). */
  readonly notAfter: string;
  /** A renewal waits beside the active one (the agent has not switched to it yet). */
  readonly renewalPending: boolean;
}

export function certificateSummaryOf(f: AgentCertificateFacts): AgentCertificateSummary {
  if (f.activeUntil) return { state: 'ACTIVE', notAfter: f.activeUntil, renewalPending: f.issuedUntil !== null };
  if (f.issuedUntil) return { state: 'ISSUED', notAfter: f.issuedUntil, renewalPending: false };
  if (f.revokedUntil && (!f.expiredAt || Date.parse(f.revokedUntil) >= Date.parse(f.expiredAt))) return { state: 'REVOKED', notAfter: f.revokedUntil, renewalPending: false };
  if (f.expiredAt) return { state: 'EXPIRED', notAfter: f.expiredAt, renewalPending: false };
  return { state: 'NONE', notAfter: '', renewalPending: false };
}

/** The largest window certificate_expires_within_days takes (ten years). */
export const MAX_CERTIFICATE_EXPIRY_FILTER_DAYS = 3650;

/** ListAgentsRequest.certificate_expires_within_days: 0 (no filter) or 1..MAX. */
export function checkedExpiryWindow(days: number): number {
  if (!Number.isInteger(days) || days < 0 || days > MAX_CERTIFICATE_EXPIRY_FILTER_DAYS) {
    throw invalidArgument(`certificate_expires_within_days must be a whole number from 0 to ${MAX_CERTIFICATE_EXPIRY_FILTER_DAYS}`);
  }
  return days;
}

/** The page's certificate columns (the facts of certificateSummaryOf). */
export const CERTIFICATE_SUMMARY_COLUMNS = `cert.active_until AS cert_active_until, cert.issued_until AS cert_issued_until, cert.expired_at AS cert_expired_at, cert.revoked_until AS cert_revoked_until`;

/** One aggregate per agent row the page emits (agent_certificates_agent_idx), never over the fleet. */
export const CERTIFICATE_SUMMARY_JOIN = `CROSS JOIN LATERAL (
    SELECT max(x.not_after) FILTER (WHERE x.state = 'active') AS active_until, max(x.not_after) FILTER (WHERE x.state = 'issued') AS issued_until,
           max(x.not_after) FILTER (WHERE x.state = 'expired') AS expired_at, max(x.not_after) FILTER (WHERE x.state = 'revoked') AS revoked_until
      FROM agent_certificates x WHERE x.tenant_id = a.tenant_id AND x.instance_uid = a.instance_uid AND x.state IN ('issued', 'active', 'expired', 'revoked')) cert`;

/** The filter: the certificate that counts ends within `$param` days (expired ones included); agents without one, or REVOKED, never match. */
export function certificateExpirySql(param: number): string {
  const expired = `CASE WHEN cert.revoked_until IS NULL OR cert.revoked_until < cert.expired_at THEN cert.expired_at END`;
  return `COALESCE(cert.active_until, cert.issued_until, ${expired}) <= now() + make_interval(days => $${param}::int)`;
}

/** fleet.v1.AgentCertificateSummary of a page row (CERTIFICATE_SUMMARY_COLUMNS). */
export function certificateSummaryFromRow(r: Record<string, unknown>, toIso: (v: unknown) => string): AgentCertificateSummary {
  const at = (k: string) => (r[k] === null || r[k] === undefined ? null : toIso(r[k]));
  return certificateSummaryOf({ activeUntil: at('cert_active_until'), issuedUntil: at('cert_issued_until'), expiredAt: at('cert_expired_at'), revokedUntil: at('cert_revoked_until') });
}
