/**
 * Owns mutated AgentToServer messages: what a broken or hostile agent sends.
 * Two families: structurally valid protobuf that carries hostile values
 * (hostile text, deep or wide nesting, odd instance_uid lengths, extreme
 * numbers), and byte-level damage to a valid encoding (flipped bytes,
 * truncation, splices, garbage, a bad WebSocket header). Pure: the same
 * stream gives the same mutants.
 */
import { encodeAgentToServer, opamp } from '@opamp/protocol';
import { Writer } from 'protobufjs/minimal';
import { drawBytes, drawInt, drawOne, hostileText, type Rng } from './fuzz-draw';

const v1 = opamp.proto.v1;

export const FRAME_MUTATIONS = [
  'hostile-values',
  'deep-nesting',
  'wide',
  'uid-length',
  'numbers',
  'bytes-flip',
  'truncate',
  'splice',
  'garbage',
  'ws-header',
] as const;
export type FrameMutation = (typeof FRAME_MUTATIONS)[number];

/** Mutations whose body is still a decodable AgentToServer. */
export const STRUCTURAL_MUTATIONS: readonly FrameMutation[] = ['hostile-values', 'deep-nesting', 'wide', 'uid-length', 'numbers'];

export interface MutatedMessage {
  mutation: FrameMutation;
  /** The protobuf body, without the WebSocket header. */
  body: Buffer;
  /** The WebSocket message: header + body (or a damaged header for `ws-header`). */
  frame: Buffer;
}

function attr(key: string, value: opamp.proto.v1.IAnyValue): opamp.proto.v1.IKeyValue {
  return { key, value };
}

/** Field `field` of wire type 2 (length-delimited) holding `bytes`. */
function delimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.from(Writer.create().uint32((field << 3) | 2).bytes(bytes).finish());
}

/**
 * An encoded AnyValue nested `depth` levels (array_value = 5 and kvlist_value = 6
 * alternating), written by hand: protobufjs' encoder refuses what its decoder would.
 */
export function encodeNestedAnyValue(depth: number, leaf: string): Buffer {
  let value = delimited(1, Buffer.from(leaf));
  for (let i = 0; i < depth; i++) {
    value = i % 2 === 0 ? delimited(5, delimited(1, value)) : delimited(6, delimited(1, Buffer.concat([delimited(1, Buffer.from(`k${i}`)), delimited(2, value)])));
  }
  return value;
}

/** agent_description (3) with one non-identifying attribute (2) `key` = the encoded AnyValue. */
function descriptionWith(key: string, anyValue: Buffer): Buffer {
  return delimited(3, delimited(2, Buffer.concat([delimited(1, Buffer.from(key)), delimited(2, anyValue)])));
}

function nestedHealth(depth: number, text: string): opamp.proto.v1.IComponentHealth {
  let health: opamp.proto.v1.IComponentHealth = { healthy: false, status: text, lastError: text };
  for (let i = 0; i < depth; i++) health = { healthy: true, status: 'ok', componentHealthMap: { [`c${i}`]: health } };
  return health;
}

/** A well-formed full-state message with hostile values in every text field an agent controls. */
function hostileMessage(rng: Rng, uid: Uint8Array, seq: number): opamp.proto.v1.IAgentToServer {
  const text = () => hostileText(rng);
  return {
    instanceUid: uid,
    sequenceNum: seq,
    capabilities: 0x1fff,
    agentDescription: {
      identifyingAttributes: [attr('service.name', { stringValue: text() }), attr(text(), { stringValue: text() })],
      nonIdentifyingAttributes: [attr('host.name', { stringValue: text() }), attr(text(), { bytesValue: drawBytes(rng, drawInt(rng, 0, 64)) })],
    },
    health: { healthy: rng() < 0.5, status: text(), lastError: text(), componentHealthMap: { [text()]: { healthy: false, lastError: text() } } },
    effectiveConfig: { configMap: { configMap: { [text()]: { body: Buffer.from(text()), contentType: text() } } } },
    remoteConfigStatus: { lastRemoteConfigHash: drawBytes(rng, drawInt(rng, 0, 40)), status: drawInt(rng, 0, 7), errorMessage: text() },
    customCapabilities: { capabilities: [text(), text()] },
    customMessage: { capability: text(), type: text(), data: Buffer.from(text()) },
  };
}

