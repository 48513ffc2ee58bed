import { parseRetryAfterMs, retryInfoToMs } from './retry-after';

const NOW = Date.parse('2025-01-01T00:00:00Z');

describe('parseRetryAfterMs', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfterMs('120', NOW)).toBe(120_000);
    expect(parseRetryAfterMs(' 5 ', NOW)).toBe(5_000);
    expect(parseRetryAfterMs('0', NOW)).toBe(0);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfterMs('Wed, 01 Jan 2025 00:00:30 GMT', NOW)).toBe(30_000);
  });

  it('reads the obsolete RFC 850 and asctime date forms', () => {
    expect(parseRetryAfterMs('Wednesday, 01-Jan-25 00:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfterMs('Wed Jan  1 00:00:10 2025', NOW)).toBe(10_000);
  });

  it('turns a date in the past into 0', () => {
    expect(parseRetryAfterMs('Tue, 31 Dec 2024 23:00:00 GMT', NOW)).toBe(0);
  });

  it('rejects malformed values', () => {
    for (const bad of ['', '  ', '-5', '1.5', '5s', 'soon', '2025-01-01', 'Wed, 99 Foo 2025 GMT']) {
      expect(parseRetryAfterMs(bad, NOW)).toBeUndefined();
    }
    expect(parseRetryAfterMs(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfterMs(null, NOW)).toBeUndefined();
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfterMs(['3', '9'], NOW)).toBe(3_000);
  });
});

describe('retryInfoToMs', () => {
  it('converts nanoseconds, rounding up', () => {
    expect(retryInfoToMs(2_500_000_000)).toBe(2_500);
    expect(retryInfoToMs(1)).toBe(1);
  });

  it('treats unset or 0 as "no server delay"', () => {
    expect(retryInfoToMs(0)).toBeUndefined();
    expect(retryInfoToMs(undefined)).toBeUndefined();
    expect(retryInfoToMs(null)).toBeUndefined();
  });
});
