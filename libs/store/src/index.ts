/** PostgreSQL adapter: the pool, the schema and its migrations. */
export * from './pg-pool';
export * from './migrations';
