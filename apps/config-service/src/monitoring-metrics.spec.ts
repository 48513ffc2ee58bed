/**
 * Every opamp_config_* and process metric the chart's dashboards and alert
 * rules read is one config-service registers: ConfigServiceMetrics over the
 * same parts the module wires (reconciler, rollout driver, dispatcher, API,
 * package and certificate reconcilers, pool and consumer lag gauges), on in-process buses and a database
 * pool that is never used (registering reads no data).
 */
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import {
  AgentCertificateReconciler,
  AgentPushDispatcher,
  certificateServices,
  ConfigServiceMetrics,
  DesiredStateRepository,
  FleetApiService,
  PackageReconciler,
  Reconciler,
  RolloutDriver,
} from '@opamp/desired-state';
import { registerConsumerLagMetrics } from '@opamp/bus-kafka';
import { PgSqlDatabase, registerPgPoolMetrics } from '@opamp/store';
import { loadMonitoring, missingMetrics, registryFamilies } from '@opamp/testing';
import { Pool } from 'pg';

it('config-service exports every config and process metric the dashboards and alerts read', async () => {
  const pool = new Pool({ connectionString: 'postgres://never-connected.invalid/none' });
  try {
    // No wait for a connection that cannot come: the scrape-time reads fail at once and keep their last figures.
    const db = new PgSqlDatabase(pool, { waitBudgetMs: 0 });
    const repo = new DesiredStateRepository(db);
    const dispatcher = new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore());
    const reconciler = new Reconciler(repo, dispatcher);
    const rolloutDriver = RolloutDriver.create(repo, reconciler);
    const packages = new PackageReconciler(repo, dispatcher, { downloadBase: () => null, urlKey: Buffer.alloc(32, 1) });
    const certificates = certificateServices(db, null, null);
    const certificateReconciler = new AgentCertificateReconciler(certificates, repo, dispatcher, { offer: async () => undefined });
    const api = new FleetApiService(repo, dispatcher, reconciler, null, { packageReconciler: packages, certificates });
    const metrics = new ConfigServiceMetrics({ reconciler, rolloutDriver, dispatcher, api, packages, certificates: certificateReconciler });
    registerPgPoolMetrics(metrics.registry, 'opamp_config', pool);
    registerConsumerLagMetrics(metrics.registry, 'opamp_config', () => [{ groupId: 'g', topic: 't', partition: 0, lag: 0 }]);
    expect(missingMetrics(loadMonitoring(), 'config-service', await registryFamilies(metrics.registry))).toEqual([]);
  } finally {
    await pool.end();
  }
});
