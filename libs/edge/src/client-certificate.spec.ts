import { createHash } from 'node:crypto';
import { AgentTokenAuthority } from './agent-token.authority';
import { connectCredential, fingerprintOfPem, parseFingerprint } from './client-certificate';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);
const FP_A = '1f'.repeat(32);
const FP_GONE = '2e'.repeat(32);

describe('connectCredential', () => {
  const now = 1_000_000;
  const d = new AgentTokenAuthority([], () => now);
  const certA = { tenantId: 't', tokenId: 'cert-a', kind: 'certificate' as const, uidHex: A, active: true };
  d.putDigest(FP_A, certA);
  d.putDigest(FP_GONE, { ...certA, tokenId: 'cert-old', expiresAtMs: now });
  const enrollment = { tenantId: 't', tokenId: 'e1' };
  const ownA = { tenantId: 't', tokenId: 'c1', kind: 'agent' as const, uidHex: A, active: true };

  it('without a believed certificate, takes the bearer credential alone, as before', () => {
    expect(connectCredential(d, enrollment, true, null)).toEqual({ ok: true, credential: enrollment });
    expect(connectCredential(d, null, true, null)).toMatchObject({ ok: false, metric: 'unauthorized' });
    expect(connectCredential(d, null, false, null)).toMatchObject({ ok: false, metric: 'unauthorized' });
  });

  it('with a believed certificate, needs no bearer header: the certificate is the credential', () => {
    expect(connectCredential(d, null, false, FP_A)).toEqual({ ok: true, credential: certA });
  });

  it('refuses a certificate the directory does not know, or no longer accepts, even beside a valid token', () => {
    for (const fp of ['3d'.repeat(32), FP_GONE]) {
      expect(connectCredential(d, enrollment, true, fp)).toMatchObject({ ok: false, metric: 'unknown_certificate', detail: expect.stringMatching(/revoked or expired/) });
      expect(connectCredential(d, null, false, fp)).toMatchObject({ ok: false, metric: 'unknown_certificate' });
    }
  });

  it('with both, both must name the same agent', () => {
    expect(connectCredential(d, enrollment, true, FP_A)).toEqual({ ok: true, credential: certA });
    expect(connectCredential(d, ownA, true, FP_A)).toEqual({ ok: true, credential: certA });
    expect(connectCredential(d, { ...ownA, uidHex: B }, true, FP_A)).toMatchObject({ ok: false, metric: 'credential_mismatch' });
    expect(connectCredential(d, { ...enrollment, tenantId: 'other' }, true, FP_A)).toMatchObject({ ok: false, metric: 'credential_mismatch' });
    expect(connectCredential(d, null, true, FP_A)).toMatchObject({ ok: false, metric: 'unauthorized', detail: expect.stringMatching(/beside the client certificate/) });
  });
});

describe('the terminator headers', () => {
  it('reads a fingerprint in any case, with or without colons, and nothing else', () => {
    expect(parseFingerprint(FP_A.toUpperCase())).toBe(FP_A);
    expect(parseFingerprint(` ${FP_A.match(/../g)!.join(':')} `)).toBe(FP_A);
    expect(parseFingerprint(FP_A.slice(2))).toBeNull();
    expect(parseFingerprint(`${FP_A.slice(2)}zz`)).toBeNull();
    expect(parseFingerprint('')).toBeNull();
  });

  it('computes the fingerprint of a URL-encoded PEM certificate from its DER', () => {
    const der = Buffer.from('not really a certificate, but DER bytes all the same');
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
    const expected = createHash('sha256').update(der).digest('hex');
    expect(fingerprintOfPem(encodeURIComponent(pem))).toBe(expected);
    expect(fingerprintOfPem(pem)).toBe(expected);
    expect(fingerprintOfPem('%E0%A4%A')).toBeNull();
    expect(fingerprintOfPem('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----')).toBeNull();
    expect(fingerprintOfPem('no certificate')).toBeNull();
  });
});

describe('a revoked certificate (the revocation set every gateway follows)', () => {
  const now = 5_000_000;
  const FP = '4c'.repeat(32);
  const cert = { tenantId: 't', tokenId: 'cert-r', kind: 'certificate' as const, uidHex: A, active: true };
  const revocation = { fingerprint: FP, tenantId: 't', tokenId: 'cert-r', uidHex: A, notAfterMs: now + 60_000 };

  it('is refused saying so, also beside a valid bearer token (no fall-back), and its entry is gone', () => {
    const d = new AgentTokenAuthority([], () => now);
    d.putDigest(FP, cert);
    expect(d.apply({ action: 'revoke', revocation })).toEqual(cert);
    expect(d.certificateCredential(FP)).toBeNull();
    expect(d.credentialOfDigest(FP)).toBeNull();
    const own = { tenantId: 't', tokenId: 'c1', kind: 'agent' as const, uidHex: A, active: true };
    for (const [bearer, presented] of [[null, false], [own, true]] as const) {
      expect(connectCredential(d, bearer, presented, FP)).toEqual({ ok: false, metric: 'certificate_revoked', detail: expect.stringMatching(/^client certificate revoked/) });
    }
  });

  it('cannot come back through a late put (an activation that read the row before the revocation)', () => {
    const d = new AgentTokenAuthority([], () => now);
    d.apply({ action: 'revoke', revocation });
    d.apply({ action: 'put', entry: { digest: FP, tenantId: 't', tokenId: 'cert-r', kind: 'certificate', uidHex: A, active: true } });
    expect(d.certificateCredential(FP)).toBeNull();
    expect(d.hasOwnCredential('t', A)).toBe(false);
  });

  it('names the connections to end even when the entry had gone before, and is forgotten once the certificate has expired', () => {
    let clock = now;
    const d = new AgentTokenAuthority([], () => clock);
    expect(d.apply({ action: 'revoke', revocation })).toEqual({ tenantId: 't', tokenId: 'cert-r', kind: 'certificate', uidHex: A });
    expect(d.certificateRevoked(FP)).toBe(true);
    clock = revocation.notAfterMs;
    expect(d.certificateRevoked(FP)).toBe(false);
  });
});

