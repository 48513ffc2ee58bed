import { breakdownRows, chooseGroupBy, emptyTotals, NO_VALUE, selectorForLabel, summaryTotals, syncView } from './fleet-summary';
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

  it('shows unassigned agents as unmanaged, apart: not as out of sync, and not in the sync shares', () => {
    // 7 agents: 3 unassigned (counted out of sync by the server), 4 managed of which 3 in sync.
    const v = syncView(totals({ agents: 7, inSync: 3, outOfSync: 4, unassigned: 3 }));
    expect(v).toEqual({ managed: 4, unmanaged: 3, inSync: 3, outOfSync: 1, inSyncPercent: 75, outOfSyncPercent: 25, unmanagedPercent: 43 });
  });

  it('reads 0 % of nothing: no agents, or none managed', () => {
    expect(syncView(emptyTotals())).toEqual({ managed: 0, unmanaged: 0, inSync: 0, outOfSync: 0, inSyncPercent: 0, outOfSyncPercent: 0, unmanagedPercent: 0 });
    expect(syncView(totals({ agents: 2, outOfSync: 2, unassigned: 2 }))).toMatchObject({ managed: 0, outOfSync: 0, outOfSyncPercent: 0, unmanagedPercent: 100 });
  });
});
