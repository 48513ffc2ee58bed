/**
 * Client certificates end to end in embedded mode (issue 18): the built
 * server as one process, a simulated agent over WebSocket that accepts OpAMP
 * connection settings. The server advertises AcceptsConnectionSettingsRequest;
 * the agent's CSR gets an offer carrying a certificate for its uid that
 * verifies against the tenant CA (C65); a garbage CSR gets BAD_REQUEST (C66).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C, opamp, ServerCapabilities } from '@opamp/protocol';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, testCsr, waitFor, embeddedRest } from '@opamp/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'fleet-certificates-'));

describe('client certificates in embedded mode', () => {
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];

  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
  });

  function agent(endpoint = server.ws): SimulatedAgent {
    const a = new SimulatedAgent({
      endpoint,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      description: { identifying: { 'service.name': 'otelcol' }, nonIdentifying: { 'os.type': 'linux' } },
      capabilities: C.ReportsStatus | C.AcceptsOpAMPConnectionSettings | C.ReportsHeartbeat,
      heartbeatIntervalMs: 1_000,
      reconnect: { initialMs: 100, maxMs: 1_000 },
    });
    agents.push(a);
    a.start();
    return a;
  }

  it("signs an agent's CSR with the tenant CA and offers the certificate; refuses a garbage CSR with BAD_REQUEST", async () => {
    const created = await rest('POST', '/certificate-authorities', {});
    expect(created.status).toBe(200);
    const caPem = String(created.json['certificatePem']);

    const a = agent();
    await waitFor(() => a.connected, (c) => c, { description: 'the agent connected' });
    const caps = await waitFor(() => a.received.find((m) => m.capabilities), (m) => m !== undefined, { description: 'the server capabilities' });
    expect(Number(caps!.capabilities) & ServerCapabilities.AcceptsConnectionSettingsRequest).toBeTruthy();

    const csr = await testCsr({ commonName: a.instanceUid.toString('hex') });
    a.requestCertificate(Buffer.from(csr.pem));
    const offer = await waitFor(() => a.received.find((m) => m.connectionSettings?.opamp?.certificate), (m) => m !== undefined, { description: 'an offer with a certificate', timeoutMs: 20_000 });
    const tls = offer!.connectionSettings!.opamp!.certificate!;
    expect(Buffer.from(tls.caCert!).toString()).toBe(caPem);
    expect(Buffer.from(tls.privateKey ?? []).length).toBe(0);
    const cert = new X509Certificate(Buffer.from(tls.cert!).toString());
    expect(cert.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    expect(cert.subject).toContain(`CN=${a.instanceUid.toString('hex')}`);
    expect(cert.publicKey.export({ format: 'der', type: 'spki' })).toEqual(csr.spki);
    const listed = await rest('GET', `/agent-certificates?instanceUid=${a.instanceUid.toString('hex')}`);
    expect((listed.json['certificates'] as Array<{ fingerprint: string }>)[0].fingerprint).toBe(cert.fingerprint256.replace(/:/g, '').toLowerCase());

    a.requestCertificate(Buffer.from('not a CSR'));
    // (checked below, after the plain-HTTP agent)
    const refused = await waitFor(() => a.received.find((m) => m.errorResponse), (m) => m !== undefined, { description: 'BAD_REQUEST' });
    expect(refused!.errorResponse).toMatchObject({ type: opamp.proto.v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest, errorMessage: expect.stringContaining('the CSR is not one PEM') });
  });

  it('a plain-HTTP agent gets its certificate on a later poll', async () => {
    const caPem = String(((await rest('GET', '/certificate-authorities')).json['certificateAuthorities'] as Array<{ certificatePem: string }>)[0].certificatePem);
    const a = agent(server.http);
    await waitFor(() => a.connected, (c) => c, { description: 'the agent polling' });
    a.requestCertificate(Buffer.from((await testCsr({ commonName: a.instanceUid.toString('hex') })).pem));
    const offer = await waitFor(() => a.received.find((m) => m.connectionSettings?.opamp?.certificate), (m) => m !== undefined, { description: 'an offer with a certificate', timeoutMs: 20_000 });
    const cert = new X509Certificate(Buffer.from(offer!.connectionSettings!.opamp!.certificate!.cert!).toString());
    expect(cert.verify(new X509Certificate(caPem).publicKey)).toBe(true);
  });
});
