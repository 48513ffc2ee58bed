/**
 * The SQL port every feature lib depends on instead of `pg`: a query method and
 * a transaction helper. The distributed mode implements it on a pg Pool (below);
 * the embedded mode implements the same interface on PGlite. Callers write
 * portable PostgreSQL and must not assume driver-specific result types beyond
 * `rows` (normalise bigint, bytea and timestamps where they read them).
 */
import type { Pool, PoolClient } from 'pg';

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

/** SqlDatabase over a pg Pool (see createPgPool for the timeouts it sets). */
export class PgSqlDatabase implements SqlDatabase {
  constructor(private readonly pool: Pool) {}

  async query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    const res = await this.pool.query(sql, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount };
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
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
      client.release(broken);
    }
  }
}
