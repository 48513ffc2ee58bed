/**
 * What a failure of the store means to its caller: the database could not be
 * reached in time (StoreUnavailableError, nothing was done: answer 503 /
 * UNAVAILABLE, retry the batch), a failure another try may get past
 * (isTransientStoreError), or anything else (a bug, bad data: not retried).
 */

export type StoreUnavailableReason = 'wait_budget' | 'queue_full';

/** No connection within the wait budget, or too many callers already waiting: no statement ran. */
export class StoreUnavailableError extends Error {
  constructor(
    readonly reason: StoreUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** SQLSTATEs a connection attempt gets that no retry fixes: bad credentials (class 28), no such database. */
function refusesForGood(code: string): boolean {
  return code.startsWith('28') || code === '3D000';
}

/** Its message, when it is error-like (an Error of another realm, as jest's, is not `instanceof Error`). */
const messageOf = (err: unknown): string | null => {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : null;
};

const sqlState = (err: unknown): string | null => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
};

/**
 * A failure of pool.connect() another try may get past: pg's own timeout
 * (all connections busy, or a starved process), a refused or reset socket (the
 * server restarting), too many connections, the server starting or shutting
 * down. Not the pool being ended, nor credentials the server refuses.
 */
export function isTransientConnectError(err: unknown): boolean {
  const message = messageOf(err);
  if (message === null || /after calling end on the pool/i.test(message)) return false;
  const state = sqlState(err);
  if (state) return !refusesForGood(state);
  return true;
}

/** Lost connections and conflicts: the transaction did not commit (or commits again as a no-op), so the work can be replayed. */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '53300', '57P01', '57P02', '57P03']);

/**
 * A store failure that replaying the same work may get past: the store was
 * unavailable, the connection was lost, or a serialization failure or deadlock
 * rolled the transaction back. A statement timeout is not one: the same
 * statement would take as long again.
 */
export function isTransientStoreError(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  const message = messageOf(err);
  if (message === null) return false;
  const state = sqlState(err);
  if (state) return TRANSIENT_SQLSTATES.has(state) || state.startsWith('08');
  return /Connection terminated|ECONNRESET|ECONNREFUSED|EPIPE/.test(message);
}
