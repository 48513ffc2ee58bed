import { testCsr } from '@opamp/testing';
import { agentUri } from './agent-certificate-names';
import { MAX_CSR_BYTES } from './certificate-limits';
import { parseCertificateRequest } from './certificate-request';

const UID = '0123456789abcdef0123456789abcdef';

describe('parseCertificateRequest', () => {
  it('reads a valid CSR: key type, SANs and the uid it embeds', async () => {
    const { pem } = await testCsr({ commonName: 'OpAMP Example Client', uris: [agentUri('acme', UID)], dnsNames: ['host1.example.com'] });
    const info = await parseCertificateRequest(pem);
    expect(info).toMatchObject({ keyType: 'ecdsa-p256', commonName: 'OpAMP Example Client', dnsNames: ['host1.example.com'], embeddedUidHex: UID, embeddedTenantId: 'acme', otherSans: [] });
  });

  it('takes a uid written as the CN, in hex or UUID form; a CN of other text embeds none', async () => {
    expect((await parseCertificateRequest((await testCsr({ commonName: '01234567-89AB-cdef-0123-456789abcdef' })).pem)).embeddedUidHex).toBe(UID);
    expect((await parseCertificateRequest((await testCsr({ commonName: UID })).pem)).embeddedUidHex).toBe(UID);
    expect((await parseCertificateRequest((await testCsr({ commonName: 'collector on host1' })).pem)).embeddedUidHex).toBeNull();
  });

  it('reads the bytes of the protobuf field as well as a string', async () => {
    const { pem } = await testCsr({ keyType: 'rsa-2048' });
    expect((await parseCertificateRequest(Buffer.from(pem))).keyType).toBe('rsa-2048');
  });

  it('refuses garbage, a certificate instead of a CSR, and a truncated CSR as malformed', async () => {
    await expect(parseCertificateRequest('hello')).rejects.toMatchObject({ code: 'malformed' });
    await expect(parseCertificateRequest('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).rejects.toMatchObject({ code: 'malformed' });
    const { pem } = await testCsr();
    const lines = pem.trim().split('\n');
    const truncated = [lines[0], lines[1].slice(0, 20), lines[lines.length - 1]].join('\n');
    await expect(parseCertificateRequest(truncated)).rejects.toMatchObject({ code: 'malformed' });
  });

  it('refuses a CSR whose signature is not made by its key', async () => {
    const { pem } = await testCsr({ badSignature: true, commonName: UID });
    await expect(parseCertificateRequest(pem)).rejects.toMatchObject({ code: 'bad_signature', message: "the CSR's signature does not verify with its public key" });
  });

  it('refuses a CSR larger than the limit before parsing it', async () => {
    await expect(parseCertificateRequest('x'.repeat(MAX_CSR_BYTES + 1))).rejects.toMatchObject({ code: 'too_large' });
  });

  it('refuses a CSR naming two uids', async () => {
    const { pem } = await testCsr({ commonName: UID, uris: [agentUri('acme', 'ff'.repeat(16))] });
    await expect(parseCertificateRequest(pem)).rejects.toMatchObject({ code: 'uid_mismatch' });
  });

  it('describes a key of a type it does not sign for, without calling its signature bad', async () => {
    const info = await parseCertificateRequest((await testCsr({ keyType: 'ecdsa-p521' })).pem);
    expect(info).toMatchObject({ keyType: null, keyDescribed: 'ec secp521r1' });
  });
});
