/**
 * Checklist items of the conformance reference that belong to the edge and
 * are not covered by the transport suites: duplicates, unknown fields and
 * capability bits, multiplexed streams, admission, outbound limits, and a real
 * third-party client.
 */
import { createOpAMPClient, RemoteConfigStatuses } from '@elastic/opamp-client-node';
import { PendingPushStore } from '@opamp/bus-redis';
import { fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import {
  decodeServerToAgent,
  decodeWsMessage,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  encodeServerToAgent,
  newInstanceUidV7,
  opamp,
} from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import WebSocket from 'ws';
import { EdgeHarness, TENANT, TOKEN } from './edge-harness';

const reply = (frame: Buffer) => decodeServerToAgent(decodeWsMessage(frame));
const frame = (uid: Buffer, seq: number, extra: opamp.proto.v1.IAgentToServer = {}) =>
  encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: seq, capabilities: 0x3, ...extra });

describe('OpAMP edge conformance (real Kafka and Redis)', () => {
  const h = new EdgeHarness();

  beforeAll(() => h.start({ maxMessageBytes: 16 * 1024 }));
  afterAll(() => h.stop());

  it('answers each copy of a duplicated message (C31, C32)', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(frame(uid, 7));
    socket.send(frame(uid, 7));
    const replies = (await socket.nextMessages(2)).map(reply);
    expect(replies.map((r) => Buffer.from(r.instanceUid))).toEqual([uid, uid]);
    socket.ws.close();
  });

  it('ignores unknown fields and unknown capability bits (C47, C48, C78)', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    // Field 99, length-delimited, appended to a valid message.
    const unknownField = Buffer.from([0x9a, 0x06, 0x03, 0x61, 0x62, 0x63]);
    socket.send(Buffer.concat([frame(uid, 0, { capabilities: 0x1 | 0x80000 }), unknownField]));
    const [r] = (await socket.nextMessages(1)).map(reply);
    expect(r.errorResponse).toBeNull();
    expect(r.capabilities & ~0x7f).toBe(0);
    const [record] = (await h.waitForRecords(uid, 2)).filter((x) => x.envelope.event === 'agentToServer');
    // The raw bytes travel on unchanged, unknown field included.
    expect(Buffer.from(record.envelope.agentToServer!).subarray(-unknownField.length)).toEqual(unknownField);
    socket.ws.close();
  });

  it('reports every agent of a multiplexed stream as disconnected when the stream closes (C15)', async () => {
    const socket = await h.connect();
    const a = newInstanceUidV7();
    const b = newInstanceUidV7();
    socket.send(frame(a, 0));
    socket.send(frame(b, 0));
    await socket.nextMessages(2);
    socket.ws.terminate();
    for (const uid of [a, b]) {
      const records = await h.waitForRecords(uid, 3);
      expect(records[2].envelope.disconnected?.reason).toBe(fleet.v1.DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED);
    }
  });

  it('uses the OpAMP-Instance-UID header for nothing but logs: the body decides (C23)', async () => {
    const uid = newInstanceUidV7();
    const res = await fetch(h.httpUrl, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/x-protobuf',
        'OpAMP-Instance-UID': '00000000-0000-7000-8000-000000000000',
      },
      body: encodeAgentToServer({ instanceUid: uid, capabilities: 1 }),
    });
    expect(res.status).toBe(200);
    expect(Buffer.from(decodeServerToAgent(Buffer.from(await res.arrayBuffer())).instanceUid)).toEqual(uid);
    await h.waitForRecords(uid, 1);
  });

  it('never sends a push over the outbound limit, and keeps the connection (C11)', async () => {
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(frame(uid, 0));
    await socket.nextMessages(1);
    const [connected] = await h.waitForRecords(uid, 1);
    const push = (size: number) =>
      h.redis.publish(
        RedisChannels.gatewayPush(h.gatewayId),
        GatewayPushCodec.encode({
          tenantId: TENANT,
          instanceUid: uid,
          connectionId: connected.envelope.connectionId,
          epoch: connected.envelope.epoch,
          serverToAgent: encodeServerToAgent({
            instanceUid: uid,
            remoteConfig: { config: { configMap: { '': { body: Buffer.alloc(size, 0x61) } } }, configHash: Buffer.alloc(32) },
          }),
        }),
      );
    await push(32 * 1024);
    await push(100);
    const [, delivered] = await socket.nextMessages(2);
    expect(reply(delivered).remoteConfig?.config?.configMap?.['']?.body?.length).toBe(100);
    expect(socket.closeCode).toBeNull();
    expect(await h.edge.metrics.registry.getSingleMetricAsString('opamp_gateway_pushes_total')).toMatch(/result="too_large"[^\n]* 1/);
    socket.ws.close();
  });

  it('answers 500 instead of an HTTP reply over the outbound limit, and records it (C21)', async () => {
    const uid = newInstanceUidV7();
    await new PendingPushStore(h.redis).put(
      TENANT,
      uid.toString('hex'),
      'remote_config',
      encodeServerToAgent({ instanceUid: uid, remoteConfig: { config: { configMap: { '': { body: Buffer.alloc(32 * 1024) } } } } }),
    );
    const res = await fetch(h.httpUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf' },
      body: encodeAgentToServer({ instanceUid: uid, capabilities: 1 }),
    });
    expect(res.status).toBe(500);
    expect((await res.arrayBuffer()).byteLength).toBeLessThan(16 * 1024);
  });

  it('answers an empty upgrade budget with 503 and a Retry-After (C28)', async () => {
    const tight = new EdgeHarness();
    await tight.start({ upgradesPerSecond: 1, upgradeBurst: 1, retryAfterRangeS: [30, 90] });
    try {
      await tight.connect();
      const refused = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
        const ws = new WebSocket(tight.wsUrl, { headers: { Authorization: `Bearer ${TOKEN}` } });
        ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
        ws.once('open', () => reject(new Error('upgrade should have been refused')));
        ws.once('error', () => undefined);
      });
      expect(refused.status).toBe(503);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(30);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(90);
    } finally {
      await tight.stop();
    }
  });

  it('serves @elastic/opamp-client-node over HTTP: status in, remote config out, APPLIED back', async () => {
    const configHash = Buffer.alloc(32, 0xab);
    const applied: string[] = [];
    const client = createOpAMPClient({
      endpoint: h.httpUrl,
      headers: { Authorization: `Bearer ${TOKEN}` },
      capabilities: BigInt(0x1 | 0x2 | 0x1000 | 0x2000),
      heartbeatIntervalSeconds: 0.2,
      onMessage: ({ remoteConfig }: { remoteConfig?: { configHash: Uint8Array } }) => {
        if (!remoteConfig) return;
        applied.push(Buffer.from(remoteConfig.configHash).toString('hex'));
        client.setRemoteConfigStatus({
          status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED,
          lastRemoteConfigHash: remoteConfig.configHash,
        });
      },
    });
    client.setAgentDescription({ identifyingAttributes: { 'service.name': 'elastic-node-probe' } });
    client.start();
    try {
      const uid = Buffer.from(client.getInstanceUid() as Uint8Array);
      await h.waitForRecords(uid, 1);
      await new PendingPushStore(h.redis).put(
        TENANT,
        uid.toString('hex'),
        'remote_config',
        encodeServerToAgent({
          instanceUid: uid,
          remoteConfig: { config: { configMap: { '': { body: Buffer.from('receivers: {}'), contentType: 'text/yaml' } } }, configHash },
        }),
      );
      await waitFor(() => applied, (a) => a.length === 1, { timeoutMs: 10_000, description: 'remote config at the client' });
      expect(applied[0]).toBe(configHash.toString('hex'));
      const statuses = await waitFor(
        () =>
          h
            .recordsFor(uid)
            .map((r) => opamp.proto.v1.AgentToServer.decode(r.envelope.agentToServer!))
            .filter((m) => m.remoteConfigStatus?.status === opamp.proto.v1.RemoteConfigStatuses.RemoteConfigStatuses_APPLIED),
        (s) => s.length > 0,
        { timeoutMs: 10_000, description: 'APPLIED on the stream' },
      );
      expect(Buffer.from(statuses[0].remoteConfigStatus!.lastRemoteConfigHash!)).toEqual(configHash);
      const description = opamp.proto.v1.AgentToServer.decode(h.recordsFor(uid)[0].envelope.agentToServer!).agentDescription;
      expect(description?.identifyingAttributes?.[0]?.value?.stringValue).toBe('elastic-node-probe');
    } finally {
      await client.shutdown();
    }
  });
});
