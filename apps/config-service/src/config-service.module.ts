/**
 * Root module of config-service: the connections it owns (Kafka, Redis,
 * PostgreSQL), the reconciler on the agent-events topic, the platform API
 * (REST mirror controller here; the gRPC server is attached in app.ts), the
 * agent-change feed behind WatchAgents and the Prometheus metrics (GET /metrics).
 * The feed is Redis pub/sub (bus-redis agent-change.feed.ts says why, not a
 * per-replica Kafka consumer): the reconciler publishes the agents it handled
 * or whose decision changed, every replica's watch hub listens.
 * At start it ensures topics, runs migrations and registers bootstrap admin
 * tokens; on shutdown it stops consuming and closes its connections.
 */
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { KafkaTopics, type AgentChangeFeed } from '@opamp/contracts';
import { ConsumerLagSampler, createKafkaClient, ensureTopics, registerConsumerLagMetrics } from '@opamp/bus-kafka';
import { AgentTokenDirectory, ConnectionLeaseRepository, createRedisConnection, GatewayPushPublisher, PendingPushStore, RedisAgentChangeFeed, RedisAgentStateEraser } from '@opamp/bus-redis';
import { createPgPool, migrateToLatest, PgSqlDatabase, registerPgPoolMetrics } from '@opamp/store';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  AgentCredentialRepository,
  type AgentCredentialServices,
  AgentCredentialSweeper,
  AgentIdentityReconciler,
  CredentialOfferDriver,
  AgentPushDispatcher,
  ConfigServiceMetrics,
  DesiredStateError,
  DesiredStateRepository,
  FleetApiService,
  PackageReconciler,
  PackageRetrySweeper,
  PackageBlobCollector,
  Reconciler,
  ReconcilerWorker,
  RolloutDriver,
  certificateServices,
  AgentCertificateReconciler,
  AgentCertificateRotator,
  AgentCertificateSweeper,
  type CertificateServices,
} from '@opamp/desired-state';
import { PlatformApiModule } from '@opamp/platform-api';
import { ServerTracing } from '@opamp/tracing';
import { AGENT_CHANGES, APP_CONFIG, CONSUMER_LAG, FLEET_API, IDENTITY, KAFKA, METRICS, METRICS_REGISTRY, PACKAGE_BLOBS, PACKAGE_RETRIES, PACKAGES, PG_POOL, RECONCILER, REDIS, REDIS_SUB, REPOSITORY, ROLLOUT_DRIVER, TRACING } from './api/tokens';
import type { ConfigServiceConfig } from './config/config-service.config';

export { APP_CONFIG, FLEET_API, IDENTITY, METRICS, PACKAGE_RETRIES, PACKAGES, PG_POOL, RECONCILER, REPOSITORY, ROLLOUT_DRIVER } from './api/tokens';

/** Agents' identity and certificates (the IDENTITY provider). */
type IdentityServices = AgentCredentialServices & {
  sweeper: AgentCredentialSweeper;
  certificates: CertificateServices;
  certificateReconciler: AgentCertificateReconciler;
  certificateSweeper: AgentCertificateSweeper;
  certificateRotator: AgentCertificateRotator;
  offers: CredentialOfferDriver;
};

