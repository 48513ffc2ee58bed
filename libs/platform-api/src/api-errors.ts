/** One mapping of desired-state error codes to HTTP and gRPC statuses. */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { DesiredStateError, type ErrorCode } from '@opamp/desired-state';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INTERNAL: 500,
};

export const GRPC_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  FAILED_PRECONDITION: GrpcStatus.FAILED_PRECONDITION,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  INTERNAL: GrpcStatus.INTERNAL,
};

export function errorCode(err: unknown): ErrorCode {
  return err instanceof DesiredStateError ? err.code : 'INTERNAL';
}

/** The message callers see: ours verbatim, never internals. */
export function publicMessage(err: unknown): string {
  return err instanceof DesiredStateError ? err.message : 'internal error';
}
