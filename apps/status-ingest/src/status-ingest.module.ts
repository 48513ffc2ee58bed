/**
 * Root module of status-ingest: the connections it owns (Kafka, Redis,
 * PostgreSQL), opened at start and closed on shutdown, and the IngestWorker
 * (libs/ingest) that consumes opamp.agent-inbound. On shutdown the consumer
 * stops first (its current batch finishes and commits), then the event
 * producer flushes, then the connections close.
 */
import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ALL_TOPICS } from '@opamp/contracts';
import { createKafkaClient, ensureTopics } from '@opamp/bus-kafka';
import { createRedisConnection } from '@opamp/bus-redis';
import { IngestWorker } from '@opamp/ingest';
import { createPgPool, migrateToLatest, PgSqlDatabase } from '@opamp/store';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { StatusIngestConfig, loadStatusIngestConfig } from './config/status-ingest.config';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
export const KAFKA = Symbol('KAFKA');
export const REDIS = Symbol('REDIS');
export const INGEST_WORKER = Symbol('INGEST_WORKER');

@Injectable()
export class StatusIngestLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('status-ingest');

  constructor(
    @Inject(APP_CONFIG) private readonly config: StatusIngestConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(INGEST_WORKER) private readonly worker: IngestWorker,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const topics = ALL_TOPICS.map((t) =>
      t.valueType === 'AgentInbound' ? { ...t, name: this.config.inboundTopic } : { ...t, name: this.config.eventsTopic },
    );
    const created = await ensureTopics(this.kafka, topics);
    if (created.length > 0) this.logger.log(`created topics ${created.join(', ')}`);
    const client = await this.pool.connect();
    try {
      const applied = await migrateToLatest(client);
      if (applied.length > 0) this.logger.log(`applied migrations ${applied.join(', ')}`);
    } finally {
      client.release();
    }
    await this.worker.start();
    this.logger.log(`consuming ${this.config.inboundTopic} as ${this.config.groupId}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker.stop().catch((err: unknown) => this.logger.error(`stopping the worker: ${String(err)}`));
    await this.redis.quit().catch(() => undefined);
    await this.pool.end();
  }
}

@Module({
  providers: [
    { provide: APP_CONFIG, useFactory: () => loadStatusIngestConfig() },
    {
      provide: PG_POOL,
      inject: [APP_CONFIG],
      useFactory: (config: StatusIngestConfig) =>
        createPgPool({ connectionString: config.databaseUrl, applicationName: 'status-ingest', max: config.pgPoolMax }),
    },
    {
      provide: KAFKA,
      inject: [APP_CONFIG],
      useFactory: (config: StatusIngestConfig) => createKafkaClient({ brokers: config.kafkaBrokers, clientId: config.clientId }),
    },
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: StatusIngestConfig) => createRedisConnection({ url: config.redisUrl, connectionName: `${config.clientId}:cmd` }),
    },
    {
      provide: INGEST_WORKER,
      inject: [APP_CONFIG, PG_POOL, KAFKA, REDIS],
      useFactory: (config: StatusIngestConfig, pool: Pool, kafka: Kafka, redis: Redis) => {
        const logger = new Logger('status-ingest');
        return new IngestWorker({
          kafka,
          redis,
          db: new PgSqlDatabase(pool),
          inboundTopic: config.inboundTopic,
          eventsTopic: config.eventsTopic,
          groupId: config.groupId,
          partitionConcurrency: config.partitionConcurrency,
          liveness: config.liveness,
          onPoisoned: (record, err) => logger.warn(`skipped a poisoned record at offset ${record.offset}: ${String(err)}`),
          onError: (err) => logger.error(`liveness sweep: ${String(err)}`),
        });
      },
    },
    StatusIngestLifecycle,
  ],
})
export class StatusIngestModule {}
