import { CoalescingQueue, matchesWatchFilter, type AgentWatchFacts } from './agent-watch';
import { parseSelector } from './selector';

const agent: AgentWatchFacts = { labels: { env: 'prod', region: 'eu' }, connected: true, healthy: null, inSync: false, remoteConfigStatus: 2 };

describe('matchesWatchFilter', () => {
  it('applies the selector and every ListAgents filter', () => {
    const f = (over: Partial<Parameters<typeof matchesWatchFilter>[0]>) => matchesWatchFilter({ selector: parseSelector(''), configStatuses: [], ...over }, agent);
    expect(f({})).toBe(true);
    expect(f({ selector: parseSelector('env=prod,region in (eu,us)') })).toBe(true);
    expect(f({ selector: parseSelector('env!=prod') })).toBe(false);
    expect(f({ connected: true })).toBe(true);
    expect(f({ connected: false })).toBe(false);
    expect(f({ inSync: false })).toBe(true);
    expect(f({ inSync: true })).toBe(false);
    expect(f({ configStatuses: [1, 2] })).toBe(true);
    expect(f({ configStatuses: [3] })).toBe(false);
    // Unknown health matches neither healthy=true nor healthy=false, as in ListAgents.
    expect(f({ healthy: true })).toBe(false);
    expect(f({ healthy: false })).toBe(false);
    expect(matchesWatchFilter({ selector: parseSelector(''), configStatuses: [], healthy: false }, { ...agent, healthy: false })).toBe(true);
  });
});

describe('CoalescingQueue', () => {
  it('keeps one slot per key, newest value at the first position, and refuses a new key when full', () => {
    const q = new CoalescingQueue<string>(2);
    expect(q.offer('a', 'a1')).toBe(true);
    expect(q.offer('b', 'b1')).toBe(true);
    expect(q.offer('a', 'a2')).toBe(true);
    expect(q.offer('c', 'c1')).toBe(false);
    expect(q.size).toBe(2);
    expect([q.poll(), q.poll(), q.poll()]).toEqual(['a2', 'b1', undefined]);
    expect(q.offer('c', 'c1')).toBe(true);
  });

  it('needs a capacity', () => {
    expect(() => new CoalescingQueue(0)).toThrow(/capacity/);
  });
});
