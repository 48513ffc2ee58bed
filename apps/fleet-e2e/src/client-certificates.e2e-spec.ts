/**
 * Client certificates with a real OpAMP client library (issue 18): the
 * opamp-go test agent, against the built embedded server whose tenant has a
 * CA, sends a CSR for its uid through opamp-go's RequestConnectionSettings;
 * the offer it gets carries a certificate for its own key and uid, signed by
 * the tenant CA, with the CA and no private key (C65). Over WebSocket and
 * plain HTTP. Then the whole life over mutual TLS through the shipped HAProxy
 * terminator: CSR -> certificate -> the agent reconnects through the
 * terminator with it (activated) -> rotation on demand -> the agent
 * reconnects with the renewal (old and new accepted until then, C64) -> the
 * old certificate is refused.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createTestCa, createTestCrl, HaproxyTerminator, issueServerCertificate, randomPortBase, testCaKeyPem, waitFor, type OpampGoAgentEvent } from '@opamp/testing';
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

type ListedCertificate = { id: string; state: string; fingerprint: string; certificatePem: string };

/** An HTTPS POST to the terminator presenting this client certificate: the gateway's status (401: the certificate is not accepted). */
function postWithCertificate(port: number, caPem: string, certPem: string, keyPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/opamp', method: 'POST', ca: caPem, cert: certPem, key: keyPem, headers: { 'content-type': 'application/x-protobuf' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(Buffer.alloc(0));
  });
}

describe('mutual TLS through the shipped HAProxy terminator (embedded server, opamp-go agent): CSR, certificate, rotation', () => {
  // The terminator's address is the public OpAMP URL offers carry, so it is chosen before the server starts.
  const proxyPort = randomPortBase() + 4;
  const bed = new GoAgentBed('opamp-mtls-rotation', {
    OPAMP_HEARTBEAT_INTERVAL_S: '2',
    OPAMP_PUBLIC_OPAMP_URL: `wss://127.0.0.1:${proxyPort}/v1/opamp`,
    OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
    OPAMP_TRUSTED_PROXIES: '127.0.0.1',
  });
  let terminator: HaproxyTerminator;
  let terminatorCaPem = '';
  const certificatesOf = async (uid: string) => (await bed.call<{ certificates: ListedCertificate[] }>('GET', `/agent-certificates?instanceUid=${uid}`)).certificates;

  beforeAll(async () => {
    // An operator's CA (external CA mode): the test holds its key, so it can give the terminator the CRL OpenSSL wants for it.
    const tenantCa = await createTestCa('tenant agents CA');
    const terminatorCa = await createTestCa('terminator CA');
    const serverCert = await issueServerCertificate(terminatorCa);
    terminatorCaPem = terminatorCa.pem;
    await bed.start();
    await bed.call('POST', '/certificate-authorities', { certificatePem: tenantCa.pem, privateKeyPem: await testCaKeyPem(tenantCa) });
    const gateway = new URL(bed.server.ws).host;
    terminator = await HaproxyTerminator.start(gateway, { serverPem: serverCert.pem + serverCert.keyPem, caBundlePem: tenantCa.pem, crlPem: await createTestCrl(tenantCa) }, proxyPort);
    writeFileSync(join(bed.work, 'terminator-ca.pem'), terminatorCaPem);
  }, 600_000);
  afterAll(async () => {
    await bed.stop();
    await terminator?.stop();
  });

  it('the agent switches to mutual TLS with its certificate, follows an on-demand rotation, and its old certificate is refused after', async () => {
    const keyFile = join(bed.work, 'agent-key.pem');
    const agent = await bed.startAgent({
      endpoint: bed.server.ws,
      token: bed.server.agentToken,
      heartbeatSeconds: 1,
      applyTimeoutMs: 5_000,
      requestCertificate: true,
      certificateKeyFile: keyFile,
      tls: { caFile: join(bed.work, 'terminator-ca.pem') },
    });
    const onCertificate = (e: OpampGoAgentEvent) => e.event === 'settings_applied' && typeof e['certFingerprint'] === 'string' && e['certFingerprint'] !== '';
    const first = await agent.waitForEvent(onCertificate, 60_000, 'the agent connected through the terminator with its certificate');
    const [active] = await waitFor(() => certificatesOf(agent.uid), (l) => l[0]?.state === 'ACTIVE', { timeoutMs: 20_000, description: 'its certificate activated' });
    expect(active.fingerprint).toBe(first['certFingerprint']);

    const from = agent.events.length;
    expect(await bed.call('POST', '/agent-certificates:rotate', { instanceUid: agent.uid })).toEqual({ certificates: 1 });
    const renewed = await agent.waitForEvent(
      (e) => agent.events.indexOf(e) >= from && onCertificate(e) && e['certFingerprint'] !== active.fingerprint,
      60_000,
      'the agent reconnected with the renewal',
    );
    const after = await waitFor(() => certificatesOf(agent.uid), (l) => l[0]?.state === 'ACTIVE' && l[0].fingerprint === renewed['certFingerprint'], {
      timeoutMs: 20_000,
      description: 'the renewal activated',
    });
    expect(after.map((c) => c.state)).toEqual(['ACTIVE', 'SUPERSEDED']);
    // Followed without a failure: the old certificate was accepted until the agent was on the new one.
    expect(agent.events.slice(from).filter((e) => e.event === 'settings_failed' || e.event === 'settings_rolled_back')).toEqual([]);
    // Same key, renewed: the agent's key with the old certificate is refused now, with the new one accepted.
    const key = readFileSync(keyFile, 'utf8');
    await waitFor(() => postWithCertificate(proxyPort, terminatorCaPem, active.certificatePem, key), (status) => status === 401, { timeoutMs: 10_000, description: 'the old certificate refused' });
    expect(await postWithCertificate(proxyPort, terminatorCaPem, after[0].certificatePem, key)).not.toBe(401);
    expect(await agent.stop()).toBe(0);
  });
});
