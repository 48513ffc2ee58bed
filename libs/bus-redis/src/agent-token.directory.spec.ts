import { decodeTokenChange, decodeTokenValue, encodeTokenChange, encodeTokenValue } from './agent-token.directory';

describe('credential directory encoding', () => {
  it('keeps a plain enrollment token in the old two-field form, and round-trips every kind', () => {
    expect(encodeTokenValue({ digest: 'd', tenantId: 't', tokenId: 'e1' })).toBe('t|e1');
    const entries = [
      { digest: 'd', tenantId: 't', tokenId: 'e1' },
      { digest: 'd', tenantId: 't', tokenId: 'e2', kind: 'enrollment' as const, expiresAtMs: 1_900_000_000_000 },
      { digest: 'd', tenantId: 't', tokenId: 'c1', kind: 'agent' as const, uidHex: 'ab'.repeat(16), active: false },
      { digest: 'd', tenantId: 't', tokenId: 'c2', kind: 'agent' as const, uidHex: 'ab'.repeat(16), active: true, expiresAtMs: 5 },
      { digest: 'd', tenantId: 't', tokenId: 'cert1', kind: 'certificate' as const, uidHex: 'cd'.repeat(16), active: false },
    ];
    for (const e of entries) expect(decodeTokenValue('d', encodeTokenValue(e))).toMatchObject(e);
    for (const e of entries) expect(decodeTokenChange(encodeTokenChange({ action: 'put', entry: e }))).toMatchObject({ action: 'put', entry: e });
    expect(decodeTokenChange(encodeTokenChange({ action: 'policy', policy: { tenantId: 't', requireAgentCredentials: true } }))).toEqual({
      action: 'policy',
      policy: { tenantId: 't', requireAgentCredentials: true },
    });
  });

  it.each(['t', 't|', '|e', 't|c|a|nothex|1|0', 't|c|x|' + 'ab'.repeat(16) + '|1|0', 't|c|e||0|-1', 't|c|e||0|1.5', 't|c|e||0', 't|c|c||0|0'])(
    'refuses a malformed value %p',
    (v) => expect(decodeTokenValue('d', v)).toBeNull(),
  );

  it.each(['', 'put|d', 'put|d|t', 'del', 'del|a|b', 'policy||1', 'other|x'])('refuses a malformed change %p', (c) => expect(decodeTokenChange(c)).toBeNull());
});
