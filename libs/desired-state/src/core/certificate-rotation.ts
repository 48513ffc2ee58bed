/**
 * Agents' client certificates over their life, pure (issue 18, C64):
 * - activation: an agent seen on a certificate issued to it (the gateway's
 *   verified fingerprint) has it activated; its other live certificates are
 *   superseded then, not before: until the agent reconnects with the new one
 *   the old one is still what it connects with;
 * - rotation: which live certificate is renewed, and why: the operator asked,
 *   its CA is retiring (the tenant's CA rotated), or the policy's share of its
 *   lifetime has passed; never one whose renewal is waiting for the agent
 *   already (signed by the active CA) unless the operator asks again (the
 *   fresh renewal replaces the waiting one), and never when the renewal would not
 *   outlive it (the CA itself ends first: the operator rotates the CA);
 * - when a renewal the agent has not switched to counts as stalled.
 */
import { CERTIFICATE_SWITCH_STALL_MS } from './limits';

export interface LiveCertificate {
  readonly id: string;
  /** issued (signed, not used yet) or active (the agent was seen with it). */
  readonly state: string;
  /** When it was made (ms since epoch). */
  readonly createdAtMs: number;
}

export interface CertificateActivation {
  readonly key: string;
  readonly activate: string;
  readonly supersede: readonly string[];
}

/**
 * For each agent seen on a certificate (by uid hex): the activation, when the
 * certificate is one issued to it and not used yet; the agent's older live
 * certificates are superseded with it. A newer one (issued while the agent
 * was connecting on this one: a renewal, a later CSR) stays: it is offered
 * and the agent may be switching to it. Nothing for a certificate already
 * active (or not the agent's: the gateway refuses those).
 */
export function planCertificateActivations(seen: ReadonlyArray<{ key: string; certificateId: string }>, live: ReadonlyMap<string, readonly LiveCertificate[]>): CertificateActivation[] {
  const out: CertificateActivation[] = [];
  const done = new Set<string>();
  for (const s of seen) {
    if (done.has(s.key)) continue;
    const certs = live.get(s.key) ?? [];
    const used = certs.find((c) => c.id === s.certificateId);
    if (!used || used.state !== 'issued') continue;
    done.add(s.key);
    const older = certs.filter((c) => c.id !== used.id && (c.createdAtMs < used.createdAtMs || (c.createdAtMs === used.createdAtMs && c.state === 'active')));
    out.push({ key: s.key, activate: used.id, supersede: older.map((c) => c.id) });
  }
  return out;
}

export type RotationReason = 'requested' | 'ca_rotation' | 'expiry';

export interface RotationCandidate {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  /** Its CA is not the tenant's active one any more (rotated: retiring). */
  readonly caRetiring: boolean;
  /** An operator asked for its rotation (RotateAgentCertificates). */
  readonly requested: boolean;
  /** A renewal signed by the active CA waits for the agent already. */
  readonly renewalPending: boolean;
  /** The tenant policy's rotate_at_percent. */
  readonly rotateAtPercent: number;
}

/** When a certificate is due by its age: once rotateAtPercent of its lifetime has passed. */
export function rotationDueAtMs(notBeforeMs: number, notAfterMs: number, rotateAtPercent: number): number {
  return notBeforeMs + Math.floor(((notAfterMs - notBeforeMs) * rotateAtPercent) / 100);
}

/** Why the certificate is to be renewed now, or null when it is not. */
export function rotationReason(c: RotationCandidate, nowMs: number): RotationReason | null {
  if (c.notAfterMs <= nowMs) return null;
  // Asked again while a renewal waits (an agent that failed or never took it): a fresh one replaces it.
  if (c.requested) return 'requested';
  if (c.renewalPending) return null;
  if (c.caRetiring) return 'ca_rotation';
  return nowMs >= rotationDueAtMs(c.notBeforeMs, c.notAfterMs, c.rotateAtPercent) ? 'expiry' : null;
}

/** A renewal is worth offering only when it outlives what the agent holds (else every pass would rotate it again). */
export function renewalOutlives(currentNotAfterMs: number, renewedNotAfterMs: number): boolean {
  return renewedNotAfterMs > currentNotAfterMs;
}

/** A renewal offered `createdAtMs` that the agent has not switched to by `nowMs` is stalled (listed for the operator). */
export function switchStalled(createdAtMs: number, nowMs: number, boundMs = CERTIFICATE_SWITCH_STALL_MS): boolean {
  return nowMs - createdAtMs >= boundMs;
}
