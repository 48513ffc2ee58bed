/**
 * Client certificates with a real OpAMP client library (issue 18): the
 * opamp-go test agent, against the built embedded server whose tenant has a
 * CA, sends a CSR for its uid through opamp-go's RequestConnectionSettings;
 * the offer it gets carries a certificate for its own key and uid, signed by
 * the tenant CA, with the CA and no private key (C65). Over WebSocket and
 * plain HTTP. Then the whole path of revocation: the agent reconnects over
 * mutual TLS with that certificate through the shipped HAProxy configuration,
 * whose CA bundle and CRL terminator-sync.js takes from the server's API; an
 * operator revokes the certificate: the agent's connection is closed at once,
 * its reconnects are refused by the gateway (401), and after the next sync
 * (and reload) by HAProxy at the handshake (certificate revoked).
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createTestCa, HaproxyTerminator, issueClientCertificate, issueServerCertificate, type TestCa, waitFor } from '@opamp/testing';
import { GoAgentBed } from './harness/go-agent-bed';

const syncScript = join(__dirname, '..', '..', '..', 'deploy', 'mtls', 'terminator-sync.js');

/** A TLS request through the terminator: the HTTP status and body, or the TLS error the handshake ended with. */
function handshake(port: number, serverCa: TestCa, client: { cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/opamp', method: 'POST', ca: serverCa.pem, headers: { 'content-type': 'application/x-protobuf' }, ...client }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').trim()}`));
    });
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

describe('client certificates with the opamp-go test agent (embedded server)', () => {
  // Offers set a 2 s heartbeat: a plain-HTTP agent gets what waits for it on its next poll.
  // The gateway believes the terminator's fingerprint header from loopback.
  const bed = new GoAgentBed('opamp-certificates', {
    OPAMP_HEARTBEAT_INTERVAL_S: '2',
    OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
    OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject',
    OPAMP_TRUSTED_PROXIES: '127.0.0.1',
  });
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

  it('over mutual TLS through HAProxy fed by terminator-sync --from-api: revoked, its connection closes, its reconnects are refused by the gateway, then at the handshake', async () => {
    const files = { cert: join(bed.work, 'agent.pem'), key: join(bed.work, 'agent.key'), serverCa: join(bed.work, 'server-ca.pem'), tokens: join(bed.work, 'tokens'), synced: join(bed.work, 'synced') };
    // The certificate, from the agent's own CSR (its key written out to reconnect with it).
    const first = await bed.startAgent({ endpoint: bed.server.ws, token: bed.server.agentToken, heartbeatSeconds: 1, requestCertificate: true, certificateKeyOut: files.key });
    const offered = await first.waitForEvent((e) => e.event === 'certificate_offered', 30_000, 'an offer with a certificate');
    writeFileSync(files.cert, String(offered['cert']));
    expect(await first.stop()).toBe(0);
    const fingerprint = new X509Certificate(String(offered['cert'])).fingerprint256.replace(/:/g, '').toLowerCase();

    // The terminator's CA bundle and CRL, from the API with an admin token.
    writeFileSync(files.tokens, `# tenant default\n${bed.server.adminToken}\n`, { mode: 0o600 });
    mkdirSync(files.synced, { recursive: true });
    const apiBase = bed.server.api.replace(/\/api\/v1$/, '');
    const sync = (to: string, reload?: string) => spawnSync(process.execPath, [syncScript, '--from-api', apiBase, '--token-file', files.tokens, '--to', to, ...(reload ? ['--reload', reload] : [])], { encoding: 'utf8' });
    const initial = sync(files.synced);
    expect(`${initial.stdout}${initial.stderr}`).toContain('terminator-sync: changed');
    expect(initial.status).toBe(0);
    const bundle = readFileSync(join(files.synced, 'ca-bundle.pem'), 'utf8');
    expect(bundle).toContain(caPem.trim());
    expect(readFileSync(join(files.synced, 'crl.pem'), 'utf8')).toMatch(/^-----BEGIN X509 CRL-----/);

    const serverCa = await createTestCa('terminator CA');
    const server = await issueServerCertificate(serverCa);
    writeFileSync(files.serverCa, serverCa.pem);
    const gateway = new URL(bed.server.ws).host;
    const t = await HaproxyTerminator.start(gateway, { serverPem: server.pem + server.keyPem, caBundlePem: bundle, crlPem: readFileSync(join(files.synced, 'crl.pem'), 'utf8') });
    try {
      // Refused at the handshake: no certificate, a certificate of a CA the server does not trust.
      const stranger = await createTestCa('stranger CA');
      const foreign = await issueClientCertificate(stranger, { tenantId: 'default', uidHex: first.uid });
      expect(await handshake(t.port, serverCa, {})).toMatch(/certificate required|handshake failure/);
      expect(await handshake(t.port, serverCa, { cert: foreign.pem, key: foreign.keyPem })).toMatch(/unknown ca/);

      // The agent on its certificate alone, through the terminator.
      const agent = await bed.startAgent({ endpoint: `wss://127.0.0.1:${t.port}/v1/opamp`, uid: first.uid, heartbeatSeconds: 1, tls: { caFile: files.serverCa, certFile: files.cert, keyFile: files.key } });
      await agent.waitForEvent((e) => e.event === 'connected', 30_000, 'connected over mutual TLS');
      // Its certificate for another agent's uid: refused (the certificate speaks for its own uid only).
      const impostor = await bed.startAgent({ endpoint: `wss://127.0.0.1:${t.port}/v1/opamp`, heartbeatSeconds: 1, tls: { caFile: files.serverCa, certFile: files.cert, keyFile: files.key } });
      const refusedImpostor = await impostor.waitForEvent((e) => e.event === 'server_error_response', 30_000, 'the impostor refused');
      expect(refusedImpostor).toMatchObject({ type: 'ServerErrorResponseType_BadRequest', message: expect.stringContaining('this client certificate belongs to another agent') });
      await impostor.terminate();

      const revoked = await bed.call<{ certificates: number; caIds: string[] }>('POST', '/agent-certificates:revoke', { fingerprint, reason: 'KEY_COMPROMISE', note: 'e2e' });
      expect(revoked.certificates).toBe(1);
      // The open connection ends (1008) and every reconnect is refused by the gateway (the terminator does not know yet).
      await agent.waitForEvent((e) => e.event === 'connect_failed', 30_000, 'a reconnect refused');
      await waitFor(() => agent.stderr(), (err) => err.includes('status=401 Unauthorized'), { timeoutMs: 30_000, description: 'opamp-go told 401' });
      expect(agent.stderr()).toContain('close 1008 (policy violation): credential revoked');
      expect(await handshake(t.port, serverCa, { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') })).toMatch(/^HTTP 401: client certificate revoked/);
      const states = await bed.call<{ certificates: Array<{ state: string; revokeReason: string }> }>('GET', `/agent-certificates?instanceUid=${first.uid}`);
      expect(states.certificates[0]).toMatchObject({ state: 'REVOKED', revokeReason: 'KEY_COMPROMISE: e2e' });

      // The next sync takes the re-signed CRL from the API and reloads HAProxy: now the handshake itself fails.
      const loads = t.loads();
      const again = sync(t.filesDir, `kill -USR2 ${t.pid}`);
      expect(`${again.stdout}${again.stderr}`).toContain('changed, reloaded');
      await t.loaded(loads + 1);
      expect(await handshake(t.port, serverCa, { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') })).toMatch(/certificate revoked/);
      await agent.waitForEvent((e) => e.event === 'connect_failed' && /revoked/.test(String(e['error'])), 30_000, 'a reconnect refused at the handshake');
      // Nothing changed since: the next sync leaves the files (and HAProxy) alone.
      expect(sync(t.filesDir, `kill -USR2 ${t.pid}`).stdout).toContain('unchanged');
      await agent.terminate();
    } finally {
      await t.stop();
    }
  }, 180_000);
});
