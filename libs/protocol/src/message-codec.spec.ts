import * as protobufMinimal from 'protobufjs/minimal';
import {
  badRequestReply,
  decodeAgentToServer,
  decodeServerToAgent,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  encodeServerToAgent,
  encodeServerToAgentFrame,
  requireInstanceUid,
  unavailableReply,
} from './message-codec';
import { opamp } from './opamp-schema';
import { ProtocolError, ProtocolErrorCode } from './protocol-error';
import { decodeWsMessage } from './ws-framing';

const v1 = opamp.proto.v1;
const UID = Buffer.from('0190a1b2c3d47e5f8a9b0c1d2e3f4a5b', 'hex');

function protocolErrorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw new Error(`expected ProtocolError, got ${String(err)}`);
  }
  throw new Error('expected an error, none thrown');
}

function expectCode(fn: () => unknown, code: ProtocolErrorCode): ProtocolError {
  const err = protocolErrorOf(fn);
  expect(err.code).toBe(code);
  expect(err.message.length).toBeGreaterThan(10);
  return err;
}

/** Field numbers present on the wire at the top level of a message. */
function topLevelFields(bytes: Uint8Array): number[] {
  const reader = protobufMinimal.Reader.create(bytes);
  const fields: number[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    fields.push(tag >>> 3);
    reader.skipType(tag & 7);
  }
  return fields;
}

/** A length-delimited field: tag, varint length, payload. */
function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  const w = protobufMinimal.Writer.create();
  w.uint32((field << 3) | 2).bytes(payload);
  return Buffer.from(w.finish());
}

const fullMessage: opamp.proto.v1.IAgentToServer = {
  instanceUid: UID,
  sequenceNum: 42,
  capabilities: 0x3003,
  flags: 1,
  agentDescription: {
    identifyingAttributes: [{ key: 'service.name', value: { stringValue: 'collector' } }],
    nonIdentifyingAttributes: [{ key: 'os.type', value: { stringValue: 'linux' } }],
  },
  health: {
    healthy: true,
    startTimeUnixNano: 1_700_000_000_000_000_000,
    componentHealthMap: { 'receiver/otlp': { healthy: false, lastError: 'port in use' } },
    attributes: [{ key: 'k', value: { intValue: -5 } }],
  },
  remoteConfigStatus: { lastRemoteConfigHash: Buffer.from([1, 2, 3]), status: 1 },
  connectionSettingsStatus: { lastConnectionSettingsHash: Buffer.from([9]), status: 3, errorMessage: 'bad cert' },
};

describe('AgentToServer round trip', () => {
  it('decodes what it encodes, including nested maps and 64-bit fields as numbers', () => {
    const decoded = decodeAgentToServer(encodeAgentToServer(fullMessage));
    expect(Buffer.from(decoded.instanceUid).equals(UID)).toBe(true);
    expect(decoded.sequenceNum).toBe(42);
    expect(typeof decoded.capabilities).toBe('number');
    expect(decoded.capabilities).toBe(0x3003);
    expect(decoded.agentDescription?.identifyingAttributes?.[0].value?.stringValue).toBe('collector');
    expect(decoded.health?.componentHealthMap?.['receiver/otlp'].lastError).toBe('port in use');
    expect(decoded.health?.attributes?.[0].value?.intValue).toBe(-5);
    // fixed64 above 2^53 is rounded to the nearest double (documented trade-off).
    expect(decoded.health?.startTimeUnixNano).toBe(1_700_000_000_000_000_000);
    expect(decoded.connectionSettingsStatus?.status).toBe(v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_FAILED);
  });

  it('decodes zero-length data as an all-default message', () => {
    const decoded = decodeAgentToServer(new Uint8Array(0));
    expect(decoded.instanceUid.length).toBe(0);
    expect(decoded.agentDescription).toBeNull();
  });

  it('frames messages with the 0x00 header and no copy of the header', () => {
    const frame = encodeAgentToServerFrame(fullMessage);
    expect(frame[0]).toBe(0x00);
    expect(frame.subarray(1).equals(encodeAgentToServer(fullMessage))).toBe(true);
    expect(decodeAgentToServer(decodeWsMessage(frame)).sequenceNum).toBe(42);
  });
});

