import { X509Certificate } from 'node:crypto';
import { CLOCK_SKEW_MS } from './certificate-limits';
import { checkCaOptions, createCertificateAuthority } from './tenant-ca';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

describe('createCertificateAuthority', () => {
  it('makes a self-signed P-256 CA by default, for signing agents only, valid for its lifetime', async () => {
    const ca = await createCertificateAuthority({ tenantId: 'acme', lifetimeDays: 90, nowMs: NOW });
    const cert = new X509Certificate(ca.certificatePem);
    expect(ca.keyType).toBe('ecdsa-p256');
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails).toEqual({ namedCurve: 'prime256v1' });
    expect(cert.subject).toContain('O=acme');
    expect(new Date(cert.validFrom)).toEqual(new Date(NOW - CLOCK_SKEW_MS));
    expect(new Date(cert.validTo)).toEqual(new Date(NOW + 90 * 86_400_000));
    expect(ca.notAfter).toEqual(new Date(NOW + 90 * 86_400_000));
    expect(cert.toLegacyObject().ext_key_usage).toBeUndefined();
  });

  it('makes RSA CAs of 2048 and 3072 bits', async () => {
    for (const keyType of ['rsa-2048', 'rsa-3072'] as const) {
      const cert = new X509Certificate((await createCertificateAuthority({ tenantId: 'acme', keyType })).certificatePem);
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(Number(keyType.slice(4)));
    }
  });

  it('refuses a key type or lifetime it does not make, with the reason', () => {
    expect(() => checkCaOptions({ tenantId: 'acme', keyType: 'rsa-4096' })).toThrow('a CA key must be one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072');
    expect(() => checkCaOptions({ tenantId: 'acme', lifetimeDays: 0 })).toThrow("a CA's lifetime_days must be a whole number from 1 to 7300");
    expect(checkCaOptions({ tenantId: 'acme' })).toEqual({ keyType: 'ecdsa-p256', lifetimeDays: 730 });
  });
});
