import { diffCounts, percentile, ratePerSecond, SampleBuffer, summarize } from './stats';
import { matchesEquality, parseEqualitySelector } from './selector';

describe('stats', () => {
  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([], 50)).toBe(0);
    expect(percentile([7], 99)).toBe(7);
  });

  it('summarizes unsorted samples', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toEqual({ count: 5, min: 1, p50: 3, p90: 5, p95: 5, p99: 5, max: 5, mean: 3 });
    expect(summarize([]).count).toBe(0);
  });

  it('buffers samples without a fixed size and drains them', () => {
    const b = new SampleBuffer();
    for (let i = 0; i < 5000; i++) b.push(i);
    expect(b.length).toBe(5000);
    const drained = b.drain();
    expect(drained.length).toBe(5000);
    expect(drained[4999]).toBe(4999);
    expect(b.length).toBe(0);
  });

  it('derives rates and recent counts from cumulative readings', () => {
    expect(ratePerSecond(1500, 500, 2000)).toBe(500);
    expect(ratePerSecond(1, 0, 0)).toBe(0);
    expect(diffCounts({ a: 5, b: 2 }, { a: 3, b: 2 })).toEqual({ a: 2 });
  });
});

describe('equality selectors', () => {
  it('parse key=value lists and match all of them', () => {
    const s = parseEqualitySelector('deployment.environment.name=prod, cloud.region=eu-west-1');
    expect(matchesEquality(s, { 'deployment.environment.name': 'prod', 'cloud.region': 'eu-west-1', x: 'y' })).toBe(true);
    expect(matchesEquality(s, { 'deployment.environment.name': 'prod' })).toBe(false);
    expect(matchesEquality(parseEqualitySelector(''), {})).toBe(true);
    expect(() => parseEqualitySelector('novalue')).toThrow('key=value');
    expect(() => parseEqualitySelector('a=1,a=2')).toThrow('twice');
  });
});
