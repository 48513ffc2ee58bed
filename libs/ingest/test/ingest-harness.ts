/**
 * Real Kafka, Redis and PostgreSQL for ingest integration tests, isolated per
 * run: own topics, consumer groups, PostgreSQL schema, tenant and gateway ids.
 */
import { AgentEventCodec, GatewayPushCodec, RedisChannels, type fleet } from '@opamp/contracts';
import { createKafkaClient, deleteTopics, ensureTopics } from '@opamp/bus-kafka';
import { createRedisConnection } from '@opamp/bus-redis';
import { createPgPool, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import { testInfra, uniqueName } from '@opamp/testing';
import type Redis from 'ioredis';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import type { Pool } from 'pg';
import { IngestWorker, type IngestWorkerOptions } from '../src';

export interface ReceivedPush {
  gatewayId: string;
  push: fleet.v1.GatewayPush;
}

export class IngestHarness {
  readonly infra = testInfra();
  readonly runId = uniqueName('ingest').replace(/[^a-z0-9]/gi, '_').toLowerCase();
  readonly inboundTopic = `${this.runId}.inbound`;
  readonly eventsTopic = `${this.runId}.events`;
  readonly groupId = `${this.runId}.group`;
  readonly schema = this.runId;
  readonly tenant = `tenant-${this.runId}`;
  kafka!: Kafka;
  redis!: Redis;
  subscriber!: Redis;
  pool!: Pool;
  db!: PgSqlDatabase;
  producer!: Producer;
  private eventConsumer!: Consumer;
  readonly events: fleet.v1.AgentEvent[] = [];
  readonly pushes: ReceivedPush[] = [];
  private readonly workers: IngestWorker[] = [];

  async start(gatewayIds: string[]): Promise<void> {
    this.kafka = createKafkaClient({ brokers: this.infra.kafkaBrokers, clientId: this.runId });
    await ensureTopics(this.kafka, [
      { name: this.inboundTopic, partitions: 3, retentionMs: 3_600_000, valueType: 'AgentInbound' },
      { name: this.eventsTopic, partitions: 3, retentionMs: 3_600_000, valueType: 'AgentEvent' },
    ]);
    const admin = this.pgAdmin();
    await admin.query(`CREATE SCHEMA "${this.schema}"`);
    await admin.end();
    this.pool = createPgPool({
      connectionString: `${this.infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${this.schema}`)}`,
      applicationName: 'ingest-test',
      max: 8,
    });
    const client = await this.pool.connect();
    try {
      await migrateToLatest(client);
    } finally {
      client.release();
    }
    this.db = new PgSqlDatabase(this.pool);
    this.redis = createRedisConnection({ url: this.infra.redisUrl, connectionName: `${this.runId}:cmd` });
    this.subscriber = createRedisConnection({ url: this.infra.redisUrl, connectionName: `${this.runId}:sub` });
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const gatewayId = gatewayIds.find((g) => RedisChannels.gatewayPush(g) === channel.toString());
      if (gatewayId) this.pushes.push({ gatewayId, push: GatewayPushCodec.decode(message) });
    });
    await this.subscriber.subscribe(...gatewayIds.map((g) => RedisChannels.gatewayPush(g)));
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.eventConsumer = this.kafka.consumer({ groupId: `${this.runId}.events-reader`, sessionTimeout: 10_000 });
    await this.eventConsumer.connect();
    await this.eventConsumer.subscribe({ topic: this.eventsTopic, fromBeginning: true });
    await this.eventConsumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) this.events.push(AgentEventCodec.decode(message.value));
      },
    });
  }

  private pgAdmin(): Pool {
    return createPgPool({ connectionString: this.infra.databaseUrl, applicationName: 'ingest-test-admin', max: 1 });
  }

  worker(overrides: Partial<IngestWorkerOptions> = {}): IngestWorker {
    const w = new IngestWorker({
      kafka: this.kafka,
      redis: this.redis,
      db: this.db,
      inboundTopic: this.inboundTopic,
      eventsTopic: this.eventsTopic,
      groupId: this.groupId,
      partitionConcurrency: 3,
      liveness: { heartbeatIntervalMs: 1_000, staleAfterIntervals: 3, offlineAfterIntervals: 6, sweepIntervalMs: 60_000 },
      sweep: false,
      ...overrides,
    });
    this.workers.push(w);
    return w;
  }

  async produce(records: { key: Buffer; value: Buffer }[]): Promise<void> {
    await this.producer.send({ topic: this.inboundTopic, acks: -1, messages: records });
  }

  async stop(): Promise<void> {
    for (const w of this.workers) await w.stop().catch(() => undefined);
    await this.eventConsumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    await this.subscriber?.quit().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    const admin = this.pgAdmin();
    await admin.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
    await admin.end();
    if (this.kafka) await deleteTopics(this.kafka, [this.inboundTopic, this.eventsTopic]).catch(() => undefined);
  }
}
