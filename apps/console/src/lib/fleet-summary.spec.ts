import { breakdownRows, chooseGroupBy, emptyTotals, NO_VALUE, selectorForLabel, summaryTotals } from './fleet-summary';
import type { FleetSummaryResponse } from './types';

const totals = (over: Partial<ReturnType<typeof emptyTotals>>) => ({ ...emptyTotals(), ...over });

describe('fleet summary', () => {
  const summary: FleetSummaryResponse = {
    totals: totals({ agents: 4, connected: 3, disconnected: 1, healthy: 2, unhealthy: 1, healthUnknown: 1, inSync: 1, outOfSync: 3, unassigned: 1, configFailed: 1, configApplying: 1 }),
    groupBy: 'env',
    groups: [
      { value: 'prod', hasLabel: true, counts: totals({ agents: 2, unhealthy: 1 }) },
      { value: 'dev', hasLabel: true, counts: totals({ agents: 1 }) },
      { value: '', hasLabel: false, counts: totals({ agents: 1 }) },
    ],
    labelKeys: ['env', 'region'],
    time: '2026-01-01T00:00:00.000Z',
  };

  it('reads the totals, with missing counters as 0', () => {
    expect(summaryTotals(summary)).toEqual(summary.totals);
    expect(summaryTotals({ ...summary, totals: { agents: 3 } as never })).toEqual(totals({ agents: 3 }));
  });

  it('gives one row per label value, agents without the label last', () => {
    expect(breakdownRows(summary).map((r) => [r.value, r.hasLabel, r.totals.agents, r.totals.unhealthy])).toEqual([
      ['prod', true, 2, 1],
      ['dev', true, 1, 0],
      [NO_VALUE, false, 1, 0],
    ]);
    expect(breakdownRows({ ...summary, groupBy: '', groups: [] })).toEqual([]);
  });

  it('chooses the label to break down by', () => {
    expect(chooseGroupBy(['region', 'env'], '')).toBe('env');
    expect(chooseGroupBy(['region', 'env'], 'region')).toBe('region');
    expect(chooseGroupBy(['region'], 'gone')).toBe('region');
    expect(chooseGroupBy([], 'x')).toBe('');
  });

  it('gives the selector of a breakdown row (a value that looks like the placeholder is still a value)', () => {
    expect(selectorForLabel('env', { hasLabel: true, labelValue: 'prod' })).toBe('env=prod');
    expect(selectorForLabel('env', { hasLabel: false, labelValue: '' })).toBe('!env');
    expect(selectorForLabel('env', { hasLabel: true, labelValue: NO_VALUE })).toBe(`env=${NO_VALUE}`);
  });
});
