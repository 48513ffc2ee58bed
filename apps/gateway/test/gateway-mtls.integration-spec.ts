/**
 * Gateways behind the shipped mutual-TLS terminator (deploy/mtls/
 * haproxy-mtls.cfg run by the real HAProxy on loopback), with the real Kafka
 * and Redis: HAProxy refuses at the handshake what is not a valid client
 * certificate of a trusted CA (none, another CA, revoked in the CRL,
 * expired); the gateway claims a verified certificate through its entry in
 * the shared credential directory (kind certificate, keyed by its
 * fingerprint), for its own agent only; a fingerprint forged by a client
 * never reaches the gateway; removal from the directory closes the
 * certificate's connections on every gateway; a revocation (the revocation
 * set) refuses it on every gateway, also after a late put of its entry and on
 * a gateway started later; a reload with a new CRL keeps
 * established WebSockets. The opamp-go test agent (a real OpAMP client)
 * connects the same way over both transports.
 */
import { BatchConsumer, createKafkaClient, deleteTopics, ensureTopics } from '@opamp/bus-kafka';
import { AgentTokenDirectory, type AgentTokenEntry, createRedisConnection } from '@opamp/bus-redis';
import { AgentInboundCodec, CertificateRevocationKeys, fleet } from '@opamp/contracts';
import { agentTokenDigest } from '@opamp/edge';
import { decodeServerToAgent, decodeWsMessage, encodeAgentToServer, encodeAgentToServerFrame, newInstanceUidV7, opamp } from '@opamp/protocol';
import {
  buildOpampGoAgent,
  createTestCa,
  createTestCrl,
  HaproxyTerminator,
  issueClientCertificate,
  issueServerCertificate,
  startOpampGoAgent,
  type TestCa,
  type TestCertificate,
  testInfra,
  uniqueName,
  waitFor,
} from '@opamp/testing';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadGatewayConfig } from '../src/config/gateway.config';
import { type RunningGateway, startGateway } from '../src/gateway';

const v1 = opamp.proto.v1;
const K = fleet.v1.CredentialKind;
const R = fleet.v1.RefusalReason;
const DAY_MS = 86_400_000;

interface Agent {
  uid: Buffer;
  cert: TestCertificate;
  /** Its directory entry's id (what the inbound stream names as the credential). */
  id: string;
}

class TestWs {
  readonly messages: Buffer[] = [];
  closeCode: number | null = null;
  closedAt = 0;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(data as Buffer));
    ws.on('close', (code) => {
      this.closeCode = code;
      this.closedAt = Date.now();
    });
  }
  send(uid: Buffer, seq: number): void {
    this.ws.send(encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq, capabilities: 1 }));
  }
  async reply(n: number): Promise<opamp.proto.v1.ServerToAgent> {
    const m = await waitFor(() => this.messages, (all) => all.length >= n, { timeoutMs: 10_000, description: `${n} replies` });
    return decodeServerToAgent(decodeWsMessage(m[n - 1]));
  }
  async closed(): Promise<number> {
    return (await waitFor(() => this.closeCode, (c) => c !== null, { timeoutMs: 10_000, description: 'close' })) as number;
  }
}

