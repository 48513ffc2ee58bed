import { DesiredStateError } from './errors';
import { DEFAULT_APPLY_TIMEOUT_MS, MAX_APPLY_TIMEOUT_MS } from './limits';
import {
  applyTimedOut,
  batchQuota,
  classifyMember,
  parseApplyTimeout,
  evaluateBatch,
  isActive,
  isTerminal,
  needsDriver,
  nextRolloutState,
  parseGates,
  parseStrategy,
  pinnedVersion,
  planBatches,
  ROLLOUT_STATES,
  strategyMessage,
  toleratedFailures,
  type MemberObservation,
  type MemberProgress,
  type RolloutControl,
  type RolloutState,
} from './rollout';

const invalid = (fn: () => unknown, message: RegExp) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DesiredStateError);
    expect((err as DesiredStateError).code).toBe('INVALID_ARGUMENT');
    expect((err as Error).message).toMatch(message);
    return;
  }
  throw new Error('expected INVALID_ARGUMENT');
};

describe('rollout strategy', () => {
  it('accepts exactly one kind', () => {
    expect(parseStrategy({ batchSize: 10 })).toEqual({ kind: 'fixed', batchSize: 10 });
    expect(parseStrategy({ batchPercent: 25, steps: [], stages: [] })).toEqual({ kind: 'percent', batchPercent: 25 });
    expect(parseStrategy({ steps: [{ count: 1 }, { percent: 10 }, { percent: 50, count: 0 }, { percent: 100 }] })).toEqual({
      kind: 'steps',
      steps: [{ count: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }],
    });
    expect(parseStrategy({ stages: [{ name: 'canary', selector: 'canary = true' }, { name: 'eu', selector: 'region in (eu)' }] })).toEqual({
      kind: 'stages',
      stages: [
        { name: 'canary', selector: 'canary=true' },
        { name: 'eu', selector: 'region in (eu)' },
      ],
    });
    invalid(() => parseStrategy({}), /exactly one of/);
    invalid(() => parseStrategy(null), /exactly one of/);
    invalid(() => parseStrategy({ batchSize: 2, batchPercent: 10 }), /exactly one of/);
  });

  it('rejects bad sizes, percentages, steps and stages', () => {
    invalid(() => parseStrategy({ batchSize: 1.5 }), /batch_size must be a positive integer/);
    invalid(() => parseStrategy({ batchSize: -3 }), /batch_size must be a positive integer/);
    invalid(() => parseStrategy({ batchPercent: 120 }), /batch_percent must be a percentage/);
    invalid(() => parseStrategy({ batchPercent: 0.5 }), /more than 100 batches/);
    invalid(() => parseStrategy({ steps: [{ count: 1, percent: 5 }] }), /exactly one of count, percent/);
    invalid(() => parseStrategy({ steps: [{}] }), /exactly one of count, percent/);
    invalid(() => parseStrategy({ steps: [{ count: 5 }, { count: 5 }] }), /must grow/);
    invalid(() => parseStrategy({ steps: [{ percent: 50 }, { percent: 10 }] }), /must grow/);
    invalid(() => parseStrategy({ steps: [{ count: 0.5 }] }), /positive integer/);
    invalid(() => parseStrategy({ steps: [{ percent: 101 }] }), /percentage/);
    invalid(() => parseStrategy({ stages: [{ name: 'Bad', selector: 'a=b' }] }), /name "Bad" is invalid/);
    invalid(() => parseStrategy({ stages: [{ name: 'a', selector: 'x=1' }, { name: 'a', selector: 'y=1' }] }), /used twice/);
    invalid(() => parseStrategy({ stages: [{ name: 'rest', selector: 'x=1' }] }), /reserved/);
    invalid(() => parseStrategy({ stages: [{ name: 'a', selector: '' }] }), /must not be empty/);
    invalid(() => parseStrategy({ stages: [{ name: 'a', selector: 'x in (' }] }), /stages\[0\]\.selector/);
  });

  it('round-trips through its API message', () => {
    for (const input of [{ batchSize: 3 }, { batchPercent: 20 }, { steps: [{ count: 1 }, { percent: 50 }] }, { stages: [{ name: 'c', selector: 'canary' }] }]) {
      const s = parseStrategy(input);
      expect(parseStrategy(strategyMessage(s) as never)).toEqual(s);
    }
  });

  it('parses gates', () => {
    expect(parseGates(undefined)).toEqual({ maxFailedAgents: 0, maxFailedPercent: 0 });
    expect(parseGates({ maxFailedAgents: 2, maxFailedPercent: 12.5 })).toEqual({ maxFailedAgents: 2, maxFailedPercent: 12.5 });
    invalid(() => parseGates({ maxFailedAgents: -1 }), /max_failed_agents/);
    invalid(() => parseGates({ maxFailedPercent: 101 }), /max_failed_percent/);
  });
});

