/**
 * Owns the OpAMP WebSocket message framing: every binary WS message is a
 * varint header followed by the protobuf bytes (spec "WebSocket Message
 * Format"). The header must currently be 0, so a server always writes the
 * single byte 0x00 and treats any other value as malformed.
 *
 * Decoding returns a view (`subarray`) into the received message rather than a
 * copy: the gateway decodes it immediately. Callers whose WS library reuses
 * the message buffer after the callback (uWebSockets.js) must not keep the
 * view, nor anything decoded from it that holds bytes, beyond the callback.
 */
import { ProtocolError } from './protocol-error';

/** The only header value the current spec allows. */
export const WS_HEADER_VALUE = 0;

/** A uint64 varint never needs more than 10 bytes. */
export const MAX_VARINT_BYTES = 10;

/** Frame a protobuf payload for sending: 0x00 followed by `data`. */
export function encodeWsPayload(data: Uint8Array): Buffer {
  // One allocation and one copy; encodeServerToAgentFrame (message-codec)
  // avoids even that by writing the header into the protobuf writer.
  const frame = Buffer.allocUnsafe(data.length + 1);
  frame[0] = WS_HEADER_VALUE;
  frame.set(data, 1);
  return frame;
}

/** Result of reading the varint header of a WS message. */
export interface WsHeader {
  /** Header value (0..2^64-1), as bigint so no value is rounded. */
  readonly value: bigint;
  /** Number of bytes the varint occupies (1..10). */
  readonly length: number;
}

/**
 * Read the varint header at the start of `message`. Throws MALFORMED_FRAME for
 * an empty message, a varint cut off by the end of the message, or one that
 * is longer than 10 bytes or overflows 64 bits.
 */
export function readWsHeader(message: Uint8Array): WsHeader {
  // Fast path: the header is almost always the single byte 0x00.
  if (message.length > 0 && message[0] === 0) {
    return ZERO_HEADER;
  }
  let value = 0n;
  const limit = Math.min(message.length, MAX_VARINT_BYTES);
  for (let i = 0; i < limit; i++) {
    const byte = message[i];
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) {
      // The 10th byte may carry only the top bit of a uint64.
      if (i === MAX_VARINT_BYTES - 1 && byte > 1) {
        throw new ProtocolError('MALFORMED_FRAME', 'WebSocket message header varint overflows 64 bits');
      }
      return { value, length: i + 1 };
    }
  }
  if (message.length < MAX_VARINT_BYTES) {
    throw new ProtocolError(
      'MALFORMED_FRAME',
      message.length === 0 ? 'empty WebSocket message: missing header' : 'truncated WebSocket message header varint',
    );
  }
  throw new ProtocolError('MALFORMED_FRAME', 'WebSocket message header varint is longer than 10 bytes');
}

const ZERO_HEADER: WsHeader = Object.freeze({ value: 0n, length: 1 });

/**
 * Decode a received binary WS message into its protobuf bytes. The data is
 * everything after the header (its length is the message length minus the
 * header length) and may be empty. A non-zero header is malformed.
 */
export function decodeWsMessage(message: Uint8Array | ArrayBuffer): Buffer {
  const bytes = toBuffer(message);
  const header = readWsHeader(bytes);
  if (header.value !== 0n) {
    throw new ProtocolError(
      'MALFORMED_FRAME',
      `unsupported WebSocket message header ${header.value} (only 0 is defined)`,
    );
  }
  return bytes.subarray(header.length);
}

/** View any byte container as a Buffer without copying. */
export function toBuffer(bytes: Uint8Array | ArrayBuffer): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof ArrayBuffer) return Buffer.from(bytes);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
