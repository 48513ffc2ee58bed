/**
 * The gateway's OTLP receiver of agents' own telemetry (issue 19, item 2) on
 * the real Kafka, Redis and PostgreSQL: a gateway configured from the
 * environment accepts OTLP/JSON and OTLP protobuf (gzip too) with an agent's
 * own credential from the shared directory, binds every record to that agent
 * whatever the body claims, and produces it to its topic (read back here with
 * a real consumer; libs/ingest's own-telemetry test counts them); a bad or
 * revoked credential gets 401, an enrollment token too, malformed OTLP 400
 * with a message, a gzip bomb and an oversized body 413, all counted; beyond
 * its own concurrency limit it answers 503, and a request cut off mid-body
 * gives its slot back.
 */
import { gzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { AgentTokenDirectory, createRedisConnection } from '@opamp/bus-redis';
import { BatchConsumer, createKafkaClient } from '@opamp/bus-kafka';
import { AgentTelemetryCodec, fleet } from '@opamp/contracts';
import { decodeOtlpRequest, instanceUidToString, newInstanceUidV7 } from '@opamp/protocol';
import { collectorOwnMetrics, postOtlp, RawHttpConnection, testInfra, uniqueName, waitFor } from '@opamp/testing';
import type Redis from 'ioredis';
import { loadGatewayConfig } from '../src/config/gateway.config';
import { type RunningGateway, startGateway } from '../src/gateway';

const MAX_BODY = 256 * 1024;
const MAX_CONCURRENT = 2;
const digest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('base64');

describe('gateway OTLP receiver of own telemetry (real Kafka, Redis, PostgreSQL)', () => {
  const tenant = uniqueName('otel-tenant');
  const topic = uniqueName('opamp.agent-telemetry');
  const enrollmentToken = uniqueName('enroll');
  const agentA = { uid: newInstanceUidV7(), secret: `opamp_agent_${randomBytes(16).toString('hex')}` };
  const agentB = { uid: newInstanceUidV7(), secret: `opamp_agent_${randomBytes(16).toString('hex')}` };
  let redis: Redis;
  let gateway: RunningGateway;
  let consumer: BatchConsumer;
  let origin: string;
  const seen: fleet.v1.AgentTelemetry[] = [];

  /** Items per signal the topic holds for an agent. */
  const counts = (uid: Buffer) => {
    const mine = seen.filter((r) => Buffer.from(r.instanceUid).equals(uid));
    const sum = (s: fleet.v1.AgentTelemetrySignal) => mine.filter((r) => r.signal === s).reduce((n, r) => n + Number(r.items), 0);
    const S = fleet.v1.AgentTelemetrySignal;
    return { records: mine.length, dataPoints: sum(S.AGENT_TELEMETRY_SIGNAL_METRICS), spans: sum(S.AGENT_TELEMETRY_SIGNAL_TRACES), logRecords: sum(S.AGENT_TELEMETRY_SIGNAL_LOGS) };
  };
  const metric = (signal: string, result: string) =>
    gateway.edge.metrics.telemetryRequests.get().then((m) => m.values.find((v) => v.labels['signal'] === signal && v.labels['result'] === result)?.value ?? 0);

  beforeAll(async () => {
    const infra = testInfra();
    redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'gwotel' });
    const directory = new AgentTokenDirectory(redis);
    for (const [i, a] of [agentA, agentB].entries()) {
      await directory.put({ digest: digest(a.secret), tenantId: tenant, tokenId: `cred-${i}`, kind: 'agent', uidHex: a.uid.toString('hex'), active: true });
    }
    gateway = await startGateway(
      loadGatewayConfig({
        OPAMP_GATEWAY_ID: uniqueName('gw'),
        OPAMP_GATEWAY_HOST: '127.0.0.1',
        OPAMP_GATEWAY_PORT: '0',
        OPAMP_GATEWAY_ADMIN_PORT: '0',
        OPAMP_AGENT_TOKENS: `${tenant}=${enrollmentToken}`,
        OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        OPAMP_REDIS_URL: infra.redisUrl,
        OPAMP_GATEWAY_INBOUND_TOPIC: uniqueName('opamp.agent-inbound'),
        OPAMP_OWN_TELEMETRY_TOPIC: topic,
        OPAMP_OWN_TELEMETRY_MAX_BODY_BYTES: String(MAX_BODY),
        OPAMP_OWN_TELEMETRY_REQUESTS_MAX: String(MAX_CONCURRENT),
      }),
      () => undefined,
    );
    origin = `http://127.0.0.1:${gateway.edge.port}`;
    consumer = new BatchConsumer(createKafkaClient({ brokers: infra.kafkaBrokers, clientId: uniqueName('otel-consumer') }), { groupId: uniqueName('otel-test'), topic }, async (batch) => {
      for (const m of batch.messages) if (m.value) seen.push(AgentTelemetryCodec.decode(m.value));
    });
    await consumer.start();
  }, 90_000);

  afterAll(async () => {
    await consumer?.stop();
    await gateway?.shutdown(0);
    const directory = new AgentTokenDirectory(redis);
    for (const a of [agentA, agentB]) await directory.remove(digest(a.secret)).catch(() => undefined);
    await redis?.quit();
  });

  it("binds JSON and gzip'd protobuf to the credential's agent, whatever the body claims, on the topic", async () => {
    const forged = collectorOwnMetrics({ claimedInstanceId: instanceUidToString(agentB.uid), points: 3 });
    const json = await postOtlp(origin, 'metrics', forged, { credential: agentA.secret });
    expect(json).toEqual({ status: 200, text: '{}' });
    const proto = await postOtlp(origin, 'metrics', collectorOwnMetrics({ points: 2 }), { credential: agentA.secret, encoding: 'protobuf', gzip: true });
    expect(proto.status).toBe(200);
    const spans = await postOtlp(origin, 'traces', { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'export', traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174' }] }] }] }, { credential: agentA.secret });
    expect(spans.status).toBe(200);

    const a = await waitFor(async () => counts(agentA.uid), (c) => c.records === 3, { description: "agent A's records on the topic" });
    expect(a).toMatchObject({ dataPoints: 5, spans: 1, logRecords: 0 });
    expect(counts(agentB.uid).records).toBe(0);
    // What left the gateway: bound to A, its resource saying so.
    const first = seen.find((r) => Number(r.items) === 3)!;
    expect(first).toMatchObject({ tenantId: tenant, signal: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS });
    expect(Buffer.from(first.instanceUid!)).toEqual(agentA.uid);
    const bound = decodeOtlpRequest('metrics', first.otlpRequest!, 'protobuf');
    const attrs = bound.signal === 'metrics' ? bound.request.resourceMetrics[0].resource!.attributes! : [];
    expect(attrs.filter((x) => x.key === 'service.instance.id').map((x) => x.value!.stringValue)).toEqual([instanceUidToString(agentA.uid)]);
    expect(await gateway.edge.metrics.telemetryIdentityOverridden.get().then((m) => m.values[0]?.value)).toBe(1);
  });

  it('refuses what it must with a clear status and message, counted, and goes on serving', async () => {
    const body = collectorOwnMetrics();
    expect((await postOtlp(origin, 'metrics', body, { credential: 'opamp_agent_forged' })).status).toBe(401);
    expect((await postOtlp(origin, 'metrics', body)).status).toBe(401);
    const token = await postOtlp(origin, 'metrics', body, { credential: enrollmentToken });
    expect(token).toEqual({ status: 401, text: "own telemetry is accepted only with the agent's own credential\n" });

    const post = (raw: Buffer, headers: Record<string, string>) =>
      fetch(`${origin}/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${agentA.secret}`, ...headers }, body: raw }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const badJson = await post(Buffer.from('{"resourceMetrics": [{"scopeMetrics": 7}]}'), { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(badJson.text).toMatch(/not an OTLP metrics export request in JSON/);
    const badProto = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(badProto.status).toBe(400);
    expect(badProto.text).toMatch(/not an OTLP metrics export request in protobuf/);
    const notGzip = await post(Buffer.from('plain'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(notGzip.status).toBe(400);
    // A gzip bomb: a few KiB that inflate far beyond the limit. Refused while inflating, like on /v1/opamp.
    const bomb = gzipSync(Buffer.alloc(64 * MAX_BODY));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const bombed = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(bombed.status).toBe(413);
    expect(bombed.text).toMatch(/inflates beyond the limit/);
    expect((await post(randomBytes(MAX_BODY + 1), { 'content-type': 'application/x-protobuf' })).status).toBe(413);
    expect((await post(Buffer.from('x'), { 'content-type': 'text/plain' })).status).toBe(415);

    expect(await metric('metrics', 'unauthorized')).toBe(3);
    expect(await metric('metrics', 'malformed')).toBe(2);
    expect(await metric('metrics', 'bad_encoding')).toBe(1);
    expect(await metric('metrics', 'too_large')).toBe(2);
    // Still serving, and nothing of the refused reached the consumer.
    expect((await postOtlp(origin, 'logs', { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'started' } }] }] }] }, { credential: agentB.secret })).status).toBe(200);
    const b = await waitFor(async () => counts(agentB.uid), (c) => c.logRecords === 1, { description: "agent B's log record" });
    expect(b).toMatchObject({ records: 1, dataPoints: 0, spans: 0 });
    expect(counts(agentA.uid)).toMatchObject({ records: 3, dataPoints: 5 });
  });

  it('a revoked credential is refused at once (C69)', async () => {
    expect((await postOtlp(origin, 'metrics', collectorOwnMetrics(), { credential: agentB.secret })).status).toBe(200);
    await new AgentTokenDirectory(redis).remove(digest(agentB.secret));
    await waitFor(() => postOtlp(origin, 'metrics', collectorOwnMetrics(), { credential: agentB.secret }), (r) => r.status === 401, { description: 'the revoked credential refused' });
  });

  it('beyond its concurrency limit it answers 503 with Retry-After; a request cut off mid-body frees its slot', async () => {
    // Requests whose bodies never finish hold every slot.
    const held = await Promise.all(Array.from({ length: MAX_CONCURRENT }, () => RawHttpConnection.open(gateway.edge.port)));
    for (const c of held) {
      c.write(`POST /v1/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${agentA.secret}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"resourceMetrics":`);
    }
    const active = () => gateway.edge.metrics.telemetryActive.get().then((m) => m.values[0]?.value ?? 0);
    await waitFor(active, (n) => n === MAX_CONCURRENT, { description: 'every slot held' });
    const busy = await postOtlp(origin, 'metrics', collectorOwnMetrics(), { credential: agentA.secret });
    expect(busy).toEqual({ status: 503, text: 'server is busy, retry later\n' });
    expect(await metric('metrics', 'busy')).toBe(1);
    held[0].destroy();
    await waitFor(active, (n) => n === MAX_CONCURRENT - 1, { description: 'the cut request gave its slot back' });
    expect((await postOtlp(origin, 'metrics', collectorOwnMetrics(), { credential: agentA.secret })).status).toBe(200);
    for (const c of held.slice(1)) c.destroy();
    await waitFor(active, (n) => n === 0, { description: 'every slot free' });
  });
});
