import { boundedTenantSeries, countByTenant, OTHER_TENANTS } from './tenant-series';

describe('boundedTenantSeries', () => {
  it('keeps every tenant within the bound, largest first', () => {
    expect(boundedTenantSeries(countByTenant(['a', 'b', 'b', 'c', 'b', 'c']), 3)).toEqual([
      ['b', 3],
      ['c', 2],
      ['a', 1],
    ]);
  });

  it('sums the smallest tenants into _other so there are never more than max series', () => {
    const counts = new Map([
      ['t1', 10],
      ['t2', 7],
      ['t3', 7],
      ['t4', 1],
      ['t5', 2],
    ]);
    const series = boundedTenantSeries(counts, 3);
    expect(series).toEqual([
      ['t1', 10],
      ['t2', 7],
      [OTHER_TENANTS, 10],
    ]);
    expect(series.reduce((n, [, c]) => n + c, 0)).toBe(27);
  });

  it('has no _other series when nothing overflows, and none at all without agents', () => {
    expect(boundedTenantSeries(new Map([['x', 1]]), 1)).toEqual([['x', 1]]);
    expect(boundedTenantSeries(new Map(), 5)).toEqual([]);
  });
});
