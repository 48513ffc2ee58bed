import { agentTokenState, enrollmentExpiry, enrollmentLabels, enrollmentMaxUses, parseRfc3339 } from './enrollment-token';
import { MAX_AGENT_TOKEN_LIFETIME_MS, MAX_AGENT_TOKEN_USES, MAX_ENROLLMENT_LABELS, MAX_LABEL_KEY_CHARS, MAX_LABEL_VALUE_CHARS } from './limits';
import { matchesSelector as matches, parseSelector } from './selector';

const NOW = Date.parse('2026-06-01T00:00:00Z');

describe('parseRfc3339', () => {
  it.each([
    ['2026-06-02T00:00:00Z', Date.parse('2026-06-02T00:00:00Z')],
    ['2026-06-02t10:00:00.5+02:00', Date.parse('2026-06-02T08:00:00.5Z')],
    ['2028-02-29T00:00:00Z', Date.parse('2028-02-29T00:00:00Z')],
  ])('reads %s', (text, ms) => expect(parseRfc3339(text)).toBe(ms));

  it.each(['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-06-01T24:00:00Z', '2026-06-01', '2026-06-01T00:00:00', 'tomorrow', '1780000000000'])(
    'refuses %s',
    (text) => expect(parseRfc3339(text)).toBeNull(),
  );
});

describe('enrollmentExpiry', () => {
  it('is none when empty, the time when in the future and within the limit', () => {
    expect(enrollmentExpiry('', NOW)).toBeNull();
    expect(enrollmentExpiry('2026-07-01T00:00:00Z', NOW)).toBe(Date.parse('2026-07-01T00:00:00Z'));
    expect(enrollmentExpiry(new Date(NOW + MAX_AGENT_TOKEN_LIFETIME_MS).toISOString(), NOW)).toBe(NOW + MAX_AGENT_TOKEN_LIFETIME_MS);
  });

  it('refuses the past, now, beyond the limit and what is not RFC 3339, naming the field', () => {
    expect(() => enrollmentExpiry('2026-05-31T23:59:59Z', NOW)).toThrow(/expire_time must be in the future/);
    expect(() => enrollmentExpiry(new Date(NOW).toISOString(), NOW)).toThrow(/in the future/);
    expect(() => enrollmentExpiry(new Date(NOW + MAX_AGENT_TOKEN_LIFETIME_MS + 1000).toISOString(), NOW)).toThrow(/at most 3650 days ahead/);
    expect(() => enrollmentExpiry('next week', NOW)).toThrow(/expire_time must be an RFC 3339 time/);
  });
});

describe('enrollmentMaxUses', () => {
  it('is no limit for 0 and the number for 1..the limit', () => {
    expect(enrollmentMaxUses(0)).toBeNull();
    expect(enrollmentMaxUses(1)).toBe(1);
    expect(enrollmentMaxUses(MAX_AGENT_TOKEN_USES)).toBe(MAX_AGENT_TOKEN_USES);
  });

  it.each([-1, MAX_AGENT_TOKEN_USES + 1, 1.5])('refuses %s', (n) => expect(() => enrollmentMaxUses(n)).toThrow(/max_uses must be between 1 and 10000000/));
});

describe('enrollmentLabels', () => {
  it('keeps keys a selector can name, sorted, with any printable value (also empty, spaces, commas)', () => {
    const labels = enrollmentLabels({ 'team/name': 'a, b (c)', env: 'prod', 'k8s.cluster': '' });
    expect(labels).toEqual({ env: 'prod', 'k8s.cluster': '', 'team/name': 'a, b (c)' });
    expect(Object.keys(labels)).toEqual(['env', 'k8s.cluster', 'team/name']);
    // Every label can be selected on.
    expect(matches(parseSelector('team/name="a, b (c)",env=prod,k8s.cluster=""'), labels)).toBe(true);
  });

  it('is empty when absent', () => {
    expect(enrollmentLabels(undefined)).toEqual({});
    expect(enrollmentLabels({})).toEqual({});
  });

  it.each<[string, unknown, RegExp]>([
    ['an empty key', { '': 'x' }, /label key "" must be made of letters/],
    ['a key with a space', { 'my env': 'x' }, /label key "my env" must be made of/],
    ['a key with "="', { 'a=b': 'x' }, /must be made of/],
    ['a key beyond the limit', { ['k'.repeat(MAX_LABEL_KEY_CHARS + 1)]: 'x' }, /longer than 128 characters/],
    ['a value beyond the limit', { env: 'v'.repeat(MAX_LABEL_VALUE_CHARS + 1) }, /label "env" has a value longer than 256 characters/],
    ['a value with a newline', { env: 'prod\nrole: admin' }, /must not contain control characters/],
    ['a value that is not a string', { env: 3 }, /must have a string value/],
    ['too many labels', Object.fromEntries(Array.from({ length: MAX_ENROLLMENT_LABELS + 1 }, (_, i) => [`k${i}`, 'v'])), /at most 64 entries, got 65/],
    ['a list', ['env'], /labels must be a map of strings/],
  ])('refuses %s', (_what, labels, message) => expect(() => enrollmentLabels(labels)).toThrow(message));
});

describe('agentTokenState', () => {
  const token = { revoked: false, expiresAtMs: null as number | null, maxUses: null as number | null, uses: 0 };
  it('is ACTIVE, EXPIRED at its expiry, EXHAUSTED at its use limit, REVOKED above all', () => {
    expect(agentTokenState(token, NOW)).toBe('ACTIVE');
    expect(agentTokenState({ ...token, expiresAtMs: NOW + 1, maxUses: 2, uses: 1 }, NOW)).toBe('ACTIVE');
    expect(agentTokenState({ ...token, expiresAtMs: NOW }, NOW)).toBe('EXPIRED');
    expect(agentTokenState({ ...token, maxUses: 2, uses: 2 }, NOW)).toBe('EXHAUSTED');
    expect(agentTokenState({ ...token, maxUses: 2, uses: 2, expiresAtMs: NOW - 1 }, NOW)).toBe('EXPIRED');
    expect(agentTokenState({ ...token, revoked: true, maxUses: 2, uses: 2, expiresAtMs: NOW - 1 }, NOW)).toBe('REVOKED');
  });
});
