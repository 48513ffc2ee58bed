/**
 * The PostgreSQL connection pool with every timeout set (PG_POOL_DEFAULTS):
 * pg's defaults wait forever for a connection and let a statement run forever.
 */
import { Pool, type PoolConfig } from 'pg';
import { PG_POOL_DEFAULTS } from './store-limits';

export interface PgPoolOptions {
  connectionString: string;
  applicationName: string;
  /** Keep pods x max under the server's max_connections. */
  max?: number;
  /** One try at a connection; PgSqlDatabase retries within its wait budget. */
  connectionTimeoutMs?: number;
  idleTimeoutMs?: number;
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

export function createPgPool(options: PgPoolOptions): Pool {
  const config: PoolConfig = {
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? PG_POOL_DEFAULTS.max,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? PG_POOL_DEFAULTS.connectTimeoutMs,
    idleTimeoutMillis: options.idleTimeoutMs ?? PG_POOL_DEFAULTS.idleTimeoutMs,
    statement_timeout: options.statementTimeoutMs ?? PG_POOL_DEFAULTS.statementTimeoutMs,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? PG_POOL_DEFAULTS.idleInTransactionTimeoutMs,
  };
  const pool = new Pool(config);
  // An idle client that errors (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => undefined);
  return pool;
}