describe('batch planning', () => {
  const shape = (plans: ReturnType<typeof planBatches>) => plans.map((p) => `${p.name}:${p.take.kind === 'count' ? p.take.upTo : p.take.kind}:${p.plannedAgents}`);

  it('fixed counts: full batches and the rest', () => {
    expect(shape(planBatches({ kind: 'fixed', batchSize: 3 }, 10))).toEqual(['batch-1:3:3', 'batch-2:6:3', 'batch-3:9:3', 'batch-4:rest:1']);
    expect(shape(planBatches({ kind: 'fixed', batchSize: 5 }, 10))).toEqual(['batch-1:5:5', 'batch-2:rest:5']);
    expect(shape(planBatches({ kind: 'fixed', batchSize: 50 }, 10))).toEqual(['batch-1:rest:10']);
    expect(planBatches({ kind: 'fixed', batchSize: 1 }, 1000)).toHaveLength(100); // capped: the last takes the rest
  });

  it('percentages of the fleet at start', () => {
    expect(shape(planBatches({ kind: 'percent', batchPercent: 25 }, 10))).toEqual(['batch-1:3:3', 'batch-2:5:2', 'batch-3:8:3', 'batch-4:rest:2']);
    expect(shape(planBatches({ kind: 'percent', batchPercent: 100 }, 7))).toEqual(['batch-1:rest:7']);
  });

  it('growing cumulative steps: 1 agent, 10 %, 50 %, 100 %', () => {
    const steps = { kind: 'steps' as const, steps: [{ count: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }] };
    expect(shape(planBatches(steps, 100))).toEqual(['batch-1:1:1', 'batch-2:10:9', 'batch-3:50:40', 'batch-4:rest:50']);
    // Steps that add nobody for a small fleet are dropped.
    expect(shape(planBatches(steps, 5))).toEqual(['batch-1:1:1', 'batch-2:3:2', 'batch-3:rest:2']);
    // Steps short of 100 % still end with the rest.
    expect(shape(planBatches({ kind: 'steps', steps: [{ count: 2 }] }, 8))).toEqual(['batch-1:2:2', 'batch-2:rest:6']);
  });

  it('named stages by selector, then the rest', () => {
    const plans = planBatches({ kind: 'stages', stages: [{ name: 'canary', selector: 'canary' }, { name: 'eu', selector: 'region=eu' }] }, 40);
    expect(plans.map((p) => [p.name, p.take])).toEqual([
      ['canary', { kind: 'stage', selector: 'canary' }],
      ['eu', { kind: 'stage', selector: 'region=eu' }],
      ['rest', { kind: 'rest' }],
    ]);
  });

  it('an empty fleet is one empty batch', () => {
    expect(shape(planBatches({ kind: 'percent', batchPercent: 10 }, 0))).toEqual(['batch-1:rest:0']);
  });

  it('quota of a starting batch', () => {
    expect(batchQuota({ kind: 'count', upTo: 10 }, 4)).toBe(6);
    expect(batchQuota({ kind: 'count', upTo: 10 }, 12)).toBe(0);
    expect(batchQuota({ kind: 'rest' }, 4)).toBe(Infinity);
    expect(batchQuota({ kind: 'stage', selector: 'a' }, 4)).toBe(Infinity);
  });
});

