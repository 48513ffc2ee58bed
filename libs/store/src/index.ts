/** PostgreSQL adapter: the pool, the schema and its migrations. */
export * from './pg-pool';
export * from './pg-pool.metrics';
export * from './migrations';
export * from './sql-database';
export * from './store-unavailable';
export * from './pglite-database';
export * from './embedded-postgres.cluster';
export * from './agent-records';
export * from './store-limits';
export { nestsDeeperThan } from './json-depth';
export * from './pglite-import';
export * from './package-blob.store';
