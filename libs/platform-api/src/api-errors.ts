/**
 * How the platform API reports errors on both transports: one mapping of
 * desired-state error codes to HTTP and gRPC statuses, the REST error
 * envelope, request ids, and the log line of an internal error (the only
 * kind a caller cannot act on, so the only kind that is logged).
 */
import { randomUUID } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { apiErrorCode, DesiredStateError, type ErrorCode } from '@opamp/desired-state';
import { StoreUnavailableError } from '@opamp/store';
import type { JsonLog } from '@opamp/process-runtime';

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

/** The header (REST) and metadata key (gRPC) of a request's id. */
export const REQUEST_ID_HEADER = 'x-request-id';
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is a sane token (it goes into logs and headers), else a new one. */
export function requestIdFrom(given: unknown): string {
  const v = Array.isArray(given) ? given[0] : Buffer.isBuffer(given) ? given.toString('latin1') : given;
  return typeof v === 'string' && SANE_REQUEST_ID.test(v) ? v : randomUUID();
}

export function errorCode(err: unknown): ErrorCode {
  return apiErrorCode(err);
}

/** The message callers see: ours verbatim (capped where it was made), never internals. */
export function publicMessage(err: unknown, requestId?: string): string {
  if (err instanceof DesiredStateError) return err.message;
  // Says only that the database was busy (its own text names no host, query or value).
  if (err instanceof StoreUnavailableError) return err.message;
  return requestId ? `internal error (request id ${requestId})` : 'internal error';
}

/** The documented REST error envelope. */
export interface ErrorEnvelope {
  error: { code: number; status: string; message: string; requestId: string };
}

export function errorEnvelope(http: number, status: string, message: string, requestId: string): ErrorEnvelope {
  return { error: { code: http, status, message, requestId } };
}

/**
 * Logs an internal error with the request id its caller got: the error's
 * name, message and stack only (never the request, which may hold secrets).
 * Errors of bad input are the caller's and are counted, not logged.
 */
export function logInternalError(log: JsonLog, err: unknown, where: { transport: 'rest' | 'grpc'; rpc: string; requestId: string }): void {
  // An unavailable database is counted (db_pool_unavailable_total, api_requests_total{code="UNAVAILABLE"}), not an internal error.
  if (err instanceof DesiredStateError || err instanceof StoreUnavailableError) return;
  const e = err instanceof Error ? err : new Error(String(err));
  log('error', 'platform API internal error', { ...where, error: `${e.name}: ${e.message}`, stack: e.stack });
}
