/**
 * Owns the plain-HTTP body rules: decoding a request body according to its
 * Content-Encoding under a size limit that applies after decompression, and
 * choosing whether to gzip a response from the request's Accept-Encoding.
 *
 * Inflate approach: zlib's synchronous gunzip with `maxOutputLength`. It is
 * one native call per body (no stream objects, no event-loop hops per chunk),
 * which makes it the fastest option for the small bodies OpAMP carries, and
 * it is still incremental inside: zlib inflates chunk by chunk and Node aborts
 * with ERR_BUFFER_TOO_LARGE as soon as the output passes the limit. A gzip
 * bomb therefore costs at most `maxBytes` plus one chunk of output and the
 * time to inflate that much, never its full expansion. The price is that a
 * body up to the limit is inflated on the event loop; the limit bounds it.
 */
import * as zlib from 'node:zlib';
import { ProtocolError } from './protocol-error';
import { toBuffer } from './ws-framing';

/** Output chunk for inflation; larger than zlib's 16 KiB default to cut per-chunk overhead. */
const INFLATE_CHUNK_BYTES = 64 * 1024;

export type ContentCoding = 'identity' | 'gzip';

/**
 * Parse a Content-Encoding header value. Case-insensitive; `x-gzip` is the
 * registered alias of gzip; `identity` entries are no-ops. Anything else, or
 * more than one gzip layer, is UNSUPPORTED_ENCODING (answer 415).
 */
export function parseContentEncoding(header: string | readonly string[] | null | undefined): ContentCoding {
  const value = Array.isArray(header) ? header.join(',') : (header as string | null | undefined);
  if (!value) return 'identity';
  let coding: ContentCoding = 'identity';
  for (const raw of value.split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === '' || token === 'identity') continue;
    if ((token === 'gzip' || token === 'x-gzip') && coding === 'identity') {
      coding = 'gzip';
      continue;
    }
    throw new ProtocolError('UNSUPPORTED_ENCODING', `unsupported Content-Encoding "${value}" (only gzip and identity)`);
  }
  return coding;
}

/**
 * The request body as protobuf bytes. `maxBytes` limits the decoded size
 * (TOO_LARGE, answer 413); an identity body is returned without copying.
 * A corrupt or truncated gzip body is BAD_ENCODING (answer 400).
 */
export function decodeRequestBody(
  body: Uint8Array | ArrayBuffer,
  contentEncoding: string | readonly string[] | null | undefined,
  maxBytes: number,
): Buffer {
  const bytes = toBuffer(body);
  if (parseContentEncoding(contentEncoding) === 'identity') {
    if (bytes.length > maxBytes) {
      throw new ProtocolError('TOO_LARGE', `request body of ${bytes.length} bytes exceeds the limit of ${maxBytes}`);
    }
    return bytes;
  }
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: Math.max(maxBytes, 1), chunkSize: INFLATE_CHUNK_BYTES });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ProtocolError('TOO_LARGE', `gzip request body inflates beyond the limit of ${maxBytes} bytes`, { cause: err });
    }
    const detail = err instanceof Error ? err.message : String(err);
    throw new ProtocolError('BAD_ENCODING', `request body is not valid gzip: ${detail}`, { cause: err });
  }
}

/**
 * Whether an Accept-Encoding header allows a gzip response (RFC 7231
 * §5.3.4): an explicit gzip (or x-gzip) entry decides by its q-value; failing
 * that, `*` decides by its q-value. An absent or empty header means no gzip:
 * some OpAMP clients (Node) cannot decode it and send no header.
 */
export function acceptsGzip(header: string | readonly string[] | null | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header as string | null | undefined);
  if (!value) return false;
  let gzipQ: number | undefined;
  let starQ: number | undefined;
  for (const entry of value.split(',')) {
    const [codingPart, ...params] = entry.split(';');
    const coding = codingPart.trim().toLowerCase();
    if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== '*') continue;
    let q = 1;
    for (const param of params) {
      const [name, raw] = param.split('=');
      if (name.trim().toLowerCase() === 'q') q = parseQValue(raw);
    }
    if (coding === '*') starQ = Math.max(starQ ?? 0, q);
    else gzipQ = Math.max(gzipQ ?? 0, q);
  }
  if (gzipQ !== undefined) return gzipQ > 0;
  return starQ !== undefined && starQ > 0;
}

/** RFC 7231 qvalue: 0..1 with up to three decimals. Malformed means 0 (do not use). */
function parseQValue(raw: string | undefined): number {
  const text = (raw ?? '').trim();
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return 0;
  return Number(text);
}

export interface ResponseBodyOptions {
  /** Do not compress bodies smaller than this (default 0: always, when accepted). */
  readonly minBytes?: number;
  /** zlib level (default 1: fastest; most replies are small acks). */
  readonly level?: number;
}

export interface EncodedResponseBody {
  readonly body: Buffer;
  /** 'gzip' when the body was compressed; set it as the Content-Encoding header. */
  readonly contentEncoding?: 'gzip';
}

/** The response body to send for `bytes`, gzipped when the client accepts it. */
export function encodeResponseBody(
  bytes: Uint8Array,
  acceptEncoding: string | readonly string[] | null | undefined,
  options: ResponseBodyOptions = {},
): EncodedResponseBody {
  const body = toBuffer(bytes);
  if (body.length < (options.minBytes ?? 0) || !acceptsGzip(acceptEncoding)) return { body };
  return { body: zlib.gzipSync(body, { level: options.level ?? 1 }), contentEncoding: 'gzip' };
}
