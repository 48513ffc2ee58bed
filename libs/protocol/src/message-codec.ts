/**
 * Owns turning OpAMP messages into bytes and back, with every failure on
 * untrusted input reported as a typed ProtocolError, plus the construction of
 * error-only replies (BAD_REQUEST / UNAVAILABLE).
 *
 * Decisions:
 * - Decoding uses a reader subclass that bounds-checks string fields. The
 *   stock protobufjs Buffer reader silently truncates a string whose length
 *   prefix runs past the end of the input; we treat that as malformed, like
 *   every other length-delimited field.
 * - Invalid UTF-8 in string fields: by default decoded lossily (each bad
 *   sequence becomes U+FFFD), because strings in OpAMP are descriptive (host
 *   names, error texts) and dropping an Agent over one bad byte helps nobody.
 *   `strictUtf8: true` rejects such messages with INVALID_UTF8 instead (one
 *   native `isUtf8` check per string field).
 * - Nesting depth is bounded by protobufjs (Reader.recursionLimit = 100,
 *   also applied when skipping unknown groups); deeper input is malformed.
 * - Unknown fields are skipped, as protobuf requires.
 * - Decoded `bytes` fields are views into the input buffer, not copies.
 * - 64-bit integers are plain numbers (see protobuf-numbers.ts).
 */
import { isUtf8 } from 'node:buffer';
import * as protobufMinimal from 'protobufjs/minimal';
import { opamp } from './opamp-schema';
import { INSTANCE_UID_BYTES } from './instance-uid';
import { ProtocolError } from './protocol-error';
import { toBuffer, WS_HEADER_VALUE } from './ws-framing';

const v1 = opamp.proto.v1;

export interface DecodeOptions {
  /** Reject input longer than this many bytes with TOO_LARGE. */
  readonly maxBytes?: number;
  /** Reject string fields that are not valid UTF-8 (default: decode lossily). */
  readonly strictUtf8?: boolean;
}

export interface EncodeOptions {
  /**
   * Refuse to produce more than this many bytes (TOO_LARGE). For the
   * `*Frame` variants the limit covers header and data, as the spec's WS
   * limit does.
   */
  readonly maxBytes?: number;
}

/** Buffer reader that refuses out-of-range strings and optionally bad UTF-8. */
class CheckedReader extends protobufMinimal.BufferReader {
  constructor(
    buffer: Buffer,
    private readonly strictUtf8: boolean,
  ) {
    super(buffer);
  }

