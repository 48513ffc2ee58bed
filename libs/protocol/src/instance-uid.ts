/**
 * Owns the instance_uid formats: the 16 raw bytes on the wire, their
 * canonical UUID text (used in logs, APIs and the OpAMP-Instance-UID header),
 * generation of new UUIDv7 ids for AgentIdentification, and the mapping of
 * legacy ULID ids.
 *
 * Legacy ULIDs: before spec v0.10 instance_uid was a 26-character ULID
 * string. Because `string` and `bytes` share the wire type, such an Agent's
 * id arrives as 26 ASCII bytes. normalizeInstanceUid refuses it by default
 * (INVALID_INSTANCE_UID, answered with BAD_REQUEST), because:
 *   - the spec has required 16 bytes since v0.10 (2024) and every maintained
 *     client sends 16 bytes;
 *   - accepting a second form means two spellings of one identity, which
 *     everything downstream (store keys, routing, duplicate detection) would
 *     have to understand.
 * Deployments with old agents can pass `{ acceptLegacyUlid: true }`: a valid
 * ULID then maps to its 16 bytes for identity and state. Either way the reply
 * must echo instance_uid exactly as received (26 bytes for such an Agent), so
 * callers keep the raw bytes for the echo and use the normalized ones only
 * as the key.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { ProtocolError } from './protocol-error';

export const INSTANCE_UID_BYTES = 16;
export const LEGACY_ULID_LENGTH = 26;

const HEX = '0123456789abcdef';
const HYPHEN = 0x2d;

/** Canonical lowercase 8-4-4-4-12 text of 16 bytes. */
export function instanceUidToString(bytes: Uint8Array): string {
  if (bytes.length !== INSTANCE_UID_BYTES) {
    throw new ProtocolError('INVALID_INSTANCE_UID', `instance_uid must be ${INSTANCE_UID_BYTES} bytes, got ${bytes.length}`);
  }
  let out = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) out += '-';
    out += HEX[bytes[i] >> 4] + HEX[bytes[i] & 0x0f];
  }
  return out;
}

/**
 * Parse UUID text into 16 bytes. Strict: exactly 36 characters, hyphens at
 * positions 8, 13, 18 and 23, hex digits elsewhere (either case, as RFC 9562
 * allows on input). No braces, no "urn:uuid:" prefix, no surrounding space.
 */
export function instanceUidFromString(text: string): Buffer {
  if (text.length !== 36) {
    throw new ProtocolError('INVALID_UUID', `not a canonical UUID (length ${text.length}, expected 36)`);
  }
  const out = Buffer.allocUnsafe(16);
  let j = 0;
  for (let i = 0; i < 36; ) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (text.charCodeAt(i) !== HYPHEN) throw new ProtocolError('INVALID_UUID', `expected '-' at position ${i}`);
      i++;
      continue;
    }
    const hi = hexValue(text.charCodeAt(i));
    const lo = hexValue(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) throw new ProtocolError('INVALID_UUID', `invalid hex digit near position ${i}`);
    out[j++] = (hi << 4) | lo;
    i += 2;
  }
  return out;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  return -1;
}

/** True if `bytes` is a 16-byte UUID with version 7 and the RFC 9562 variant. */
export function isUuidV7(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes[6] >> 4 === 7 && (bytes[8] & 0xc0) === 0x80;
}

/** The Unix millisecond timestamp stored in the first 48 bits of a UUIDv7. */
export function uuidV7Timestamp(bytes: Uint8Array): number {
  if (!isUuidV7(bytes)) throw new ProtocolError('INVALID_UUID', 'not a UUIDv7');
  return bytes[0] * 2 ** 40 + bytes[1] * 2 ** 32 + ((bytes[2] << 24) >>> 0) + (bytes[3] << 16) + (bytes[4] << 8) + bytes[5];
}

// Monotonic state (RFC 9562 §6.2 method 1): the 12-bit rand_a field is a
// counter within one millisecond, seeded randomly each new millisecond with
// its top bit clear so there is room to count up.
let lastMs = -1;
let counter = 0;

