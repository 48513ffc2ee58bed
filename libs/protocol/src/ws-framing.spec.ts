import { ProtocolError } from './protocol-error';
import { decodeWsMessage, encodeWsPayload, MAX_VARINT_BYTES, readWsHeader, toBuffer } from './ws-framing';

function expectFrameError(fn: () => unknown, messagePart: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('MALFORMED_FRAME');
    expect((err as ProtocolError).message).toMatch(messagePart);
    return;
  }
  throw new Error('expected a MALFORMED_FRAME error');
}

describe('encodeWsPayload', () => {
  it('prefixes the data with the single header byte 0x00', () => {
    const frame = encodeWsPayload(Uint8Array.of(0x0a, 0x02, 0xaa, 0xbb));
    expect([...frame]).toEqual([0x00, 0x0a, 0x02, 0xaa, 0xbb]);
  });

  it('frames empty data as the single byte 0x00', () => {
    expect([...encodeWsPayload(new Uint8Array(0))]).toEqual([0x00]);
  });
});

describe('decodeWsMessage', () => {
  it('returns the bytes after a 0x00 header as a view without copying', () => {
    const message = Buffer.from([0x00, 1, 2, 3]);
    const data = decodeWsMessage(message);
    expect([...data]).toEqual([1, 2, 3]);
    expect(data.buffer).toBe(message.buffer);
    expect(data.byteOffset).toBe(message.byteOffset + 1);
  });

  it('accepts a header-only message: zero-length data is valid', () => {
    expect(decodeWsMessage(Uint8Array.of(0x00)).length).toBe(0);
  });

  it('accepts ArrayBuffer and Uint8Array inputs (uWS passes ArrayBuffer)', () => {
    const arr = Uint8Array.of(9, 0x00, 7, 8).subarray(1);
    expect([...decodeWsMessage(arr)]).toEqual([7, 8]);
    expect([...decodeWsMessage(Uint8Array.of(0, 5).buffer)]).toEqual([5]);
  });

  it('computes data length as message length minus header length for a non-minimal zero varint', () => {
    // 0x80 0x00 is a 2-byte encoding of 0: still header 0, data starts at byte 2.
    expect([...decodeWsMessage(Uint8Array.of(0x80, 0x00, 0x42))]).toEqual([0x42]);
  });

  it('rejects a non-zero single-byte header as malformed', () => {
    expectFrameError(() => decodeWsMessage(Uint8Array.of(0x01, 0x0a, 0x00)), /header 1/);
  });

  it('rejects a multi-byte non-zero header (0x80 0x01 = 128)', () => {
    expectFrameError(() => decodeWsMessage(Uint8Array.of(0x80, 0x01, 0x0a)), /header 128/);
  });

  it('rejects an empty message (no header at all)', () => {
    expectFrameError(() => decodeWsMessage(new Uint8Array(0)), /missing header/);
  });

  it('rejects a truncated varint (continuation bit on the last byte)', () => {
    expectFrameError(() => decodeWsMessage(Uint8Array.of(0x80)), /truncated/);
    expectFrameError(() => decodeWsMessage(Uint8Array.of(0xff, 0xff, 0xff)), /truncated/);
  });

  it('rejects a varint longer than 10 bytes', () => {
    const overLong = new Uint8Array(MAX_VARINT_BYTES + 2).fill(0x80);
    overLong[MAX_VARINT_BYTES + 1] = 0x00;
    expectFrameError(() => decodeWsMessage(overLong), /longer than 10 bytes/);
  });

  it('rejects a 10-byte varint that overflows 64 bits', () => {
    const overflow = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
    expectFrameError(() => decodeWsMessage(overflow), /overflows 64 bits/);
  });
});

describe('readWsHeader', () => {
  it('reads the maximum uint64 in exactly 10 bytes', () => {
    const max = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x99);
    expect(readWsHeader(max)).toEqual({ value: 2n ** 64n - 1n, length: 10 });
  });

  it('reads a 2-byte varint', () => {
    expect(readWsHeader(Uint8Array.of(0xac, 0x02))).toEqual({ value: 300n, length: 2 });
  });
});

describe('toBuffer', () => {
  it('shares memory with the input instead of copying', () => {
    const source = new Uint8Array([1, 2, 3]);
    const view = toBuffer(source);
    source[0] = 42;
    expect(view[0]).toBe(42);
  });
});
