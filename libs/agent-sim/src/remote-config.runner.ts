/**
 * Owns a simulated agent's remote configuration: the status it reports, the
 * effective config, and the apply in progress (simulated with a delay and a
 * failure rate, or done by a callback). The decisions are config-apply.ts's;
 * this keeps the state and runs them. The agent owns the timer (it reads
 * `applyAt`) and sending (markDirty).
 */
import { AgentCapabilities, hasCapability, opamp } from '@opamp/protocol';
import type { ResolvedProfile } from './agent-options';
import type { RemoteConfigEvent } from './agent-events';
import type { Rng } from './backoff';
import { beginApply, decideOffer, finishApply, INITIAL_REMOTE_CONFIG_STATE, isApplyCallback, simulatedOutcome } from './config-apply';
import { StatusPart, type RemoteConfigState } from './status-builder';

const NONE = Number.POSITIVE_INFINITY;

/** What the runner needs of its agent (the agent implements it; no closures per agent). */
export interface RemoteConfigHost {
  readonly running: boolean;
  /** @internal queue these status parts for sending */
  markDirty(parts: number): void;
  /** @internal re-arm the agent's timer (applyAt moved) */
  armTimer(): void;
  /** @internal the agent's random source */
  rng(): Rng;
  emit(event: 'remoteConfig', e: RemoteConfigEvent): boolean;
  emit(event: 'applied', state: RemoteConfigState): boolean;
}

export class RemoteConfigRunner {
  status: RemoteConfigState = INITIAL_REMOTE_CONFIG_STATE;
  effective: opamp.proto.v1.IAgentConfigMap | undefined;
  /** When the simulated apply in progress completes (ms since epoch), NONE when there is none. */
  applyAt = NONE;
  private generation = 0;
  private applying: opamp.proto.v1.IAgentConfigMap | undefined;

  constructor(
    private readonly profile: ResolvedProfile,
    private readonly host: RemoteConfigHost,
  ) {
    this.effective = profile.initialEffectiveConfig;
  }

  /** A ServerToAgent's remote_config: applied when its hash is new (APPLYING, then APPLIED or FAILED). */
  offer(offer: opamp.proto.v1.IAgentRemoteConfig): void {
    const caps = this.profile.capabilities;
    if (decideOffer(caps, this.status, offer) !== 'apply' || !offer.configHash) return;
    this.cancel();
    const applying = beginApply(offer.configHash);
    const hash = applying.hash as Buffer;
    this.status = applying;
    const config = offer.config ?? { configMap: {} };
    this.applying = config;
    if (hasCapability(caps, AgentCapabilities.ReportsRemoteConfig)) this.host.markDirty(StatusPart.RemoteConfigStatus);
    this.host.emit('remoteConfig', { hash, config });
    const policy = this.profile.applyConfig;
    const generation = ++this.generation;
    if (isApplyCallback(policy)) {
      Promise.resolve()
        .then(() => policy(config, hash))
        .then(
          () => this.finish(generation, undefined),
          (err: unknown) => this.finish(generation, err instanceof Error ? err.message : String(err)),
        );
      return;
    }
    const delay = policy.delayMs ?? 0;
    if (delay <= 0) {
      this.completeSimulated();
    } else {
      this.applyAt = Date.now() + delay;
      this.host.armTimer();
    }
  }

  /** The agent's timer fired: completes a simulated apply that is due. */
  runDue(now: number): void {
    if (this.applyAt > now) return;
    this.applyAt = NONE;
    this.completeSimulated();
  }

  /** An interrupted apply did not happen: its hash is forgotten so a re-offer applies again. */
  cancel(): void {
    this.generation++;
    this.applyAt = NONE;
    if (this.applying !== undefined) {
      this.applying = undefined;
      this.status = INITIAL_REMOTE_CONFIG_STATE;
    }
  }

  private completeSimulated(): void {
    const policy = this.profile.applyConfig;
    if (isApplyCallback(policy)) return;
    this.finish(this.generation, simulatedOutcome(policy, this.host.rng()));
  }

  private finish(generation: number, error: string | undefined): void {
    if (generation !== this.generation || this.applying === undefined || !this.host.running) return;
    const config = this.applying;
    this.applying = undefined;
    this.status = finishApply(this.status, error);
    const caps = this.profile.capabilities;
    let parts = 0;
    if (hasCapability(caps, AgentCapabilities.ReportsRemoteConfig)) parts |= StatusPart.RemoteConfigStatus;
    if (error === undefined) {
      this.effective = config;
      if (hasCapability(caps, AgentCapabilities.ReportsEffectiveConfig)) parts |= StatusPart.EffectiveConfig;
    }
    if (parts) this.host.markDirty(parts);
    this.host.emit('applied', this.status);
  }
}