describe('gateways behind the shipped HAProxy mutual-TLS terminator (real HAProxy, Kafka and Redis)', () => {
  const tenant = uniqueName('mtls-tenant');
  const topic = uniqueName('test.inbound');
  const enrollmentToken = uniqueName('enroll');
  const records: Array<{ key: Buffer; envelope: fleet.v1.AgentInbound }> = [];
  const entries: AgentTokenEntry[] = [];
  let ca: TestCa;
  let stranger: TestCa;
  let serverCa: TestCa;
  let kafka: Kafka;
  let consumer: BatchConsumer;
  let redis: Redis;
  let directory: AgentTokenDirectory;
  const gateways: RunningGateway[] = [];
  const terminators: HaproxyTerminator[] = [];
  const sockets: WebSocket[] = [];
  const revokedFingerprints: string[] = [];

  async function agent(name: string, validity?: { notBefore: Date; notAfter: Date }, issuer?: TestCa): Promise<Agent> {
    const uid = newInstanceUidV7();
    const cert = await issueClientCertificate(issuer ?? ca, { tenantId: tenant, uidHex: uid.toString('hex') }, validity);
    return { uid, cert, id: uniqueName(`cert-${name}`) };
  }

  async function enter(...agents: Agent[]): Promise<void> {
    const added = agents.map((a) => ({ digest: a.cert.fingerprint, tenantId: tenant, tokenId: a.id, kind: 'certificate' as const, uidHex: a.uid.toString('hex'), active: true }));
    entries.push(...added);
    await directory.putMany(added);
    const followed = () => gateways.every((g) => added.every((e) => g.authenticator.certificateCredential(e.digest) !== null));
    await waitFor(followed, (ok) => ok, { description: 'every gateway follows the directory' });
  }

  /** Opens a WebSocket through a terminator; rejects with the TLS error or the HTTP status. */
  function open(t: HaproxyTerminator, cert: TestCertificate | null, headers: Record<string, string> = {}): Promise<TestWs> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${t.port}/v1/opamp`, {
        ca: serverCa.pem,
        ...(cert ? { cert: cert.pem, key: cert.keyPem } : {}),
        headers,
      });
      sockets.push(ws);
      const s = new TestWs(ws);
      ws.once('open', () => resolve(s));
      ws.once('error', (err) => reject(err));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  function post(t: HaproxyTerminator, cert: TestCertificate, uid: Buffer): Promise<{ status: number; message: opamp.proto.v1.ServerToAgent | null }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: t.port,
          path: '/v1/opamp',
          method: 'POST',
          ca: serverCa.pem,
          cert: cert.pem,
          key: cert.keyPem,
          headers: { 'Content-Type': 'application/x-protobuf' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, message: res.statusCode === 200 ? decodeServerToAgent(body) : null });
          });
        },
      );
      req.on('error', reject);
      req.end(encodeAgentToServer({ instanceUid: uid, sequenceNum: 0, capabilities: 1 }));
    });
  }

  const recordsFor = (uid: Buffer) => records.filter((r) => r.key.equals(uid)).map((r) => r.envelope);
  const waitForRecords = (uid: Buffer, accept: (r: fleet.v1.AgentInbound[]) => boolean, description: string) =>
    waitFor(() => recordsFor(uid), accept, { timeoutMs: 20_000, description });

  async function rejections(g: RunningGateway, reason: string): Promise<number> {
    return (await g.edge.metrics.rejections.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }

  beforeAll(async () => {
    [ca, stranger, serverCa] = await Promise.all([createTestCa('tenant CA'), createTestCa('stranger CA'), createTestCa('terminator CA')]);
    const infra = testInfra();
    kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'gateway-mtls-test' });
    await ensureTopics(kafka, [{ name: topic, partitions: 2, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    consumer = new BatchConsumer(kafka, { groupId: uniqueName('gateway-mtls'), topic }, async (batch) => {
      for (const m of batch.messages) records.push({ key: m.key!, envelope: AgentInboundCodec.decode(m.value!) });
    });
    await consumer.start();
    redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'gateway-mtls-test' });
    directory = new AgentTokenDirectory(redis);
    const server = await issueServerCertificate(serverCa);
    for (let i = 0; i < 2; i++) {
      const g = await startGateway(
        loadGatewayConfig({
          OPAMP_GATEWAY_ID: uniqueName('gw-mtls'),
          OPAMP_GATEWAY_HOST: '127.0.0.1',
          OPAMP_GATEWAY_PORT: '0',
          OPAMP_GATEWAY_ADMIN_PORT: '0',
          OPAMP_AGENT_TOKENS: `${tenant}=${enrollmentToken}`,
          OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
          OPAMP_CLIENT_IDENTITY_HEADER: 'X-Client-Cert-Subject',
          OPAMP_TRUSTED_PROXIES: '127.0.0.0/8',
          OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
          OPAMP_GATEWAY_INBOUND_TOPIC: topic,
          OPAMP_REDIS_URL: infra.redisUrl,
        }),
        () => undefined,
      );
      gateways.push(g);
      terminators.push(
        await HaproxyTerminator.start(`127.0.0.1:${g.edge.port}`, {
          serverPem: server.pem + server.keyPem,
          caBundlePem: ca.pem,
          crlPem: await createTestCrl(ca),
        }),
      );
    }
  });

  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await Promise.allSettled(terminators.map((t) => t.stop()));
    await Promise.allSettled(gateways.map((g) => g.shutdown(0)));
    if (directory && entries.length > 0) await directory.removeMany(entries.map((e) => e.digest));
    if (redis && revokedFingerprints.length > 0) await redis.hdel(CertificateRevocationKeys.revoked(), ...revokedFingerprints);
    await consumer?.stop();
    await redis?.quit();
    if (kafka) await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  it('accepts a WebSocket agent and a plain-HTTP agent on their certificates alone, and claims each for its own uid', async () => {
    const [ws, http] = [await agent('ws'), await agent('http')];
    await enter(ws, http);
    const s = await open(terminators[0], ws.cert);
    s.send(ws.uid, 0);
    const reply = await s.reply(1);
    expect(Buffer.from(reply.instanceUid)).toEqual(ws.uid);
    expect(reply.errorResponse).toBeFalsy();
    const res = await post(terminators[1], http.cert, http.uid);
    expect(res.status).toBe(200);
    expect(res.message?.errorResponse).toBeFalsy();
    for (const a of [ws, http]) {
      const got = await waitForRecords(a.uid, (r) => r.some((e) => e.event === 'agentToServer'), 'the agent message on the bus');
      for (const r of got) {
        expect(r.credentialKind).toBe(K.CREDENTIAL_KIND_CERTIFICATE);
        expect(r.credentialId).toBe(a.id);
        expect(r.tenantId).toBe(tenant);
        expect(r.clientIdentity).toBe(`O=${tenant},CN=${a.uid.toString('hex')}`);
      }
    }
    s.ws.close();
  });

  it('refuses at the TLS handshake: no certificate, another CA, a revoked one (in the CRL), an expired one', async () => {
    const revoked = await agent('revoked');
    const expired = await agent('expired', { notBefore: new Date(Date.now() - 10 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
    const foreign = await agent('foreign', undefined, stranger);
    // In the directory all the same: it is the terminator that refuses them.
    await enter(revoked, expired, foreign);
    const t = terminators[0];
    t.writeCrl(await createTestCrl(ca, [revoked.cert.serialNumber]));
    await t.reload();
    const handshakeFailures = () => t.log().match(/opamp_mtls\/\d+: SSL (client certificate not trusted|handshake failure)/g)?.length ?? 0;
    const before = handshakeFailures();
    await expect(open(t, null)).rejects.toThrow(/certificate required|handshake failure/);
    await expect(open(t, foreign.cert)).rejects.toThrow(/unknown ca/);
    await expect(open(t, revoked.cert)).rejects.toThrow(/certificate revoked/);
    await expect(open(t, expired.cert)).rejects.toThrow(/certificate expired/);
    await expect(post(t, revoked.cert, revoked.uid)).rejects.toThrow(/certificate revoked/);
    // HAProxy ended each of them in the handshake, before any request went to a gateway.
    await waitFor(handshakeFailures, (n) => n === before + 5, { description: 'five handshake failures in the HAProxy log' });
  });

  it("refuses A's certificate for B's instance_uid: BAD_REQUEST, closed, counted and audited", async () => {
    const [a, b] = [await agent('a'), await agent('b')];
    await enter(a, b);
    const before = await rejections(gateways[0], 'credential_of_another_agent');
    const s = await open(terminators[0], a.cert);
    s.send(b.uid, 0);
    const refusal = await s.reply(1);
    expect(refusal.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(refusal.errorResponse?.errorMessage).toMatch(/client certificate belongs to another agent/);
    expect(await s.closed()).toBe(1008);
    expect(await rejections(gateways[0], 'credential_of_another_agent')).toBe(before + 1);
    const [refused] = await waitForRecords(b.uid, (r) => r.length > 0, 'the refusal record');
    expect(refused.refused?.reason).toBe(R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT);
    expect(refused.credentialKind).toBe(K.CREDENTIAL_KIND_CERTIFICATE);
    expect(refused.credentialId).toBe(a.id);
    expect(recordsFor(b.uid).every((r) => r.event === 'refused')).toBe(true);
    // Over plain HTTP too.
    const res = await post(terminators[1], a.cert, b.uid);
    expect(res.message?.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
  });

  it('drops identity headers a client forged: the gateway sees only what HAProxy verified', async () => {
    const [a, b] = [await agent('honest'), await agent('victim')];
    await enter(a, b);
    const forged = { 'X-Client-Cert-SHA256': b.cert.fingerprint, 'X-Client-Cert-Subject': `O=${tenant},CN=${b.uid.toString('hex')}` };
    const asB = await open(terminators[0], a.cert, forged);
    asB.send(b.uid, 0);
    expect((await asB.reply(1)).errorResponse?.errorMessage).toMatch(/belongs to another agent/);
    expect(await asB.closed()).toBe(1008);
    const asA = await open(terminators[0], a.cert, forged);
    asA.send(a.uid, 0);
    expect((await asA.reply(1)).errorResponse).toBeFalsy();
    const got = await waitForRecords(a.uid, (r) => r.length > 0, 'the connection record');
    expect(got[0].clientIdentity).toBe(`O=${tenant},CN=${a.uid.toString('hex')}`);
    asA.ws.close();
  });

  it('takes a bearer header beside the certificate only when both name the same agent', async () => {
    const a = await agent('with-token');
    await enter(a);
    const s = await open(terminators[0], a.cert, { Authorization: `Bearer ${enrollmentToken}` });
    s.send(a.uid, 0);
    expect((await s.reply(1)).errorResponse).toBeFalsy();
    s.ws.close();
    await expect(open(terminators[0], a.cert, { Authorization: 'Bearer not-a-token' })).rejects.toThrow('HTTP 401');
    const before = await rejections(gateways[0], 'credential_mismatch');
    const otherToken = uniqueName('other-token');
    const otherEntry = { digest: agentTokenDigest(otherToken), tenantId: uniqueName('other-tenant'), tokenId: uniqueName('tok') };
    entries.push(otherEntry);
    await directory.put(otherEntry);
    // Valid on its own once the gateway follows it: refused beside the certificate because it names another agent, not because it is unknown.
    await waitFor(() => gateways[0].authenticator.authenticate(`Bearer ${otherToken}`, ''), (c) => c !== null, { description: 'the gateway follows the token' });
    await expect(open(terminators[0], a.cert, { Authorization: `Bearer ${otherToken}` })).rejects.toThrow('HTTP 401');
    expect(await rejections(gateways[0], 'credential_mismatch')).toBe(before + 1);
  });

  it('closes a certificate’s connections on every gateway within a second once it leaves the directory, and refuses it with 401', async () => {
    const c = await agent('revoke-me');
    await enter(c);
    const [one, two] = [await open(terminators[0], c.cert), await open(terminators[1], c.cert)];
    one.send(c.uid, 0);
    await one.reply(1);
    const unknownBefore = await Promise.all(gateways.map((g) => rejections(g, 'unknown_certificate')));
    const removedAt = Date.now();
    await directory.remove(c.cert.fingerprint);
    expect([await one.closed(), await two.closed()]).toEqual([1008, 1008]);
    expect(Math.max(one.closedAt, two.closedAt) - removedAt).toBeLessThan(1000);
    for (const t of terminators) await expect(open(t, c.cert)).rejects.toThrow('HTTP 401');
    expect(await Promise.all(gateways.map((g) => rejections(g, 'unknown_certificate')))).toEqual(unknownBefore.map((n) => n + 1));
  });

  it('refuses a revoked certificate on every gateway at once (the revocation set): its connections closed, also beside a bearer token, after a late put of its entry, and on a gateway started later', async () => {
    const c = await agent('revoked-set');
    await enter(c);
    const [one, two] = [await open(terminators[0], c.cert), await open(terminators[1], c.cert)];
    one.send(c.uid, 0);
    await one.reply(1);
    const revokedBefore = await Promise.all(gateways.map((g) => rejections(g, 'certificate_revoked')));
    revokedFingerprints.push(c.cert.fingerprint);
    const revokedAt = Date.now();
    await directory.revokeCertificates([{ fingerprint: c.cert.fingerprint, tenantId: tenant, tokenId: c.id, uidHex: c.uid.toString('hex'), notAfterMs: Date.now() + DAY_MS }]);
    expect([await one.closed(), await two.closed()]).toEqual([1008, 1008]);
    expect(Math.max(one.closedAt, two.closedAt) - revokedAt).toBeLessThan(1000);
    // A put of its entry that raced the revocation (e.g. an activation) is announced after it: it must not bring it back.
    await directory.put({ digest: c.cert.fingerprint, tenantId: tenant, tokenId: c.id, kind: 'certificate', uidHex: c.uid.toString('hex'), active: true });
    // Announcements keep their order: once a later entry is followed, so was the late put.
    await enter(await agent('after-late-put'));
    for (const t of terminators) {
      await expect(open(t, c.cert)).rejects.toThrow('HTTP 401');
      await expect(open(t, c.cert, { Authorization: `Bearer ${enrollmentToken}` })).rejects.toThrow('HTTP 401');
    }
    expect((await post(terminators[0], c.cert, c.uid)).status).toBe(401);
    expect(await Promise.all(gateways.map((g) => rejections(g, 'certificate_revoked')))).toEqual([revokedBefore[0] + 3, revokedBefore[1] + 2]);
    const infra = testInfra();
    const late = await startGateway(
      loadGatewayConfig({
        OPAMP_GATEWAY_ID: uniqueName('gw-mtls-late'),
        OPAMP_GATEWAY_HOST: '127.0.0.1',
        OPAMP_GATEWAY_PORT: '0',
        OPAMP_GATEWAY_ADMIN_PORT: '0',
        OPAMP_CLIENT_CERT_FINGERPRINT_HEADER: 'X-Client-Cert-SHA256',
        OPAMP_TRUSTED_PROXIES: '127.0.0.0/8',
        OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        OPAMP_GATEWAY_INBOUND_TOPIC: topic,
        OPAMP_REDIS_URL: infra.redisUrl,
      }),
      () => undefined,
    );
    try {
      expect(late.authenticator.certificateRevoked(c.cert.fingerprint)).toBe(true);
      expect(late.authenticator.certificateCredential(c.cert.fingerprint)).toBeNull();
    } finally {
      await late.shutdown(0);
    }
  });

  it('serves the opamp-go agent on its client certificate alone, over WebSocket and plain HTTP', async () => {
    const binary = await buildOpampGoAgent();
    const dir = mkdtempSync(join(tmpdir(), 'go-agent-mtls-'));
    try {
      for (const [scheme, t] of [['wss', terminators[0]], ['https', terminators[1]]] as const) {
        const a = await agent(`go-${scheme}`);
        await enter(a);
        const files = { caFile: join(dir, 'server-ca.pem'), certFile: join(dir, `${scheme}.pem`), keyFile: join(dir, `${scheme}.key`) };
        writeFileSync(files.caFile, serverCa.pem);
        writeFileSync(files.certFile, a.cert.pem);
        writeFileSync(files.keyFile, a.cert.keyPem, { mode: 0o600 });
        const go = await startOpampGoAgent({ binary, endpoint: `${scheme}://127.0.0.1:${t.port}/v1/opamp`, uid: a.uid.toString('hex'), tls: files, heartbeatSeconds: 1 });
        try {
          await go.waitForEvent((e) => e.event === 'connected', 20_000, `the ${scheme} agent connected`);
          const got = await waitForRecords(a.uid, (r) => r.some((e) => e.event === 'agentToServer'), `the ${scheme} agent's message`);
          expect(got.every((r) => r.credentialKind === K.CREDENTIAL_KIND_CERTIFICATE && r.credentialId === a.id)).toBe(true);
        } finally {
          expect(await go.stop()).toBe(0);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('reloads a new CRL without dropping established WebSockets, and refuses the newly revoked certificate at the handshake', async () => {
    const d = await agent('reload');
    await enter(d);
    const t = terminators[1];
    const s = await open(t, d.cert);
    s.send(d.uid, 0);
    await s.reply(1);
    t.writeCrl(await createTestCrl(ca, [d.cert.serialNumber]));
    await t.reload();
    s.send(d.uid, 1);
    expect((await s.reply(2)).errorResponse).toBeFalsy();
    expect(s.closeCode).toBeNull();
    await expect(open(t, d.cert)).rejects.toThrow(/certificate revoked/);
    s.ws.close();
  });
});
