/**
 * The Nest application as deployed (config from the environment, topics
 * ensured, migrations applied, worker started), against the real Kafka, Redis
 * and PostgreSQL, with its own topics and schema; then a graceful close.
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { createKafkaClient, deleteTopics } from '@opamp/bus-kafka';
import { AgentRepository, ingestTesting } from '@opamp/ingest';
import { createPgPool, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { APP_CONFIG, StatusIngestModule } from '../src/status-ingest.module';
import { loadStatusIngestConfig } from '../src/config/status-ingest.config';

describe('status-ingest app (real Kafka, Redis, PostgreSQL)', () => {
  it('starts, ingests what the gateway produces, and shuts down cleanly', async () => {
    const infra = testInfra();
    const run = uniqueName('app').replace(/[^a-z0-9]/gi, '_').toLowerCase();
    const admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'app-test', max: 1 });
    await admin.query(`CREATE SCHEMA "${run}"`);
    const env = {
      OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      OPAMP_REDIS_URL: infra.redisUrl,
      OPAMP_DATABASE_URL: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${run}`)}`,
      OPAMP_INGEST_INBOUND_TOPIC: `${run}.inbound`,
      OPAMP_INGEST_EVENTS_TOPIC: `${run}.events`,
      OPAMP_INGEST_GROUP_ID: `${run}.group`,
    };
    const kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: run });
    const moduleRef = await Test.createTestingModule({ imports: [StatusIngestModule] })
      .overrideProvider(APP_CONFIG)
      .useValue(loadStatusIngestConfig(env))
      .compile();
    const producer = kafka.producer();
    try {
      await moduleRef.init();
      await producer.connect();
      const agent = new ingestTesting.FakeAgent({ tenantId: run, startMs: Date.now() });
      await producer.send({ topic: env.OPAMP_INGEST_INBOUND_TOPIC, messages: [agent.toKafka(agent.connect()), agent.toKafka(agent.full())] });
      const pool = createPgPool({ connectionString: env.OPAMP_DATABASE_URL, applicationName: 'app-test-read', max: 1 });
      const repo = new AgentRepository();
      const state = await waitFor(
        () => repo.get(new PgSqlDatabase(pool), run, agent.uid),
        (s) => s !== null && s.descriptionReported,
        { timeoutMs: 30_000, description: 'agent row' },
      );
      expect(state!.connected).toBe(true);
      await pool.end();
    } finally {
      await producer.disconnect();
      await moduleRef.close();
      await deleteTopics(kafka, [env.OPAMP_INGEST_INBOUND_TOPIC, env.OPAMP_INGEST_EVENTS_TOPIC]).catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS "${run}" CASCADE`);
      await admin.end();
    }
  });
});
