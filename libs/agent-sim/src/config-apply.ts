/**
 * Owns the remote-configuration state machine of a simulated agent:
 * deciding whether an offered config is handled at all, the APPLYING →
 * APPLIED | FAILED transitions, and the outcome of the simulated apply
 * policy. Pure: no timers, no I/O (the agent owns scheduling).
 *
 *   offer(hash H) ── not AcceptsRemoteConfig / no hash / H == last handled ──▶ ignore
 *        │
 *        ▼
 *   APPLYING(H) ── policy ok ──▶ APPLIED(H), effective config := offered map
 *               └─ policy fails ─▶ FAILED(H, error_message)
 *
 * "Last handled" is the hash of the last offer that reached APPLYING, whatever
 * its outcome: a server that re-offers a config which FAILED must not make the
 * agent retry it forever (it has to send a different hash).
 */
import { AgentCapabilities, hasCapability, opamp, RemoteConfigStatuses } from '@opamp/protocol';
import type { Rng } from './backoff';
import type { RemoteConfigState } from './status-builder';

/** A simulated apply: wait `delayMs`, then fail with probability `failureRate`. */
export interface SimulatedApplyPolicy {
  readonly delayMs?: number;
  /** 0..1; 0 never fails, 1 always fails. */
  readonly failureRate?: number;
  /** Random source for the failure draw (defaults to the agent's rng). */
  readonly rng?: Rng;
  /** error_message reported on a simulated failure. */
  readonly errorMessage?: string;
}

/** A custom apply: resolve to succeed, throw (or reject) to fail with the error's message. */
export type ApplyConfigCallback = (config: opamp.proto.v1.IAgentConfigMap, hash: Uint8Array) => Promise<void> | void;

export type ApplyConfigPolicy = SimulatedApplyPolicy | ApplyConfigCallback;

export type OfferDecision = 'apply' | 'not_accepted' | 'no_hash' | 'same_hash';

export const INITIAL_REMOTE_CONFIG_STATE: RemoteConfigState = Object.freeze({
  status: RemoteConfigStatuses.RemoteConfigStatuses_UNSET,
});

/** Whether an offered remote_config is to be applied. */
export function decideOffer(
  capabilities: number,
  current: RemoteConfigState,
  offer: opamp.proto.v1.IAgentRemoteConfig,
): OfferDecision {
  if (!hasCapability(capabilities, AgentCapabilities.AcceptsRemoteConfig)) return 'not_accepted';
  const hash = offer.configHash;
  if (!hash || hash.length === 0) return 'no_hash';
  if (current.hash && sameBytes(current.hash, hash)) return 'same_hash';
  return 'apply';
}

/** The state once an offer with `hash` starts applying (the hash is copied: decoded bytes are views). */
export function beginApply(hash: Uint8Array): RemoteConfigState {
  return { hash: Buffer.from(hash), status: RemoteConfigStatuses.RemoteConfigStatuses_APPLYING };
}

/** The state once the apply of `applying` finished. */
export function finishApply(applying: RemoteConfigState, error?: string): RemoteConfigState {
  return error === undefined
    ? { hash: applying.hash, status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED }
    : { hash: applying.hash, status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED, errorMessage: error || 'apply failed' };
}

/** Outcome of a simulated policy: undefined for success, else the error message. */
export function simulatedOutcome(policy: SimulatedApplyPolicy, fallbackRng: Rng): string | undefined {
  const rate = policy.failureRate ?? 0;
  if (rate <= 0) return undefined;
  const draw = (policy.rng ?? fallbackRng)();
  return draw < rate ? (policy.errorMessage ?? 'simulated apply failure') : undefined;
}

export function isApplyCallback(policy: ApplyConfigPolicy): policy is ApplyConfigCallback {
  return typeof policy === 'function';
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(toView(a), toView(b)) === 0;
}

function toView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
