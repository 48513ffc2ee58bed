import { AgentCapabilities, RemoteConfigStatuses } from '@opamp/protocol';
import { beginApply, decideOffer, finishApply, INITIAL_REMOTE_CONFIG_STATE, simulatedOutcome } from './config-apply';

const ACCEPTS = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsRemoteConfig;
const H1 = Buffer.alloc(32, 1);
const H2 = Buffer.alloc(32, 2);

describe('remote config state machine', () => {
  it('applies a first offer with a hash', () => {
    expect(decideOffer(ACCEPTS, INITIAL_REMOTE_CONFIG_STATE, { configHash: H1 })).toBe('apply');
  });

  it('ignores offers without AcceptsRemoteConfig or without a hash', () => {
    expect(decideOffer(AgentCapabilities.ReportsStatus, INITIAL_REMOTE_CONFIG_STATE, { configHash: H1 })).toBe('not_accepted');
    expect(decideOffer(ACCEPTS, INITIAL_REMOTE_CONFIG_STATE, {})).toBe('no_hash');
    expect(decideOffer(ACCEPTS, INITIAL_REMOTE_CONFIG_STATE, { configHash: new Uint8Array(0) })).toBe('no_hash');
  });

  it('goes APPLYING -> APPLIED and then ignores the same hash', () => {
    const applying = beginApply(H1);
    expect(applying.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_APPLYING);
    expect(decideOffer(ACCEPTS, applying, { configHash: Uint8Array.from(H1) })).toBe('same_hash');
    const applied = finishApply(applying);
    expect(applied).toEqual({ hash: H1, status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED });
    expect(decideOffer(ACCEPTS, applied, { configHash: H1 })).toBe('same_hash');
    expect(decideOffer(ACCEPTS, applied, { configHash: H2 })).toBe('apply');
  });

  it('goes APPLYING -> FAILED with the error and does not retry the failed hash', () => {
    const failed = finishApply(beginApply(H1), 'invalid pipeline');
    expect(failed).toEqual({ hash: H1, status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED, errorMessage: 'invalid pipeline' });
    expect(decideOffer(ACCEPTS, failed, { configHash: H1 })).toBe('same_hash');
    expect(finishApply(beginApply(H1), '').errorMessage).toBe('apply failed');
  });

  it('copies the offered hash (decoded bytes are views into a reused buffer)', () => {
    const wire = Buffer.from(H1);
    const state = beginApply(wire);
    wire.fill(9);
    expect(Buffer.from(state.hash!).equals(H1)).toBe(true);
  });

  it('draws simulated failures from the rng against failureRate', () => {
    expect(simulatedOutcome({ failureRate: 0 }, () => 0)).toBeUndefined();
    expect(simulatedOutcome({}, () => 0)).toBeUndefined();
    expect(simulatedOutcome({ failureRate: 1 }, () => 0.999)).toBe('simulated apply failure');
    expect(simulatedOutcome({ failureRate: 0.3 }, () => 0.29)).toBeDefined();
    expect(simulatedOutcome({ failureRate: 0.3 }, () => 0.3)).toBeUndefined();
    expect(simulatedOutcome({ failureRate: 0.5, errorMessage: 'nope' }, () => 0.9, )).toBeUndefined();
    expect(simulatedOutcome({ failureRate: 0.5, errorMessage: 'nope', rng: () => 0.1 }, () => 0.9)).toBe('nope');
  });
});
