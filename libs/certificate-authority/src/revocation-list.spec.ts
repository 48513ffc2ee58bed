import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOCK_SKEW_MS } from './certificate-limits';
import { LocalCaSigner } from './certificate-signer';
import { checkCrlValidityHours, isRevocationReason, REVOCATION_REASONS } from './revocation-list';
import { createCertificateAuthority } from './tenant-ca';
import { x509 } from './x509-runtime';

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

async function signer(keyType: 'ecdsa-p256' | 'rsa-2048' = 'ecdsa-p256') {
  const ca = await createCertificateAuthority({ tenantId: 'acme', keyType, nowMs: NOW - 86_400_000 });
  return { ca, signer: await LocalCaSigner.fromPkcs8(ca.certificatePem, ca.keyType, ca.pkcs8) };
}

describe('the CA revocation list', () => {
  it('names each revoked serial with its time and reason, signed by the CA, valid from now (less the clock skew) for its validity', async () => {
    const { ca, signer: s } = await signer();
    const crl = await s.revocationList(
      [
        { serialHex: '7f01', revokedAt: new Date(NOW - 60_000), reason: 'key_compromise' },
        { serialHex: '0a02', revokedAt: new Date(NOW - 30_000), reason: 'cessation_of_operation' },
      ],
      24,
      NOW,
    );
    const parsed = new x509.X509Crl(crl.der);
    expect(crl.pem).toMatch(/^-----BEGIN X509 CRL-----/);
    expect(parsed.issuer).toBe(new x509.X509Certificate(ca.certificatePem).subject);
    expect(parsed.thisUpdate).toEqual(new Date(NOW - CLOCK_SKEW_MS));
    expect(parsed.nextUpdate).toEqual(new Date(NOW + 24 * 3_600_000));
    expect(crl.nextUpdate).toEqual(parsed.nextUpdate);
    expect(parsed.entries.map((e) => [e.serialNumber.toLowerCase(), e.reason, e.revocationDate.getTime()])).toEqual([
      ['0a02', x509.X509CrlReason.cessationOfOperation, NOW - 30_000],
      ['7f01', x509.X509CrlReason.keyCompromise, NOW - 60_000],
    ]);
    expect(await parsed.verify({ publicKey: new x509.X509Certificate(ca.certificatePem).publicKey })).toBe(true);
    const other = await signer();
    expect(await parsed.verify({ publicKey: new x509.X509Certificate(other.ca.certificatePem).publicKey })).toBe(false);
  });

  it('is a CRL OpenSSL verifies against the CA (what a terminator loads), also signed by an RSA CA and empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crl-'));
    try {
      for (const keyType of ['ecdsa-p256', 'rsa-2048'] as const) {
        const { ca, signer: s } = await signer(keyType);
        const crl = await s.revocationList([], 2);
        writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
        writeFileSync(join(dir, 'crl.pem'), crl.pem);
        const r = spawnSync('openssl', ['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' });
        expect(`${r.stdout}${r.stderr}`).toMatch(/verify OK/);
        expect(r.stdout).toContain('No Revoked Certificates');
        expect(r.status).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('knows the reason codes an operator gives and refuses a validity out of bounds', () => {
    expect(Object.keys(REVOCATION_REASONS)).toEqual(['unspecified', 'key_compromise', 'ca_compromise', 'affiliation_changed', 'superseded', 'cessation_of_operation', 'privilege_withdrawn']);
    expect(isRevocationReason('key_compromise')).toBe(true);
    expect(isRevocationReason('certificate_hold')).toBe(false);
    expect(isRevocationReason('toString')).toBe(false);
    expect(() => checkCrlValidityHours(0)).toThrow("a CRL's validity must be a whole number of hours from 1 to 744");
    expect(() => checkCrlValidityHours(1.5)).toThrow('whole number');
    expect(checkCrlValidityHours(24)).toBe(24);
  });
});
