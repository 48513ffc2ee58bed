/**
 * Root module of status-ingest: the connections it owns (Kafka, Redis,
 * PostgreSQL), opened at start and closed on shutdown, and the IngestWorker
 * (libs/ingest) that consumes opamp.agent-inbound, the OwnTelemetryWorker
 * that counts agents' own telemetry from opamp.agent-telemetry (issue 19), a
 * second one (a group of its own) that stores their own metrics with the
 * partition sweep of those tables (issue 19 item 3), and the metrics / health port. On shutdown the consumer stops first (its current batch finishes and
 * commits), then the event producer flushes, then the port and the
 * connections close.
 */
import { hostname } from 'node:os';
import { ServerTracing } from '@opamp/tracing';
import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ALL_TOPICS } from '@opamp/contracts';
import { ConsumerLagSampler, createKafkaClient, ensureTopics, registerConsumerLagMetrics } from '@opamp/bus-kafka';
import { createRedisConnection } from '@opamp/bus-redis';
import { IngestWorker, OwnMetricPartitionSweeper, OwnMetricStore, OwnTelemetryCounters, OwnTelemetryForwarder, OwnTelemetryWorker } from '@opamp/ingest';
import { createPgPool, migrateToLatest, PgSqlDatabase, registerPgPoolMetrics } from '@opamp/store';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { StatusIngestConfig, loadStatusIngestConfig } from './config/status-ingest.config';
import { MetricsServer } from './metrics/metrics.server';
import { StatusIngestMetrics } from './metrics/status-ingest.metrics';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const PG_POOL = Symbol('PG_POOL');
/** The lag sampler of the inbound and own-telemetry consumer groups (started when OPAMP_CONSUMER_LAG_SAMPLE_MS > 0). */
export const CONSUMER_LAG = Symbol('CONSUMER_LAG');
export const KAFKA = Symbol('KAFKA');
export const REDIS = Symbol('REDIS');
export const INGEST_WORKER = Symbol('INGEST_WORKER');
export const INGEST_METRICS = Symbol('INGEST_METRICS');
export const OWN_TELEMETRY_WORKER = Symbol('OWN_TELEMETRY_WORKER');
/** The store of agents' own metrics: its worker (own consumer group) and partition sweep. */
export const OWN_METRICS = Symbol('OWN_METRICS');
interface OwnMetricsRuntime {
  worker: OwnTelemetryWorker;
  partitions: OwnMetricPartitionSweeper;
}
/** The metrics / health HTTP server, null when OPAMP_INGEST_METRICS_PORT is 0. */
export const METRICS_SERVER = Symbol('METRICS_SERVER');
/** This process's traces (ServerTracing.off unless OPAMP_TRACING_OTLP_ENDPOINT is set). */
export const TRACING = Symbol('TRACING');

