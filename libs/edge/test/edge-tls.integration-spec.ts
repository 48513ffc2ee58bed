/**
 * TLS on the agent port (a certificate made for the test with openssl), and
 * the client identity that a trusted mTLS-terminating proxy passes on.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServer, encodeAgentToServerFrame, newInstanceUidV7 } from '@opamp/protocol';
import WebSocket from 'ws';
import { EdgeHarness, TOKEN } from './edge-harness';

function makeCertificate(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'edge-tls-'));
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

function postTls(port: number, ca: Buffer, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/opamp',
        method: 'POST',
        ca,
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('TLS and client identity (real Kafka and Redis)', () => {
  const cert = makeCertificate();
  const ca = readFileSync(cert.cert);
  const h = new EdgeHarness();

  beforeAll(() =>
    h.start({
      tls: { certFile: cert.cert, keyFile: cert.key },
      clientIdentity: { header: 'X-Client-Cert-Subject', trustedProxies: ['127.0.0.1'], required: true },
    }),
  );
  afterAll(() => h.stop());

  it('serves wss:// and https:// with the configured certificate', async () => {
    const uid = newInstanceUidV7();
    const ws = new WebSocket(`wss://127.0.0.1:${h.edge.port}/v1/opamp`, {
      ca,
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Client-Cert-Subject': 'CN=agent-1' },
    });
    const first = await new Promise<Buffer>((resolve, reject) => {
      ws.once('open', () => ws.send(encodeAgentToServerFrame({ instanceUid: uid, capabilities: 1 })));
      ws.once('message', (data) => resolve(data as Buffer));
      ws.once('error', reject);
    });
    expect(Buffer.from(decodeServerToAgent(decodeWsMessage(first)).instanceUid)).toEqual(uid);
    ws.close();

    const res = await postTls(h.edge.port, ca, encodeAgentToServer({ instanceUid: uid, capabilities: 1 }), {
      'X-Client-Cert-Subject': 'CN=agent-1',
    });
    expect(res.status).toBe(200);
    // The identity the proxy vouched for travels with every message.
    const records = await h.waitForRecords(uid, 3);
    expect(records.every((r) => r.envelope.clientIdentity === 'CN=agent-1')).toBe(true);
  });

  it('refuses a client without a vouched identity when one is required', async () => {
    const res = await postTls(h.edge.port, ca, encodeAgentToServer({ instanceUid: newInstanceUidV7(), capabilities: 1 }));
    expect(res.status).toBe(401);
  });

  it('refuses a plain-text client on the TLS port', async () => {
    await expect(fetch(`http://127.0.0.1:${h.edge.port}/v1/opamp`, { method: 'POST' })).rejects.toThrow();
  });

  it('ignores an identity header from an address that is not a trusted proxy', async () => {
    const untrusted = new EdgeHarness();
    await untrusted.start({ clientIdentity: { header: 'X-Client-Cert-Subject', trustedProxies: ['10.9.9.9'], required: true } });
    try {
      const res = await fetch(untrusted.httpUrl, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf', 'X-Client-Cert-Subject': 'CN=forged' },
        body: encodeAgentToServer({ instanceUid: newInstanceUidV7(), capabilities: 1 }),
      });
      expect(res.status).toBe(401);
    } finally {
      await untrusted.stop();
    }
  });
});
