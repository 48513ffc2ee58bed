/**
 * Errors the desired-state core raises for bad input. `code` follows the gRPC
 * status names so every transport maps it the same way (INVALID_ARGUMENT ->
 * 400, NOT_FOUND -> 404, ...).
 */
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
    super(message);
    this.name = 'DesiredStateError';
  }
}

export function invalidArgument(message: string): DesiredStateError {
  return new DesiredStateError('INVALID_ARGUMENT', message);
}
