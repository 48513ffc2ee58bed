import { backoffCeilingMs, fullJitterDelayMs } from './backoff';

const settings = { initialMs: 100, maxMs: 1000 };

describe('full-jitter backoff', () => {
  it('doubles the window per attempt up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffCeilingMs(a, settings))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('never overflows for huge attempt counts', () => {
    expect(backoffCeilingMs(5000, settings)).toBe(1000);
    expect(fullJitterDelayMs(5000, settings, () => 0.5)).toBe(500);
  });

  it('draws uniformly from [0, window) with the injected rng', () => {
    expect(fullJitterDelayMs(0, settings, () => 0)).toBe(0);
    expect(fullJitterDelayMs(0, settings, () => 0.5)).toBe(50);
    expect(fullJitterDelayMs(2, settings, () => 0.25)).toBe(100);
    expect(fullJitterDelayMs(3, settings, () => 0.999)).toBe(799);
  });

  it('treats an rng outside [0, 1) as 0 and a cap below the start as the start', () => {
    expect(fullJitterDelayMs(1, settings, () => 1)).toBe(0);
    expect(fullJitterDelayMs(1, settings, () => Number.NaN)).toBe(0);
    expect(backoffCeilingMs(3, { initialMs: 500, maxMs: 10 })).toBe(500);
  });

  it('spreads many agents over the whole window', () => {
    let seed = 42;
    const rng = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const delays = Array.from({ length: 1000 }, () => fullJitterDelayMs(4, settings, rng));
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(950);
    expect(Math.max(...delays)).toBeLessThan(1000);
  });
});