describe('agent progress', () => {
  const H = Buffer.alloc(32, 1);
  const OLD = Buffer.alloc(32, 2);
  const base: MemberObservation = {
    connected: true,
    offlineForMs: null,
    healthy: true,
    reportsRemoteConfig: true,
    reportedHash: OLD,
    reportedStatus: 1,
    decided: true,
    desiredHash: H,
    lastSentHash: H,
    notSentReason: null,
    applyingSinceMs: 50_000,
  };
  const phase = (o: Partial<MemberObservation>) => classifyMember({ ...base, ...o }, 1000);

  it('pending until the reconciler decided the new version', () => {
    expect(phase({ decided: false })).toEqual({ phase: 'pending', bad: false, settled: false });
    expect(phase({ decided: false, connected: false })).toMatchObject({ phase: 'pending' });
  });

  it('applying until the agent reports the new hash applied', () => {
    expect(phase({})).toEqual({ phase: 'applying', bad: false, settled: false });
    expect(phase({ reportedHash: H, reportedStatus: 2 })).toEqual({ phase: 'applying', bad: false, settled: false });
    expect(phase({ reportedHash: OLD, reportedStatus: 3 })).toMatchObject({ phase: 'applying' }); // FAILED for the old hash
  });

  it('applied, failed, unhealthy after applying', () => {
    expect(phase({ reportedHash: H })).toEqual({ phase: 'applied', bad: false, settled: true });
    expect(phase({ reportedHash: H, healthy: null })).toMatchObject({ phase: 'applied' });
    expect(phase({ reportedHash: H, reportedStatus: 3 })).toEqual({ phase: 'failed', bad: true, settled: true });
    expect(phase({ reportedHash: H, healthy: false })).toEqual({ phase: 'unhealthy', bad: true, settled: true });
    expect(phase({ reportedHash: OLD, healthy: false })).toMatchObject({ phase: 'applying', bad: false }); // unhealthy before applying: not this config's fault
  });

  it('offline: waits within the soak time, bad beyond it', () => {
    expect(phase({ connected: false, offlineForMs: 200 })).toEqual({ phase: 'offline', bad: false, settled: false });
    expect(phase({ connected: false, offlineForMs: 1000 })).toEqual({ phase: 'offline', bad: true, settled: true });
    expect(phase({ connected: false, offlineForMs: null })).toMatchObject({ bad: true });
  });

  it('agents that do not report status count as applied once sent', () => {
    expect(phase({ reportsRemoteConfig: false, reportedHash: null })).toMatchObject({ phase: 'applied' });
    expect(phase({ reportsRemoteConfig: false, lastSentHash: OLD })).toMatchObject({ phase: 'applying' });
    expect(phase({ reportsRemoteConfig: false, healthy: false })).toMatchObject({ phase: 'unhealthy', bad: true });
  });

  it('not sent (missing components) is reported, settled and not a failure', () => {
    expect(phase({ notSentReason: "not sent: no exporter 'x'", desiredHash: null })).toEqual({ phase: 'not_sent', bad: false, settled: true });
  });

  describe('apply deadline (sent at 50 s, deadline 2 s)', () => {
    const at = (nowMs: number, o: Partial<MemberObservation> = {}, applyTimeoutMs = 2_000) =>
      classifyMember({ ...base, ...o }, 1000, { applyTimeoutMs, nowMs });
    const TIMED_OUT = { phase: 'timed_out', bad: true, settled: true };

    it('an agent that never reports the new hash is applying until the deadline, then timed out', () => {
      expect(at(51_999)).toEqual({ phase: 'applying', bad: false, settled: false });
      expect(at(52_000)).toEqual(TIMED_OUT);
      expect(at(90_000)).toEqual(TIMED_OUT);
    });

    it('stuck in APPLYING for the new hash times out the same way', () => {
      expect(at(51_000, { reportedHash: H, reportedStatus: 2 })).toMatchObject({ phase: 'applying' });
      expect(at(52_000, { reportedHash: H, reportedStatus: 2 })).toEqual(TIMED_OUT);
    });

    it('a connected agent the reconciler never got to decide times out too', () => {
      expect(at(51_000, { decided: false })).toMatchObject({ phase: 'pending', settled: false });
      expect(at(52_000, { decided: false })).toEqual(TIMED_OUT);
    });

    it('what the agent reported decides, whatever the clock: applied, FAILED, unhealthy', () => {
      expect(at(90_000, { reportedHash: H })).toEqual({ phase: 'applied', bad: false, settled: true });
      expect(at(90_000, { reportedHash: H, reportedStatus: 3 })).toMatchObject({ phase: 'failed' });
      expect(at(90_000, { reportedHash: H, healthy: false })).toMatchObject({ phase: 'unhealthy' });
      expect(at(90_000, { notSentReason: 'missing component', desiredHash: null })).toMatchObject({ phase: 'not_sent' });
    });

    it('disconnected agents follow the offline rule, not the deadline', () => {
      expect(at(90_000, { connected: false, offlineForMs: 200 })).toEqual({ phase: 'offline', bad: false, settled: false });
      expect(at(90_000, { connected: false, offlineForMs: 200, decided: false })).toMatchObject({ phase: 'pending', bad: false });
    });

    it('no deadline: timeout 0, no deadline given, or no known start', () => {
      expect(at(1e12, {}, 0)).toMatchObject({ phase: 'applying' });
      expect(classifyMember(base, 1000)).toMatchObject({ phase: 'applying' });
      expect(at(1e12, { applyingSinceMs: null })).toMatchObject({ phase: 'applying' });
      expect(applyTimedOut(0, undefined)).toBe(false);
      expect(applyTimedOut(0, { applyTimeoutMs: 1, nowMs: 1 })).toBe(true);
    });
  });
});

