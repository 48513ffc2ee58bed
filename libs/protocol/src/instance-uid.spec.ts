import { createHash } from 'node:crypto';
import {
  decodeUlid,
  instanceUidFromString,
  instanceUidToString,
  isUuidV7,
  newInstanceUidV7,
  normalizeInstanceUid,
  uuidV7Timestamp,
} from './instance-uid';
import { ProtocolError } from './protocol-error';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ProtocolError ? err.code : `not a ProtocolError: ${String(err)}`;
  }
  return undefined;
}

describe('UUID text', () => {
  const bytes = Buffer.from('f81d4fae7dec11d0a76500a0c91e6bf6', 'hex');

  it('formats 16 bytes as canonical lowercase 8-4-4-4-12', () => {
    expect(instanceUidToString(bytes)).toBe('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
  });

  it('parses canonical text back to the same bytes, upper case included', () => {
    expect(instanceUidFromString('f81d4fae-7dec-11d0-a765-00a0c91e6bf6').equals(bytes)).toBe(true);
    expect(instanceUidFromString('F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6').equals(bytes)).toBe(true);
  });

  it.each([
    'f81d4fae7dec11d0a76500a0c91e6bf6',
    '{f81d4fae-7dec-11d0-a765-00a0c91e6bf6}',
    'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    ' f81d4fae-7dec-11d0-a765-00a0c91e6bf',
    'f81d4fae-7dec-11d0-a765_00a0c91e6bf6',
    'g81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    'f81d4fae-7dec-11d0-a765-00a0c91e6bf+',
    'f81d4fa-e7dec-11d0-a765-00a0c91e6bf6',
  ])('strictly refuses %p', (text) => {
    expect(codeOf(() => instanceUidFromString(text))).toBe('INVALID_UUID');
  });

  it('refuses to format anything but 16 bytes', () => {
    expect(codeOf(() => instanceUidToString(new Uint8Array(15)))).toBe('INVALID_INSTANCE_UID');
  });
});

describe('newInstanceUidV7', () => {
  it('sets version 7, variant 10 and the millisecond timestamp', () => {
    const now = Date.UTC(2026, 10, 22, 1, 2, 3, 456);
    const uid = newInstanceUidV7(now);
    expect(uid.length).toBe(16);
    expect(uid[6] >> 4).toBe(7);
    expect(uid[8] >> 6).toBe(0b10);
    expect(uid.readUIntBE(0, 6)).toBe(now);
    expect(uuidV7Timestamp(uid)).toBe(now);
    expect(isUuidV7(uid)).toBe(true);
    expect(instanceUidToString(uid)[14]).toBe('7');
  });

  it('is strictly increasing within one millisecond and across a clock step back', () => {
    const t = Date.UTC(2030, 0, 1);
    const ids = [
      ...Array.from({ length: 5000 }, () => newInstanceUidV7(t)),
      newInstanceUidV7(t - 10_000),
      newInstanceUidV7(t + 1),
    ];
    for (let i = 1; i < ids.length; i++) {
      expect(Buffer.compare(ids[i - 1], ids[i])).toBe(-1);
    }
    // 5000 ids in one ms exhaust the 12-bit counter, so the timestamp moves forward instead of wrapping.
    expect(uuidV7Timestamp(ids[4999])).toBeGreaterThan(t);
    expect(ids.every(isUuidV7)).toBe(true);
  });

  it('uses fresh randomness: 1000 ids are distinct in their random tail', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => newInstanceUidV7().subarray(8).toString('hex')));
    expect(tails.size).toBe(1000);
  });
});

describe('isUuidV7', () => {
  it('rejects v4, wrong variant and wrong length', () => {
    const v4 = Buffer.from('f47ac10b58cc4372a5670e02b2c3d479', 'hex');
    expect(isUuidV7(v4)).toBe(false);
    const wrongVariant = newInstanceUidV7();
    wrongVariant[8] &= 0x3f;
    expect(isUuidV7(wrongVariant)).toBe(false);
    expect(isUuidV7(new Uint8Array(26))).toBe(false);
  });
});

