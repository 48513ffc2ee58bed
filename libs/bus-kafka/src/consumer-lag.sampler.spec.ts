import { partitionLags } from './consumer-lag.sampler';

const target = { groupId: 'g', topic: 't' };

describe('partitionLags', () => {
  it('is the end offset minus the committed offset, per partition in order', () => {
    expect(
      partitionLags(
        target,
        [
          { partition: 1, high: '10', low: '0' },
          { partition: 0, high: '7', low: '2' },
        ],
        [
          { partition: 0, offset: '7' },
          { partition: 1, offset: '4' },
        ],
      ),
    ).toEqual([
      { groupId: 'g', topic: 't', partition: 0, lag: 0 },
      { groupId: 'g', topic: 't', partition: 1, lag: 6 },
    ]);
  });

  it('counts every kept record of a partition the group never committed', () => {
    expect(partitionLags(target, [{ partition: 0, high: '9', low: '3' }], [{ partition: 0, offset: '-1' }])).toEqual([{ groupId: 'g', topic: 't', partition: 0, lag: 6 }]);
    expect(partitionLags(target, [{ partition: 0, high: '9', low: '3' }], [])).toEqual([{ groupId: 'g', topic: 't', partition: 0, lag: 6 }]);
  });

  it('is never negative (a commit read after a newer end offset)', () => {
    expect(partitionLags(target, [{ partition: 0, high: '5', low: '0' }], [{ partition: 0, offset: '6' }])[0].lag).toBe(0);
  });
});