describe('apply timeout argument', () => {
  it('unset is the default, 0 is no deadline, values in range are kept', () => {
    expect(parseApplyTimeout(undefined)).toBe(DEFAULT_APPLY_TIMEOUT_MS);
    expect(parseApplyTimeout(null)).toBe(DEFAULT_APPLY_TIMEOUT_MS);
    expect(DEFAULT_APPLY_TIMEOUT_MS).toBe(600_000);
    expect(parseApplyTimeout(0)).toBe(0);
    expect(parseApplyTimeout(1500)).toBe(1500);
    expect(parseApplyTimeout('2000')).toBe(2000);
    expect(parseApplyTimeout(MAX_APPLY_TIMEOUT_MS)).toBe(MAX_APPLY_TIMEOUT_MS);
  });

  it('negative, fractional and absurd values are INVALID_ARGUMENT with the reason', () => {
    const err = (v: unknown) => {
      try {
        parseApplyTimeout(v);
      } catch (e) {
        expect(e).toBeInstanceOf(DesiredStateError);
        expect((e as DesiredStateError).code).toBe('INVALID_ARGUMENT');
        return (e as Error).message;
      }
      throw new Error(`accepted ${String(v)}`);
    };
    expect(err(-1)).toBe('apply_timeout_ms must be a non-negative integer (0 = no deadline), got -1');
    expect(err(1.5)).toMatch(/non-negative integer/);
    expect(err('soon')).toMatch(/non-negative integer/);
    expect(err(4294967295)).toBe('apply_timeout_ms must be at most 86400000 (24 hours; 0 = no deadline), got 4294967295');
  });
});