describe('decodeUlid', () => {
  /** Independent Crockford decoding: digits to a base-32 BigInt via string lookup. */
  function referenceUlid(text: string): Buffer {
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const n = [...text.toUpperCase()].reduce((acc, c) => acc * 32n + BigInt(alphabet.indexOf(c)), 0n);
    return Buffer.from(n.toString(16).padStart(32, '0'), 'hex');
  }

  it('decodes the ULID spec example into its 128 bits', () => {
    const text = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    const decoded = decodeUlid(Buffer.from(text, 'ascii'));
    expect(decoded?.toString('hex')).toBe(referenceUlid(text).toString('hex'));
    // The first 10 characters encode the 48-bit ms timestamp (2016-07-30).
    const timestamp = Number(referenceUlid('0000000000000000' + text.slice(0, 10)).readBigUInt64BE(8));
    expect(decoded?.readUIntBE(0, 6)).toBe(timestamp);
    expect(new Date(timestamp).toISOString().slice(0, 10)).toBe('2016-07-30');
  });

  it('is case-insensitive and decodes the maximum ULID', () => {
    expect(decodeUlid('01arz3ndektsv4rrffq69g5fav')?.equals(referenceUlid('01ARZ3NDEKTSV4RRFFQ69G5FAV'))).toBe(true);
    expect(decodeUlid('7ZZZZZZZZZZZZZZZZZZZZZZZZZ')?.toString('hex')).toBe('f'.repeat(32));
  });

  it.each([
    ['overflowing first char', '8ZZZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['letter U', '01ARZ3NDEKTSV4RRFFQ69G5FAU'],
    ['ambiguous I', '01ARZ3NDEKTSV4RRFFQ69G5FAI'],
    ['too short', '01ARZ3NDEKTSV4RRFFQ69G5FA'],
    ['non-ASCII', '01ARZ3NDEKTSV4RRFFQ69G5FAé'],
  ])('refuses %s', (_label, text) => {
    expect(decodeUlid(text)).toBeUndefined();
  });
});

describe('normalizeInstanceUid', () => {
  const ulidText = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
  const ulidBytes = Buffer.from(ulidText, 'ascii');

  it('returns 16 bytes unchanged (same memory)', () => {
    const uid = newInstanceUidV7();
    expect(normalizeInstanceUid(uid)).toBe(uid);
  });

  it('refuses a legacy ULID by default with a message saying why', () => {
    try {
      normalizeInstanceUid(ulidBytes);
      throw new Error('expected an error');
    } catch (err) {
      expect((err as ProtocolError).code).toBe('INVALID_INSTANCE_UID');
      expect((err as ProtocolError).message).toMatch(/legacy/);
    }
  });

  it('maps a legacy ULID to its 16 bytes when enabled, without touching the input', () => {
    const copy = Buffer.from(ulidBytes);
    const normalized = normalizeInstanceUid(ulidBytes, { acceptLegacyUlid: true });
    expect(normalized.length).toBe(16);
    expect(Buffer.from(normalized).equals(decodeUlid(ulidText) ?? Buffer.alloc(0))).toBe(true);
    expect(ulidBytes.equals(copy)).toBe(true);
  });

  it('refuses 26 bytes that are not a ULID even when legacy ids are enabled', () => {
    const notUlid = Buffer.from(createHash('sha256').update('x').digest('hex').slice(0, 26));
    notUlid[0] = 0x7e; // '~'
    expect(codeOf(() => normalizeInstanceUid(notUlid, { acceptLegacyUlid: true }))).toBe('INVALID_INSTANCE_UID');
  });

  it.each([[undefined], [null], [new Uint8Array(0)], [new Uint8Array(5)], [new Uint8Array(32)]])(
    'refuses %p',
    (bytes) => {
      expect(codeOf(() => normalizeInstanceUid(bytes, { acceptLegacyUlid: true }))).toBe('INVALID_INSTANCE_UID');
    },
  );
});
