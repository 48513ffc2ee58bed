import { drawInt, hostileText, HOSTILE_TEXT_KINDS, seededRng } from './fuzz-draw';

describe('fuzz draws', () => {
  it('keeps integers within bounds and reaches both ends', () => {
    const rng = seededRng(1);
    const xs = Array.from({ length: 2000 }, () => drawInt(rng, 3, 7));
    expect(Math.min(...xs)).toBe(3);
    expect(Math.max(...xs)).toBe(7);
  });

  it('makes hostile text of every kind, long text within its bound', () => {
    const rng = seededRng(2);
    expect(hostileText(rng, 'nul')).toContain('\u0000');
    expect(hostileText(rng, 'log-line')).toContain('\n');
    expect(hostileText(rng, 'empty')).toBe('');
    const long = hostileText(rng, 'long', 5000);
    expect(long.length).toBeGreaterThanOrEqual(1024);
    expect(long.length).toBeLessThan(5010);
    for (const kind of HOSTILE_TEXT_KINDS) expect(typeof hostileText(rng, kind)).toBe('string');
  });
});
