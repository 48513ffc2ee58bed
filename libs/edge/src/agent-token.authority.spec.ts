import { AgentTokenAuthority, parseTokenList } from './agent-token.authority';

describe('AgentTokenAuthority', () => {
  const authority = new AgentTokenAuthority([
    { tenantId: 'acme', token: 's3cret-acme', tokenId: 'acme-1' },
    { tenantId: 'globex', token: 's3cret-globex' },
  ]);

  it('maps a bearer token or an API key to its tenant', () => {
    expect(authority.authenticate('Bearer s3cret-acme', '')).toEqual({ tenantId: 'acme', tokenId: 'acme-1' });
    expect(authority.authenticate('bearer   s3cret-acme ', '')?.tenantId).toBe('acme');
    expect(authority.authenticate('', 's3cret-globex')?.tenantId).toBe('globex');
  });

  it('refuses unknown, empty and malformed credentials', () => {
    expect(authority.authenticate('Bearer nope', '')).toBeNull();
    expect(authority.authenticate('', '')).toBeNull();
    expect(authority.authenticate('Basic czNjcmV0', '')).toBeNull();
    // A malformed Authorization header is not rescued by an API key.
    expect(authority.authenticate('Token x', 's3cret-acme')).toBeNull();
  });

  it('stops accepting a revoked token at once', () => {
    const a = new AgentTokenAuthority([{ tenantId: 't', token: 'tok' }]);
    expect(a.revoke('tok')).toBe(true);
    expect(a.authenticate('Bearer tok', '')).toBeNull();
  });

  it('does not keep tokens in clear text', () => {
    expect(JSON.stringify([...(authority as unknown as { byDigest: Map<string, unknown> }).byDigest])).not.toContain('s3cret');
  });
});

describe('parseTokenList', () => {
  it('parses pairs and refuses malformed ones', () => {
    expect(parseTokenList('a=x, b=y=z')).toEqual([
      { tenantId: 'a', token: 'x' },
      { tenantId: 'b', token: 'y=z' },
    ]);
    expect(() => parseTokenList('justatoken')).toThrow(/tenant=token/);
    expect(() => parseTokenList('a=')).toThrow();
  });
});
