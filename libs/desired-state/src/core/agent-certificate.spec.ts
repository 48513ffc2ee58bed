import { agentUri, checkedPolicy, DEFAULT_CERTIFICATE_POLICY } from '@opamp/certificate-authority';
import { AgentCapabilities as C } from '@opamp/protocol';
import { testCsr } from '@opamp/testing';
import { judgeCertificateRequest, offerCertificate } from './agent-certificate';
import { connectionOffer } from './agent-credential';

const UID = '0123456789abcdef0123456789abcdef';
const NEW_UID = 'fedcba9876543210fedcba9876543210';
const agent = { tenantId: 'acme', uidHex: UID };
const caps = C.ReportsStatus | C.AcceptsOpAMPConnectionSettings;

describe('judgeCertificateRequest', () => {
  it('issues for a valid CSR from an agent that accepts OpAMP connection settings (C65)', async () => {
    const csr = Buffer.from((await testCsr({ commonName: UID })).pem);
    expect(await judgeCertificateRequest({ csr, capabilities: caps, policy: DEFAULT_CERTIFICATE_POLICY, agent })).toMatchObject({ action: 'issue', grant: { tenantId: 'acme', uidHex: UID } });
  });

  it('lets it wait when the tenant approves each request (C68)', async () => {
    const csr = Buffer.from((await testCsr()).pem);
    expect(await judgeCertificateRequest({ csr, capabilities: caps, policy: checkedPolicy({ requireApproval: true }), agent })).toMatchObject({ action: 'wait' });
  });

  it('refuses garbage and a bad signature with the reason (C66)', async () => {
    const policy = DEFAULT_CERTIFICATE_POLICY;
    expect(await judgeCertificateRequest({ csr: Buffer.from('garbage'), capabilities: caps, policy, agent })).toEqual({
      action: 'refuse',
      code: 'malformed',
      message: 'certificate request refused: the CSR is not one PEM "CERTIFICATE REQUEST" block',
    });
    expect(await judgeCertificateRequest({ csr: Buffer.alloc(0), capabilities: caps, policy, agent })).toMatchObject({ action: 'refuse', code: 'malformed' });
    const bad = Buffer.from((await testCsr({ badSignature: true })).pem);
    expect(await judgeCertificateRequest({ csr: bad, capabilities: caps, policy, agent })).toMatchObject({ action: 'refuse', code: 'bad_signature' });
  });

  it("refuses another agent's uid, except the one the server reassigned the sender to (C67)", async () => {
    const csr = Buffer.from((await testCsr({ uris: [agentUri('acme', NEW_UID)] })).pem);
    expect(await judgeCertificateRequest({ csr, capabilities: caps, policy: DEFAULT_CERTIFICATE_POLICY, agent })).toMatchObject({ action: 'refuse', code: 'uid_mismatch' });
    expect(await judgeCertificateRequest({ csr, capabilities: caps, policy: DEFAULT_CERTIFICATE_POLICY, agent: { ...agent, reassignedUidHex: NEW_UID } })).toMatchObject({
      action: 'issue',
      grant: { uidHex: NEW_UID },
    });
  });

  it('refuses an agent that cannot take a certificate, and a tenant without a CA', async () => {
    const csr = Buffer.from((await testCsr()).pem);
    expect(await judgeCertificateRequest({ csr, capabilities: C.ReportsStatus, policy: DEFAULT_CERTIFICATE_POLICY, agent })).toMatchObject({ action: 'refuse', code: 'not_accepted' });
    expect(await judgeCertificateRequest({ csr, capabilities: caps, policy: null, agent })).toMatchObject({ action: 'refuse', code: 'no_authority' });
  });
});

describe('offerCertificate', () => {
  it('carries the certificate and its CA, and no private key', () => {
    expect(offerCertificate('CERT', 'CA')).toEqual({ cert: Buffer.from('CERT'), privateKey: Buffer.alloc(0), caCert: Buffer.from('CA') });
  });
});

describe('the offer with a certificate', () => {
  const input = { publicEndpoint: 'https://opamp.example.com/v1/opamp', transport: 'ws' as const, secret: 's1', heartbeatIntervalSeconds: 30 };

  it('puts the certificate in connection_settings.opamp.certificate, and a new certificate changes the hash', () => {
    const none = connectionOffer(input, null, caps)!;
    const one = connectionOffer({ ...input, certificate: offerCertificate('CERT-1', 'CA') }, null, caps)!;
    const two = connectionOffer({ ...input, certificate: offerCertificate('CERT-2', 'CA') }, null, caps)!;
    expect(none.opamp?.certificate).toBeUndefined();
    expect(one.opamp?.certificate).toEqual({ cert: Buffer.from('CERT-1'), privateKey: Buffer.alloc(0), caCert: Buffer.from('CA') });
    const hex = (o: typeof none) => Buffer.from(o.hash as Uint8Array).toString('hex');
    expect(new Set([hex(none), hex(one), hex(two)]).size).toBe(3);
    expect(hex(connectionOffer({ ...input, certificate: offerCertificate('CERT-1', 'CA') }, null, caps)!)).toBe(hex(one));
  });
});
