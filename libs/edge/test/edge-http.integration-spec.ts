/**
 * The edge over plain HTTP, against real Kafka and Redis: one reply per POST,
 * gzip both ways, limits after decompression, clear 4xx for what is not
 * OpAMP, pending pushes merged into the next reply.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { PendingPushStore } from '@opamp/bus-redis';
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import {
  decodeServerToAgent,
  encodeAgentToServer,
  encodeServerToAgent,
  instanceUidToString,
  newInstanceUidV7,
  opamp,
  ServerCapabilities,
} from '@opamp/protocol';
import { RawHttpConnection, waitFor } from '@opamp/testing';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const v1 = opamp.proto.v1;

interface PostOptions {
  headers?: Record<string, string>;
  body?: Buffer;
}

async function post(url: string, { headers = {}, body }: PostOptions) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf', ...headers },
    body,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes };
}

describe('OpAMP edge over plain HTTP (real Kafka and Redis)', () => {
  const h = new EdgeHarness();

  beforeAll(() => h.start({ maxMessageBytes: 64 * 1024, httpPushWaitMs: 0 }));
  afterAll(() => h.stop());

  const poll = (uid: Buffer, seq: number, extra: opamp.proto.v1.IAgentToServer = {}) =>
    encodeAgentToServer({ instanceUid: uid, sequenceNum: seq, capabilities: 0x3, ...extra });

  it('answers a POST with 200, application/x-protobuf and capabilities, and streams the message (C16, C18, C33)', async () => {
    const uid = newInstanceUidV7();
    const res = await post(h.httpUrl, {
      body: poll(uid, 1),
      headers: { 'OpAMP-Instance-UID': instanceUidToString(uid), 'Accept-Encoding': 'identity' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(res.headers.get('content-encoding')).toBeNull();
    const reply = decodeServerToAgent(res.bytes);
    expect(Buffer.from(reply.instanceUid)).toEqual(uid);
    expect(reply.capabilities & ServerCapabilities.AcceptsStatus).toBeTruthy();
    expect(reply.errorResponse).toBeNull();
    const [record] = await h.waitForRecords(uid, 1);
    expect(record.envelope.transport).toBe(fleet.v1.Transport.TRANSPORT_HTTP);
    expect(record.envelope.event).toBe('agentToServer');
    expect(record.envelope.tenantId).toBe(TENANT);
  });

  it('accepts gzip bodies and gzips the reply only when Accept-Encoding allows (C17, C19)', async () => {
    // Raw bytes off the wire: an HTTP client would inflate the reply itself and hide what the server sent.
    const conn = await RawHttpConnection.open(h.edge.port);
    const request = (body: Buffer, headers: string) =>
      Buffer.concat([
        Buffer.from(
          `POST /v1/opamp HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/x-protobuf\r\n` +
            `${headers}Content-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]);
    try {
      const uid = newInstanceUidV7();
      conn.write(request(gzipSync(poll(uid, 1)), 'Content-Encoding: gzip\r\nAccept-Encoding: gzip\r\n'));
      const gz = await conn.nextResponse();
      expect(gz.status).toBe(200);
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gz.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      expect(Buffer.from(decodeServerToAgent(gunzipSync(gz.body)).instanceUid)).toEqual(uid);
      // The server inflated the request: the stream carries the plain protobuf.
      const [record] = await h.waitForRecords(uid, 1);
      expect(Buffer.from(record.envelope.agentToServer!)).toEqual(poll(uid, 1));

      conn.write(request(poll(uid, 2), 'Accept-Encoding: gzip;q=0\r\n'));
      const refused = await conn.nextResponse();
      expect(refused.headers['content-encoding']).toBeUndefined();
      expect(Buffer.from(decodeServerToAgent(refused.body).instanceUid)).toEqual(uid);
    } finally {
      conn.destroy();
    }
  });

  it('applies the size limit after decompression: a gzip bomb gets 413 (C20)', async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await post(h.httpUrl, { body: bomb, headers: { 'Content-Encoding': 'gzip' } });
    expect(res.status).toBe(413);
    const plain = await post(h.httpUrl, { body: Buffer.alloc(200 * 1024, 1) });
    expect(plain.status).toBe(413);
  });

  it('refuses what is not OpAMP with a clear 4xx (C22, C26, C27)', async () => {
    const uid = newInstanceUidV7();
    expect((await post(h.httpUrl, { body: poll(uid, 1), headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    const json = await post(h.httpUrl, { body: Buffer.from('{}'), headers: { 'Content-Type': 'application/json' } });
    expect(json.status).toBe(415);
    expect(json.bytes.toString()).toMatch(/application\/x-protobuf/);
    const garbage = await post(h.httpUrl, { body: Buffer.from([0xff, 0xff, 0xff]) });
    expect(garbage.status).toBe(400);
    expect(garbage.bytes.toString().length).toBeGreaterThan(5);
    const brotli = await post(h.httpUrl, { body: poll(uid, 1), headers: { 'Content-Encoding': 'br' } });
    expect(brotli.status).toBe(415);
    const get = await fetch(h.httpUrl);
    expect(get.status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${h.edge.port}/elsewhere`)).status).toBe(404);

    // A body that decodes but has a bad uid gets a BAD_REQUEST ServerToAgent echoing it.
    const badUid = await post(h.httpUrl, { body: encodeAgentToServer({ instanceUid: Buffer.alloc(3, 1), capabilities: 1 }) });
    expect(badUid.status).toBe(200);
    const reply = decodeServerToAgent(badUid.bytes);
    expect(reply.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(Buffer.from(reply.instanceUid)).toEqual(Buffer.alloc(3, 1));
  });

  it('delivers what is pending on the next poll, merged, and each item only once (C24, C25)', async () => {
    const uid = newInstanceUidV7();
    const uidHex = uid.toString('hex');
    const pending = new PendingPushStore(h.redis);
    const config = (hash: number) =>
      encodeServerToAgent({ instanceUid: uid, remoteConfig: { configHash: Buffer.from([hash]), config: { configMap: {} } } });
    await pending.put(TENANT, uidHex, 'remote_config', config(1));
    await pending.put(TENANT, uidHex, 'remote_config', config(2)); // supersedes the first
    await pending.put(TENANT, uidHex, 'flags', encodeServerToAgent({ instanceUid: uid, flags: 1 }));
    const first = decodeServerToAgent((await post(h.httpUrl, { body: poll(uid, 1) })).bytes);
    expect(Buffer.from(first.remoteConfig!.configHash!)).toEqual(Buffer.from([2]));
    expect(first.flags).toBe(1);
    const second = decodeServerToAgent((await post(h.httpUrl, { body: poll(uid, 2) })).bytes);
    expect(second.remoteConfig).toBeNull();
    expect(second.flags).toBe(0);
  });

  it('sends a pending restart alone and keeps the config for the following poll', async () => {
    const uid = newInstanceUidV7();
    const uidHex = uid.toString('hex');
    const pending = new PendingPushStore(h.redis);
    await pending.put(TENANT, uidHex, 'command', encodeServerToAgent({ instanceUid: uid, command: { type: 0 } }));
    await pending.put(TENANT, uidHex, 'remote_config', encodeServerToAgent({ instanceUid: uid, remoteConfig: { configHash: Buffer.from([9]) } }));
    const first = decodeServerToAgent((await post(h.httpUrl, { body: poll(uid, 1) })).bytes);
    expect(first.command).not.toBeNull();
    expect(first.remoteConfig).toBeNull();
    const second = decodeServerToAgent((await post(h.httpUrl, { body: poll(uid, 2) })).bytes);
    expect(second.command).toBeNull();
    expect(Buffer.from(second.remoteConfig!.configHash!)).toEqual(Buffer.from([9]));
  });

  it('answers a waiting request as soon as a worker wakes it with something pending', async () => {
    const waiting = new EdgeHarness();
    await waiting.start({ httpPushWaitMs: 5_000 });
    try {
      await wakeUp(waiting);
    } finally {
      await waiting.stop();
    }
  });

  async function wakeUp(h: EdgeHarness): Promise<void> {
    const uid = newInstanceUidV7();
    const started = Date.now();
    // A message carrying status waits for the workers; a bare poll would be answered at once.
    const description = { identifyingAttributes: [{ key: 'service.name', value: { stringValue: 'waiter' } }] };
    const inFlight = post(h.httpUrl, { body: poll(uid, 1, { agentDescription: description }) });
    // The worker learns the request's connection and epoch from the stream, as status-ingest does.
    const [record] = await h.waitForRecords(uid, 1);
    const pending = new PendingPushStore(h.redis);
    await pending.put(TENANT, uid.toString('hex'), 'flags', encodeServerToAgent({ instanceUid: uid, flags: 1 }));
    await h.redis.publish(
      RedisChannels.gatewayPush(h.gatewayId),
      GatewayPushCodec.encode({
        tenantId: TENANT,
        instanceUid: uid,
        connectionId: record.envelope.connectionId,
        epoch: record.envelope.epoch,
        pendingWakeup: true,
      }),
    );
    const reply = decodeServerToAgent((await inFlight).bytes);
    expect(reply.flags).toBe(1);
    // Well before the 5 s wait would have ended by itself.
    expect(Date.now() - started).toBeLessThan(4_000);
  }

  it('answers a bare poll at once, without waiting for workers', async () => {
    const waiting = new EdgeHarness();
    await waiting.start({ httpPushWaitMs: 5_000 });
    try {
      const started = Date.now();
      const res = await post(waiting.httpUrl, { body: poll(newInstanceUidV7(), 1) });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await waiting.stop();
    }
  });

  it('while draining, answers 503 with a short Retry-After, not the overload range', async () => {
    const draining = new EdgeHarness();
    await draining.start({ retryAfterRangeS: [30, 30] });
    const conn = await RawHttpConnection.open(draining.edge.port);
    const request = (body: Buffer) =>
      Buffer.concat([
        Buffer.from(
          `POST /v1/opamp HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer ${TOKEN}\r\n` +
            `Content-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]);
    try {
      conn.write(request(poll(newInstanceUidV7(), 1)));
      expect((await conn.nextResponse()).status).toBe(200);
      // The agent's kept-alive connection outlives the listening socket: its next poll meets the drain.
      const drained = draining.edge.drain(0);
      conn.write(request(poll(newInstanceUidV7(), 1)));
      const refused = await conn.nextResponse();
      expect(refused.status).toBe(503);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(5);
      expect((await draining.edge.metrics.rejections.get()).values).toContainEqual(
        expect.objectContaining({ labels: { reason: 'draining' }, value: 1 }),
      );
      await drained;
    } finally {
      conn.destroy();
      await draining.stop();
    }
  });

  it('answers 400 and closes the connection on two Content-Length headers', async () => {
    const conn = await RawHttpConnection.open(h.edge.port);
    try {
      conn.write(
        `POST /v1/opamp HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/x-protobuf\r\n` +
          'Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde',
      );
      const res = await conn.nextResponse();
      expect(res.status).toBe(400);
      expect(res.body.toString()).toMatch(/Content-Length/);
      await conn.closed(3_000);
    } finally {
      conn.destroy();
    }
  });

  it('keeps answering other agents while one sends garbage', async () => {
    const uid = newInstanceUidV7();
    const bad = Array.from({ length: 20 }, () => post(h.httpUrl, { body: Buffer.from([0x0a, 0xff]) }));
    const good = post(h.httpUrl, { body: poll(uid, 1) });
    expect((await Promise.all(bad)).every((r) => r.status === 400)).toBe(true);
    expect((await good).status).toBe(200);
    await waitFor(() => h.recordsFor(uid).length, (n) => n === 1, { description: 'good agent streamed' });
  });
});
