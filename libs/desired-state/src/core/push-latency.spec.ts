import { RemoteConfigStatuses } from '@opamp/protocol';
import { desiredSinceMs, isTimedApply, type PreviousDecision } from './push-latency';

const h = (c: string) => Buffer.alloc(32, c);
const APPLIED = RemoteConfigStatuses.RemoteConfigStatuses_APPLIED;
const APPLYING = RemoteConfigStatuses.RemoteConfigStatuses_APPLYING;
const previous: PreviousDecision = { configurationName: 'base', configurationVersion: 1, desiredHash: h('a'), desiredSinceMs: 1_000 };

describe('desiredSinceMs', () => {
  it('counts an agent not reconciled yet from the change that reached it (a re-evaluation, a rollout batch)', () => {
    expect(desiredSinceMs(null, { configurationName: 'base', version: 1, hash: h('a'), pinMovedAtMs: null, revisionChangedAtMs: 5_000, changeDriven: true })).toBe(5_000);
    expect(desiredSinceMs(null, { configurationName: 'base', version: 2, hash: h('a'), pinMovedAtMs: 6_000, revisionChangedAtMs: 5_000, changeDriven: true })).toBe(6_000);
  });

  it("is not timed for an agent without a recorded decision seen by its own event (a new agent)", () => {
    expect(desiredSinceMs(null, { configurationName: 'base', version: 1, hash: h('a'), pinMovedAtMs: null, revisionChangedAtMs: 5_000, changeDriven: false })).toBeNull();
  });

  it('keeps the time of an unchanged desired hash', () => {
    expect(desiredSinceMs(previous, { configurationName: 'base', version: 2, hash: h('a'), pinMovedAtMs: null, revisionChangedAtMs: 9_000, changeDriven: false })).toBe(1_000);
  });

  it('counts a new version from the revision change', () => {
    expect(desiredSinceMs(previous, { configurationName: 'base', version: 2, hash: h('b'), pinMovedAtMs: null, revisionChangedAtMs: 9_000, changeDriven: false })).toBe(9_000);
  });

  it('counts another assignment (configuration) from the revision change, also from no configuration at all', () => {
    expect(desiredSinceMs(previous, { configurationName: 'other', version: 1, hash: h('b'), pinMovedAtMs: null, revisionChangedAtMs: 9_000, changeDriven: false })).toBe(9_000);
    const none: PreviousDecision = { configurationName: null, configurationVersion: null, desiredHash: null, desiredSinceMs: null };
    expect(desiredSinceMs(none, { configurationName: 'base', version: 1, hash: h('b'), pinMovedAtMs: null, revisionChangedAtMs: 9_000, changeDriven: false })).toBe(9_000);
  });

  it('counts a rollout-pinned version from the move of its batch', () => {
    expect(desiredSinceMs(previous, { configurationName: 'base', version: 2, hash: h('b'), pinMovedAtMs: 7_000, revisionChangedAtMs: 3_000, changeDriven: false })).toBe(7_000);
  });

  it('does not time a new rendering of the same version (the agent changed itself)', () => {
    expect(desiredSinceMs(previous, { configurationName: 'base', version: 1, hash: h('c'), pinMovedAtMs: null, revisionChangedAtMs: 9_000, changeDriven: false })).toBeNull();
  });
});

describe('isTimedApply', () => {
  it('is the first APPLIED of the timed desired hash', () => {
    expect(isTimedApply(h('b'), APPLIED, h('b'), 1_000, h('a'))).toBe(true);
    expect(isTimedApply(h('b'), APPLIED, h('b'), 1_000, null)).toBe(true);
  });

  it('is not a repeat of a counted hash, another hash, another status or an untimed hash', () => {
    expect(isTimedApply(h('b'), APPLIED, h('b'), 1_000, h('b'))).toBe(false);
    expect(isTimedApply(h('a'), APPLIED, h('b'), 1_000, null)).toBe(false);
    expect(isTimedApply(h('b'), APPLYING, h('b'), 1_000, null)).toBe(false);
    expect(isTimedApply(h('b'), APPLIED, h('b'), null, null)).toBe(false);
    expect(isTimedApply(null, APPLIED, h('b'), 1_000, null)).toBe(false);
  });
});