describe('batch gate', () => {
  const applied: MemberProgress = { phase: 'applied', bad: false, settled: true };
  const applying: MemberProgress = { phase: 'applying', bad: false, settled: false };
  const failed: MemberProgress = { phase: 'failed', bad: true, settled: true };
  const unhealthy: MemberProgress = { phase: 'unhealthy', bad: true, settled: true };
  const gone: MemberProgress = { phase: 'offline', bad: true, settled: true };
  const timedOut: MemberProgress = { phase: 'timed_out', bad: true, settled: true };
  const gates = { maxFailedAgents: 0, maxFailedPercent: 0 };
  const ev = (members: MemberProgress[], over: Partial<Parameters<typeof evaluateBatch>[0]> = {}) =>
    evaluateBatch({ members, gates, soakMs: 500, nowMs: 10_000, soakStartedAtMs: null, ...over });

  it('tolerance: the larger of count and percent of the batch', () => {
    expect(toleratedFailures({ maxFailedAgents: 0, maxFailedPercent: 0 }, 100)).toBe(0);
    expect(toleratedFailures({ maxFailedAgents: 2, maxFailedPercent: 0 }, 100)).toBe(2);
    expect(toleratedFailures({ maxFailedAgents: 2, maxFailedPercent: 5 }, 100)).toBe(5);
    expect(toleratedFailures({ maxFailedAgents: 0, maxFailedPercent: 10 }, 9)).toBe(0);
  });

  it('waits while agents apply; soaks once all settled; passes after the soak time', () => {
    expect(ev([applied, applying])).toMatchObject({ verdict: 'waiting', counts: { applied: 1, applying: 1 } });
    expect(ev([applied, applied])).toEqual({ verdict: 'soaking', soakStartedAtMs: 10_000, counts: expect.objectContaining({ applied: 2 }) });
    expect(ev([applied, applied], { soakStartedAtMs: 9_800 })).toMatchObject({ verdict: 'soaking', soakStartedAtMs: 9_800 });
    expect(ev([applied, applied], { soakStartedAtMs: 9_500 })).toMatchObject({ verdict: 'passed' });
    expect(ev([applied], { soakMs: 0 })).toMatchObject({ verdict: 'passed' });
  });

  it('an empty batch passes at once', () => {
    expect(ev([])).toMatchObject({ verdict: 'passed' });
  });

  it('fails on FAILED, unhealthy after applying or offline beyond the soak, beyond the tolerance', () => {
    const f = ev([applied, failed, unhealthy, gone, applying]);
    expect(f).toMatchObject({ verdict: 'failed', counts: { failed: 1, unhealthy: 1, offline: 1, applying: 1, applied: 1 } });
    expect((f as { reason: string }).reason).toBe(
      '3 of 5 agents failed the gate (1 FAILED, 1 unhealthy after applying, 1 offline beyond the soak time, 0 past the apply deadline); 0 tolerated',
    );
    expect(ev([failed, applying])).toMatchObject({ verdict: 'failed' }); // fails before the rest settled
  });

  it('tolerated failures settle: the batch soaks and passes with them', () => {
    const g = { maxFailedAgents: 1, maxFailedPercent: 0 };
    expect(ev([applied, failed], { gates: g })).toMatchObject({ verdict: 'soaking' });
    expect(ev([applied, failed], { gates: g, soakStartedAtMs: 0 })).toMatchObject({ verdict: 'passed' });
    expect(ev([failed, failed], { gates: { maxFailedAgents: 0, maxFailedPercent: 50 } })).toMatchObject({ verdict: 'failed' });
    expect(ev([failed, applied], { gates: { maxFailedAgents: 0, maxFailedPercent: 50 } })).toMatchObject({ verdict: 'soaking' });
  });

  it('timed-out agents count against the tolerance like FAILED ones, and are counted apart', () => {
    const f = ev([applied, timedOut, failed]);
    expect(f).toMatchObject({ verdict: 'failed', counts: { timed_out: 1, failed: 1, applied: 1 } });
    expect((f as { reason: string }).reason).toBe(
      '2 of 3 agents failed the gate (1 FAILED, 0 unhealthy after applying, 0 offline beyond the soak time, 1 past the apply deadline); 0 tolerated',
    );
    // Within the tolerance a timed-out agent is settled: the batch soaks and passes instead of hanging.
    const g = { maxFailedAgents: 1, maxFailedPercent: 0 };
    expect(ev([applied, timedOut], { gates: g })).toMatchObject({ verdict: 'soaking', counts: { timed_out: 1 } });
    expect(ev([applied, timedOut], { gates: g, soakStartedAtMs: 0 })).toMatchObject({ verdict: 'passed' });
    expect(ev([timedOut, timedOut], { gates: g })).toMatchObject({ verdict: 'failed' });
  });

  it('an agent that goes back to applying restarts the soak', () => {
    expect(ev([applied, applying], { soakStartedAtMs: 1 })).toMatchObject({ verdict: 'waiting' });
  });
});

