import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { parseTestCertificate, testCsr } from '@opamp/testing';
import { CLOCK_SKEW_MS } from './certificate-limits';
import { decideRequest, DEFAULT_CERTIFICATE_POLICY } from './certificate-policy';
import { parseCertificateRequest } from './certificate-request';
import { LocalCaSigner } from './certificate-signer';
import { fingerprintOf, issueClientCertificate, randomSerialHex, validityOf } from './client-certificate';
import { createCertificateAuthority } from './tenant-ca';

const UID = '0123456789abcdef0123456789abcdef';
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);

describe('validityOf', () => {
  const caEnd = new Date(NOW + 1000 * HOUR);

  it('runs from the clock skew before now to the lifetime after it', () => {
    expect(validityOf(NOW, 24, caEnd)).toEqual({ notBefore: new Date(NOW - CLOCK_SKEW_MS), notAfter: new Date(NOW + 24 * HOUR) });
  });

  it('never outlives the CA', () => {
    expect(validityOf(NOW, 2000, caEnd).notAfter).toEqual(caEnd);
  });

  it('keeps whole seconds, as X.509 times do', () => {
    expect(validityOf(NOW + 999, 1, caEnd).notAfter.getTime() % 1000).toBe(0);
  });

  it('refuses to sign when the CA has less than the shortest lifetime left', () => {
    expect(() => validityOf(NOW, 24, new Date(NOW + HOUR - 1))).toThrow(expect.objectContaining({ code: 'ca_expiring' }));
    expect(validityOf(NOW, 24, new Date(NOW + HOUR)).notAfter).toEqual(new Date(NOW + HOUR));
  });
});

