/**
 * The connection settings every distributed process shares, with the defaults
 * of the local infrastructure (`npm run infra:up`), declared once.
 */
import { int, list, url } from './env-schema';
import { kafkaSecurityEnv } from './kafka-security-env';

export const kafkaEnv = {
  OPAMP_KAFKA_BROKERS: list({ default: ['127.0.0.1:19092'] }),
  ...kafkaSecurityEnv,
};

export const redisEnv = {
  OPAMP_REDIS_URL: url({ default: 'redis://127.0.0.1:63790', protocols: ['redis', 'rediss'], secret: true }),
};

export const databaseEnv = {
  OPAMP_DATABASE_URL: url({
    default: 'postgres://opamp:opamp@127.0.0.1:54320/opamp',
    protocols: ['postgres', 'postgresql'],
    secret: true,
  }),
  OPAMP_PG_POOL_MAX: int({ default: 10, min: 1, max: 200 }),
};

/** How often a worker reads the lag of its consumer groups (admin offsets vs commits); 0 turns it off. */
export const consumerLagEnv = {
  OPAMP_CONSUMER_LAG_SAMPLE_MS: int({ default: 15_000, min: 0, max: 3_600_000 }),
};

/** Kafka, Redis and PostgreSQL: what a worker (status-ingest, config-service) needs. */
export const workerBackendEnv = { ...kafkaEnv, ...redisEnv, ...databaseEnv, ...consumerLagEnv };
