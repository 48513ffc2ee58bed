import * as zlib from 'node:zlib';
import { acceptsGzip, decodeRequestBody, encodeResponseBody, parseContentEncoding } from './http-body';
import { httpStatusForError, ProtocolError } from './protocol-error';

const KiB = 1024;
const MiB = 1024 * KiB;

function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw new Error(`expected ProtocolError, got ${String(err)}`);
  }
  throw new Error('expected an error');
}

/** gzip `total` zero bytes without ever holding them all in memory. */
async function gzipZeros(total: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  const chunk = Buffer.alloc(MiB);
  for (let written = 0; written < total; written += chunk.length) {
    if (!gzip.write(chunk.subarray(0, Math.min(chunk.length, total - written)))) {
      await new Promise((resolve) => gzip.once('drain', resolve));
    }
  }
  gzip.end();
  await done;
  return Buffer.concat(out);
}

describe('parseContentEncoding', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['identity', 'identity'],
    ['gzip', 'gzip'],
    ['GZip', 'gzip'],
    [' x-gzip ', 'gzip'],
    ['identity, gzip', 'gzip'],
  ])('%p is %s', (header, expected) => {
    expect(parseContentEncoding(header)).toBe(expected);
  });

  it.each(['br', 'deflate', 'zstd', 'gzip, gzip', 'gzip, br'])('refuses %p with UNSUPPORTED_ENCODING (415)', (header) => {
    const err = errorOf(() => parseContentEncoding(header));
    expect(err.code).toBe('UNSUPPORTED_ENCODING');
    expect(httpStatusForError(err.code)).toBe(415);
  });
});

