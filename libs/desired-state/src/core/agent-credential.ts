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
 * Offer rules (conformance §3.6, C59, C60, C62, C64):
 * - only to agents with AcceptsOpAMPConnectionSettings (0x100);
 * - the hash covers the whole content, so identical offers hash alike and any
 *   change (endpoint, a header, the interval) changes it;
 * - a ReportsHeartbeat agent gets a non-zero heartbeat_interval_seconds;
 * - an agent already connected with the offered credential needs no offer; a
 *   0x8000 agent reporting the current hash APPLIED or FAILED is not sent it
 *   again (FAILED waits for the operator, as for configurations);
 * - an offer sent to the agent's current connection is not repeated while the
 *   agent is given time to switch (it disconnects to test it).
 */
import { createHash, createHmac } from 'node:crypto';
import { AgentCapabilities, encodeServerToAgent, hasCapability, mayOffer, opamp, type IServerToAgent } from '@opamp/protocol';
import { CREDENTIAL_OFFER_WAIT_MS } from './limits';

/** The header an agent's own credential travels in. */
export const CREDENTIAL_HEADER = 'Authorization';

export function deriveAgentSecret(key: Buffer, tenantId: string, credentialId: string): string {
  const mac = createHmac('sha256', key).update(`opamp-agent-credential\u0000${tenantId}\u0000${credentialId}`, 'utf8').digest('base64url');
  return `opamp_agent_${mac}`;
}

/** SHA-256 of a secret: what the database and the gateways know it by. */
export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export interface OpampOfferInput {
  /** The OpAMP endpoint the agent should use (ws(s):// for WebSocket agents, http(s):// for plain HTTP). */
  readonly endpoint: string;
  readonly secret: string;
  /** Seconds; sent to ReportsHeartbeat agents (C62). */
  readonly heartbeatIntervalSeconds: number;
}

/** The connection settings offer (opamp part) with its content hash. */
export function opampOffer(input: OpampOfferInput, capabilities: number): opamp.proto.v1.IConnectionSettingsOffers {
  const settings: opamp.proto.v1.IOpAMPConnectionSettings = {
    destinationEndpoint: input.endpoint,
    headers: { headers: [{ key: CREDENTIAL_HEADER, value: `Bearer ${input.secret}` }] },
  };
  if (hasCapability(capabilities, AgentCapabilities.ReportsHeartbeat)) settings.heartbeatIntervalSeconds = Math.max(1, Math.floor(input.heartbeatIntervalSeconds));
  const offers: opamp.proto.v1.IConnectionSettingsOffers = { opamp: settings };
  return { ...offers, hash: offerHash(offers) };
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

/** A WebSocket agent gets the ws(s) form of the endpoint, a plain-HTTP one the http(s) form. */
export function endpointFor(publicUrl: string, transport: 'ws' | 'http'): string {
  const url = new URL(publicUrl);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  url.protocol = transport === 'ws' ? (secure ? 'wss:' : 'ws:') : secure ? 'https:' : 'http:';
  return url.toString();
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
  /** Where and when this offer last went out. */
  readonly offeredConnection: string | null;
  readonly offeredAtMs: number | null;
}

export type CredentialOfferReason = 'not_accepted' | 'in_use' | 'reported' | 'failed_for_current_hash' | 'awaiting_switch' | 'offer';

export function decideCredentialOffer(s: CredentialOfferState, connection: string, nowMs: number, waitMs = CREDENTIAL_OFFER_WAIT_MS): { send: boolean; reason: CredentialOfferReason } {
  if (!mayOffer(s.capabilities, 'connection_settings.opamp')) return { send: false, reason: 'not_accepted' };
  const reports = hasCapability(s.capabilities, AgentCapabilities.ReportsConnectionSettingsStatus);
  const reportsCurrent = reports && s.reportedHash !== null && s.reportedHash.equals(s.desiredHash);
  if (reportsCurrent && s.reportedStatus === opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_FAILED) {
    return { send: false, reason: 'failed_for_current_hash' };
  }
  if (s.connectedWith === s.desiredCredentialId) return { send: false, reason: 'in_use' };
  if (reportsCurrent && s.reportedStatus === opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_APPLIED) return { send: false, reason: 'reported' };
  if (s.offeredConnection === connection && s.offeredAtMs !== null && Math.abs(nowMs - s.offeredAtMs) < waitMs) return { send: false, reason: 'awaiting_switch' };
  return { send: true, reason: 'offer' };
}
