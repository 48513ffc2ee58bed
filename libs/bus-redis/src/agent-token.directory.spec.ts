import { decodeRevocationValue, decodeTokenChange, decodeTokenValue, encodeRevocationValue, encodeTokenChange, encodeTokenValue } from './agent-token.directory';

describe('credential directory encoding', () => {
  it('keeps a plain enrollment token in the old two-field form, and round-trips every kind', () => {
    expect(encodeTokenValue({ digest: 'd', tenantId: 't', tokenId: 'e1' })).toBe('t|e1');
    const entries = [
      { digest: 'd', tenantId: 't', tokenId: 'e1' },
      { digest: 'd', tenantId: 't', tokenId: 'e2', kind: 'enrollment' as const, expiresAtMs: 1_900_000_000_000 },
      { digest: 'd', tenantId: 't', tokenId: 'c1', kind: 'agent' as const, uidHex: 'ab'.repeat(16), active: false },
      { digest: 'd', tenantId: 't', tokenId: 'c2', kind: 'agent' as const, uidHex: 'ab'.repeat(16), active: true, expiresAtMs: 5 },
      { digest: 'd', tenantId: 't', tokenId: 'cert-1', kind: 'certificate' as const, uidHex: 'cd'.repeat(16), active: true, expiresAtMs: 7 },
    ];
    for (const e of entries) expect(decodeTokenValue('d', encodeTokenValue(e))).toMatchObject(e);
    for (const e of entries) expect(decodeTokenChange(encodeTokenChange({ action: 'put', entry: e }))).toMatchObject({ action: 'put', entry: e });
    expect(decodeTokenChange(encodeTokenChange({ action: 'policy', policy: { tenantId: 't', requireAgentCredentials: true } }))).toEqual({
      action: 'policy',
      policy: { tenantId: 't', requireAgentCredentials: true },
    });
  });

  it.each(['t', 't|', '|e', 't|c|a|nothex|1|0', 't|c|x|' + 'ab'.repeat(16) + '|1|0', 't|c|e||0|-1', 't|c|e||0|1.5', 't|c|e||0', 't|c|c||1|0', 't|c|constructor|' + 'ab'.repeat(16) + '|1|0'])(
    'refuses a malformed value %p',
    (v) => expect(decodeTokenValue('d', v)).toBeNull(),
  );

  it.each(['', 'put|d', 'put|d|t', 'del', 'del|a|b', 'policy||1', 'other|x'])('refuses a malformed change %p', (c) => expect(decodeTokenChange(c)).toBeNull());

  it('round-trips a certificate revocation, and refuses a malformed one', () => {
    const revocation = { fingerprint: '9a'.repeat(32), tenantId: 't', tokenId: 'cert-9', uidHex: 'cd'.repeat(16), notAfterMs: 1_900_000_000_000 };
    expect(decodeTokenChange(encodeTokenChange({ action: 'revoke', revocation }))).toEqual({ action: 'revoke', revocation });
    expect(decodeRevocationValue(revocation.fingerprint, encodeRevocationValue(revocation))).toEqual(revocation);
    for (const [fp, v] of [['nothex', encodeRevocationValue(revocation)], [revocation.fingerprint, 't|c|' + 'cd'.repeat(16) + '|0'], [revocation.fingerprint, 't|c|short|5'], [revocation.fingerprint, '|c|' + 'cd'.repeat(16) + '|5']]) {
      expect(decodeRevocationValue(fp, v)).toBeNull();
    }
    expect(decodeTokenChange('revoke|' + revocation.fingerprint + '|t|c')).toBeNull();
  });
});
