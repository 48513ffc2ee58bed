/**
 * The status of a failed API call, for every transport and for its count: our
 * own errors carry theirs; a database that gave no connection in time is
 * UNAVAILABLE (nothing was done, the caller retries: 503, not 500); anything
 * else is INTERNAL.
 */
import { StoreUnavailableError } from '@opamp/store';
import { DesiredStateError, type ErrorCode } from '../core/errors';

export function apiErrorCode(err: unknown): ErrorCode {
  if (err instanceof DesiredStateError) return err.code;
  if (err instanceof StoreUnavailableError) return 'UNAVAILABLE';
  return 'INTERNAL';
}
