import { describeOwnTelemetryGate, ownTelemetryDecisions, ratioText } from './own-telemetry-gate';
import type { RolloutEvent } from './types';

const event = (batchIndex: number, details: unknown, type = 'own_telemetry_gate'): RolloutEvent => ({
  id: String(batchIndex),
  rolloutName: 'r',
  type,
  batchIndex,
  message: `batch ${batchIndex + 1} message`,
  detailsJson: typeof details === 'string' ? details : JSON.stringify(details),
  actor: 'system',
  time: '2026-12-03T10:00:00.000Z',
});

describe('own-telemetry gate view', () => {
  it('describes the settings, leaving out checks turned off', () => {
    const g = { maxExportFailureIncreasePercent: 5, maxRefusedDroppedIncreasePercent: 100, maxThroughputDropPercent: 50, windowSeconds: 300, minReportingPercent: 50 };
    expect(describeOwnTelemetryGate(g)).toBe(
      'fails on export failures up > 5 points, throughput down > 50% · 300 s before vs last 300 s of the soak · fails with fewer than 50% of agents reporting',
    );
    expect(describeOwnTelemetryGate({ ...g, minReportingPercent: 0 })).toMatch(/passes when no agent reports$/);
  });

  it("keeps each batch's latest decision with its numbers, tolerating details it cannot read", () => {
    const failed = {
      decision: 'failed',
      reason: 'own telemetry of 2 agents: export failures up 52.67 points',
      windowSeconds: 2,
      agents: 2,
      comparable: 2,
      requiredReporting: 1,
      stoppedReporting: 0,
      exportFailurePercent: { before: 1, after: 53.67, increase: 52.67, max: 5, passed: false },
      throughput: { before: 594, after: 278, dropPercent: 53.2, max: 50, passed: false },
      worstAgents: [{ instanceUid: 'ab', exportFailurePercentBefore: 1, exportFailurePercentAfter: 80 }, 'junk'],
      stoppedAgents: ['cd', 7],
    };
    const views = ownTelemetryDecisions([event(1, { decision: 'passed' }), event(0, { decision: 'passed' }), event(0, failed), event(2, 'not json'), event(3, {}, 'batch_passed')]);
    expect(views.map((v) => [v.batchIndex, v.decision])).toEqual([
      [0, 'failed'],
      [1, 'passed'],
      [2, 'failed'],
    ]);
    expect(views[0]).toMatchObject({ comparable: 2, worstAgents: [{ instanceUid: 'ab', exportFailurePercentAfter: 80 }], stoppedAgents: ['cd'], refusedDroppedPercent: null });
    expect(ratioText(views[0].exportFailurePercent!)).toBe('1 % → 53.67 % (+52.67 points, at most 5)');
    expect(views[1]).toMatchObject({ reason: 'batch 2 message', exportFailurePercent: null, throughput: null });
  });
});
