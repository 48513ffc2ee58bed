/**
 * Client certificates with a real OpAMP client library (issue 18): the
 * opamp-go test agent, against the built embedded server whose tenant has a
 * CA, sends a CSR for its uid through opamp-go's RequestConnectionSettings;
 * the offer it gets carries a certificate for its own key and uid, signed by
 * the tenant CA, with the CA and no private key (C65). Over WebSocket and
 * plain HTTP. Then the whole life over mutual TLS through the shipped HAProxy
 * terminator, whose CA bundle and CRL terminator-sync.js takes from the
 * server's API: CSR -> certificate -> the agent reconnects through the
 * terminator with it (activated) -> rotation on demand -> the agent
 * reconnects with the renewal (old and new accepted until then, C64) -> the
 * old certificate is refused -> an operator revokes the renewal: the agent's
 * connection is closed at once, its reconnects are refused by the gateway
 * (401), and after the next sync (and reload) by HAProxy at the handshake.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  createTestCa,
  HaproxyTerminator,
  issueClientCertificate,
  issueServerCertificate,
  randomPortBase,
  waitFor,
  type OpampGoAgentEvent,
  type TestCa,
} from '@opamp/testing';
import { GoAgentBed } from './harness/go-agent-bed';

const syncScript = join(__dirname, '..', '..', '..', 'deploy', 'mtls', 'terminator-sync.js');

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

type ListedCertificate = { id: string; state: string; fingerprint: string; certificatePem: string; revokeReason: string };

/** A TLS request through the terminator presenting this client certificate: the HTTP status and body, or the TLS error the handshake ended with. */
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

