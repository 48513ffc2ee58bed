/**
 * Client certificates with a real OpAMP client library (issue 18): the
 * opamp-go test agent, against the built embedded server whose tenant has a
 * CA, sends a CSR for its uid through opamp-go's RequestConnectionSettings;
 * the offer it gets carries a certificate for its own key and uid, signed by
 * the tenant CA, with the CA and no private key (C65). Over WebSocket and
 * plain HTTP.
 */
import { X509Certificate } from 'node:crypto';
import { GoAgentBed } from './harness/go-agent-bed';

describe('client certificates with the opamp-go test agent (embedded server)', () => {
  // Offers set a 2 s heartbeat: a plain-HTTP agent gets what waits for it on its next poll.
  const bed = new GoAgentBed('opamp-certificates', { OPAMP_HEARTBEAT_INTERVAL_S: '2' });
  let caPem = '';
  beforeAll(async () => {
    await bed.start();
    caPem = (await bed.call<{ certificatePem: string }>('POST', '/certificate-authorities', {})).certificatePem;
  }, 600_000);
  afterAll(() => bed.stop());

  it.each([
    { transport: 'websocket', endpoint: () => bed.server.ws },
    { transport: 'http', endpoint: () => bed.server.http },
  ])('$transport: the CSR comes back as a certificate for its key and uid, signed by the tenant CA', async ({ endpoint }) => {
    const agent = await bed.startAgent({ endpoint: endpoint(), token: bed.server.agentToken, heartbeatSeconds: 1, requestCertificate: true });
    await agent.waitForEvent((e) => e.event === 'certificate_requested', 30_000, 'the CSR sent');
    const offered = await agent.waitForEvent((e) => e.event === 'certificate_offered', 30_000, 'an offer with a certificate');
    expect(offered).toMatchObject({ privateKeyEmpty: true, matchesKey: true, subject: expect.stringContaining(`CN=${agent.uid}`), caCert: caPem });
    const cert = new X509Certificate(String(offered['cert']));
    expect(cert.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(caPem))).toBe(true);
    const listed = await bed.call<{ certificates: Array<{ fingerprint: string }> }>('GET', `/agent-certificates?instanceUid=${agent.uid}`);
    expect(listed.certificates.map((c) => c.fingerprint)).toContain(cert.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(await agent.stop()).toBe(0);
  });
});
