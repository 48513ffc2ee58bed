/**
 * Root module of config-service: the connections it owns (Kafka, PostgreSQL), opened
 * at start and closed on shutdown. What the worker does with them arrives with
 * its own modules.
 */
import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ALL_TOPICS } from '@opamp/contracts';
import { createKafkaClient, ensureTopics } from '@opamp/bus-kafka';
import { createPgPool, migrateToLatest } from '@opamp/store';
import type { Pool } from 'pg';
import { ConfigServiceConfig, loadConfigServiceConfig } from './config/config-service.config';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');

@Injectable()
export class ConfigServiceLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('config-service');

  constructor(
    @Inject(APP_CONFIG) private readonly config: ConfigServiceConfig,
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
    { provide: APP_CONFIG, useFactory: () => loadConfigServiceConfig() },
    {
      provide: PG_POOL,
      inject: [APP_CONFIG],
      useFactory: (config: ConfigServiceConfig) =>
        createPgPool({ connectionString: config.databaseUrl, applicationName: 'config-service', max: config.pgPoolMax }),
    },
    ConfigServiceLifecycle,
  ],
})
export class ConfigServiceModule {}
