/**
 * The edge over WebSocket, against real Kafka and Redis: answers, framing,
 * bad input, ordering on the inbound stream, fenced pushes, limits and drain.
 */
import { deflateRawSync } from 'node:zlib';
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import {
  decodeServerToAgent,
  decodeWsMessage,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  encodeServerToAgent,
  newInstanceUidV7,
  opamp,
  ServerCapabilities,
} from '@opamp/protocol';
import { RawHttpConnection, waitFor } from '@opamp/testing';
import WebSocket from 'ws';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const v1 = opamp.proto.v1;

function decodeReply(frame: Buffer): opamp.proto.v1.ServerToAgent {
  expect(frame[0]).toBe(0x00);
  return decodeServerToAgent(decodeWsMessage(frame));
}

function status(uid: Buffer, seq: number, extra: opamp.proto.v1.IAgentToServer = {}): Buffer {
  return encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq, capabilities: 0x1 | 0x2, ...extra });
}

describe('OpAMP edge over WebSocket (real Kafka and Redis)', () => {
  const h = new EdgeHarness();

  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('answers every message at once, echoing the uid, with capabilities in the first reply only (C2, C30, C33)', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    for (let seq = 0; seq < 5; seq++) socket.send(status(uid, seq));
    const replies = (await socket.nextMessages(5)).map(decodeReply);
    expect(replies).toHaveLength(5);
    for (const r of replies) expect(Buffer.from(r.instanceUid)).toEqual(uid);
    expect(replies[0].capabilities & ServerCapabilities.AcceptsStatus).toBeTruthy();
    expect(replies[0].capabilities & ~0x7f).toBe(0);
    expect(replies.slice(1).map((r) => r.capabilities)).toEqual([0, 0, 0, 0]);
    // A plain acknowledgement sets nothing else (C35).
    expect(replies[1].errorResponse).toBeNull();
    expect(replies[1].remoteConfig).toBeNull();
    expect(replies[1].flags).toBe(0);
    socket.ws.close();
  });

  it('streams connected, every message and disconnected for the agent, in order, with one epoch', async () => {
    const socket = await h.connect({ Authorization: `Bearer ${TOKEN}`, 'User-Agent': 'edge-test/1' });
    const uid = newInstanceUidV7();
    socket.send(status(uid, 0, { agentDescription: { identifyingAttributes: [{ key: 'service.name', value: { stringValue: 'a' } }] } }));
    socket.send(status(uid, 1));
    socket.send(status(uid, 2, { agentDisconnect: {} }));
    await socket.nextMessages(3);
    const records = await h.waitForRecords(uid, 5);
    const events = records.map((r) => r.envelope.event);
    expect(events).toEqual(['connected', 'agentToServer', 'agentToServer', 'agentToServer', 'disconnected']);
    const seqs = records
      .filter((r) => r.envelope.event === 'agentToServer')
      .map((r) => opamp.proto.v1.AgentToServer.decode(r.envelope.agentToServer!).sequenceNum);
    expect(seqs).toEqual([0, 1, 2]);
    const first = records[0].envelope;
    expect(first.tenantId).toBe(TENANT);
    expect(first.gatewayId).toBe(h.gatewayId);
    expect(first.transport).toBe(fleet.v1.Transport.TRANSPORT_WEBSOCKET);
    expect(first.connected?.userAgent).toBe('edge-test/1');
    expect(first.epoch).toBeGreaterThan(0);
    expect(new Set(records.map((r) => `${r.envelope.connectionId}/${r.envelope.epoch}`)).size).toBe(1);
    expect(records[4].envelope.disconnected?.reason).toBe(fleet.v1.DisconnectReason.DISCONNECT_REASON_AGENT_DISCONNECT);
    socket.ws.close();
  });

  it('answers bad input with BAD_REQUEST and keeps the connection (C4, C5, C6, C7, C8)', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(status(uid, 0));
    await socket.nextMessages(1);
    const body = encodeAgentToServer({ instanceUid: uid, sequenceNum: 1, capabilities: 1 });
    socket.send(Buffer.from([0x00])); // zero-length data: valid framing, but no uid
    socket.send(Buffer.concat([Buffer.from([0x01]), body])); // non-zero header
    socket.send(Buffer.concat([Buffer.from([0x80, 0x01]), body])); // multi-byte non-zero header
    socket.send(Buffer.from([0x00, 0xff, 0xff])); // undecodable protobuf
    socket.send('{"instance_uid":"text"}'); // text frame
    socket.send(encodeAgentToServerFrame({ instanceUid: Buffer.alloc(5, 1), capabilities: 1 })); // wrong-length uid
    socket.send(status(uid, 1)); // still served
    const replies = (await socket.nextMessages(8)).slice(1).map(decodeReply);
    for (const r of replies.slice(0, 6)) {
      expect(r.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
      expect(r.errorResponse?.errorMessage?.length).toBeGreaterThan(5);
      expect(r.remoteConfig).toBeNull();
      expect(r.capabilities).toBe(0);
    }
    // The wrong-length uid is echoed as received.
    expect(Buffer.from(replies[5].instanceUid)).toEqual(Buffer.alloc(5, 1));
    expect(replies[6].errorResponse).toBeNull();
    expect(Buffer.from(replies[6].instanceUid)).toEqual(uid);
    expect(socket.closeCode).toBeNull();
    // None of the bad messages reached the stream.
    const records = await h.waitForRecords(uid, 3);
    expect(records.filter((r) => r.envelope.event === 'agentToServer')).toHaveLength(2);
    const metrics = await h.edge.metrics.registry.getSingleMetricAsString('opamp_gateway_rejections_total');
    expect(metrics).toMatch(/reason="malformed_frame"[^\n]* [2-9]/);
    expect(metrics).toMatch(/reason="text_frame"/);
    expect(metrics).toMatch(/reason="invalid_instance_uid"/);
    socket.ws.close();
  });

  it('refuses a bad credential with 401 before upgrading (C27)', async () => {
    await expect(h.connect({ Authorization: 'Bearer wrong' })).rejects.toThrow('HTTP 401');
    await expect(h.connect({})).rejects.toThrow('HTTP 401');
    await expect(h.connect({ 'X-API-Key': TOKEN })).resolves.toBeDefined();
  });

  it('delivers a push only to the connection and epoch it is fenced to', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(status(uid, 0));
    await socket.nextMessages(1);
    const [connected] = await h.waitForRecords(uid, 1);
    const { connectionId, epoch } = connected.envelope;
    const push = (overrides: Partial<fleet.v1.IGatewayPush>, hash: number) =>
      h.redis.publish(
        RedisChannels.gatewayPush(h.gatewayId),
        GatewayPushCodec.encode({
          tenantId: TENANT,
          instanceUid: uid,
          connectionId,
          epoch,
          serverToAgent: encodeServerToAgent({ instanceUid: uid, remoteConfig: { configHash: Buffer.from([hash]) } }),
          ...overrides,
        }),
      );
    await push({ epoch: epoch - 1 }, 1); // stale epoch
    await push({ connectionId: 'someone-else' }, 2); // another connection
    await push({ tenantId: 'other-tenant' }, 3); // same uid in another tenant
    await push({}, 4); // the right one
    const [, pushed] = await socket.nextMessages(2);
    expect(Buffer.from(decodeReply(pushed).remoteConfig!.configHash!)).toEqual(Buffer.from([4]));
    const metrics = await h.edge.metrics.registry.getSingleMetricAsString('opamp_gateway_pushes_total');
    expect(metrics).toMatch(/result="fenced"[^\n]* 2/);
    expect(metrics).toMatch(/result="unknown_agent"[^\n]* 1/);
    // close_after ends the connection with a close frame (C14).
    await push({ closeAfter: true, serverToAgent: Buffer.alloc(0) }, 0);
    expect(await socket.closed()).toBe(1000);
  });

  it('closes with 1009 when a message is over the limit, also after permessage-deflate (C9, C10, C12)', async () => {
    const big = await h.connect();
    big.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(80 * 1024, 1)]));
    expect(await big.closed()).toBe(1009);

    // 100 KiB of zeros deflate to a few hundred bytes: the limit must apply after inflation.
    const deflated = await h.connect({ Authorization: `Bearer ${TOKEN}` }, true);
    expect(deflated.ws.extensions).toContain('permessage-deflate');
    const uid = newInstanceUidV7();
    deflated.send(status(uid, 0));
    expect(decodeReply((await deflated.nextMessages(1))[0]).instanceUid).toEqual(new Uint8Array(uid));
    expect(deflateRawSync(Buffer.alloc(100 * 1024)).length).toBeLessThan(1024);
    deflated.send(Buffer.alloc(100 * 1024));
    expect(await deflated.closed()).toBe(1009);

    // A bomb far past the limit is cut off while inflating, never buffered whole.
    const bomb = await h.connect({ Authorization: `Bearer ${TOKEN}` }, true);
    bomb.send(Buffer.alloc(16 * 1024 * 1024));
    expect(await bomb.closed()).not.toBe(1000);
    expect(h.edge.connectionCount).toBeLessThan(10);
  });

  it('answers a message flood with UNAVAILABLE and retry_info instead of processing it (C29)', async () => {
    const limited = new EdgeHarness();
    await limited.start({ messagesPerSecond: 1, messageBurst: 2 });
    try {
      const socket = await limited.connect();
      const uid = newInstanceUidV7();
      for (let seq = 0; seq < 4; seq++) socket.send(status(uid, seq));
      const replies = (await socket.nextMessages(4)).map(decodeReply);
      expect(replies.slice(0, 2).map((r) => r.errorResponse)).toEqual([null, null]);
      for (const r of replies.slice(2)) {
        expect(r.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_Unavailable);
        expect(r.errorResponse?.retryInfo?.retryAfterNanoseconds).toBeGreaterThanOrEqual(1e9);
      }
    } finally {
      await limited.stop();
    }
  });

  it('drains: readiness drops, connections close with 1001 and their agents are reported as drained', async () => {
    const draining = new EdgeHarness();
    await draining.start();
    try {
      const sockets = await Promise.all([draining.connect(), draining.connect(), draining.connect()]);
      const uids = sockets.map(() => newInstanceUidV7());
      sockets.forEach((s, i) => s.send(status(uids[i], 0)));
      await Promise.all(sockets.map((s) => s.nextMessages(1)));
      expect(draining.edge.ready).toBe(true);
      const drained = draining.edge.drain(300);
      expect(draining.edge.ready).toBe(false);
      await drained;
      expect(await Promise.all(sockets.map((s) => s.closed()))).toEqual([1001, 1001, 1001]);
      for (const uid of uids) {
        const records = await draining.waitForRecords(uid, 3);
        expect(records[2].envelope.disconnected?.reason).toBe(fleet.v1.DisconnectReason.DISCONNECT_REASON_GATEWAY_DRAIN);
      }
      // New connections are refused once draining.
      await expect(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(draining.wsUrl, { headers: { Authorization: `Bearer ${TOKEN}` } });
          ws.once('open', resolve);
          ws.once('error', reject);
        }),
      ).rejects.toThrow();
    } finally {
      await draining.stop();
    }
  });

  it('while draining, tells each WS agent to come back within the drain range before closing it, and refuses an upgrade with 503 and a Retry-After in that range', async () => {
    const DRAIN: [number, number] = [2, 4];
    const draining = new EdgeHarness();
    await draining.start({ retryAfterRangeS: [30, 30], drainRetryAfterRangeS: DRAIN });
    // A kept-alive HTTP connection outlives the listening socket: its upgrade request meets the drain.
    const http = await RawHttpConnection.open(draining.edge.port);
    try {
      const sockets = await Promise.all([draining.connect(), draining.connect(), draining.connect()]);
      const uids = sockets.map(() => newInstanceUidV7());
      sockets.forEach((s, i) => s.send(status(uids[i], 0)));
      await Promise.all(sockets.map((s) => s.nextMessages(1)));
      const poll = encodeAgentToServer({ instanceUid: newInstanceUidV7(), sequenceNum: 0 });
      http.write(
        Buffer.concat([
          Buffer.from(`POST /v1/opamp HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${poll.length}\r\n\r\n`),
          Buffer.from(poll),
        ]),
      );
      expect((await http.nextResponse()).status).toBe(200);

      const drained = draining.edge.drain(300);
      http.write(
        `GET /v1/opamp HTTP/1.1\r\nHost: edge\r\nAuthorization: Bearer ${TOKEN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const refused = await http.nextResponse();
      expect(refused.status).toBe(503);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(DRAIN[0]);
      expect(retryAfter).toBeLessThanOrEqual(DRAIN[1]);
      await drained;

      expect(await Promise.all(sockets.map((s) => s.closed()))).toEqual([1001, 1001, 1001]);
      sockets.forEach((s, i) => {
        // The last message before the close: UNAVAILABLE with retry_info, for this agent, nothing else set (C29).
        expect(s.messages).toHaveLength(2);
        const hint = decodeReply(s.messages[1]);
        expect(Buffer.from(hint.instanceUid)).toEqual(uids[i]);
        expect(hint.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_Unavailable);
        const retryS = Number(hint.errorResponse?.retryInfo?.retryAfterNanoseconds ?? 0) / 1e9;
        expect(retryS).toBeGreaterThanOrEqual(DRAIN[0]);
        expect(retryS).toBeLessThanOrEqual(DRAIN[1]);
        expect([hint.remoteConfig, hint.command, hint.agentIdentification]).toEqual([null, null, null]);
      });
    } finally {
      http.destroy();
      await draining.stop();
    }
  });

  it('keeps serving other agents while one misbehaves', async () => {
    const good = await h.connect();
    const bad = await h.connect();
    const uid = newInstanceUidV7();
    for (let i = 0; i < 50; i++) bad.send(Buffer.from([0x00, 0xff, 0xff, i]));
    good.send(status(uid, 0));
    await waitFor(() => good.messages.length, (n) => n === 1, { description: 'good agent answered' });
    expect(decodeReply(good.messages[0]).errorResponse).toBeNull();
    good.ws.close();
    bad.ws.close();
  });
});
