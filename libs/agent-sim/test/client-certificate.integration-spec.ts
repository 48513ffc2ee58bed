/**
 * The simulated agent in client-certificate mode against the built embedded
 * server whose tenant has a CA, behind the shipped HAProxy mutual-TLS
 * terminator (deploy/mtls/haproxy-mtls.cfg, real HAProxy on loopback): it
 * enrolls on the gateway with the tenant's token, sends a CSR for its uid,
 * is offered its certificate (and the terminator as endpoint), reconnects
 * through the terminator presenting it (APPLIED, the certificate activated),
 * then follows an on-demand rotation onto the renewal without a refused
 * connection (old ACTIVE -> SUPERSEDED).
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import {
  createTestCa,
  HaproxyTerminator,
  issueServerCertificate,
  randomPortBase,
  startEmbeddedServerProcess,
  stopEmbeddedServerProcess,
  waitFor,
  type EmbeddedServerProcess,
  type TestCa,
} from '@opamp/testing';
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent, type TransportKind } from '../src';

const S = opamp.proto.v1.ConnectionSettingsStatuses;
const CAPABILITIES = DEFAULT_AGENT_CAPABILITIES | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsConnectionSettingsStatus;
const WAIT = { timeoutMs: 45_000 };

interface ListedCertificate {
  state: string;
  fingerprint: string;
  certificatePem: string;
}

describe('simulated agent with a client certificate behind the HAProxy mutual-TLS terminator (embedded server)', () => {
  const work = mkdtempSync(join(tmpdir(), 'agent-sim-clientcert-'));
  const proxyPort = randomPortBase() + 6;
  let server: EmbeddedServerProcess;
  let terminator: HaproxyTerminator;
  let serverCa: TestCa;
  let caPem = '';
  const agents: SimulatedAgent[] = [];

  const api = async <T>(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<T> => {
    const res = await fetch(`${server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json', accept },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (accept === 'application/json' ? JSON.parse(text) : text) as T;
  };
  const certificatesOf = async (uid: string) => (await api<{ certificates: ListedCertificate[] }>('GET', `/agent-certificates?instanceUid=${uid}`)).certificates;
  const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();

  beforeAll(async () => {
    server = await startEmbeddedServerProcess({
      dataDir: join(work, 'data'),
      startTimeoutMs: 90_000,
      env: {
        OPAMP_HEARTBEAT_INTERVAL_S: '2',
        OPAMP_PUBLIC_OPAMP_URL: `wss://127.0.0.1:${proxyPort}/v1/opamp`,
        OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
        OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject',
        OPAMP_TRUSTED_PROXIES: '127.0.0.1',
      },
    });
    const ca = await api<{ id: string; certificatePem: string }>('POST', '/certificate-authorities', {});
    caPem = ca.certificatePem;
    const crlPem = await api<string>('GET', `/certificate-authorities/${encodeURIComponent(ca.id)}/crl`, undefined, 'application/x-pem-file');
    serverCa = await createTestCa('terminator CA');
    const serverCert = await issueServerCertificate(serverCa);
    terminator = await HaproxyTerminator.start(new URL(server.ws).host, { serverPem: serverCert.pem + serverCert.keyPem, caBundlePem: caPem, crlPem }, proxyPort);
  }, 180_000);

  afterAll(async () => {
    for (const a of agents) a.kill();
    if (server) await stopEmbeddedServerProcess(server);
    await terminator?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it.each<TransportKind>(['ws', 'http'])('%s: CSR -> certificate -> reconnect through the terminator with it -> rotation followed, nothing refused', async (transport) => {
    const agent = new SimulatedAgent({
      endpoint: transport === 'ws' ? server.ws : server.http,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      capabilities: CAPABILITIES,
      followConnectionSettings: true,
      requestClientCertificate: true,
      serverCaPem: serverCa.pem,
      heartbeatIntervalMs: 30_000,
      reconnect: { initialMs: 50, maxMs: 500 },
      description: { identifying: { 'service.name': 'agent-sim-clientcert', 'service.instance.id': transport } },
    });
    const errors: string[] = [];
    agent.on('error', (e) => errors.push(`${e.kind}: ${e.message}`));
    agents.push(agent);
    agent.start();
    const uid = agent.instanceUid.toString('hex');

    const onTerminator = () => agent.endpoint.includes(`:${proxyPort}/`) && agent.clientCertificatePem !== undefined && agent.connectionSettingsStatus?.status === S.ConnectionSettingsStatuses_APPLIED;
    await waitFor(() => onTerminator() && agent.connected, (ok) => ok, { ...WAIT, description: 'the agent on the terminator with its certificate' });
    const first = agent.clientCertificatePem as string;
    expect(new X509Certificate(first).checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(new X509Certificate(first).subject).toContain(`CN=${uid}`);
    const [active] = await waitFor(() => certificatesOf(uid), (l) => l[0]?.state === 'ACTIVE', { ...WAIT, description: 'its certificate activated (seen through the terminator)' });
    expect(active.fingerprint).toBe(fingerprintOf(first));

    expect(await api('POST', '/agent-certificates:rotate', { instanceUid: uid })).toEqual({ certificates: 1 });
    await waitFor(() => agent.clientCertificatePem, (pem) => pem !== undefined && pem !== first, { ...WAIT, description: 'the renewal taken' });
    const renewed = agent.clientCertificatePem as string;
    const after = await waitFor(() => certificatesOf(uid), (l) => l[0]?.state === 'ACTIVE' && l[0].fingerprint === fingerprintOf(renewed), { ...WAIT, description: 'the renewal activated' });
    expect(after.map((c) => c.state)).toEqual(['ACTIVE', 'SUPERSEDED']);
    // Plain HTTP: APPLIED once the answer to the request that presented the renewal is in.
    await waitFor(() => agent.connectionSettingsStatus?.status, (s) => s === S.ConnectionSettingsStatuses_APPLIED, { ...WAIT, description: 'the renewal APPLIED' });
    expect(agent.connected).toBe(true);
    expect(errors).toEqual([]);
    expect(agent.errorsByKind).toEqual({});
  }, 120_000);
});
