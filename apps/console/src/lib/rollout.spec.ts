import { applyTimeoutField, controlGate, describeApplyTimeout, describeGates, describeStrategy, parseStrategy, progressBad, progressSegments, rolloutStateName } from './rollout';

describe('rollout helpers', () => {
  it('allows the controls the server allows', () => {
    expect(controlGate('start', 'ROLLOUT_STATE_PENDING').ok).toBe(true);
    expect(controlGate('pause', 'ROLLOUT_STATE_RUNNING').ok).toBe(true);
    expect(controlGate('resume', 'ROLLOUT_STATE_RUNNING')).toEqual({ ok: false, reason: 'Cannot resume a rollout that is running.' });
    expect(controlGate('rollback', 'ROLLOUT_STATE_ABORTED').ok).toBe(true);
    expect(controlGate('rollback', 'ROLLOUT_STATE_COMPLETED').reason).toBe('Cannot rollback a rollout that is completed.');
    expect(controlGate('abort', 'ROLLOUT_STATE_ROLLING_BACK').ok).toBe(false);
  });

  it('parses the strategy form', () => {
    expect(parseStrategy('batchSize', ' 10 ')).toEqual({ batchSize: 10 });
    expect(() => parseStrategy('batchSize', '0')).toThrow(/at least 1/);
    expect(parseStrategy('batchPercent', '25%')).toEqual({ batchPercent: 25 });
    expect(parseStrategy('steps', '1, 10%, 50% 100%')).toEqual({
      steps: [
        { count: 1, percent: 0 },
        { count: 0, percent: 10 },
        { count: 0, percent: 50 },
        { count: 0, percent: 100 },
      ],
    });
    expect(() => parseStrategy('steps', '1, ten')).toThrow(/"ten"/);
    expect(parseStrategy('stages', 'canary: env=canary\n\neu: region=eu,env=prod')).toEqual({
      stages: [
        { name: 'canary', selector: 'env=canary' },
        { name: 'eu', selector: 'region=eu,env=prod' },
      ],
    });
    expect(() => parseStrategy('stages', 'no selector')).toThrow(/name: selector/);
  });

  it('describes strategies and states', () => {
    const none = { batchSize: 0, batchPercent: 0, steps: [], stages: [] };
    expect(describeStrategy({ ...none, batchSize: 5 })).toBe('batches of 5');
    expect(describeStrategy({ ...none, steps: [{ count: 1, percent: 0 }, { count: 0, percent: 100 }] })).toBe('steps 1 → 100%');
    expect(rolloutStateName('ROLLOUT_STATE_ROLLING_BACK')).toBe('rolling back');
    expect(rolloutStateName('ROLLOUT_BATCH_STATE_SOAKING')).toBe('soaking');
    expect(rolloutStateName('ROLLOUT_AGENT_PHASE_NOT_SENT')).toBe('not sent');
    expect(rolloutStateName('ROLLOUT_AGENT_PHASE_TIMED_OUT')).toBe('timed out');
  });

  it('apply deadline: form field, description, counted as bad', () => {
    expect(applyTimeoutField('')).toEqual({});
    expect(applyTimeoutField('0')).toEqual({ applyTimeoutMs: 0 });
    expect(applyTimeoutField(' 1.5 ')).toEqual({ applyTimeoutMs: 1500 });
    expect(() => applyTimeoutField('-1')).toThrow(/0 \(none\) to 86400/);
    expect(() => applyTimeoutField('100000')).toThrow(/24 h/);
    expect(describeApplyTimeout(0)).toMatch(/^none/);
    expect(describeGates({ maxFailedAgents: 2, maxFailedPercent: 5 }, true)).toBe('fails above 2 agents or 5% (the larger) · rolls back on failure');
    expect(describeGates({ maxFailedAgents: 0, maxFailedPercent: 0 }, false)).toMatch(/pauses on failure$/);
    expect(describeApplyTimeout(600_000)).toMatch(/^10 min per agent/);
    expect(describeApplyTimeout(1500)).toMatch(/^1.5 s per agent/);
    expect(progressBad({ pending: 0, applying: 1, applied: 5, failed: 1, unhealthy: 0, offline: 1, notSent: 0, timedOut: 2 })).toBe(4);
  });

  it('fills a progress bar with applied, applying and bad agents only: a batch still pending reads as not started', () => {
    const none = { pending: 0, applying: 0, applied: 0, failed: 0, unhealthy: 0, offline: 0, notSent: 0, timedOut: 0 };
    const filled = (s: ReturnType<typeof progressSegments>) => s.applied + s.applying + s.bad;
    const pending = progressSegments({ ...none, pending: 5 }, 5);
    expect(filled(pending)).toBe(0);
    expect(pending.waiting).toBe(100);
    expect(progressSegments({ ...none, applied: 3, applying: 1, failed: 1 }, 5)).toEqual({ applied: 60, applying: 20, bad: 20, waiting: 0 });
    expect(filled(progressSegments({ ...none, applied: 5 }, 5))).toBe(100);
    expect(filled(progressSegments(none, 0))).toBe(0);
  });
});
