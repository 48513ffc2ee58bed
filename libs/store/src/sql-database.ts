/**
 * The SQL port every feature lib depends on instead of `pg`: a query method and
 * a transaction helper. The distributed mode implements it on a pg Pool (below);
 * the embedded mode implements the same interface on PGlite. Callers write
 * portable PostgreSQL and must not assume driver-specific result types beyond
 * `rows` (normalise bigint, bytea and timestamps where they read them).
 */
import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { PG_POOL_DEFAULTS } from './store-limits';
import { isTransientConnectError, StoreUnavailableError, type StoreUnavailableReason } from './store-unavailable';

export interface SqlResult<R = Record<string, unknown>> {
  rows: R[];
  /** Rows affected (DML) or returned; null when the driver does not say. */
  rowCount: number | null;
}

export interface SqlExecutor {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` in one transaction on one connection: COMMIT when it resolves,
   * ROLLBACK (and rethrow) when it rejects.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

class PgClientExecutor implements SqlExecutor {
  constructor(private readonly client: PoolClient) {}

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    const res = await this.client.query(sql, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount };
  }
}

/** How long a caller waits for a connection (PG_POOL_DEFAULTS for each one left out). */
export interface PgWaitOptions {
  /** Tries for a connection stop being started after this long: then StoreUnavailableError. */
  waitBudgetMs?: number;
  /** Callers already waiting at most; one more is refused at once. */
  maxWaiting?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Each failed try that is tried again (after its backoff). */
  onRetry?: (err: Error, attempt: number) => void;
}

/** What waiting for connections came to, for `<namespace>_db_pool_*_total` (pg-pool.metrics.ts). */
export interface PgWaitCounts {
  /** Failed tries for a connection that were tried again. */
  connectRetries: number;
  /** Callers told the store is unavailable, by reason. */
  unavailable: Record<StoreUnavailableReason, number>;
}

const noop = () => undefined;

/** One tally per pool, shared by every PgSqlDatabase over it (a process may make several). */
const WAITS = new WeakMap<object, PgWaitCounts>();

export function pgWaitCountsOf(pool: object): PgWaitCounts {
  let waits = WAITS.get(pool);
  if (!waits) {
    waits = { connectRetries: 0, unavailable: { wait_budget: 0, queue_full: 0 } };
    WAITS.set(pool, waits);
  }
  return waits;
}

/**
 * SqlDatabase over a pg Pool (see createPgPool for the timeouts it sets).
 * Getting a connection is where a busy or starved process fails (pg gives up
 * after connectionTimeoutMillis): a failed try that another may get past is
 * tried again with backoff within the wait budget, so writes wait out a slow
 * moment instead of failing; past the budget, or with too many callers already
 * waiting, StoreUnavailableError says that no statement ran.
 */
export class PgSqlDatabase implements SqlDatabase {
  readonly waits: PgWaitCounts;
  private readonly budgetMs: number;
  private readonly maxWaiting: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly pool: Pool,
    private readonly options: PgWaitOptions = {},
  ) {
    this.waits = pgWaitCountsOf(pool);
    this.budgetMs = options.waitBudgetMs ?? PG_POOL_DEFAULTS.waitBudgetMs;
    this.maxWaiting = options.maxWaiting ?? PG_POOL_DEFAULTS.maxWaiting;
    this.retryMinMs = options.retryMinMs ?? PG_POOL_DEFAULTS.retryMinMs;
    this.retryMaxMs = Math.max(this.retryMinMs, options.retryMaxMs ?? PG_POOL_DEFAULTS.retryMaxMs);
  }

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    const client = await this.acquire();
    try {
      const res = await client.query(sql, params as unknown[] | undefined);
      release(client, false);
      return { rows: res.rows as R[], rowCount: res.rowCount };
    } catch (err) {
      // The server refused the statement: the connection is fine. Anything else (a lost socket): drop it.
      release(client, !(err instanceof DatabaseError));
      throw err;
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(new PgClientExecutor(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is unusable; do not return it to the pool
        }
        throw err;
      }
    } finally {
      release(client, broken);
    }
  }

  /** Runs `fn` on a connection of its own (migrations take an advisory lock on it), got like every other. */
  async session<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let broken = false;
    try {
      return await fn(client);
    } catch (err) {
      broken = !(err instanceof DatabaseError);
      throw err;
    } finally {
      release(client, broken);
    }
  }

  /** A connection, tried for within the wait budget (see the class comment). */
  private async acquire(): Promise<PoolClient> {
    const deadline = Date.now() + this.budgetMs;
    let delay = this.retryMinMs;
    for (let attempt = 1; ; attempt++) {
      if (this.pool.waitingCount >= this.maxWaiting) {
        this.waits.unavailable.queue_full++;
        throw new StoreUnavailableError('queue_full', `the database is busy: ${this.pool.waitingCount} callers are already waiting for a connection; retry shortly`);
      }
      try {
        const client = await this.pool.connect();
        // A checked-out client whose socket fails between statements emits 'error': unheard, that would end the process.
        client.on('error', noop);
        return client;
      } catch (err) {
        if (!isTransientConnectError(err)) throw err;
        const wait = delay / 2 + Math.random() * (delay / 2);
        if (Date.now() + wait >= deadline) {
          this.waits.unavailable.wait_budget++;
          throw new StoreUnavailableError('wait_budget', `the database gave no connection within ${this.budgetMs} ms; retry shortly`, { cause: err });
        }
        this.waits.connectRetries++;
        this.options.onRetry?.(err as Error, attempt);
        await new Promise((r) => setTimeout(r, wait));
        delay = Math.min(this.retryMaxMs, delay * 2);
      }
    }
  }
}

function release(client: PoolClient, broken: boolean): void {
  client.removeListener('error', noop);
  client.release(broken);
}
