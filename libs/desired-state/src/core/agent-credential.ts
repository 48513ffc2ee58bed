/**
 * Agents' own credentials, pure: how a credential's secret is derived, the
 * OpAMP connection settings offer that carries it, the offer's content hash,
 * and the decision whether to offer now.
 *
 * Secrets are derived, never stored: secret = HMAC-SHA256(credential key,
 * tenant and credential id). The key lives outside the database (a key file or
 * secret of the deployment); the database keeps only SHA-256 of the secret,
 * which is what gateways compare. So an offer can be sent again after a lost
 * push, or with other settings changed, without any secret at rest.
 *
 * Offer rules (conformance §3.6, C59, C60, C62, C64); what an offer holds
 * (the agent's credential and its connection profile, gated by capability)
 * is core/connection-profile.ts:
 * - the hash covers the whole content, so identical offers hash alike and any
 *   change (endpoint, a header, the interval, a profile's part) changes it;
 * - sent only on mismatch: a 0x8000 agent by the hash it reports (FAILED for
 *   the current hash of a credential on offer is retried with a fresh
 *   credential after a back-off, a few times, then waits for the operator:
 *   offerRetryAt; of an active one it waits for the operator), others
 *   by the hash last offered to them; an agent on another credential than the
 *   one offered is offered it on each new connection;
 * - an offer sent to the agent's current connection is not repeated while the
 *   agent is given time to switch (it disconnects to test it).
 */
import { createHash, createHmac } from 'node:crypto';
import { AgentCapabilities, encodeServerToAgent, hasCapability, mayOffer, opamp, type IServerToAgent } from '@opamp/protocol';
import { composeConnectionOffer, type ConnectionOfferInput, type ConnectionProfileSpec } from './connection-profile';
import { CREDENTIAL_OFFER_MAX_RETRIES, CREDENTIAL_OFFER_RETRY_MS, CREDENTIAL_OFFER_WAIT_MS } from './limits';

export function deriveAgentSecret(key: Buffer, tenantId: string, credentialId: string): string {
  const mac = createHmac('sha256', key).update(`opamp-agent-credential\u0000${tenantId}\u0000${credentialId}`, 'utf8').digest('base64url');
  return `opamp_agent_${mac}`;
}

/** SHA-256 of a secret: what the database and the gateways know it by. */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * The connection settings offer for an agent with its content hash: its own
 * credential and its profile's settings; null when it accepts none of them.
 */
export function connectionOffer(input: ConnectionOfferInput, profile: ConnectionProfileSpec | null, capabilities: number): opamp.proto.v1.IConnectionSettingsOffers | null {
  const offers = composeConnectionOffer(input, profile, capabilities);
  return offers ? { ...offers, hash: offerHash(offers) } : null;
}

/** SHA-256 over the offer's encoding without its hash (protobuf field order is fixed, so equal content encodes alike). */
export function offerHash(offers: opamp.proto.v1.IConnectionSettingsOffers): Buffer {
  const { hash: _ignored, ...content } = offers;
  void _ignored;
  return createHash('sha256').update(encodeServerToAgent({ connectionSettings: content })).digest();
}

export function connectionSettingsMessage(instanceUid: Uint8Array, offers: opamp.proto.v1.IConnectionSettingsOffers): IServerToAgent {
  return { instanceUid, connectionSettings: offers };
}

export interface CredentialOfferState {
  readonly capabilities: number;
  /** The credential the agent's connection was admitted with. */
  readonly connectedWith: string | null;
  /** The credential the agent should use: the one on offer (or its active one when none is). */
  readonly desiredCredentialId: string;
  readonly desiredHash: Buffer;
  /** From ConnectionSettingsStatus (0x8000). */
  readonly reportedHash: Buffer | null;
  readonly reportedStatus: number;
  /** The hash last offered carrying this credential (null: never). */
  readonly offeredHash: Buffer | null;
  /** Where and when an offer of this credential last went out. */
  readonly offeredConnection: string | null;
  readonly offeredAtMs: number | null;
  /** FAILED reports recorded for offers of this credential, and when the last was (absent: none). */
  readonly offerFailures?: number;
  readonly offerFailedAtMs?: number | null;
  /** The desired credential is on offer (not the agent's active one): a retry replaces it by a fresh one. */
  readonly desiredOnOffer?: boolean;
}