describe('adversarial AgentToServer input', () => {
  const valid = encodeAgentToServer(fullMessage);

  it('rejects garbage (0xFF 0xFF) as MALFORMED_PROTOBUF', () => {
    expectCode(() => decodeAgentToServer(Uint8Array.of(0xff, 0xff)), 'MALFORMED_PROTOBUF');
  });

  it('rejects every truncation of a valid message that cuts a field', () => {
    let rejected = 0;
    for (let cut = 1; cut < valid.length; cut++) {
      try {
        decodeAgentToServer(valid.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        rejected++;
      }
    }
    // Only cuts that land exactly on a top-level field boundary decode.
    const boundaries = topLevelFields(valid).length - 1;
    expect(rejected).toBe(valid.length - 1 - boundaries);
  });

  it('rejects a truncated varint field value', () => {
    // field 2 (sequence_num, varint) whose value never terminates
    expectCode(() => decodeAgentToServer(Uint8Array.of(0x10, 0xff, 0xff)), 'MALFORMED_PROTOBUF');
  });

  it('rejects an over-long varint (more than 10 bytes)', () => {
    const bytes = Buffer.concat([Buffer.from([0x10]), Buffer.alloc(11, 0xff), Buffer.from([0x01])]);
    expectCode(() => decodeAgentToServer(bytes), 'MALFORMED_PROTOBUF');
  });

  it('rejects a giant length prefix on a bytes field without allocating it', () => {
    // field 1 (instance_uid) claims 0xFFFFFFFF bytes
    const bytes = Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02);
    expectCode(() => decodeAgentToServer(bytes), 'MALFORMED_PROTOBUF');
  });

  it('rejects a giant length prefix on a string field (stock protobufjs would truncate silently)', () => {
    // custom_message (13) { capability (1): length 1000, only 3 bytes present }
    const inner = Buffer.from([0x0a, 0xe8, 0x07, 0x61, 0x62, 0x63]);
    const bytes = lengthDelimited(13, inner);
    // The stock Buffer reader accepts this and returns a truncated string.
    expect(v1.AgentToServer.decode(bytes).customMessage?.capability).toBe('abc');
    expectCode(() => decodeAgentToServer(bytes), 'MALFORMED_PROTOBUF');
  });

  it('rejects a giant length prefix on a nested message', () => {
    const bytes = Uint8Array.of(0x1a, 0xff, 0xff, 0xff, 0x7f, 0x0a, 0x00);
    expectCode(() => decodeAgentToServer(bytes), 'MALFORMED_PROTOBUF');
  });

  it('rejects an invalid wire type', () => {
    // field 99 with wire type 7
    const w = protobufMinimal.Writer.create().uint32((99 << 3) | 7);
    expectCode(() => decodeAgentToServer(w.finish()), 'MALFORMED_PROTOBUF');
  });

  it('ignores an unknown field 99 appended to a valid message', () => {
    const withUnknown = Buffer.concat([valid, lengthDelimited(99, Buffer.from('from a newer agent'))]);
    const decoded = decodeAgentToServer(withUnknown);
    expect(decoded.sequenceNum).toBe(42);
    expect(v1.AgentToServer.toObject(decoded)).toEqual(v1.AgentToServer.toObject(decodeAgentToServer(valid)));
  });

  it('ignores unknown varint, fixed32, fixed64 and group fields', () => {
    const w = protobufMinimal.Writer.create();
    w.uint32((100 << 3) | 0).uint64(123);
    w.uint32((101 << 3) | 5).fixed32(7);
    w.uint32((102 << 3) | 1).fixed64(8);
    w.uint32((103 << 3) | 3).uint32((1 << 3) | 0).uint32(5).uint32((103 << 3) | 4);
    const decoded = decodeAgentToServer(Buffer.concat([valid, w.finish()]));
    expect(decoded.capabilities).toBe(0x3003);
  });

  it('bounds recursion: deeply nested AnyValue arrays are MALFORMED_PROTOBUF, not a stack overflow', () => {
    // AnyValue{array_value: ArrayValue{values: [AnyValue{...}]}} nested 5000 times
    let inner: Buffer = Buffer.from([0x0a, 0x01, 0x78]); // AnyValue{string_value: "x"}
    for (let i = 0; i < 5000; i++) {
      inner = lengthDelimited(5, lengthDelimited(1, inner));
    }
    const keyValue = Buffer.concat([lengthDelimited(1, Buffer.from('k')), lengthDelimited(2, inner)]);
    const message = lengthDelimited(3, lengthDelimited(1, keyValue));
    const err = expectCode(() => decodeAgentToServer(message), 'MALFORMED_PROTOBUF');
    expect(err.message).toMatch(/nesting depth/);
  });

  it('bounds recursion in skipped unknown groups too', () => {
    const w = protobufMinimal.Writer.create();
    for (let i = 0; i < 500; i++) w.uint32((200 << 3) | 3);
    for (let i = 0; i < 500; i++) w.uint32((200 << 3) | 4);
    expectCode(() => decodeAgentToServer(w.finish()), 'MALFORMED_PROTOBUF');
  });

  it('accepts moderate nesting (depth 20)', () => {
    let inner: Buffer = Buffer.from([0x0a, 0x01, 0x78]);
    for (let i = 0; i < 20; i++) inner = lengthDelimited(5, lengthDelimited(1, inner));
    const keyValue = Buffer.concat([lengthDelimited(1, Buffer.from('k')), lengthDelimited(2, inner)]);
    const decoded = decodeAgentToServer(lengthDelimited(3, lengthDelimited(1, keyValue)));
    let value = decoded.agentDescription?.identifyingAttributes?.[0].value;
    for (let i = 0; i < 20; i++) value = value?.arrayValue?.values?.[0];
    expect(value?.stringValue).toBe('x');
  });

  describe('non-UTF-8 strings', () => {
    // AgentToServer.custom_message{capability: "ab" 0xFF 0xFE "c"}
    const badString = Buffer.from([0x61, 0x62, 0xff, 0xfe, 0x63]);
    const message = Buffer.concat([lengthDelimited(1, UID), lengthDelimited(13, lengthDelimited(1, badString))]);

    it('decodes lossily by default: each invalid byte becomes U+FFFD', () => {
      const decoded = decodeAgentToServer(message);
      expect(decoded.customMessage?.capability).toBe('ab\uFFFD\uFFFDc');
    });

    it('rejects with INVALID_UTF8 when strictUtf8 is set', () => {
      expectCode(() => decodeAgentToServer(message, { strictUtf8: true }), 'INVALID_UTF8');
    });

    it('strict mode still accepts valid multi-byte UTF-8', () => {
      const ok = lengthDelimited(13, lengthDelimited(1, Buffer.from('ключ-🔑', 'utf8')));
      expect(decodeAgentToServer(ok, { strictUtf8: true }).customMessage?.capability).toBe('ключ-🔑');
    });
  });

  it('enforces maxBytes on input', () => {
    expectCode(() => decodeAgentToServer(valid, { maxBytes: valid.length - 1 }), 'TOO_LARGE');
    expect(decodeAgentToServer(valid, { maxBytes: valid.length }).sequenceNum).toBe(42);
  });

  it('decoded bytes fields are views into the input (no copy)', () => {
    const input = Buffer.from(valid);
    const decoded = decodeAgentToServer(input);
    expect(decoded.instanceUid.buffer).toBe(input.buffer);
  });
});

