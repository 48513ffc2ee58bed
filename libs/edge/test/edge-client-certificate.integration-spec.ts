/**
 * A client certificate passed the way ingress-nginx passes it (the verified
 * certificate as URL-encoded PEM in `ssl-client-cert`), at the edge with the
 * real Kafka and Redis: the edge fingerprints it and claims the connection
 * through its directory entry; an unknown or malformed one is a 401, counted;
 * from an address that is not a trusted proxy the header is not believed.
 * (The HAProxy path, with the fingerprint header, runs against the real
 * terminator in apps/gateway/test/gateway-mtls.integration-spec.ts.)
 */
import { fleet } from '@opamp/contracts';
import { decodeServerToAgent, encodeAgentToServer, encodeAgentToServerFrame, newInstanceUidV7 } from '@opamp/protocol';
import { createTestCa, issueClientCertificate, type TestCa, waitFor } from '@opamp/testing';
import { EdgeHarness, TENANT } from './edge-harness';

const CERT_HEADER = 'ssl-client-cert';

describe('a client certificate passed as PEM by a trusted proxy (real Kafka and Redis)', () => {
  const h = new EdgeHarness();
  let ca: TestCa;
  beforeAll(async () => {
    ca = await createTestCa('tenant CA');
    await h.start({ clientIdentity: { header: 'ssl-client-subject-dn', certificateHeader: CERT_HEADER, trustedProxies: ['127.0.0.0/8'], required: false } });
  });
  afterAll(() => h.stop());

  async function certified(uid: Buffer) {
    const cert = await issueClientCertificate(ca, { tenantId: TENANT, uidHex: uid.toString('hex') });
    h.authority.putEntry({ digest: cert.fingerprint, tenantId: TENANT, tokenId: `cert-${uid.toString('hex').slice(0, 8)}`, kind: 'certificate', uidHex: uid.toString('hex'), active: true });
    return cert;
  }

  function post(url: string, uid: Buffer, headers: Record<string, string>) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', ...headers },
      body: encodeAgentToServer({ instanceUid: uid, sequenceNum: 0, capabilities: 1 }),
    });
  }

  async function rejections(edge: EdgeHarness, reason: string): Promise<number> {
    return (await edge.edge.metrics.rejections.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }

  it('claims the connection with the certificate alone, for its own uid, over both transports', async () => {
    const uid = newInstanceUidV7();
    const cert = await certified(uid);
    const res = await post(h.httpUrl, uid, { [CERT_HEADER]: encodeURIComponent(cert.pem), 'ssl-client-subject-dn': `CN=${uid.toString('hex')},O=${TENANT}` });
    expect(res.status).toBe(200);
    expect(decodeServerToAgent(Buffer.from(await res.arrayBuffer())).errorResponse).toBeFalsy();
    const socket = await h.connect({ [CERT_HEADER]: encodeURIComponent(cert.pem) });
    socket.send(encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: 1, capabilities: 1 }));
    const WS = fleet.v1.Transport.TRANSPORT_WEBSOCKET;
    const records = await waitFor(() => h.recordsFor(uid), (r) => r.some((e) => e.envelope.transport === WS && e.envelope.event === 'agentToServer'), { description: 'the WebSocket message' });
    expect(records.every((r) => r.envelope.credentialKind === fleet.v1.CredentialKind.CREDENTIAL_KIND_CERTIFICATE)).toBe(true);
    expect(records.every((r) => r.envelope.credentialId === `cert-${uid.toString('hex').slice(0, 8)}`)).toBe(true);
    expect(records.find((r) => r.envelope.transport !== WS)?.envelope.clientIdentity).toBe(`CN=${uid.toString('hex')},O=${TENANT}`);
    // Without a subject header, the record names the certificate by its fingerprint.
    expect(records.find((r) => r.envelope.transport === WS)?.envelope.clientIdentity).toBe(`sha256:${cert.fingerprint}`);
    socket.ws.close();
  });

  it('answers 401 to a certificate it does not know and to a header that holds none, and counts them', async () => {
    const uid = newInstanceUidV7();
    const stranger = await issueClientCertificate(ca, { tenantId: TENANT, uidHex: uid.toString('hex') });
    const before = await rejections(h, 'unknown_certificate');
    const unknown = await post(h.httpUrl, uid, { [CERT_HEADER]: encodeURIComponent(stranger.pem) });
    expect(unknown.status).toBe(401);
    expect(await unknown.text()).toMatch(/not issued by this server, revoked or expired/);
    const garbage = await post(h.httpUrl, uid, { [CERT_HEADER]: 'not%20a%20certificate' });
    expect(garbage.status).toBe(401);
    await expect(h.connect({ [CERT_HEADER]: encodeURIComponent(stranger.pem) })).rejects.toThrow(/401/);
    expect(await rejections(h, 'unknown_certificate')).toBe(before + 3);
  });

  it('does not believe the header from an address that is not a trusted proxy', async () => {
    const untrusted = new EdgeHarness();
    await untrusted.start({ clientIdentity: { header: '', certificateHeader: CERT_HEADER, trustedProxies: ['10.0.0.0/8'], required: false } });
    try {
      const uid = newInstanceUidV7();
      const cert = await certified(uid);
      untrusted.authority.putEntry({ digest: cert.fingerprint, tenantId: TENANT, tokenId: 'cert-x', kind: 'certificate', uidHex: uid.toString('hex'), active: true });
      const res = await post(untrusted.httpUrl, uid, { [CERT_HEADER]: encodeURIComponent(cert.pem) });
      expect(res.status).toBe(401);
    } finally {
      await untrusted.stop();
    }
  });
});