export interface OfferRetryPolicy {
  readonly baseMs: number;
  readonly maxRetries: number;
}

export const DEFAULT_OFFER_RETRY: OfferRetryPolicy = { baseMs: CREDENTIAL_OFFER_RETRY_MS, maxRetries: CREDENTIAL_OFFER_MAX_RETRIES };

/**
 * When an offer that failed `failures` times (the last at `failedAtMs`) is
 * sent again: the back-off doubles with each failure; null once it failed
 * more often than the policy retries (the operator decides then).
 */
export function offerRetryAt(failures: number, failedAtMs: number, policy: OfferRetryPolicy = DEFAULT_OFFER_RETRY): number | null {
  if (failures < 1 || failures > policy.maxRetries) return null;
  return failedAtMs + policy.baseMs * 2 ** (failures - 1);
}

export type CredentialOfferReason = 'not_accepted' | 'in_use' | 'reported' | 'failed_for_current_hash' | 'retry_after_failure' | 'awaiting_switch' | 'offer';

export function decideCredentialOffer(
  s: CredentialOfferState,
  connection: string,
  nowMs: number,
  waitMs = CREDENTIAL_OFFER_WAIT_MS,
  retry: OfferRetryPolicy = DEFAULT_OFFER_RETRY,
): { send: boolean; reason: CredentialOfferReason } {
  if (!mayOffer(s.capabilities, 'connection_settings.opamp') && !mayOffer(s.capabilities, 'connection_settings.other_connections')) return { send: false, reason: 'not_accepted' };
  const reports = hasCapability(s.capabilities, AgentCapabilities.ReportsConnectionSettingsStatus);
  const reportsCurrent = reports && s.reportedHash !== null && s.reportedHash.equals(s.desiredHash);
  if (reportsCurrent && s.reportedStatus === opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_FAILED) {
    // Clients do not try a hash that failed again (the supervisor, agent-sim): a retry is a fresh
    // credential (a new secret, so a new hash) once the back-off passed, for a credential on offer
    // only; the content of an active one's offer is the profile's, which the operator changes.
    const failedAt = s.desiredOnOffer === true ? (s.offerFailedAtMs ?? null) : null;
    const at = failedAt === null ? null : offerRetryAt(s.offerFailures ?? 0, failedAt, retry);
    const notSentSince = s.offeredAtMs === null || failedAt === null || s.offeredAtMs <= failedAt;
    if (at !== null && nowMs >= at && notSentSince) return { send: true, reason: 'retry_after_failure' };
    return { send: false, reason: 'failed_for_current_hash' };
  }
  if (s.connectedWith === s.desiredCredentialId) {
    // On its credential: what it holds is what it reports (0x8000), else what it was last offered.
    const holds = reports && s.reportedHash !== null ? s.reportedHash : s.offeredHash;
    if (holds !== null && holds.equals(s.desiredHash)) return { send: false, reason: 'in_use' };
  }
  if (reportsCurrent && s.reportedStatus === opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_APPLIED) return { send: false, reason: 'reported' };
  const sameOffer = s.offeredHash !== null && s.offeredHash.equals(s.desiredHash);
  // A plain-HTTP agent's offer waits in its pending store (the latest of each kind): putting it there
  // again costs nothing, and an agent that reported another hash since may have dropped it (a client
  // drops an offer that arrives while it applies the previous one), so it is not held back.
  if (sameOffer && connection !== 'http' && s.offeredConnection === connection && s.offeredAtMs !== null && Math.abs(nowMs - s.offeredAtMs) < waitMs) {
    return { send: false, reason: 'awaiting_switch' };
  }
  return { send: true, reason: 'offer' };
}
