/** The only place status-ingest reads its environment. */
import { int, list, readEnv, str, url } from '@opamp/config';

export const statusIngestEnv = {
  OPAMP_KAFKA_BROKERS: list({ default: ['127.0.0.1:19092'] }),
  OPAMP_REDIS_URL: url({ default: 'redis://127.0.0.1:63790', protocols: ['redis', 'rediss'], secret: true }),
  OPAMP_DATABASE_URL: url({
    default: 'postgres://opamp:opamp@127.0.0.1:54320/opamp',
    protocols: ['postgres', 'postgresql'],
    secret: true,
  }),
  OPAMP_INGEST_CLIENT_ID: str({ default: 'status-ingest' }),
  OPAMP_INGEST_PARTITION_CONCURRENCY: int({ default: 4, min: 1, max: 64 }),
  OPAMP_PG_POOL_MAX: int({ default: 10, min: 1, max: 200 }),
};

export interface StatusIngestConfig {
  kafkaBrokers: string[];
  redisUrl: string;
  databaseUrl: string;
  clientId: string;
  partitionConcurrency: number;
  pgPoolMax: number;
}

export function loadStatusIngestConfig(env: Record<string, string | undefined> = process.env): StatusIngestConfig {
  const e = readEnv(statusIngestEnv, env);
  return {
    kafkaBrokers: e.OPAMP_KAFKA_BROKERS,
    redisUrl: e.OPAMP_REDIS_URL,
    databaseUrl: e.OPAMP_DATABASE_URL,
    clientId: e.OPAMP_INGEST_CLIENT_ID,
    partitionConcurrency: e.OPAMP_INGEST_PARTITION_CONCURRENCY,
    pgPoolMax: e.OPAMP_PG_POOL_MAX,
  };
}
