/**
 * Saturation gauges of one pg.Pool, in the registry and the metric namespace
 * of the app that owns the pool (read at scrape time: pg keeps the counts).
 */
import { Gauge, type Registry } from 'prom-client';

/** What the gauges read: a pg.Pool has it. */
export interface PgPoolCounts {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options: { readonly max?: number };
}

/** In use and idle connections, queries waiting for one, the most it opens. */
export function pgPoolGaugeValues(pool: PgPoolCounts): { inUse: number; idle: number; waiting: number; max: number } {
  return { inUse: Math.max(0, pool.totalCount - pool.idleCount), idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 };
}

/**
 * Registers `<namespace>_db_pool_connections{state="in_use"|"idle"}`,
 * `<namespace>_db_pool_waiting_requests` and `<namespace>_db_pool_max_connections`.
 */
export function registerPgPoolMetrics(registry: Registry, namespace: string, pool: PgPoolCounts): void {
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
}
