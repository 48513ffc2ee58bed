import { X509Certificate } from 'node:crypto';
import { testCsr } from '@opamp/testing';
import { decideRequest, DEFAULT_CERTIFICATE_POLICY } from './certificate-policy';
import { parseCertificateRequest } from './certificate-request';
import { renewalRequestOf } from './certificate-renewal';
import { LocalCaSigner } from './certificate-signer';
import { issueClientCertificate } from './client-certificate';
import { createCertificateAuthority } from './tenant-ca';

const UID = '0123456789abcdef0123456789abcdef';

async function issuedFor(tenantId: string, uidHex: string, dnsNames: string[] = []) {
  const ca = await createCertificateAuthority({ tenantId, lifetimeDays: 30 });
  const signer = await LocalCaSigner.fromPkcs8(ca.certificatePem, ca.keyType, ca.pkcs8);
  const csr = await testCsr({ commonName: uidHex });
  const request = await parseCertificateRequest(csr.pem);
  const grant = { ...decideRequest(DEFAULT_CERTIFICATE_POLICY, request, { tenantId, uidHex }), dnsNames };
  return { signer, csr, issued: await issueClientCertificate(signer, request, grant, 24) };
}

describe('renewalRequestOf', () => {
  it("signs the current certificate's own key again, for the same agent and names, under the CA that signs now", async () => {
    const { csr, issued } = await issuedFor('acme', UID, ['host1.example.com']);
    const renewal = renewalRequestOf(issued.certificatePem, 'acme', UID);
    expect(renewal.grant).toEqual({ tenantId: 'acme', uidHex: UID, dnsNames: ['host1.example.com'] });
    expect(renewal.keyType).toBe('ecdsa-p256');
    const next = await createCertificateAuthority({ tenantId: 'acme', lifetimeDays: 30 });
    const signer = await LocalCaSigner.fromPkcs8(next.certificatePem, next.keyType, next.pkcs8);
    const renewed = new X509Certificate((await issueClientCertificate(signer, renewal, renewal.grant, 48)).certificatePem);
    expect(renewed.publicKey.export({ format: 'der', type: 'spki' })).toEqual(csr.spki);
    expect(renewed.verify(new X509Certificate(next.certificatePem).publicKey)).toBe(true);
    expect(renewed.fingerprint256).not.toBe(new X509Certificate(issued.certificatePem).fingerprint256);
  });

  it('refuses a certificate that names another agent or tenant, and one that is not a certificate', async () => {
    const { issued } = await issuedFor('acme', UID);
    expect(() => renewalRequestOf(issued.certificatePem, 'acme', 'ff'.repeat(16))).toThrow('the certificate to renew names another agent');
    expect(() => renewalRequestOf(issued.certificatePem, 'other', UID)).toThrow('the certificate to renew names another agent');
    expect(() => renewalRequestOf('garbage', 'acme', UID)).toThrow('the certificate to renew cannot be read');
  });
});
