/**
 * Owns the single error type the protocol library throws for bad input from
 * the network, and the mapping of its codes to HTTP status codes.
 *
 * Everything that parses untrusted bytes (framing, protobuf, HTTP bodies,
 * instance ids) converts whatever went wrong into a ProtocolError, so callers
 * can answer with BAD_REQUEST / 400 / 413 / 415 without guessing from
 * messages of third-party exceptions.
 */

export type ProtocolErrorCode =
  /** WebSocket frame header missing, truncated, over-long or non-zero. */
  | 'MALFORMED_FRAME'
  /** The bytes are not a valid encoding of the expected protobuf message. */
  | 'MALFORMED_PROTOBUF'
  /** A string field is not valid UTF-8 (only with strict UTF-8 decoding). */
  | 'INVALID_UTF8'
  /** instance_uid (or new_instance_uid) is not 16 bytes / not an accepted form. */
  | 'INVALID_INSTANCE_UID'
  /** Text that should be a UUID is not a canonical UUID. */
  | 'INVALID_UUID'
  /** A message or body exceeds the configured limit (after decompression). */
  | 'TOO_LARGE'
  /** Content-Encoding other than identity or gzip. */
  | 'UNSUPPORTED_ENCODING'
  /** The body claims gzip but does not inflate (corrupt or truncated). */
  | 'BAD_ENCODING';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}

/**
 * HTTP status for a request that failed with `code` on the plain-HTTP
 * transport: 413 for size (spec: MUST), 415 for an unknown Content-Encoding,
 * 400 for everything else that cannot be decoded.
 */
export function httpStatusForError(code: ProtocolErrorCode): 400 | 413 | 415 {
  switch (code) {
    case 'TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_ENCODING':
      return 415;
    default:
      return 400;
  }
}