describe('mutual TLS through the shipped HAProxy terminator fed by terminator-sync --from-api (embedded server, opamp-go agent): CSR, certificate, rotation, revocation', () => {
  // The terminator's address is the public OpAMP URL offers carry, so it is chosen before the server starts.
  // The gateway believes the terminator's certificate headers from loopback.
  const proxyPort = randomPortBase() + 4;
  const bed = new GoAgentBed('opamp-mtls-life', {
    OPAMP_HEARTBEAT_INTERVAL_S: '2',
    OPAMP_PUBLIC_OPAMP_URL: `wss://127.0.0.1:${proxyPort}/v1/opamp`,
    OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
    OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject',
    OPAMP_TRUSTED_PROXIES: '127.0.0.1',
  });
  let terminator: HaproxyTerminator;
  let serverCa: TestCa;
  let caPem = '';
  let sync: (to: string, reload?: string) => SpawnSyncReturns<string>;
  const certificatesOf = async (uid: string) => (await bed.call<{ certificates: ListedCertificate[] }>('GET', `/agent-certificates?instanceUid=${uid}`)).certificates;

  beforeAll(async () => {
    await bed.start();
    // The server's own CA (managed mode): its CRL comes from the API like the bundle.
    caPem = (await bed.call<{ certificatePem: string }>('POST', '/certificate-authorities', {})).certificatePem;
    const tokens = join(bed.work, 'tokens');
    const synced = join(bed.work, 'synced');
    writeFileSync(tokens, `# tenant default\n${bed.server.adminToken}\n`, { mode: 0o600 });
    mkdirSync(synced, { recursive: true });
    const apiBase = bed.server.api.replace(/\/api\/v1$/, '');
    sync = (to, reload) => spawnSync(process.execPath, [syncScript, '--from-api', apiBase, '--token-file', tokens, '--to', to, ...(reload ? ['--reload', reload] : [])], { encoding: 'utf8' });
    const initial = sync(synced);
    expect(`${initial.stdout}${initial.stderr}`).toContain('terminator-sync: changed');
    expect(initial.status).toBe(0);
    const bundle = readFileSync(join(synced, 'ca-bundle.pem'), 'utf8');
    expect(bundle).toContain(caPem.trim());
    const crl = readFileSync(join(synced, 'crl.pem'), 'utf8');
    expect(crl).toMatch(/^-----BEGIN X509 CRL-----/);

    serverCa = await createTestCa('terminator CA');
    const serverCert = await issueServerCertificate(serverCa);
    writeFileSync(join(bed.work, 'terminator-ca.pem'), serverCa.pem);
    const gateway = new URL(bed.server.ws).host;
    terminator = await HaproxyTerminator.start(gateway, { serverPem: serverCert.pem + serverCert.keyPem, caBundlePem: bundle, crlPem: crl }, proxyPort);
  }, 600_000);
  afterAll(async () => {
    await bed.stop();
    await terminator?.stop();
  });

  it('the agent switches to mutual TLS with its certificate, follows an on-demand rotation (its old certificate refused after), and its revoked renewal is refused by the gateway at once, then at the handshake', async () => {
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
    // CSR -> certificate -> mutual TLS: the agent reconnects through the terminator on it, which activates it.
    const onCertificate = (e: OpampGoAgentEvent) => e.event === 'settings_applied' && typeof e['certFingerprint'] === 'string' && e['certFingerprint'] !== '';
    const first = await agent.waitForEvent(onCertificate, 60_000, 'the agent connected through the terminator with its certificate');
    const [active] = await waitFor(() => certificatesOf(agent.uid), (l) => l[0]?.state === 'ACTIVE', { timeoutMs: 20_000, description: 'its certificate activated' });
    expect(active.fingerprint).toBe(first['certFingerprint']);
    expect(new X509Certificate(active.certificatePem).checkIssued(new X509Certificate(caPem))).toBe(true);
    const key = readFileSync(keyFile, 'utf8');

    // Refused at the handshake: no certificate, a certificate of a CA the server does not trust.
    const stranger = await createTestCa('stranger CA');
    const foreign = await issueClientCertificate(stranger, { tenantId: 'default', uidHex: agent.uid });
    expect(await handshake(proxyPort, serverCa, {})).toMatch(/certificate required|handshake failure/);
    expect(await handshake(proxyPort, serverCa, { cert: foreign.pem, key: foreign.keyPem })).toMatch(/unknown ca/);
    // Its certificate for another agent's uid: refused (the certificate speaks for its own uid only).
    const certFile = join(bed.work, 'agent-cert.pem');
    writeFileSync(certFile, active.certificatePem);
    const impostor = await bed.startAgent({ endpoint: `wss://127.0.0.1:${proxyPort}/v1/opamp`, heartbeatSeconds: 1, tls: { caFile: join(bed.work, 'terminator-ca.pem'), certFile, keyFile } });
    const refusedImpostor = await impostor.waitForEvent((e) => e.event === 'server_error_response', 30_000, 'the impostor refused');
    expect(refusedImpostor).toMatchObject({ type: 'ServerErrorResponseType_BadRequest', message: expect.stringContaining('this client certificate belongs to another agent') });
    await impostor.terminate();

    // Rotation on demand, followed without a failure: the old certificate was accepted until the agent was on the new one.
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
    expect(agent.events.slice(from).filter((e) => e.event === 'settings_failed' || e.event === 'settings_rolled_back')).toEqual([]);
    // Same key, renewed: the agent's key with the old certificate is refused now (by the gateway: superseded is not revoked), the new one accepted.
    await waitFor(() => handshake(proxyPort, serverCa, { cert: active.certificatePem, key }), (r) => r.startsWith('HTTP 401'), { timeoutMs: 10_000, description: 'the old certificate refused' });
    expect(await handshake(proxyPort, serverCa, { cert: after[0].certificatePem, key })).not.toMatch(/^HTTP 401/);

    // Revocation of the renewal the agent is on.
    const revoked = await bed.call<{ certificates: number; caIds: string[] }>('POST', '/agent-certificates:revoke', { fingerprint: after[0].fingerprint, reason: 'KEY_COMPROMISE', note: 'e2e' });
    expect(revoked.certificates).toBe(1);
    // The open connection ends (1008) and every reconnect is refused by the gateway (the terminator does not know yet).
    await waitFor(() => agent.stderr(), (err) => err.includes('status=401 Unauthorized'), { timeoutMs: 30_000, description: 'opamp-go told 401' });
    expect(agent.stderr()).toContain('close 1008 (policy violation): credential revoked');
    expect(await handshake(proxyPort, serverCa, { cert: after[0].certificatePem, key })).toMatch(/^HTTP 401: client certificate revoked/);
    const states = await certificatesOf(agent.uid);
    expect(states.map((c) => c.state)).toEqual(['REVOKED', 'SUPERSEDED']);
    expect(states[0]).toMatchObject({ revokeReason: 'KEY_COMPROMISE: e2e' });

    // The next sync takes the re-signed CRL from the API and reloads HAProxy: now the handshake itself fails.
    const loads = terminator.loads();
    const again = sync(terminator.filesDir, `kill -USR2 ${terminator.pid}`);
    expect(`${again.stdout}${again.stderr}`).toContain('changed, reloaded');
    await terminator.loaded(loads + 1);
    expect(await handshake(proxyPort, serverCa, { cert: after[0].certificatePem, key })).toMatch(/certificate revoked/);
    await agent.waitForEvent((e) => e.event === 'connect_failed' && /revoked/.test(String(e['error'])), 30_000, 'a reconnect refused at the handshake');
    // Nothing changed since: the next sync leaves the files (and HAProxy) alone.
    expect(sync(terminator.filesDir, `kill -USR2 ${terminator.pid}`).stdout).toContain('unchanged');
    await agent.terminate();
  }, 240_000);
});