describe('decodeRequestBody', () => {
  const payload = Buffer.from('0a10' + '11'.repeat(16), 'hex');

  it('returns an identity body as is, without copying', () => {
    const out = decodeRequestBody(payload, undefined, 1 * MiB);
    expect(out.buffer).toBe(payload.buffer);
    expect(out.equals(payload)).toBe(true);
  });

  it('inflates a gzip body (any header case)', () => {
    expect(decodeRequestBody(zlib.gzipSync(payload), 'GZIP', 1 * MiB).equals(payload)).toBe(true);
  });

  it('accepts a decoded body of exactly the limit and refuses one byte more', () => {
    const body = Buffer.alloc(1000, 7);
    const gz = zlib.gzipSync(body);
    expect(decodeRequestBody(gz, 'gzip', 1000).length).toBe(1000);
    expect(errorOf(() => decodeRequestBody(gz, 'gzip', 999)).code).toBe('TOO_LARGE');
    expect(decodeRequestBody(body, 'identity', 1000).length).toBe(1000);
    expect(errorOf(() => decodeRequestBody(body, 'identity', 999)).code).toBe('TOO_LARGE');
  });

  it('applies the limit after decompression: a small gzip of a big body is TOO_LARGE (413)', () => {
    const gz = zlib.gzipSync(Buffer.alloc(2 * MiB));
    expect(gz.length).toBeLessThan(8 * KiB);
    const err = errorOf(() => decodeRequestBody(gz, 'gzip', 1 * MiB));
    expect(err.code).toBe('TOO_LARGE');
    expect(httpStatusForError(err.code)).toBe(413);
  });

  describe('gzip bomb (100 MiB of zeros)', () => {
    let bomb: Buffer;

    beforeAll(async () => {
      bomb = await gzipZeros(100 * MiB);
    }, 30_000);

    it('is a real bomb: ~100 KiB that inflates to 100 MiB', () => {
      // Deflate cannot exceed ~1032:1, so 100 MiB needs at least ~100 KiB of gzip.
      expect(bomb.length).toBeLessThan(128 * KiB);
      expect(zlib.gunzipSync(bomb, { maxOutputLength: 101 * MiB }).length).toBe(100 * MiB);
    });

    it.each([64 * KiB, 1 * MiB])('is refused against a %d-byte limit quickly and without inflating it whole', (limit) => {
      if (global.gc) global.gc();
      const before = process.memoryUsage().arrayBuffers;
      const started = process.hrtime.bigint();
      const err = errorOf(() => decodeRequestBody(bomb, 'gzip', limit));
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      const grownBy = process.memoryUsage().arrayBuffers - before;
      expect(err.code).toBe('TOO_LARGE');
      // Inflating all 100 MiB takes well over 100 ms here and allocates 100 MiB of
      // output buffers; stopping at the limit takes a few ms and a few chunks.
      expect(elapsedMs).toBeLessThan(100);
      expect(grownBy).toBeLessThan(8 * MiB);
    });
  });

  it('reports a corrupt gzip body as BAD_ENCODING (400)', () => {
    const gz = zlib.gzipSync(Buffer.from('hello world, hello world'));
    gz[gz.length - 12] ^= 0xff;
    const err = errorOf(() => decodeRequestBody(gz, 'gzip', 1 * MiB));
    expect(err.code).toBe('BAD_ENCODING');
    expect(httpStatusForError(err.code)).toBe(400);
  });

  it('reports a truncated gzip body and a non-gzip body as BAD_ENCODING', () => {
    const gz = zlib.gzipSync(Buffer.alloc(10_000, 1));
    expect(errorOf(() => decodeRequestBody(gz.subarray(0, gz.length - 20), 'gzip', 1 * MiB)).code).toBe('BAD_ENCODING');
    expect(errorOf(() => decodeRequestBody(payload, 'gzip', 1 * MiB)).code).toBe('BAD_ENCODING');
  });

  it('refuses an unsupported encoding before looking at the body', () => {
    expect(errorOf(() => decodeRequestBody(payload, 'br', 1 * MiB)).code).toBe('UNSUPPORTED_ENCODING');
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['gzip, deflate, br', true],
    ['deflate, gzip;q=0.5', true],
    ['gzip;q=1.000', true],
    ['gzip; q=0.001', true],
    ['*', true],
    ['br, *;q=0.1', true],
    [['br', 'gzip'], true],
  ])('%p → true', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });

  it.each([
    [undefined, false],
    [null, false],
    ['', false],
    ['identity', false],
    ['br, deflate', false],
    ['gzip;q=0', false],
    ['gzip;Q=0.000', false],
    ['*;q=0', false],
    ['gzip;q=0, *', false], // explicit gzip entry wins over the wildcard
    ['*, gzip;q=0', false],
    ['gzip;q=2', false], // malformed q-value is treated as 0
    ['gzip;q=abc', false],
    ['gzipx', false],
  ])('%p → false', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('encodeResponseBody', () => {
  const bytes = Buffer.from('a'.repeat(500));

  it('gzips when accepted and says so', () => {
    const out = encodeResponseBody(bytes, 'gzip');
    expect(out.contentEncoding).toBe('gzip');
    expect(out.body.length).toBeLessThan(bytes.length);
    expect(zlib.gunzipSync(out.body).equals(bytes)).toBe(true);
  });

  it('returns the bytes untouched without Accept-Encoding or with gzip;q=0', () => {
    for (const header of [undefined, 'gzip;q=0', 'br']) {
      const out = encodeResponseBody(bytes, header);
      expect(out.contentEncoding).toBeUndefined();
      expect(out.body).toBe(bytes);
    }
  });

  it('skips compression below minBytes', () => {
    expect(encodeResponseBody(bytes, 'gzip', { minBytes: 501 }).contentEncoding).toBeUndefined();
    expect(encodeResponseBody(bytes, 'gzip', { minBytes: 500 }).contentEncoding).toBe('gzip');
  });

  it('round-trips through decodeRequestBody', () => {
    const out = encodeResponseBody(bytes, 'gzip');
    expect(decodeRequestBody(out.body, out.contentEncoding, bytes.length).equals(bytes)).toBe(true);
  });
});