describe('ServerToAgent encoding', () => {
  it('round-trips through decodeServerToAgent', () => {
    const bytes = encodeServerToAgent({
      instanceUid: UID,
      capabilities: 0x7,
      flags: 1,
      remoteConfig: { configHash: Buffer.from([7]), config: { configMap: { '': { body: Buffer.from('a: 1') } } } },
    });
    const decoded = decodeServerToAgent(bytes);
    expect(decoded.capabilities).toBe(7);
    expect(Buffer.from(decoded.remoteConfig?.config?.configMap?.['']?.body ?? []).toString()).toBe('a: 1');
  });

  it('encodeServerToAgentFrame writes header 0x00 followed by the protobuf', () => {
    const message = { instanceUid: UID, capabilities: 1 };
    const frame = encodeServerToAgentFrame(message);
    expect(frame[0]).toBe(0);
    expect(frame.subarray(1).equals(encodeServerToAgent(message))).toBe(true);
  });

  it('refuses to produce a message over maxBytes (outbound limit covers header + data)', () => {
    const message = { instanceUid: UID, customMessage: { data: Buffer.alloc(1000) } };
    const size = encodeServerToAgent(message).length;
    expect(encodeServerToAgent(message, { maxBytes: size }).length).toBe(size);
    expectCode(() => encodeServerToAgentFrame(message, { maxBytes: size }), 'TOO_LARGE');
    expect(encodeServerToAgentFrame(message, { maxBytes: size + 1 }).length).toBe(size + 1);
  });

  it('encodes an all-default message to zero bytes', () => {
    expect(encodeServerToAgent({}).length).toBe(0);
    expect([...encodeServerToAgentFrame({})]).toEqual([0]);
  });
});