@Injectable()
export class ConfigServiceLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('config-service');
  private worker: ReconcilerWorker | null = null;
  private unsubscribeChanges: (() => Promise<void>) | null = null;
  private markJoined: () => void = () => undefined;
  private readonly joinedPromise = new Promise<void>((resolve) => (this.markJoined = resolve));

  constructor(
    @Inject(APP_CONFIG) private readonly config: ConfigServiceConfig,
    @Inject(TRACING) private readonly tracing: ServerTracing,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUB) private readonly redisSub: Redis,
    @Inject(AGENT_CHANGES) private readonly changes: AgentChangeFeed,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(REPOSITORY) private readonly repo: DesiredStateRepository,
    @Inject(RECONCILER) private readonly reconciler: Reconciler,
    @Inject(FLEET_API) private readonly api: FleetApiService,
    @Inject(ROLLOUT_DRIVER) private readonly rolloutDriver: RolloutDriver,
    @Inject(IDENTITY) private readonly identity: IdentityServices,
    @Inject(PACKAGES) private readonly packages: PackageReconciler,
    @Inject(PACKAGE_RETRIES) private readonly packageRetries: PackageRetrySweeper,
    @Inject(CONSUMER_LAG) private readonly consumerLag: ConsumerLagSampler,
    @Inject(PACKAGE_BLOBS) private readonly packageBlobs: PackageBlobCollector,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const created = await ensureTopics(this.kafka, [KafkaTopics.agentInbound, { ...KafkaTopics.agentEvents, name: this.config.eventsTopic }]);
    if (created.length > 0) this.logger.log(`created topics ${created.join(', ')}`);
    const client = await this.pool.connect();
    try {
      const applied = await migrateToLatest(client);
      if (applied.length > 0) this.logger.log(`applied migrations ${applied.join(', ')}`);
    } finally {
      client.release();
    }
    for (const t of this.config.bootstrapAdminTokens) await this.repo.upsertTokenHash(t.tenantId, 'admin', 'bootstrap', t.token);
    // Gateways accept the agent tokens in the shared directory; make it match the database.
    const tokens = await this.api.syncAgentTokens();
    this.logger.log(`agent token directory holds ${tokens} tokens`);
    // WatchAgents: every replica hears every change; after a feed interruption its watches end (clients list again).
    this.unsubscribeChanges = await this.changes.subscribe(
      (n) => this.api.watches.notice(n.tenantId, n.instanceUids),
      () => this.api.watches.endAll(new DesiredStateError('UNAVAILABLE', 'the agent change feed was interrupted; list the agents again and watch again')),
    );
    this.worker = new ReconcilerWorker(
      this.kafka,
      this.reconciler,
      {
        topic: this.config.eventsTopic,
        groupId: this.config.consumerGroup,
        partitionsConsumedConcurrently: this.config.partitionConcurrency,
      },
      // CSRs first: a certificate issued from an agent's first messages is in the first offer it gets.
      [this.identity.certificateReconciler, ...(this.identity.identity ? [this.identity.identity] : []), this.packages],
    );
    const off = this.worker.on(this.worker.events.GROUP_JOIN, () => {
      off();
      this.markJoined();
    });
    await this.worker.start();
    // Re-evaluations the API recorded and nobody finished (a crash mid-way) resume from their cursor.
    this.reconciler.startJobs();
    // Drives the rollouts whose lease this replica holds or takes over; API changes wake it.
    this.api.rollouts.onChange = () => this.rolloutDriver.wake();
    this.api.packageRollouts.onChange = () => this.rolloutDriver.wake();
    this.rolloutDriver.start();
    // Rotation deadlines and scheduled rotations (one replica per pass).
    this.identity.sweeper.start();
    this.identity.offers.start();
    this.identity.certificateSweeper.start();
    // Failed package installs whose back-off passed are offered again.
    this.packageRetries.start();
    if (this.config.consumerLagSampleMs > 0) await this.consumerLag.start();
    // Uploaded files no version names, unused for the grace period, are removed.
    this.packageBlobs.start();
    this.logger.log(`ready (rollout driver ${this.rolloutDriver.driverId})`);
  }

  /** Resolves once the reconciler's consumer has joined its group. */
  joined(): Promise<void> {
    return this.joinedPromise;
  }

  /** Ends the watch streams before the servers close (they would wait for them). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.unsubscribeChanges?.();
    this.api.watches.close();
  }

  async onApplicationShutdown(): Promise<void> {
    // Gives up its rollout leases so another replica continues at once.
    await this.rolloutDriver.stop({ releaseLeases: true });
    await this.identity.sweeper.stop();
    // A page it had claimed and not finished is due again when its lease ends.
    await this.identity.offers.stop();
    await this.identity.certificateSweeper.stop();
    await this.packageRetries.stop();
    await this.consumerLag.stop();
    await this.packageBlobs.stop();
    await this.worker?.stop();
    // Hands its re-evaluation jobs back (cursor kept) so another replica continues at once.
    await this.reconciler.stopJobs({ releaseLeases: true });
    this.redis.disconnect();
    this.redisSub.disconnect();
    await this.pool.end();
    await this.tracing.shutdown().catch(() => undefined);
  }
}

@Module({})
export class ConfigServiceModule {
  static register(config: ConfigServiceConfig): DynamicModule {
    return PlatformApiModule.register([
        { provide: APP_CONFIG, useValue: config },
        { provide: TRACING, useFactory: () => ServerTracing.start(config.tracing, { serviceName: 'config-service', instanceId: config.clientId }) },
        {
          provide: PG_POOL,
          useFactory: () => createPgPool({ connectionString: config.databaseUrl, applicationName: 'config-service', max: config.pgPoolMax }),
        },
        { provide: REDIS, useFactory: () => createRedisConnection({ url: config.redisUrl, connectionName: `${config.clientId}:cmd` }) },
        { provide: REDIS_SUB, useFactory: () => createRedisConnection({ url: config.redisUrl, connectionName: `${config.clientId}:sub` }) },
        { provide: AGENT_CHANGES, inject: [REDIS, REDIS_SUB], useFactory: (redis: Redis, sub: Redis) => new RedisAgentChangeFeed(redis, sub) },
        { provide: KAFKA, useFactory: () => createKafkaClient({ brokers: config.kafkaBrokers, clientId: config.clientId, security: config.kafkaSecurity }) },
        { provide: REPOSITORY, inject: [PG_POOL], useFactory: (pool: Pool) => new DesiredStateRepository(new PgSqlDatabase(pool)) },
        {
          provide: AgentPushDispatcher,
          inject: [REDIS],
          useFactory: (redis: Redis) => new AgentPushDispatcher(new GatewayPushPublisher(redis), new PendingPushStore(redis), new ConnectionLeaseRepository(redis)),
        },
        {
          provide: RECONCILER,
          inject: [REPOSITORY, AgentPushDispatcher, AGENT_CHANGES, TRACING],
          useFactory: (repo: DesiredStateRepository, dispatcher: AgentPushDispatcher, changes: AgentChangeFeed, tracing: ServerTracing) => {
            const logger = new Logger('reconciler');
            return new Reconciler(repo, dispatcher, {
              pageSize: config.reevaluatePageSize,
              tracing,
              onAgentsChanged: (tenantId, instanceUids) => {
                changes.publish({ tenantId, instanceUids }).catch((err: unknown) => logger.warn(`agent change notice not published: ${String(err)}`));
              },
              jobLeaseMs: config.reevaluationLeaseMs,
              log: (level, message) => (level === 'error' ? logger.error(message) : logger.warn(message)),
            });
          },
        },
        {
          provide: ROLLOUT_DRIVER,
          inject: [REPOSITORY, RECONCILER, PACKAGES, TRACING],
          useFactory: (repo: DesiredStateRepository, reconciler: Reconciler, packages: PackageReconciler, tracing: ServerTracing) => {
            const logger = new Logger('rollouts');
            return RolloutDriver.create(repo, reconciler, {
              packages,
              tracing,
              driverId: config.rolloutDriverId || `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
              tickMs: config.rolloutTickMs,
              leaseMs: config.rolloutLeaseMs,
              log: (level, message) => (level === 'error' ? logger.error(message) : level === 'warn' ? logger.warn(message) : logger.log(message)),
            });
          },
        },
        {
          provide: IDENTITY,
          inject: [REPOSITORY, AgentPushDispatcher, REDIS],
          useFactory: (repo: DesiredStateRepository, dispatcher: AgentPushDispatcher, redis: Redis) => {
            const logger = new Logger('identity');
            const credentials = new AgentCredentialRepository(repo.db, config.credentialKey);
            const directory = new AgentTokenDirectory(redis);
            const log = (level: 'info' | 'warn' | 'error', message: string) => (level === 'error' ? logger.error(message) : level === 'warn' ? logger.warn(message) : logger.log(message));
            // Client certificates (issue 18): CAs sealed under the credential key; agents' CSRs judged before their offers.
            const certificates = certificateServices(repo.db, config.credentialKey, directory, { crlValidityHours: config.crlValidityHours });
            const holder: { reconciler: AgentCertificateReconciler | null } = { reconciler: null };
            const identity = new AgentIdentityReconciler(credentials, repo, dispatcher, directory, {
              publicEndpoint: config.publicOpampUrl,
              heartbeatIntervalSeconds: config.offerHeartbeatS,
              log,
              certificatesOf: (tenantId, uids) => holder.reconciler?.certificatesOf(tenantId, uids) ?? Promise.resolve(new Map()),
            });
            // Offers due in the database (rotations, profile changes, retries), whichever replica is up.
            const offers = new CredentialOfferDriver(credentials, identity, {
              offersPerSecond: config.credentialOffersPerS,
              log: (level, message) => (level === 'error' ? logger.error(message) : logger.warn(message)),
            });
            const sweeper = new AgentCredentialSweeper(credentials, directory, offers, {
              intervalMs: config.credentialSweepMs,
              log: (level, message) => (level === 'error' ? logger.error(message) : logger.warn(message)),
            });
            const certificateReconciler = new AgentCertificateReconciler(certificates, repo, dispatcher, { offer: (tenantId, uids) => identity.reconcileAgents(tenantId, uids), log });
            holder.reconciler = certificateReconciler;
            // Rotation (renewals due by age, asked for, or of a retiring CA), offered through the paced queue.
            const rotator = new AgentCertificateRotator(certificates, repo, directory, { credentials, offers, log });
            const certificateSweeper = new AgentCertificateSweeper(certificates, directory, { intervalMs: config.credentialSweepMs, rotator, log });
            return { credentials, directory, identity, sweeper, offers, certificates, certificateReconciler, certificateSweeper, certificateRotator: rotator };
          },
        },
        {
          provide: PACKAGES,
          inject: [REPOSITORY, AgentPushDispatcher],
          useFactory: (repo: DesiredStateRepository, dispatcher: AgentPushDispatcher) => {
            const logger = new Logger('packages');
            return new PackageReconciler(repo, dispatcher, {
              downloadBase: config.packageDownloadUrl,
              urlKey: config.packageUrlKey,
              retryBackoffMs: config.packageRetryBackoffMs,
              log: (level, message) => (level === 'error' ? logger.error(message) : logger.warn(message)),
            });
          },
        },
        {
          provide: PACKAGE_RETRIES,
          inject: [PACKAGES],
          useFactory: (packages: PackageReconciler) => {
            const logger = new Logger('packages');
            return new PackageRetrySweeper(packages, { intervalMs: config.packageRetrySweepMs, log: (_level, message) => logger.error(message) });
          },
        },
        {
          provide: FLEET_API,
          inject: [REPOSITORY, AgentPushDispatcher, RECONCILER, REDIS, AGENT_CHANGES, IDENTITY, PACKAGES, TRACING],
          useFactory: (
            repo: DesiredStateRepository,
            dispatcher: AgentPushDispatcher,
            reconciler: Reconciler,
            redis: Redis,
            changes: AgentChangeFeed,
            identity: IdentityServices,
            packageReconciler: PackageReconciler,
            tracing: ServerTracing,
          ) => {
            const logger = new Logger('watch');
            return new FleetApiService(repo, dispatcher, reconciler, new AgentTokenDirectory(redis), {
              tracing,
              credentials: identity,
              certificates: identity.certificates,
              agentState: new RedisAgentStateEraser(redis),
              // Deletions reach the watches of every replica, as the reconciler's changes do.
              onAgentsChanged: (tenantId, instanceUids) => {
                changes.publish({ tenantId, instanceUids }).catch((err: unknown) => logger.warn(`agent change notice not published: ${String(err)}`));
              },
              watch: { coalesceMs: config.watchCoalesceMs, maxQueue: config.watchMaxQueue, log: (_level, message) => logger.error(message) },
              packages: { maxFileBytes: config.packageMaxFileBytes, fetchTimeoutMs: config.packageFetchTimeoutMs, urlAllow: config.packageUrlAllow },
              packageReconciler,
            });
          },
        },
        {
          provide: PACKAGE_BLOBS,
          inject: [FLEET_API],
          useFactory: (api: FleetApiService) => {
            const logger = new Logger('packages');
            return new PackageBlobCollector(api.packages.blobs, { graceMs: config.packageBlobGraceMs, intervalMs: config.packageBlobSweepMs, log: (_level, message) => logger.error(message) });
          },
        },
        {
          provide: METRICS,
          inject: [RECONCILER, ROLLOUT_DRIVER, AgentPushDispatcher, FLEET_API, PACKAGES, IDENTITY, PG_POOL, CONSUMER_LAG, PACKAGE_BLOBS],
          useFactory: (
            reconciler: Reconciler,
            rolloutDriver: RolloutDriver,
            dispatcher: AgentPushDispatcher,
            api: FleetApiService,
            packages: PackageReconciler,
            identity: IdentityServices,
            pool: Pool,
            consumerLag: ConsumerLagSampler,
            packageBlobs: PackageBlobCollector,
          ) => {
            const metrics = new ConfigServiceMetrics({ reconciler, rolloutDriver, dispatcher, api, packages, packageBlobs, certificates: identity.certificateReconciler, certificateRotator: identity.certificateRotator });
            registerPgPoolMetrics(metrics.registry, 'opamp_config', pool);
            registerConsumerLagMetrics(metrics.registry, 'opamp_config', () => consumerLag.lags);
            return metrics;
          },
        },
        {
          provide: CONSUMER_LAG,
          inject: [KAFKA],
          useFactory: (kafka: Kafka) =>
            new ConsumerLagSampler(kafka, [{ groupId: config.consumerGroup, topic: config.eventsTopic }], { intervalMs: Math.max(1, config.consumerLagSampleMs) }),
        },
        { provide: METRICS_REGISTRY, inject: [METRICS], useFactory: (metrics: ConfigServiceMetrics) => metrics.registry },
        ConfigServiceLifecycle,
      ]);
  }
}