describe('rollout state machine', () => {
  const control = (state: RolloutState, action: RolloutControl) => nextRolloutState(state, { kind: 'control', action });
  const table: Record<RolloutControl, Partial<Record<RolloutState, RolloutState>>> = {
    start: { pending: 'running' },
    pause: { running: 'paused' },
    resume: { paused: 'running' },
    abort: { pending: 'aborted', running: 'aborted', paused: 'aborted' },
    rollback: { running: 'rolling_back', paused: 'rolling_back', aborted: 'rolling_back' },
  };

  it('every control action from every state (exhaustive)', () => {
    for (const action of Object.keys(table) as RolloutControl[]) {
      for (const state of ROLLOUT_STATES) {
        const want = table[action][state];
        const got = control(state, action);
        if (want) expect(got).toEqual({ ok: true, state: want });
        else expect(got).toEqual({ ok: false, reason: expect.stringContaining(`cannot ${action}`) });
      }
    }
    expect(control('rolling_back', 'pause')).toEqual({ ok: false, reason: 'cannot pause a rollout that is rolling back' });
  });

  it('driver transitions only from the states they belong to', () => {
    for (const state of ROLLOUT_STATES) {
      const gateStop = nextRolloutState(state, { kind: 'gate_failed', autoRollback: false });
      const gateBack = nextRolloutState(state, { kind: 'gate_failed', autoRollback: true });
      const done = nextRolloutState(state, { kind: 'all_batches_passed' });
      const back = nextRolloutState(state, { kind: 'rollback_done' });
      expect(gateStop).toEqual(state === 'running' ? { ok: true, state: 'paused' } : expect.objectContaining({ ok: false }));
      expect(gateBack).toEqual(state === 'running' ? { ok: true, state: 'rolling_back' } : expect.objectContaining({ ok: false }));
      expect(done).toEqual(state === 'running' ? { ok: true, state: 'completed' } : expect.objectContaining({ ok: false }));
      expect(back).toEqual(state === 'rolling_back' ? { ok: true, state: 'rolled_back' } : expect.objectContaining({ ok: false }));
    }
  });

  it('classifies states', () => {
    expect(ROLLOUT_STATES.filter(needsDriver)).toEqual(['running', 'rolling_back']);
    expect(ROLLOUT_STATES.filter(isActive)).toEqual(['pending', 'running', 'paused', 'rolling_back']);
    expect(ROLLOUT_STATES.filter(isTerminal)).toEqual(['completed', 'rolled_back']);
  });
});

describe('pinned version', () => {
  const a = { name: 'prod', configurationName: 'base' };
  it('applies only to the assignment and configuration of the pin', () => {
    expect(pinnedVersion(a, undefined)).toBeNull();
    expect(pinnedVersion(a, { assignmentName: 'prod', configurationName: 'base', version: 3 })).toBe(3);
    expect(pinnedVersion(a, { assignmentName: 'other', configurationName: 'base', version: 3 })).toBeNull();
    expect(pinnedVersion(a, { assignmentName: 'prod', configurationName: 'changed', version: 3 })).toBeNull();
  });
});
