/**
 * The reconcile decision for one agent: given what it should have and what it
 * reports (hashes only), what to push. Pure; the reconciler feeds it from
 * agent events and from re-evaluations after desired-state changes.
 *
 * Rules (conformance §3.3, §3.5, §3.9, §3.10):
 * - No remote_config without AcceptsRemoteConfig (C42, C43: the latest
 *   capabilities count).
 * - An agent that reports remote-config status (ReportsRemoteConfig) gets the
 *   config whenever its reported hash differs from the desired one (C53) and
 *   never when it matches (C54), whatever the status: FAILED for the current
 *   hash is not a reason to resend (C56).
 * - An agent that does not report it is sent a given hash once: the server
 *   remembers the last hash sent (C57).
 * - A hash sent to the agent's current connection is not sent again while its
 *   status is awaited (CONFIG_STATUS_WAIT_MS): clients report other things
 *   (effective config) before APPLIED. After the window, or on another
 *   connection, it is sent again: the first send may have been lost.
 * - Commands need AcceptsRestartCommand and travel alone (C46); custom
 *   messages only for a capability in the agent's latest list (C75).
 */
import { AgentCapabilities, CommandType, hasCapability, mayOffer, RemoteConfigStatuses, type IServerToAgent } from '@opamp/protocol';
import { filesToConfigMap } from './configuration';
import { CONFIG_STATUS_WAIT_MS } from './limits';
import type { ConfigFiles } from './validation';

export interface DesiredConfig {
  readonly configurationName: string;
  readonly version: number;
  readonly files: ConfigFiles;
  readonly hash: Buffer;
}

export interface ReportedState {
  readonly capabilities: number;
  /** last_remote_config_hash as last reported (null/empty = none). */
  readonly reportedHash: Uint8Array | null;
  readonly reportedStatus: number;
  /** The hash this server last sent to the agent (null = never). */
  readonly lastSentHash: Uint8Array | null;
  /** The connection (sendConnection) and time of that send; absent = unknown (no wait). */
  readonly lastSentConnection?: string | null;
  readonly lastSentAtMs?: number | null;
}

/** Where a push would go now, for the wait on a status (absent: never wait). */
export interface SendContext {
  /** sendConnection() of the agent's current owner. */
  readonly connection: string;
  readonly nowMs: number;
  readonly waitMs?: number;
}

/** Connection parts of a push target (the reconciler's PushTarget). */
export interface SendTarget {
  readonly connected: boolean;
  readonly gatewayId: string | null;
  readonly connectionId: string;
  readonly transport: number;
}

/** fleet.v1.Transport HTTP. */
const TRANSPORT_HTTP = 2;

/**
 * What a send waits on: a WebSocket connection (gateway and connection id);
 * plain HTTP and offline agents as one, since every poll is a connection of
 * its own and what was sent waits in the pending store for the next one.
 */
export function sendConnection(t: SendTarget): string {
  if (!t.connected) return 'pending';
  if (t.transport === TRANSPORT_HTTP) return 'http';
  return `ws:${t.gatewayId ?? ''}/${t.connectionId}`;
}

export type ConfigDecisionReason =
  | 'no_assignment'
  | 'not_renderable'
  | 'no_accepts_remote_config'
  | 'in_sync'
  | 'failed_for_current_hash'
  | 'already_sent'
  | 'hash_differs'
  | 'awaiting_status'
  | 'never_sent';

export interface ConfigDecision {
  readonly send: boolean;
  readonly reason: ConfigDecisionReason;
}

function sameHash(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (!a || !b || a.length === 0 || b.length === 0) return false;
  return Buffer.from(a).equals(Buffer.from(b));
}

/** True while the desired hash, sent to this same connection less than the wait ago, awaits the agent's status. */
export function awaitingStatus(desiredHash: Uint8Array, reported: ReportedState, now: SendContext): boolean {
  if (!sameHash(reported.lastSentHash, desiredHash)) return false;
  if (!reported.lastSentConnection || reported.lastSentConnection !== now.connection) return false;
  const at = reported.lastSentAtMs;
  if (at === null || at === undefined) return false;
  // The send time is the database's clock: a small skew either way counts as recent.
  return Math.abs(now.nowMs - at) < (now.waitMs ?? CONFIG_STATUS_WAIT_MS);
}

export function decideRemoteConfig(desired: DesiredConfig | null, reported: ReportedState, renderable = true, now?: SendContext): ConfigDecision {
  if (!desired) return { send: false, reason: 'no_assignment' };
  if (!renderable) return { send: false, reason: 'not_renderable' };
  if (!mayOffer(reported.capabilities, 'remote_config')) return { send: false, reason: 'no_accepts_remote_config' };
  if (hasCapability(reported.capabilities, AgentCapabilities.ReportsRemoteConfig)) {
    if (sameHash(reported.reportedHash, desired.hash)) {
      return {
        send: false,
        reason: reported.reportedStatus === RemoteConfigStatuses.RemoteConfigStatuses_FAILED ? 'failed_for_current_hash' : 'in_sync',
      };
    }
    if (now && awaitingStatus(desired.hash, reported, now)) return { send: false, reason: 'awaiting_status' };
    return { send: true, reason: 'hash_differs' };
  }
  if (sameHash(reported.lastSentHash, desired.hash)) return { send: false, reason: 'already_sent' };
  return { send: true, reason: 'never_sent' };
}

/** Whether an agent counts as in sync with its desired configuration. */
export function isInSync(desiredHash: Uint8Array | null, reported: ReportedState): boolean {
  if (!desiredHash || desiredHash.length === 0) return false;
  if (hasCapability(reported.capabilities, AgentCapabilities.ReportsRemoteConfig)) {
    return sameHash(reported.reportedHash, desiredHash) && reported.reportedStatus === RemoteConfigStatuses.RemoteConfigStatuses_APPLIED;
  }
  return sameHash(reported.lastSentHash, desiredHash);
}

export function remoteConfigMessage(instanceUid: Uint8Array, desired: DesiredConfig): IServerToAgent {
  return {
    instanceUid,
    remoteConfig: { config: filesToConfigMap(desired.files), configHash: desired.hash },
  };
}

export type GateResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function gateRestart(capabilities: number): GateResult {
  return mayOffer(capabilities, 'command.restart')
    ? { ok: true }
    : { ok: false, reason: 'the agent does not accept restart commands (AcceptsRestartCommand not set)' };
}

/** A restart command: instance_uid and command only, never bundled with anything else. */
export function restartMessage(instanceUid: Uint8Array): IServerToAgent {
  return { instanceUid, command: { type: CommandType.CommandType_Restart } };
}

export function gateCustomMessage(customCapabilities: readonly string[], capability: string): GateResult {
  return customCapabilities.includes(capability)
    ? { ok: true }
    : { ok: false, reason: `the agent has not declared custom capability '${capability}'` };
}

export function customMessage(instanceUid: Uint8Array, capability: string, type: string, data: Uint8Array): IServerToAgent {
  return { instanceUid, customMessage: { capability, type, data } };
}
