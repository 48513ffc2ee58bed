import { SourcePortPool, sourcePortPool } from './source-ports';

describe('SourcePortPool', () => {
  it('hands out every port of its ranges once before repeating', () => {
    const pool = new SourcePortPool([
      [2000, 2002],
      [3000, 3001],
    ]);
    expect(pool.size).toBe(5);
    const first = Array.from({ length: 5 }, () => pool.next());
    expect(first).toEqual([2000, 2001, 2002, 3000, 3001]);
    expect(pool.next()).toBe(2000);
  });

  it('starts at the given offset', () => {
    const pool = new SourcePortPool([[5000, 5009]], 13);
    expect(pool.next()).toBe(5003);
  });

  it('refuses ranges outside 1..65535 or reversed', () => {
    expect(() => new SourcePortPool([[0, 10]])).toThrow(RangeError);
    expect(() => new SourcePortPool([[10, 5]])).toThrow(/invalid source port range 10-5/);
    expect(() => new SourcePortPool([[60000, 70000]])).toThrow(RangeError);
  });

  it('shares one pool per address in a process', () => {
    const a = sourcePortPool('127.0.0.9');
    expect(sourcePortPool('127.0.0.9')).toBe(a);
    expect(sourcePortPool('127.0.0.10')).not.toBe(a);
    const p1 = a.next();
    const p2 = a.next();
    expect(p2 === p1 + 1 || (p1 === 32767 && p2 === 61000) || (p1 === 65535 && p2 === 1024)).toBe(true);
  });
});
