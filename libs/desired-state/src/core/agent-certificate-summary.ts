/**
 * An agent's client certificate at a glance (ListAgents and GetAgent,
 * fleet.v1.AgentCertificateSummary), and the ListAgents filter
 * certificate_expires_within_days: which certificate counts is the one the
 * agent connects with (its active one), else the one issued to it and not
 * used yet, else its last expired one; NONE when it never had one.
 */
import { invalidArgument } from './errors';

export type AgentCertificateSummaryState = 'NONE' | 'ACTIVE' | 'ISSUED' | 'EXPIRED';

export interface AgentCertificateFacts {
  readonly activeUntil: string | null;
  readonly issuedUntil: string | null;
  readonly expiredAt: string | null;
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
export const CERTIFICATE_SUMMARY_COLUMNS = `cert.active_until AS cert_active_until, cert.issued_until AS cert_issued_until, cert.expired_at AS cert_expired_at`;

/** One aggregate per agent row the page emits (agent_certificates_agent_idx), never over the fleet. */
export const CERTIFICATE_SUMMARY_JOIN = `CROSS JOIN LATERAL (
    SELECT max(x.not_after) FILTER (WHERE x.state = 'active') AS active_until, max(x.not_after) FILTER (WHERE x.state = 'issued') AS issued_until,
           max(x.not_after) FILTER (WHERE x.state = 'expired') AS expired_at
      FROM agent_certificates x WHERE x.tenant_id = a.tenant_id AND x.instance_uid = a.instance_uid AND x.state IN ('issued', 'active', 'expired')) cert`;

/** The filter: the certificate that counts ends within `$param` days (expired ones included); agents without one never match. */
export function certificateExpirySql(param: number): string {
  return `COALESCE(cert.active_until, cert.issued_until, cert.expired_at) <= now() + make_interval(days => $${param}::int)`;
}

/** fleet.v1.AgentCertificateSummary of a page row (CERTIFICATE_SUMMARY_COLUMNS). */
export function certificateSummaryFromRow(r: Record<string, unknown>, toIso: (v: unknown) => string): AgentCertificateSummary {
  const at = (k: string) => (r[k] === null || r[k] === undefined ? null : toIso(r[k]));
  return certificateSummaryOf({ activeUntil: at('cert_active_until'), issuedUntil: at('cert_issued_until'), expiredAt: at('cert_expired_at') });
}