@Injectable()
export class StatusIngestLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('status-ingest');

  constructor(
    @Inject(APP_CONFIG) private readonly config: StatusIngestConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(INGEST_WORKER) private readonly worker: IngestWorker,
    @Inject(OWN_TELEMETRY_WORKER) private readonly telemetry: OwnTelemetryWorker,
    @Inject(OWN_METRICS) private readonly ownMetrics: OwnMetricsRuntime,
    @Inject(METRICS_SERVER) private readonly metricsServer: MetricsServer | null,
    @Inject(TRACING) private readonly tracing: ServerTracing,
    @Inject(CONSUMER_LAG) private readonly consumerLag: ConsumerLagSampler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Up before topics and migrations, so probes see 503 (not a refused connection) while it starts.
    if (this.metricsServer) {
      await this.metricsServer.start();
      this.logger.log(`metrics and health on port ${this.metricsServer.port}`);
    }
    const names = { AgentInbound: this.config.inboundTopic, AgentEvent: this.config.eventsTopic, AgentTelemetry: this.config.ownTelemetry.topic } as const;
    const topics = ALL_TOPICS.map((t) => ({ ...t, name: names[t.valueType] }));
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
    await this.telemetry.start();
    this.logger.log(`consuming ${this.config.ownTelemetry.topic} as ${this.config.ownTelemetry.groupId}`);
    // Partitions exist before the first point is written.
    await this.ownMetrics.partitions.start((err) => this.logger.error(`own-metric partition sweep failed: ${String(err)}`));
    await this.ownMetrics.worker.start();
    this.logger.log(`storing own metrics from ${this.config.ownTelemetry.topic} as ${this.config.ownMetrics.groupId}`);
    if (this.config.consumerLagSampleMs > 0) await this.consumerLag.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumerLag.stop();
    await this.telemetry.stop().catch((err: unknown) => this.logger.error(`stopping the own-telemetry worker: ${String(err)}`));
    await this.ownMetrics.worker.stop().catch((err: unknown) => this.logger.error(`stopping the own-metrics worker: ${String(err)}`));
    await this.ownMetrics.partitions.stop();
    await this.worker.stop().catch((err: unknown) => this.logger.error(`stopping the worker: ${String(err)}`));
    await this.metricsServer?.stop();
    await this.redis.quit().catch(() => undefined);
    await this.pool.end();
    await this.tracing.shutdown().catch(() => undefined);
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
      useFactory: (config: StatusIngestConfig) => createKafkaClient({ brokers: config.kafkaBrokers, clientId: config.clientId, security: config.kafkaSecurity }),
    },
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: StatusIngestConfig) => createRedisConnection({ url: config.redisUrl, connectionName: `${config.clientId}:cmd` }),
    },
    {
      provide: INGEST_METRICS,
      inject: [PG_POOL, CONSUMER_LAG],
      useFactory: (pool: Pool, consumerLag: ConsumerLagSampler) => {
        const metrics = new StatusIngestMetrics();
        registerPgPoolMetrics(metrics.registry, 'opamp_ingest', pool);
        registerConsumerLagMetrics(metrics.registry, 'opamp_ingest', () => consumerLag.lags);
        return metrics;
      },
    },
    {
      provide: CONSUMER_LAG,
      inject: [APP_CONFIG, KAFKA],
      useFactory: (config: StatusIngestConfig, kafka: Kafka) =>
        new ConsumerLagSampler(
          kafka,
          [
            { groupId: config.groupId, topic: config.inboundTopic },
            { groupId: config.ownTelemetry.groupId, topic: config.ownTelemetry.topic },
            { groupId: config.ownMetrics.groupId, topic: config.ownTelemetry.topic },
          ],
          { intervalMs: Math.max(1, config.consumerLagSampleMs) },
        ),
    },
    {
      provide: TRACING,
      inject: [APP_CONFIG],
      useFactory: (config: StatusIngestConfig) => ServerTracing.start(config.tracing, { serviceName: 'status-ingest', instanceId: `${hostname()}-${process.pid}` }),
    },
    {
      provide: INGEST_WORKER,
      inject: [APP_CONFIG, PG_POOL, KAFKA, REDIS, INGEST_METRICS, TRACING],
      useFactory: (config: StatusIngestConfig, pool: Pool, kafka: Kafka, redis: Redis, metrics: StatusIngestMetrics, tracing: ServerTracing) => {
        const logger = new Logger('status-ingest');
        const worker = new IngestWorker({
          kafka,
          redis,
          db: new PgSqlDatabase(pool),
          inboundTopic: config.inboundTopic,
          eventsTopic: config.eventsTopic,
          groupId: config.groupId,
          partitionConcurrency: config.partitionConcurrency,
          liveness: config.liveness,
          lastSeenFlushMs: config.lastSeenFlushMs,
          tracing,
          onPoisoned: (record, err) => logger.warn(`skipped a poisoned record at offset ${record.offset}: ${String(err)}`),
          onError: (err) => logger.error(err.message),
          onConsumerCrash: (err) => logger.error(`inbound consumer crashed, rebuilding it: ${err.message}`),
          onBatch: (_stats, durationMs) => metrics.observeBatch(durationMs),
        });
        metrics.watch(worker);
        return worker;
      },
    },
    {
      provide: OWN_TELEMETRY_WORKER,
      inject: [APP_CONFIG, PG_POOL, KAFKA, INGEST_METRICS],
      useFactory: (config: StatusIngestConfig, pool: Pool, kafka: Kafka, metrics: StatusIngestMetrics) => {
        const logger = new Logger('status-ingest');
        const counters = new OwnTelemetryCounters(new PgSqlDatabase(pool));
        const worker = new OwnTelemetryWorker({
          kafka,
          topic: config.ownTelemetry.topic,
          groupId: config.ownTelemetry.groupId,
          consumer: counters,
          onPoisoned: (offset, err) => logger.warn(`skipped a poisoned own-telemetry record at offset ${offset}: ${String(err)}`),
          onConsumerCrash: (err) => logger.error(`own-telemetry consumer crashed, rebuilding it: ${err.message}`),
        });
        metrics.watchOwnTelemetry({
          get poisoned() {
            return worker.poisoned;
          },
          totals: counters.totals,
        });
        return worker;
      },
    },
    {
      provide: OWN_METRICS,
      inject: [APP_CONFIG, PG_POOL, KAFKA, INGEST_METRICS],
      useFactory: (config: StatusIngestConfig, pool: Pool, kafka: Kafka, metrics: StatusIngestMetrics): OwnMetricsRuntime => {
        const logger = new Logger('status-ingest');
        const db = new PgSqlDatabase(pool);
        const store = new OwnMetricStore(db, { maxSeriesPerAgent: config.ownMetrics.maxSeriesPerAgent });
        // Forwarding (when configured) rides on the store's group: at least once, after the store kept the batch.
        const forwarder = config.ownMetrics.forwardUrl ? new OwnTelemetryForwarder(config.ownMetrics.forwardUrl) : null;
        const worker = new OwnTelemetryWorker({
          kafka,
          topic: config.ownTelemetry.topic,
          groupId: config.ownMetrics.groupId,
          consumer: forwarder ? { consume: async (records) => (await store.consume(records), await forwarder.consume(records)) } : store,
          onPoisoned: (offset, err) => logger.warn(`skipped a poisoned own-telemetry record at offset ${offset}: ${String(err)}`),
          onConsumerCrash: (err) => logger.error(`own-metrics consumer crashed, rebuilding it: ${err.message}`),
        });
        const partitions = new OwnMetricPartitionSweeper(db, { retention: config.ownMetrics.retention, intervalMs: config.ownMetrics.partitionSweepMs });
        metrics.watchOwnMetrics({ store: store.totals, partitions: partitions.totals });
        return { worker, partitions };
      },
    },
    {
      provide: METRICS_SERVER,
      inject: [APP_CONFIG, INGEST_METRICS, INGEST_WORKER],
      useFactory: (config: StatusIngestConfig, metrics: StatusIngestMetrics, worker: IngestWorker) =>
        config.metrics ? new MetricsServer({ ...config.metrics, registry: metrics.registry, isReady: () => worker.joined }) : null,
    },
    StatusIngestLifecycle,
  ],
})
export class StatusIngestModule {}