describe('randomSerialHex', () => {
  it('is 16 positive bytes without a leading zero byte, different each time', () => {
    const serials = new Set(Array.from({ length: 200 }, randomSerialHex));
    expect(serials.size).toBe(200);
    for (const s of serials) {
      expect(s).toMatch(/^[0-9a-f]{32}$/);
      expect(parseInt(s.slice(0, 2), 16)).toBeGreaterThan(0);
      expect(parseInt(s.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });
});

describe('issueClientCertificate', () => {
  async function issue(caKeyType: 'ecdsa-p256' | 'rsa-2048', csrKey: 'ecdsa-p256' | 'rsa-2048', lifetimeHours = 24) {
    const ca = await createCertificateAuthority({ tenantId: 'acme', keyType: caKeyType, lifetimeDays: 30, nowMs: NOW });
    const signer = await LocalCaSigner.fromPkcs8(ca.certificatePem, ca.keyType, ca.pkcs8);
    const csr = await testCsr({ keyType: csrKey, commonName: UID });
    const request = await parseCertificateRequest(csr.pem);
    const grant = decideRequest({ ...DEFAULT_CERTIFICATE_POLICY, allowedDnsNames: ['*.example.com'] }, request, { tenantId: 'acme', uidHex: UID });
    const issued = await issueClientCertificate(signer, request, { ...grant, dnsNames: ['host1.example.com'] }, lifetimeHours, NOW);
    return { ca, csr, issued };
  }

  it('signs a certificate that verifies against the tenant CA and carries the key of the CSR', async () => {
    const { ca, csr, issued } = await issue('ecdsa-p256', 'ecdsa-p256');
    const cert = new X509Certificate(issued.certificatePem);
    const caCert = new X509Certificate(ca.certificatePem);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.publicKey.export({ format: 'der', type: 'spki' })).toEqual(csr.spki);
    expect(issued.caCertificatePem).toBe(ca.certificatePem);
    expect(issued.fingerprintHex).toBe(fingerprintOf(cert.raw));
    expect(issued.fingerprintHex).toMatch(/^[0-9a-f]{64}$/);
    expect(cert.serialNumber.toLowerCase()).toBe(issued.serialHex);
  });

  it("names the agent in the subject and the SAN, for clientAuth only, with the CA's key identifier", async () => {
    const { ca, issued } = await issue('ecdsa-p256', 'ecdsa-p256');
    const cert = parseTestCertificate(issued.certificatePem);
    expect(cert.subject).toBe(`CN=${UID}, O=acme`);
    const text = new X509Certificate(issued.certificatePem);
    expect(text.subjectAltName).toBe(`URI:urn:opamp:tenant:acme:agent:${UID}, DNS:host1.example.com`);
    expect(text.ca).toBe(false);
    expect(text.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    const byOid = new Map(cert.extensions.map((e) => [e.type, e]));
    expect(byOid.get('2.5.29.19')?.critical).toBe(true);
    expect(byOid.get('2.5.29.15')?.critical).toBe(true);
    const caSki = parseTestCertificate(ca.certificatePem).extensions.find((e) => e.type === '2.5.29.14') as unknown as { keyId: string };
    const aki = byOid.get('2.5.29.35') as unknown as { keyId: string };
    expect(aki.keyId).toBe(caSki.keyId);
    expect(byOid.has('2.5.29.14')).toBe(true);
  });

  it('gives RSA keys keyEncipherment too, and signs with an RSA CA', async () => {
    const { ca, issued } = await issue('rsa-2048', 'rsa-2048');
    const cert = parseTestCertificate(issued.certificatePem);
    const ku = cert.extensions.find((e) => e.type === '2.5.29.15') as unknown as { usages: number };
    expect(ku.usages).toBe(1 | 4);
    expect(new X509Certificate(issued.certificatePem).verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
  });

  it('is valid for the policy lifetime from now, cut at the CA end', async () => {
    const { issued } = await issue('ecdsa-p256', 'ecdsa-p256', 48);
    const cert = parseTestCertificate(issued.certificatePem);
    expect(cert.notBefore).toEqual(new Date(NOW - CLOCK_SKEW_MS));
    expect(cert.notAfter).toEqual(new Date(NOW + 48 * HOUR));
    const long = await issue('ecdsa-p256', 'ecdsa-p256', 24 * 365);
    expect(parseTestCertificate(long.issued.certificatePem).notAfter).toEqual(long.ca.notAfter);
  });
});

describe('LocalCaSigner.fromOperatorPem (an operator-provided CA)', () => {
  it("signs with the operator's CA certificate and key (PKCS#8 or the traditional EC form)", async () => {
    const ca = await createCertificateAuthority({ tenantId: 'ops', lifetimeDays: 10 });
    const key = createPrivateKey({ key: ca.pkcs8, format: 'der', type: 'pkcs8' });
    for (const keyPem of [key.export({ format: 'pem', type: 'pkcs8' }) as string, key.export({ format: 'pem', type: 'sec1' }) as string]) {
      const signer = await LocalCaSigner.fromOperatorPem(ca.certificatePem, keyPem);
      expect(signer.caFingerprintHex).toBe(ca.fingerprintHex);
      const request = await parseCertificateRequest((await testCsr()).pem);
      const issued = await issueClientCertificate(signer, request, { tenantId: 'ops', uidHex: UID, dnsNames: [] }, 1);
      expect(new X509Certificate(issued.certificatePem).verify(createPublicKey(key))).toBe(true);
    }
  });

  it('refuses a certificate that is not a CA, a key of another certificate, an expired CA and garbage', async () => {
    const ca = await createCertificateAuthority({ tenantId: 'ops', lifetimeDays: 10 });
    const other = await createCertificateAuthority({ tenantId: 'ops', lifetimeDays: 10 });
    const keyPem = (k: Buffer) => createPrivateKey({ key: k, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
    await expect(LocalCaSigner.fromOperatorPem(ca.certificatePem, keyPem(other.pkcs8))).rejects.toThrow('the key does not belong to the CA certificate');
    await expect(LocalCaSigner.fromOperatorPem(ca.certificatePem, keyPem(ca.pkcs8), new Date(ca.notAfter.getTime() + 1))).rejects.toThrow('the CA certificate has expired');
    await expect(LocalCaSigner.fromOperatorPem('not a pem', keyPem(ca.pkcs8))).rejects.toMatchObject({ code: 'bad_ca' });

    const signer = await LocalCaSigner.fromPkcs8(ca.certificatePem, ca.keyType, ca.pkcs8);
    const csr = await testCsr();
    const leaf = await issueClientCertificate(signer, await parseCertificateRequest(csr.pem), { tenantId: 'ops', uidHex: UID, dnsNames: [] }, 1);
    const { webcrypto } = await import('node:crypto');
    const leafKey = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', csr.keys.privateKey));
    await expect(LocalCaSigner.fromOperatorPem(leaf.certificatePem, keyPem(leafKey))).rejects.toThrow('the certificate is not a CA certificate (basicConstraints CA:TRUE)');
  });
});
