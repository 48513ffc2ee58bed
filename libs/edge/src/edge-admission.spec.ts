import { EDGE_DEFAULTS } from './edge-defaults';
import { retryAfterSeconds } from './edge-admission';

const options = { retryAfterRangeS: [30, 90] as [number, number] };
const draws = [0, 0.2, 0.5, 0.999999];

describe('retryAfterSeconds', () => {
  it('draws from the overload range while the gateway runs', () => {
    expect(draws.map((r) => retryAfterSeconds(options, false, () => r))).toEqual([30, 42, 60, 90]);
  });

  it('draws from the short drain range while the gateway drains, jittered over all of it', () => {
    const seen = draws.map((r) => retryAfterSeconds(options, true, () => r));
    expect(seen).toEqual([1, 2, 3, 5]);
    expect(Math.min(...seen)).toBe(EDGE_DEFAULTS.drainRetryAfterMinS);
    expect(Math.max(...seen)).toBe(EDGE_DEFAULTS.drainRetryAfterMaxS);
  });

  it('takes a configured drain range', () => {
    expect(retryAfterSeconds({ ...options, drainRetryAfterRangeS: [2, 2] }, true, () => 0.7)).toBe(2);
  });
});
