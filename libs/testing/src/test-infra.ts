/**
 * Where the real Kafka, Redis and PostgreSQL of `npm run infra:up` listen, for
 * integration tests. The defaults match deploy/infra/infra.sh; the same
 * environment variables override both.
 */
export interface TestInfra {
  readonly kafkaBrokers: string[];
  readonly redisUrl: string;
  readonly databaseUrl: string;
}

export function testInfra(env: NodeJS.ProcessEnv = process.env): TestInfra {
  const pgPort = env['OPAMP_PG_PORT'] ?? '54320';
  const redisPort = env['OPAMP_REDIS_PORT'] ?? '63790';
  const kafkaPort = env['OPAMP_KAFKA_PORT'] ?? '19092';
  return {
    kafkaBrokers: (env['OPAMP_KAFKA_BROKERS'] ?? `127.0.0.1:${kafkaPort}`).split(','),
    redisUrl: env['OPAMP_REDIS_URL'] ?? `redis://127.0.0.1:${redisPort}`,
    databaseUrl: env['OPAMP_TEST_DATABASE_URL'] ?? `postgres://opamp:opamp@127.0.0.1:${pgPort}/opamp_test`,
  };
}

/** A name unique to this test run, for topics, channels, schemas and groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
