/**
 * SqlDatabase on PGlite: PostgreSQL compiled to WebAssembly, in-process, with
 * its data in a directory. This is the embedded mode's database; every
 * migration and query is the same SQL as on a PostgreSQL server.
 *
 * PGlite runs one statement at a time on one connection, so transactions are
 * serialised through its own transaction API, and a parameterless query may
 * carry several statements (migration files), which go through `exec`.
 *
 * What PGlite cannot take never reaches it: parameters nested deeper than
 * PGLITE_MAX_JSON_DEPTH overflow its WebAssembly stack (store-limits.ts) and
 * are refused here with PostgreSQL's own error. An instance that failed in
 * WebAssembly (abort, out-of-bounds access) or in PostgreSQL's error
 * machinery is dead: every later call is refused, so nothing more is written
 * through it, and `broken` says why (the server reports itself not ready).
 * One process at a time opens a data directory (data-dir.lock.ts): two PGlite
 * instances writing one directory interleave their pages and WAL.
 */
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { DataDirLock } from './data-dir.lock';
import { nestsDeeperThan } from './json-depth';
import type { SqlDatabase, SqlExecutor, SqlResult } from './sql-database';
import { PGLITE_MAX_JSON_DEPTH } from './store-limits';

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction;

/** PostgreSQL's SQLSTATE for "stack depth limit exceeded" (statement_too_complex). */
export const SQLSTATE_STATEMENT_TOO_COMPLEX = '54001';

/** A statement refused before it reached PGlite; `code` is the SQLSTATE PostgreSQL would give. */
export class SqlInputError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'SqlInputError';
  }
}

/** Every call on a PGlite instance that died; `cause` is what killed it. */
export class EmbeddedDatabaseBrokenError extends Error {
  constructor(override readonly cause: unknown) {
    super(`embedded database is broken (${describe(cause)}); restart the server`);
    this.name = 'EmbeddedDatabaseBrokenError';
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Failures after which the instance cannot be trusted: WebAssembly traps, and
 * PostgreSQL errors that only a corrupted backend raises.
 */
export function isFatalPgliteError(err: unknown): boolean {
  // WebAssembly.RuntimeError (the lib's type set has no WebAssembly namespace): a trap or abort().
  const text = describe(err);
  return /^RuntimeError|Aborted\(\)|ERRORDATA_STACK_SIZE exceeded|bad buffer ID|memory access out of bounds/.test(text);
}

function tooDeep(p: unknown): boolean {
  if (typeof p === 'string') return nestsDeeperThan(p, PGLITE_MAX_JSON_DEPTH);
  // An array parameter's text elements may be cast to jsonb one by one (batched upserts).
  if (Array.isArray(p)) return p.some((e) => typeof e === 'string' && nestsDeeperThan(e, PGLITE_MAX_JSON_DEPTH));
  if (p !== null && typeof p === 'object' && !(p instanceof Uint8Array) && !(p instanceof Date)) {
    return nestsDeeperThan(JSON.stringify(p), PGLITE_MAX_JSON_DEPTH);
  }
  return false;
}

function checkParams(params: readonly unknown[]): void {
  params.forEach((p, i) => {
    if (tooDeep(p)) {
      throw new SqlInputError(`stack depth limit exceeded: parameter $${i + 1} nests deeper than ${PGLITE_MAX_JSON_DEPTH} levels`, SQLSTATE_STATEMENT_TOO_COMPLEX);
    }
  });
}

async function run<R>(db: Queryable, sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
  if (!params || params.length === 0) {
    const results = await db.exec(sql);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as R[], rowCount: last?.affectedRows ?? last?.rows.length ?? 0 };
  }
  checkParams(params);
  const res = await db.query<R>(sql, params as unknown[]);
  return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
}

export interface PgliteOpenOptions {
  /** Called once, when the instance dies (see the module comment). */
  onBroken?: (cause: unknown) => void;
}

export class PgliteSqlDatabase implements SqlDatabase {
  private fatal: { cause: unknown } | null = null;

  private constructor(
    private readonly db: PGlite,
    private readonly options: PgliteOpenOptions,
    private readonly lock: DataDirLock | null,
  ) {}

  /**
   * Opens (creating if needed) the database in `dataDir`; in memory when it is
   * undefined. Refused while another live process (or this one) has it open.
   */
  static async open(dataDir?: string, options: PgliteOpenOptions = {}): Promise<PgliteSqlDatabase> {
    const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
    const lock = dataDir ? DataDirLock.acquire(dataDir) : null;
    try {
      const db = await PGlite.create(dataDir);
      return new PgliteSqlDatabase(db, options, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  /** Why the instance is dead, or null while it is healthy. */
  get broken(): EmbeddedDatabaseBrokenError | null {
    return this.fatal ? new EmbeddedDatabaseBrokenError(this.fatal.cause) : null;
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return this.guard(() => run<R>(this.db, sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.guard(() =>
      this.db.transaction((tx) =>
        fn({
          query: (sql, params) => {
            // A statement of a transaction still queued when the instance died must not run either.
            if (this.fatal) return Promise.reject(new EmbeddedDatabaseBrokenError(this.fatal.cause));
            return run(tx, sql, params);
          },
        }),
      ),
    );
  }

  async close(): Promise<void> {
    try {
      // A dead instance cannot flush; closing it would only write what its broken state holds.
      if (!this.fatal) await this.db.close();
    } finally {
      this.lock?.release();
    }
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.fatal) throw new EmbeddedDatabaseBrokenError(this.fatal.cause);
    try {
      return await call();
    } catch (err) {
      if (!this.fatal && isFatalPgliteError(err)) {
        this.fatal = { cause: err };
        this.options.onBroken?.(err);
      }
      throw this.fatal ? new EmbeddedDatabaseBrokenError(this.fatal.cause) : err;
    }
  }
}
