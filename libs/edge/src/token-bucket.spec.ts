import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 1_000;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilNextToken()).toBe(100);
    now += 99;
    expect(bucket.tryTake()).toBe(false);
    now += 1;
    expect(bucket.tryTake()).toBe(true);
  });

  it('never holds more than the burst, however long it idles', () => {
    let now = 0;
    const bucket = new TokenBucket(1000, 2, () => now);
    now += 60_000;
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
  });
});

describe('TokenBucket by amount (download bandwidth)', () => {
  it('takes many tokens at once and says how long the rest takes', () => {
    let now = 0;
    const bytes = new TokenBucket(1000, 1000, () => now);
    expect(bytes.tryTake(600)).toBe(true);
    expect(bytes.tryTake(600)).toBe(false);
    expect(bytes.msUntilNextToken(600)).toBe(200);
    now += 200;
    expect(bytes.tryTake(600)).toBe(true);
  });
});
