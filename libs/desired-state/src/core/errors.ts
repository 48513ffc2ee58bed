/**
 * Errors the desired-state core raises for bad input. `code` follows the gRPC
 * status names so every transport maps it the same way (INVALID_ARGUMENT ->
 * 400, NOT_FOUND -> 404, ...).
 */
import { MAX_ECHO_CHARS, MAX_ERROR_MESSAGE_CHARS } from './limits';

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class DesiredStateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(capMessage(message));
    this.name = 'DesiredStateError';
  }
}

export function invalidArgument(message: string): DesiredStateError {
  return new DesiredStateError('INVALID_ARGUMENT', message);
}

/**
 * A caller's value as an error message repeats it: text quoted (numbers as they are), and cut to
 * MAX_ECHO_CHARS characters with its full size in bytes, so a huge or hostile
 * value never makes a huge message. Every message that quotes input uses this.
 */
export function echo(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  const s = typeof value === 'string' ? value : String(value);
  if (s.length <= MAX_ECHO_CHARS) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, MAX_ECHO_CHARS))}…(${Buffer.byteLength(s, 'utf8')} bytes)`;
}

/** The last guard: no message beyond MAX_ERROR_MESSAGE_CHARS, however it was built. */
export function capMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_CHARS ? message : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}…(${message.length - MAX_ERROR_MESSAGE_CHARS} more characters)`;
}
