/**
 * The PostgreSQL connection pool with every timeout set: pg's defaults wait
 * forever for a connection and let a statement run forever.
 */
import { Pool, type PoolConfig } from 'pg';

export interface PgPoolOptions {
  connectionString: string;
  applicationName: string;
  /** Keep pods x max under the server's max_connections. */
  max?: number;
  connectionTimeoutMs?: number;
  idleTimeoutMs?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

export function createPgPool(options: PgPoolOptions): Pool {
  const config: PoolConfig = {
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 60_000,
  };
  const pool = new Pool(config);
  // An idle client that errors (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => undefined);
  return pool;
}