function structural(rng: Rng, mutation: FrameMutation, uid: Uint8Array, seq: number): opamp.proto.v1.IAgentToServer {
  switch (mutation) {
    case 'deep-nesting':
      // The deep description is appended by mutateAgentMessage; the health tree stays within the encoder's limit.
      return { instanceUid: uid, sequenceNum: seq, capabilities: 0x1fff, health: nestedHealth(drawInt(rng, 5, 40), hostileText(rng)) };
    case 'wide': {
      const n = drawInt(rng, 500, 4000);
      const attrs = Array.from({ length: n }, (_, i) => attr(`a${i}.${hostileText(rng, 'plain')}`, { stringValue: hostileText(rng, drawOne(rng, ['plain', 'nul', 'unicode'] as const)) }));
      const components: Record<string, opamp.proto.v1.IComponentHealth> = {};
      for (let i = 0; i < n / 4; i++) components[`c${i}`] = { healthy: rng() < 0.5, status: hostileText(rng, 'plain') };
      return { instanceUid: uid, sequenceNum: seq, capabilities: 0x1fff, agentDescription: { nonIdentifyingAttributes: attrs }, health: { healthy: true, componentHealthMap: components } };
    }
    case 'uid-length':
      return { ...hostileMessage(rng, drawBytes(rng, drawOne(rng, [0, 1, 15, 17, 32, 255])), seq) };
    case 'numbers':
      return {
        instanceUid: uid,
        sequenceNum: drawOne(rng, [0, 1, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER, seq + drawInt(rng, 2, 1e6)]),
        capabilities: drawOne(rng, [0, 0xffffffff, 2 ** 53 - 1, drawInt(rng, 0, 0xffff)]),
        flags: drawOne(rng, [0, 1, 0xffffffff]),
        remoteConfigStatus: { status: drawOne(rng, [-1, 99, 2 ** 31 - 1]) },
        health: { healthy: true, startTimeUnixNano: drawOne(rng, [0, Number.MAX_SAFE_INTEGER]), statusTimeUnixNano: Number.MAX_SAFE_INTEGER },
      };
    default:
      return hostileMessage(rng, uid, seq);
  }
}

function damage(rng: Rng, mutation: FrameMutation, valid: Buffer): Buffer {
  const out = Buffer.from(valid);
  switch (mutation) {
    case 'bytes-flip': {
      const flips = drawInt(rng, 1, Math.max(1, Math.ceil(out.length / 50)));
      for (let i = 0; i < flips; i++) out[drawInt(rng, 0, out.length - 1)] ^= 1 << drawInt(rng, 0, 7);
      return out;
    }
    case 'truncate':
      return out.subarray(0, drawInt(rng, 0, Math.max(0, out.length - 1)));
    case 'splice': {
      const from = drawInt(rng, 0, out.length - 1);
      const piece = out.subarray(from, from + drawInt(rng, 1, 64));
      const at = drawInt(rng, 0, out.length);
      return Buffer.concat([out.subarray(0, at), piece, piece, out.subarray(at)]);
    }
    default:
      return drawBytes(rng, drawInt(rng, 0, 2048));
  }
}

/**
 * One mutant for the agent `uid` whose next sequence number is `seq`,
 * of `mutation` (drawn when omitted).
 */
export function mutateAgentMessage(rng: Rng, uid: Uint8Array, seq: number, mutation: FrameMutation = drawOne(rng, FRAME_MUTATIONS)): MutatedMessage {
  const header = Buffer.from([0]);
  if (STRUCTURAL_MUTATIONS.includes(mutation)) {
    let body = encodeAgentToServer(structural(rng, mutation, uid, seq));
    // Around protobufjs' recursion limit (100 messages, 2 to 3 per level): some decode, some are refused.
    if (mutation === 'deep-nesting') body = Buffer.concat([body, descriptionWith('deep', encodeNestedAnyValue(drawInt(rng, 20, 70), hostileText(rng)))]);
    return { mutation, body, frame: Buffer.concat([header, body]) };
  }
  const valid = encodeAgentToServer(hostileMessage(rng, uid, seq));
  if (mutation === 'ws-header') {
    // A non-zero header, or a varint that never ends.
    const bad = rng() < 0.5 ? Buffer.from([drawInt(rng, 1, 127)]) : Buffer.alloc(drawInt(rng, 11, 16), 0xff);
    return { mutation, body: valid, frame: Buffer.concat([bad, valid]) };
  }
  const body = damage(rng, mutation, valid);
  return { mutation, body, frame: Buffer.concat([header, body]) };
}

/** The decoded form of a structural mutant (for tests and for checking what the server stored). */
export function decodeMutant(body: Buffer): opamp.proto.v1.AgentToServer {
  return v1.AgentToServer.decode(body);
}
