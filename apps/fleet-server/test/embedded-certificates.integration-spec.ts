/**
 * Client certificates end to end in embedded mode (issue 18): the built
 * server as one process, a simulated agent over WebSocket that accepts OpAMP
 * connection settings. The server advertises AcceptsConnectionSettingsRequest;
 * the agent's CSR gets an offer carrying a certificate for its uid that
 * verifies against the tenant CA (C65); a garbage CSR gets BAD_REQUEST (C66).
 * Revoking the agent (RevokeAgents, C69) revokes its certificate and its own
 * credential: the certificate's connection (as a terminator passes it: the
 * fingerprint header from loopback) is closed, and neither is accepted again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C, encodeAgentToServerFrame, opamp, ServerCapabilities } from '@opamp/protocol';
import { type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, testCsr, waitFor, embeddedRest, UpgradeRefused, WebSocketProbe } from '@opamp/testing';

const dataDir = mkdtempSync(join(tmpdir(), 'fleet-certificates-'));

describe('client certificates in embedded mode', () => {
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];

  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({ dataDir, env: { OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256', OPAMP_TRUSTED_PROXIES: '127.0.0.1' } });
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

  it('revoking the agent (C69) revokes its certificate and its own credential: the certificate\'s connection closed, neither accepted again', async () => {
    // The tenant's CA (made by the first test; made here when this one runs alone).
    if (((await rest('GET', '/certificate-authorities')).json['certificateAuthorities'] as unknown[]).length === 0) expect((await rest('POST', '/certificate-authorities', {})).status).toBe(200);
    const a = agent();
    await waitFor(() => a.connected, (c) => c, { description: 'the agent connected' });
    a.requestCertificate(Buffer.from((await testCsr({ commonName: a.instanceUid.toString('hex') })).pem));
    const offer = await waitFor(() => a.received.find((m) => m.connectionSettings?.opamp?.certificate), (m) => m !== undefined, { description: 'an offer with a certificate', timeoutMs: 20_000 });
    const fingerprint = new X509Certificate(Buffer.from(offer!.connectionSettings!.opamp!.certificate!.cert!).toString()).fingerprint256.replace(/:/g, '').toLowerCase();
    const uidHex = a.instanceUid.toString('hex');
    const own = await waitFor(
      async () => ((await rest('GET', `/agents/${uidHex}/credentials`)).json['credentials'] as Array<{ id: string; state: string }>) ?? [],
      (l) => l.length > 0,
      { description: 'its own credential issued' },
    );
    const ownBearer = String(offer!.connectionSettings!.opamp!.headers?.headers?.find((h) => h.key === 'Authorization')?.value ?? '');
    expect(ownBearer).toMatch(/^Bearer /);
    expect(own.some((c) => c.state !== 'REVOKED')).toBe(true);
    await a.stop();

    // The agent on its certificate, as the terminator passes it.
    const opampWs = server.ws;
    const probe = await WebSocketProbe.open(opampWs, { headers: { 'X-Client-Cert-SHA256': fingerprint } });
    probe.ws.send(encodeAgentToServerFrame({ instanceUid: a.instanceUid, sequenceNum: 0, capabilities: 1 }));
    await probe.nthMessage(1);

    const revoked = await rest('POST', '/agents:revoke', { instanceUid: uidHex, reason: 'PRIVILEGE_WITHDRAWN', note: 'decommissioned' });
    expect(revoked).toMatchObject({ status: 200, json: { agents: 1, certificates: 1, credentials: own.filter((c) => c.state !== 'REVOKED').length } });
    expect(await probe.closed()).toBe(1008);
    const refusal = (headers: Record<string, string>) => WebSocketProbe.open(opampWs, { headers }).then(
      (p) => {
        p.terminate();
        return 'accepted';
      },
      (err: unknown) => (err instanceof UpgradeRefused ? `${err.status} ${err.body.trim()}` : String(err)),
    );
    expect(await refusal({ 'X-Client-Cert-SHA256': fingerprint, Authorization: `Bearer ${server.agentToken}` })).toMatch(/^401 client certificate revoked/);
    expect(await refusal({ Authorization: ownBearer })).toMatch(/^401 /);
    const states = (await rest('GET', `/agents/${uidHex}/credentials`)).json['credentials'] as Array<{ state: string }>;
    expect(states.length).toBe(own.length);
    expect(states.map((c) => c.state)).toEqual(states.map(() => 'REVOKED'));
    const certs = (await rest('GET', `/agent-certificates?instanceUid=${uidHex}`)).json['certificates'] as Array<{ state: string; revokeReason: string }>;
    expect(certs[0]).toMatchObject({ state: 'REVOKED', revokeReason: 'PRIVILEGE_WITHDRAWN: decommissioned' });
  });
});
