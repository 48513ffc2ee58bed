/**
 * SqlDatabase on PGlite: PostgreSQL compiled to WebAssembly, in-process, with
 * its data in a directory. This is the embedded mode's database; every
 * migration and query is the same SQL as on a PostgreSQL server.
 *
 * PGlite runs one statement at a time on one connection, so transactions are
 * serialised through its own transaction API, and a parameterless query may
 * carry several statements (migration files), which go through `exec`.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlResult } from './sql-database';

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction;

async function run<R>(db: Queryable, sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
  if (!params || params.length === 0) {
    const results = await db.exec(sql);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as R[], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
  }
  const res = await db.query<R>(sql, params as unknown[]);
  return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
}

export class PgliteSqlDatabase implements SqlDatabase {
  private constructor(private readonly db: PGlite) {}

  /** Opens (creating if needed) the database in `dataDir`; in memory when it is undefined. */
  static async open(dataDir?: string): Promise<PgliteSqlDatabase> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
    const db = await PGlite.create(dataDir);
    return new PgliteSqlDatabase(db);
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return run<R>(this.db, sql, params);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn({ query: (sql, params) => run(tx, sql, params) }));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
