import { agentTokenDigest, AgentTokenAuthority, parseTokenList } from './agent-token.authority';

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

describe('AgentTokenAuthority and the shared directory', () => {
  const uid = 'c'.repeat(32);

  it('follows client certificates by fingerprint, until they expire or are removed, and never takes one as a bearer secret', () => {
    let now = 1_000;
    const a = new AgentTokenAuthority([], () => now);
    const fp = 'ab'.repeat(32);
    a.apply({ action: 'put', entry: { digest: fp, tenantId: 't', tokenId: 'cert-1', kind: 'certificate', uidHex: uid, active: true, expiresAtMs: 2_000 } });
    expect(a.certificateCredential(fp)).toEqual({ tenantId: 't', tokenId: 'cert-1', kind: 'certificate', uidHex: uid, active: true, expiresAtMs: 2_000 });
    expect(a.hasOwnCredential('t', uid)).toBe(true);
    now = 2_000;
    expect(a.certificateCredential(fp)).toBeNull();
    now = 1_000;
    expect(a.apply({ action: 'del', digest: fp })).toMatchObject({ tokenId: 'cert-1', kind: 'certificate' });
    expect(a.certificateCredential(fp)).toBeNull();
    expect(a.hasOwnCredential('t', uid)).toBe(false);
    // An agent's own credential is no certificate, and a certificate's entry is no bearer secret.
    a.apply({ action: 'put', entry: { digest: agentTokenDigest('own'), tenantId: 't', tokenId: 'c1', kind: 'agent', uidHex: uid, active: true } });
    expect(a.certificateCredential(agentTokenDigest('own'))).toBeNull();
    a.apply({ action: 'put', entry: { digest: agentTokenDigest('public'), tenantId: 't', tokenId: 'cert-2', kind: 'certificate', uidHex: uid, active: true } });
    expect(a.authenticate('Bearer public', '')).toBeNull();
  });

  it('follows puts, policies and deletions, and returns what a deletion removed', () => {
    const a = new AgentTokenAuthority();
    a.apply({ action: 'put', entry: { digest: agentTokenDigest('own'), tenantId: 't', tokenId: 'c1', kind: 'agent', uidHex: uid, active: true } });
    expect(a.authenticate('Bearer own', '')).toEqual({ tenantId: 't', tokenId: 'c1', kind: 'agent', uidHex: uid, active: true });
    expect(a.hasOwnCredential('t', uid)).toBe(true);
    a.apply({ action: 'policy', policy: { tenantId: 't', requireAgentCredentials: true } });
    expect(a.requiresAgentCredentials('t')).toBe(true);
    expect(a.apply({ action: 'del', digest: agentTokenDigest('own') })?.tokenId).toBe('c1');
    expect(a.hasOwnCredential('t', uid)).toBe(false);
    expect(a.apply({ action: 'del', digest: agentTokenDigest('own') })).toBeNull();
  });

  it('counts an agent as holding its own credential while either of two overlapping ones is active', () => {
    const a = new AgentTokenAuthority();
    const put = (digest: string, active: boolean) => a.putEntry({ digest, tenantId: 't', tokenId: digest, kind: 'agent', uidHex: uid, active });
    put('old', true);
    put('new', false);
    expect(a.hasOwnCredential('t', uid)).toBe(true);
    put('new', true);
    a.removeDigest('old');
    expect(a.hasOwnCredential('t', uid)).toBe(true);
    a.removeDigest('new');
    expect(a.hasOwnCredential('t', uid)).toBe(false);
  });

  it('refuses a credential from its expiry on', () => {
    let now = 1_000;
    const a = new AgentTokenAuthority([], () => now);
    a.putEntry({ digest: agentTokenDigest('tok'), tenantId: 't', tokenId: 'e', expiresAtMs: 2_000 });
    expect(a.authenticate('Bearer tok', '')?.tokenId).toBe('e');
    now = 2_000;
    expect(a.authenticate('Bearer tok', '')).toBeNull();
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
