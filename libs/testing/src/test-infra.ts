/**
 * Where the real Kafka, Redis and PostgreSQL of `npm run infra:up` listen, for
 * integration tests. The defaults match deploy/infra/infra.sh; the same
 * environment variables override both.
 */
import { join } from 'node:path';
import { workspaceRoot } from './embedded-server-process';

export interface TestInfra {
  readonly kafkaBrokers: string[];
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** The broker's second listener: TLS (its CA file) and SASL/PLAIN (deploy/infra/infra.sh). */
  readonly kafkaSaslSsl: { brokers: string[]; caFile: string; username: string; password: string };
}

export function testInfra(env: NodeJS.ProcessEnv = process.env): TestInfra {
  const pgPort = env['OPAMP_PG_PORT'] ?? '54320';
  const redisPort = env['OPAMP_REDIS_PORT'] ?? '63790';
  const kafkaPort = env['OPAMP_KAFKA_PORT'] ?? '19092';
  return {
    kafkaBrokers: (env['OPAMP_KAFKA_BROKERS'] ?? `127.0.0.1:${kafkaPort}`).split(','),
    redisUrl: env['OPAMP_REDIS_URL'] ?? `redis://127.0.0.1:${redisPort}`,
    databaseUrl: env['OPAMP_TEST_DATABASE_URL'] ?? `postgres://opamp:opamp@127.0.0.1:${pgPort}/opamp_test`,
    kafkaSaslSsl: {
      brokers: (env['OPAMP_TEST_KAFKA_SASL_SSL_BROKERS'] ?? `127.0.0.1:${env['OPAMP_KAFKA_SASL_SSL_PORT'] ?? '19094'}`).split(','),
      caFile: env['OPAMP_TEST_KAFKA_TLS_CA_FILE'] ?? join(workspaceRoot(), '.infra', 'kafka', 'tls', 'ca.pem'),
      username: env['OPAMP_TEST_KAFKA_SASL_USERNAME'] ?? 'opamp',
      password: env['OPAMP_TEST_KAFKA_SASL_PASSWORD'] ?? 'opamp-kafka-test-password',
    },
  };
}

/** A name unique to this test run, for topics, channels, schemas and groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