describe('requireInstanceUid', () => {
  it('returns a 16-byte uid', () => {
    expect(requireInstanceUid({ instanceUid: UID })).toBe(UID);
  });

  it.each([
    ['missing', undefined],
    ['empty', new Uint8Array(0)],
    ['5 bytes', new Uint8Array(5)],
    ['17 bytes', new Uint8Array(17)],
    ['26-byte ULID text', Buffer.from('01ARZ3NDEKTSV4RRFFQ69G5FAV')],
  ])('rejects %s with INVALID_INSTANCE_UID', (_label, uid) => {
    expectCode(() => requireInstanceUid({ instanceUid: uid }), 'INVALID_INSTANCE_UID');
  });
});

describe('error replies', () => {
  it('badRequestReply sets only instance_uid and error_response{BadRequest, message}', () => {
    const bytes = encodeServerToAgent(badRequestReply(UID, 'cannot decode AgentToServer'));
    expect(topLevelFields(bytes)).toEqual([1, 2]);
    const decoded = decodeServerToAgent(bytes);
    expect(Buffer.from(decoded.instanceUid).equals(UID)).toBe(true);
    expect(decoded.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(decoded.errorResponse?.errorMessage).toBe('cannot decode AgentToServer');
    expect(decoded.errorResponse?.retryInfo).toBeNull();
  });

  it('badRequestReply echoes a wrong-length uid byte for byte and omits a missing one', () => {
    const odd = Buffer.from([1, 2, 3, 4, 5]);
    expect(Buffer.from(decodeServerToAgent(encodeServerToAgent(badRequestReply(odd, 'x'))).instanceUid)).toEqual(odd);
    expect(topLevelFields(encodeServerToAgent(badRequestReply(undefined, 'x')))).toEqual([2]);
  });

  it('unavailableReply carries retry_info in nanoseconds and nothing else', () => {
    const bytes = encodeServerToAgent(unavailableReply(UID, 45_000));
    expect(topLevelFields(bytes)).toEqual([1, 2]);
    const decoded = decodeServerToAgent(bytes);
    expect(decoded.errorResponse?.type).toBe(v1.ServerErrorResponseType.ServerErrorResponseType_Unavailable);
    expect(decoded.errorResponse?.retryInfo?.retryAfterNanoseconds).toBe(45_000_000_000);
    // The oneof case is exposed on the decoded class instance.
    expect((decoded.errorResponse as opamp.proto.v1.ServerErrorResponse | null)?.Details).toBe('retryInfo');
  });

  it('unavailableReply without a delay has no retry_info', () => {
    const decoded = decodeServerToAgent(encodeServerToAgent(unavailableReply(UID)));
    expect(decoded.errorResponse?.retryInfo).toBeNull();
    expect(decoded.errorResponse?.errorMessage).toMatch(/overloaded/);
  });

  it('unavailableReply refuses a negative delay', () => {
    expect(() => unavailableReply(UID, -1)).toThrow(RangeError);
  });
});
