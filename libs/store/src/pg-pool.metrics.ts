/**
 * Saturation gauges of one pg.Pool, in the registry and the metric namespace
 * of the app that owns the pool (read at scrape time: pg keeps the counts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { PG_POOL_DEFAULTS } from './store-limits';
import { pgWaitCountsOf } from './sql-database';

/** What the gauges read: a pg.Pool has it. */
export interface PgPoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number };
}

/** In use and idle connections, queries waiting for one, the most it opens. */
export function pgPoolGaugeValues(pool: PgPoolCounts): { inUse: number; idle: number; waiting: number; max: number } {
  return { inUse: Math.max(0, pool.totalCount - pool.idleCount), idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? PG_POOL_DEFAULTS.max };
}

/**
 * Registers `<namespace>_db_pool_connections{state="in_use"|"idle"}`,
 * `<namespace>_db_pool_waiting_requests`, `<namespace>_db_pool_max_connections`,
 * and how the PgSqlDatabases over the pool waited for its connections:
 * `<namespace>_db_pool_connect_retries_total`, `<namespace>_db_pool_unavailable_total{reason}`.
 */
export function registerPgPoolMetrics(registry: Registry, namespace: string, pool: PgPoolCounts): void {
  const waits = pgWaitCountsOf(pool);
  new Gauge({
    name: `${namespace}_db_pool_connections`,
    help: 'PostgreSQL pool connections by state (in_use: checked out by a query or transaction; idle: open and free)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const v = pgPoolGaugeValues(pool);
      this.set({ state: 'in_use' }, v.inUse);
      this.set({ state: 'idle' }, v.idle);
    },
  });
  new Gauge({
    name: `${namespace}_db_pool_waiting_requests`,
    help: 'Queries waiting for a PostgreSQL pool connection (above 0 for long: the pool is saturated)',
    registers: [registry],
    collect() {
      this.set(pgPoolGaugeValues(pool).waiting);
    },
  });
  new Gauge({
    name: `${namespace}_db_pool_max_connections`,
    help: 'PostgreSQL connections the pool opens at most (its max setting)',
    registers: [registry],
    collect() {
      this.set(pgPoolGaugeValues(pool).max);
    },
  });
  new Counter({
    name: `${namespace}_db_pool_connect_retries_total`,
    help: 'Tries for a PostgreSQL connection that failed (pool busy, process starved, server restarting) and were tried again within the wait budget',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(waits.connectRetries);
    },
  });
  new Counter({
    name: `${namespace}_db_pool_unavailable_total`,
    help: 'Callers told the database is unavailable (no statement ran; the API answered 503/UNAVAILABLE, an inbound batch is retried): wait_budget (no connection within the budget), queue_full (too many callers waiting)',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(waits.unavailable)) this.inc({ reason }, n);
    },
  });
}
