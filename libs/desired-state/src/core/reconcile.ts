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
 * - Commands need AcceptsRestartCommand and travel alone (C46); custom
 *   messages only for a capability in the agent's latest list (C75).
 */
import { AgentCapabilities, CommandType, hasCapability, mayOffer, RemoteConfigStatuses, type IServerToAgent } from '@opamp/protocol';
import { filesToConfigMap } from './configuration';
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
}

export type ConfigDecisionReason =
  | 'no_assignment'
  | 'not_renderable'
  | 'no_accepts_remote_config'
  | 'in_sync'
  | 'failed_for_current_hash'
  | 'already_sent'
  | 'hash_differs'
  | 'never_sent';

export interface ConfigDecision {
  readonly send: boolean;
  readonly reason: ConfigDecisionReason;
}

function sameHash(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (!a || !b || a.length === 0 || b.length === 0) return false;
  return Buffer.from(a).equals(Buffer.from(b));
}

export function decideRemoteConfig(desired: DesiredConfig | null, reported: ReportedState, renderable = true): ConfigDecision {
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
