import { attemptHash, currentAttempt, decidePackageRetry, parseRetryBackoff } from './package-retry';

const set = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 8);

describe('package install retries', () => {
  it('keeps the set hash for the first offer and gives each retry a hash of its own', () => {
    expect(attemptHash(set, 0)).toBe(set);
    const hashes = [1, 2, 3].map((n) => attemptHash(set, n).toString('hex'));
    expect(new Set([set.toString('hex'), ...hashes]).size).toBe(4);
    expect(attemptHash(set, 1).equals(attemptHash(set, 1))).toBe(true);
    expect(attemptHash(other, 1).equals(attemptHash(set, 1))).toBe(false);
  });

  it('counts attempts per set: a new set starts again from 0', () => {
    expect(currentAttempt(set, { of: set, retries: 2, failedAtMs: null })).toBe(2);
    expect(currentAttempt(other, { of: set, retries: 2, failedAtMs: null })).toBe(0);
    expect(currentAttempt(set, { of: null, retries: 0, failedAtMs: null })).toBe(0);
  });

  it('waits the back-off of the attempt from when the failure was first seen, then retries, then gives up', () => {
    const backoff = [1_000, 5_000];
    expect(decidePackageRetry(0, null, 100, backoff, true)).toEqual({ kind: 'wait', dueAtMs: 1_100, recordFailure: true });
    expect(decidePackageRetry(0, 100, 1_099, backoff, true)).toEqual({ kind: 'wait', dueAtMs: 1_100, recordFailure: false });
    expect(decidePackageRetry(0, 100, 1_100, backoff, true)).toEqual({ kind: 'retry', attempt: 1 });
    expect(decidePackageRetry(1, 2_000, 6_999, backoff, true)).toEqual({ kind: 'wait', dueAtMs: 7_000, recordFailure: false });
    expect(decidePackageRetry(1, 2_000, 7_000, backoff, true)).toEqual({ kind: 'retry', attempt: 2 });
    expect(decidePackageRetry(2, 8_000, 1e12, backoff, true)).toEqual({ kind: 'failed' });
  });

  it('never retries where it may not (an agent a rollout moved) or with no back-off at all', () => {
    expect(decidePackageRetry(0, 0, 1e12, [1_000], false)).toEqual({ kind: 'failed' });
    expect(decidePackageRetry(0, 0, 1e12, [], true)).toEqual({ kind: 'failed' });
  });

  it('reads the back-off setting', () => {
    expect(parseRetryBackoff('', 10)).toEqual([]);
    expect(parseRetryBackoff('120000, 600000', 10)).toEqual([120_000, 600_000]);
    expect(() => parseRetryBackoff('1,x', 10)).toThrow(/"x" is not a whole number/);
    expect(() => parseRetryBackoff('1,2,3', 2)).toThrow(/at most 2 waits/);
  });
});