  override string(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) {
      throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`);
    }
    this.pos = end;
    const buf = this.buf as Buffer;
    if (this.strictUtf8 && !isUtf8(buf.subarray(start, end))) {
      throw new ProtocolError('INVALID_UTF8', `string field at offset ${start} is not valid UTF-8`);
    }
    return buf.toString('utf8', start, end);
  }
}

interface Decoder<T> {
  decode(reader: protobufMinimal.Reader): T;
}

function decodeWith<T>(type: Decoder<T>, name: string, bytes: Uint8Array | ArrayBuffer, options: DecodeOptions): T {
  const buffer = toBuffer(bytes);
  if (options.maxBytes !== undefined && buffer.length > options.maxBytes) {
    throw new ProtocolError('TOO_LARGE', `${name} of ${buffer.length} bytes exceeds the limit of ${options.maxBytes}`);
  }
  try {
    return type.decode(new CheckedReader(buffer, options.strictUtf8 === true));
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    // protobufjs throws plain Error/RangeError ("index out of range",
    // "invalid wire type", "maximum nesting depth exceeded"); a hostile
    // nesting could in principle also hit the engine's stack limit.
    const detail = err instanceof Error ? err.message : String(err);
    throw new ProtocolError('MALFORMED_PROTOBUF', `cannot decode ${name}: ${detail}`, { cause: err });
  }
}

function encodeWith<T>(
  type: { encode(message: T, writer?: protobufMinimal.Writer): protobufMinimal.Writer },
  name: string,
  message: T,
  withHeader: boolean,
  options: EncodeOptions,
): Buffer {
  const writer = protobufMinimal.Writer.create();
  // Writing the header into the same writer yields header+data in a single
  // buffer, with no extra copy for WS framing.
  if (withHeader) writer.uint32(WS_HEADER_VALUE);
  type.encode(message, writer);
  if (options.maxBytes !== undefined && writer.len > options.maxBytes) {
    throw new ProtocolError('TOO_LARGE', `${name} of ${writer.len} bytes exceeds the limit of ${options.maxBytes}`);
  }
  return toBuffer(writer.finish());
}

/** Decode an AgentToServer received from an Agent (WS data or HTTP body). */
export function decodeAgentToServer(
  bytes: Uint8Array | ArrayBuffer,
  options: DecodeOptions = {},
): opamp.proto.v1.AgentToServer {
  return decodeWith(v1.AgentToServer, 'AgentToServer', bytes, options);
}

/** Encode a ServerToAgent as a bare protobuf (HTTP response body). */
export function encodeServerToAgent(message: opamp.proto.v1.IServerToAgent, options: EncodeOptions = {}): Buffer {
  return encodeWith(v1.ServerToAgent, 'ServerToAgent', message, false, options);
}

/** Encode a ServerToAgent as a complete WS message (0x00 header + protobuf). */
export function encodeServerToAgentFrame(message: opamp.proto.v1.IServerToAgent, options: EncodeOptions = {}): Buffer {
  return encodeWith(v1.ServerToAgent, 'ServerToAgent', message, true, options);
}

/** Decode a ServerToAgent (agent side: simulator and tests). */
export function decodeServerToAgent(
  bytes: Uint8Array | ArrayBuffer,
  options: DecodeOptions = {},
): opamp.proto.v1.ServerToAgent {
  return decodeWith(v1.ServerToAgent, 'ServerToAgent', bytes, options);
}

/** Encode an AgentToServer as a bare protobuf (agent side: simulator and tests). */
export function encodeAgentToServer(message: opamp.proto.v1.IAgentToServer, options: EncodeOptions = {}): Buffer {
  return encodeWith(v1.AgentToServer, 'AgentToServer', message, false, options);
}

/** Encode an AgentToServer as a complete WS message (agent side). */
export function encodeAgentToServerFrame(message: opamp.proto.v1.IAgentToServer, options: EncodeOptions = {}): Buffer {
  return encodeWith(v1.AgentToServer, 'AgentToServer', message, true, options);
}

/**
 * Return the message's instance_uid if it is exactly 16 bytes; otherwise
 * throw INVALID_INSTANCE_UID (the caller answers BAD_REQUEST). For the
 * optional legacy-ULID mapping use normalizeInstanceUid (instance-uid.ts).
 */
export function requireInstanceUid(message: { instanceUid?: Uint8Array | null }): Uint8Array {
  const uid = message.instanceUid;
  const length = uid ? uid.length : 0;
  if (!uid || length !== INSTANCE_UID_BYTES) {
    throw new ProtocolError(
      'INVALID_INSTANCE_UID',
      length === 0 ? 'instance_uid is missing' : `instance_uid must be ${INSTANCE_UID_BYTES} bytes, got ${length}`,
    );
  }
  return uid;
}

/**
 * A ServerToAgent carrying only `error_response{type=BadRequest}` and the
 * echoed instance_uid (spec: when error_response is set, nothing else is).
 * `instanceUid` is echoed byte for byte; pass whatever the Agent sent.
 */
export function badRequestReply(
  instanceUid: Uint8Array | null | undefined,
  errorMessage: string,
): opamp.proto.v1.ServerToAgent {
  return errorReply(instanceUid, {
    type: v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest,
    errorMessage,
  });
}

/**
 * A ServerToAgent carrying only `error_response{type=Unavailable}` (plus the
 * echoed instance_uid) and, when `retryAfterMs` is given, retry_info in
 * nanoseconds. Agents should disconnect and retry after that delay.
 */
export function unavailableReply(
  instanceUid: Uint8Array | null | undefined,
  retryAfterMs?: number,
  errorMessage = 'server is overloaded, retry later',
): opamp.proto.v1.ServerToAgent {
  const error: opamp.proto.v1.IServerErrorResponse = {
    type: v1.ServerErrorResponseType.ServerErrorResponseType_Unavailable,
    errorMessage,
  };
  if (retryAfterMs !== undefined) {
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new RangeError(`retryAfterMs must be a finite non-negative number, got ${retryAfterMs}`);
    }
    error.retryInfo = { retryAfterNanoseconds: Math.round(retryAfterMs * 1e6) };
  }
  return errorReply(instanceUid, error);
}

function errorReply(
  instanceUid: Uint8Array | null | undefined,
  error: opamp.proto.v1.IServerErrorResponse,
): opamp.proto.v1.ServerToAgent {
  const reply = v1.ServerToAgent.create({ errorResponse: v1.ServerErrorResponse.create(error) });
  if (instanceUid && instanceUid.length > 0) reply.instanceUid = instanceUid;
  return reply;
}
