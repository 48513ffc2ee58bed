/**
 * Decodable messages with values the fleet cannot store (U+0000, beyond
 * int64), over both transports against real Kafka and Redis: the bad part is
 * dropped before Kafka and the agent told BAD_REQUEST, the rest streamed (so
 * no sequence number is lost); a message with nothing storable is refused.
 */
import {
  decodeServerToAgent,
  decodeWsMessage,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  newInstanceUidV7,
  opamp,
} from '@opamp/protocol';
import { EdgeHarness, TOKEN } from './edge-harness';

const BAD_REQUEST = opamp.proto.v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest;
const reply = (frame: Buffer) => decodeServerToAgent(decodeWsMessage(frame));

const described = (uid: Buffer, seq: number): opamp.proto.v1.IAgentToServer => ({
  instanceUid: uid,
  sequenceNum: seq,
  capabilities: 0x3,
  agentDescription: {
    identifyingAttributes: [
      { key: 'service.name', value: { stringValue: 'otel\u0000col' } },
      { key: 'service.instance.id', value: { stringValue: 'i-1' } },
    ],
  },
});

describe('values the fleet cannot store (real Kafka and Redis)', () => {
  const h = new EdgeHarness();

  beforeAll(() => h.start({ httpPushWaitMs: 0 }));
  afterAll(() => h.stop());

  const streamed = async (uid: Buffer, count: number) =>
    (await h.waitForRecords(uid, count))
      .filter((r) => r.envelope.event === 'agentToServer')
      .map((r) => opamp.proto.v1.AgentToServer.decode(r.envelope.agentToServer!));
  const unstorable = async () =>
    (await h.edge.metrics.rejections.get()).values.find((v) => v.labels.reason === 'unstorable_value')?.value ?? 0;

  it('WebSocket: drops the bad attribute, streams the rest, answers BAD_REQUEST with the reason, and counts it', async () => {
    const before = await unstorable();
    const socket = await h.connect();
    const uid = newInstanceUidV7();
    socket.send(encodeAgentToServerFrame(described(uid, 0)));
    const [first] = await socket.nextMessages(1);
    const answer = reply(first);
    expect(answer.errorResponse?.type).toBe(BAD_REQUEST);
    expect(answer.errorResponse?.errorMessage).toMatch(/identifyingAttributes\[0\].*U\+0000/);
    // connected + the message, without the bad attribute and with its sequence number.
    const [msg] = await streamed(uid, 2);
    expect(Number(msg.sequenceNum)).toBe(0);
    expect(msg.agentDescription?.identifyingAttributes?.map((a) => a.key)).toEqual(['service.instance.id']);
    expect(await unstorable()).toBe(before + 1);

    // A sequence number beyond int64 cannot be stored at all: refused, nothing streamed.
    socket.send(encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: 2 ** 63, capabilities: 0x3 }));
    socket.send(encodeAgentToServerFrame({ instanceUid: uid, sequenceNum: 1, capabilities: 0x3 }));
    const [, refused, ack] = (await socket.nextMessages(3)).map(reply);
    expect(refused.errorResponse?.type).toBe(BAD_REQUEST);
    expect(refused.errorResponse?.errorMessage).toMatch(/sequenceNum .* int64/);
    expect(ack.errorResponse).toBeNull();
    // Per-agent order: once seq 1 is on the stream, the refused message would have been before it.
    expect((await streamed(uid, 3)).map((m) => Number(m.sequenceNum))).toEqual([0, 1]);
    expect(await unstorable()).toBe(before + 2);
    socket.ws.close();
  });

  it('plain HTTP: the same, in the reply to the POST', async () => {
    const before = await unstorable();
    const uid = newInstanceUidV7();
    const post = (body: Buffer) =>
      fetch(h.httpUrl, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-protobuf' },
        body,
      }).then(async (res) => ({ status: res.status, reply: decodeServerToAgent(Buffer.from(await res.arrayBuffer())) }));

    const dropped = await post(encodeAgentToServer(described(uid, 1)));
    expect(dropped.status).toBe(200);
    expect(dropped.reply.errorResponse?.type).toBe(BAD_REQUEST);
    expect(dropped.reply.errorResponse?.errorMessage).toMatch(/identifyingAttributes\[0\]/);
    const [msg] = await streamed(uid, 1);
    expect(msg.agentDescription?.identifyingAttributes?.map((a) => a.key)).toEqual(['service.instance.id']);

    const refused = await post(encodeAgentToServer({ instanceUid: uid, sequenceNum: 2 ** 63 }));
    expect(refused.reply.errorResponse?.type).toBe(BAD_REQUEST);
    expect(refused.reply.errorResponse?.errorMessage).toMatch(/sequenceNum/);
    expect((await post(encodeAgentToServer({ instanceUid: uid, sequenceNum: 2 }))).reply.errorResponse).toBeNull();
    expect((await streamed(uid, 2)).map((m) => Number(m.sequenceNum))).toEqual([1, 2]);
    expect(await unstorable()).toBe(before + 2);
  });
});