/**
 * A new UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, version 7, a 12-bit
 * counter that keeps ids generated in the same millisecond increasing, the
 * 10 variant and 62 random bits. If the clock goes backwards the previous
 * timestamp is reused so ids stay monotonic within this process.
 */
export function newInstanceUidV7(nowMs: number = Date.now()): Buffer {
  let ms = Math.max(Math.floor(nowMs), 0);
  if (ms > lastMs) {
    lastMs = ms;
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
  } else {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      // Counter exhausted: borrow the next millisecond (still monotonic).
      lastMs = ms = lastMs + 1;
      counter = 0;
    }
  }
  const out = Buffer.allocUnsafe(16);
  randomFillSync(out, 8, 8);
  out.writeUIntBE(ms, 0, 6);
  out[6] = 0x70 | (counter >> 8);
  out[7] = counter & 0xff;
  out[8] = 0x80 | (out[8] & 0x3f);
  return out;
}

// Crockford base32 alphabet as used by ULID (no I, L, O, U).
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CROCKFORD_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < CROCKFORD.length; i++) {
  CROCKFORD_VALUE[CROCKFORD.charCodeAt(i)] = i;
  CROCKFORD_VALUE[CROCKFORD.toLowerCase().charCodeAt(i)] = i;
}

/**
 * Decode a canonical 26-character ULID (ASCII bytes or text) into its 16
 * bytes. Case-insensitive; Crockford's ambiguous aliases (I, L, O) are not
 * accepted because canonical ULIDs never contain them. The first character
 * must be 0-7, since 26 characters carry 130 bits and a ULID has 128.
 * Returns undefined if the input is not a valid ULID.
 */
export function decodeUlid(input: Uint8Array | string): Buffer | undefined {
  if (input.length !== LEGACY_ULID_LENGTH) return undefined;
  const charAt = typeof input === 'string' ? (i: number) => input.charCodeAt(i) : (i: number) => input[i];
  // Accumulate 5 bits per character into a 130-bit big-endian number.
  let value = 0n;
  for (let i = 0; i < LEGACY_ULID_LENGTH; i++) {
    const code = charAt(i);
    const digit = code < 128 ? CROCKFORD_VALUE[code] : -1;
    if (digit < 0) return undefined;
    if (i === 0 && digit > 7) return undefined;
    value = (value << 5n) | BigInt(digit);
  }
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(value >> 64n, 0);
  out.writeBigUInt64BE(value & 0xffffffffffffffffn, 8);
  return out;
}

export interface NormalizeInstanceUidOptions {
  /** Map 26-byte legacy ULID ids to their 16 bytes instead of refusing them. */
  readonly acceptLegacyUlid?: boolean;
}

/**
 * The 16-byte identity for a received instance_uid: 16 bytes are returned as
 * they are (same memory); a 26-byte ULID is mapped when `acceptLegacyUlid` is
 * on; anything else throws INVALID_INSTANCE_UID. The reply still echoes the
 * original bytes.
 */
export function normalizeInstanceUid(
  bytes: Uint8Array | null | undefined,
  options: NormalizeInstanceUidOptions = {},
): Uint8Array {
  const length = bytes ? bytes.length : 0;
  if (bytes && length === INSTANCE_UID_BYTES) return bytes;
  if (bytes && length === LEGACY_ULID_LENGTH) {
    const ulid = decodeUlid(bytes);
    if (ulid && options.acceptLegacyUlid) return ulid;
    throw new ProtocolError(
      'INVALID_INSTANCE_UID',
      ulid
        ? 'instance_uid is a legacy 26-character ULID; this server requires 16 bytes (spec v0.10+)'
        : `instance_uid must be ${INSTANCE_UID_BYTES} bytes, got ${length}`,
    );
  }
  throw new ProtocolError(
    'INVALID_INSTANCE_UID',
    length === 0 ? 'instance_uid is missing' : `instance_uid must be ${INSTANCE_UID_BYTES} bytes, got ${length}`,
  );
}
