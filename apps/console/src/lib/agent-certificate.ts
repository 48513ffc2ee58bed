/**
 * Agents' client certificates as the agents table shows them (fleet.v1
 * AgentCertificateSummary): when the one that counts ends, in words and a
 * tone (expired or revoked: bad; within the expiry window: warn; a renewal offered and
 * not switched to yet is said), and the "expires within 7 days" filter's window.
 */
type Tone = 'ok' | 'bad' | 'warn' | 'muted' | 'info';

export type CertificateSummaryState = 'NONE' | 'ACTIVE' | 'ISSUED' | 'EXPIRED' | 'REVOKED';

export interface AgentCertificateSummary {
  state: CertificateSummaryState;
  notAfter: string;
  renewalPending: boolean;
}

/** The filter the console offers (ListAgents certificate_expires_within_days). */
export const CERTIFICATE_EXPIRY_FILTER_DAYS = 7;
const DAY_MS = 86_400_000;

export function certificateView(c: AgentCertificateSummary | null | undefined, nowMs: number, relative: (iso: string, now: number) => string): { text: string; tone: Tone; title: string } {
  if (!c || c.state === 'NONE' || !c.notAfter) return { text: '—', tone: 'muted', title: 'No client certificate' };
  if (c.state === 'REVOKED') return { text: 'revoked', tone: 'bad', title: `Its certificate was revoked (it would have ended ${c.notAfter}); no certificate of it is live` };
  const end = Date.parse(c.notAfter);
  const when = relative(c.notAfter, nowMs);
  if (c.state === 'EXPIRED' || end <= nowMs) return { text: `expired ${when}`, tone: 'bad', title: `Its certificate ended ${c.notAfter}; no certificate of it is live` };
  const renewal = c.renewalPending ? ' · renewing' : '';
  const title = `${c.state === 'ISSUED' ? 'Issued, not used yet' : 'Connects with it'}; ends ${c.notAfter}${c.renewalPending ? '. A renewal is offered: the agent has not reconnected with it yet' : ''}`;
  const tone: Tone = end - nowMs <= CERTIFICATE_EXPIRY_FILTER_DAYS * DAY_MS ? 'warn' : 'ok';
  return { text: `${when}${renewal}`, tone, title };
}
