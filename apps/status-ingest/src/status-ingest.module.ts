/**
 * Root module of status-ingest: the connections it owns (Kafka, PostgreSQL), opened
 * at start and closed on shutdown. What the worker does with them arrives with
 * its own modules.
 */
import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ALL_TOPICS } from '@opamp/contracts';
import { createKafkaClient, ensureTopics } from '@opamp/bus-kafka';
import { createPgPool, migrateToLatest } from '@opamp/store';
import type { Pool } from 'pg';
import { StatusIngestConfig, loadStatusIngestConfig } from './config/status-ingest.config';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');

@Injectable()
export class StatusIngestLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('status-ingest');

  constructor(
    @Inject(APP_CONFIG) private readonly config: StatusIngestConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const kafka = createKafkaClient({ brokers: this.config.kafkaBrokers, clientId: this.config.clientId });
    const created = await ensureTopics(kafka, ALL_TOPICS);
    if (created.length > 0) this.logger.log(`created topics ${created.join(', ')}`);
    const client = await this.pool.connect();
    try {
      const applied = await migrateToLatest(client);
      if (applied.length > 0) this.logger.log(`applied migrations ${applied.join(', ')}`);
    } finally {
      client.release();
    }
    this.logger.log('ready');
  }

  async onApplicationShutdown(): Promise<void> {
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
    StatusIngestLifecycle,
  ],
})
export class StatusIngestModule {}
