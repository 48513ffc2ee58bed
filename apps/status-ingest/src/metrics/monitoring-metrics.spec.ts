/**
 * Every opamp_ingest_* and process metric the chart's dashboards and alert
 * rules read is one status-ingest registers (its metrics as the module makes
 * them: default metrics on, the pool gauges of a pool that never connects, the consumer lag gauge).
 */
import { registerConsumerLagMetrics } from '@opamp/bus-kafka';
import { registerPgPoolMetrics } from '@opamp/store';
import { loadMonitoring, missingMetrics, registryFamilies } from '@opamp/testing';
import { Pool } from 'pg';
import { StatusIngestMetrics } from './status-ingest.metrics';

it('status-ingest exports every ingest and process metric the dashboards and alerts read', async () => {
  const pool = new Pool({ connectionString: 'postgres://never-connected.invalid/none' });
  const metrics = new StatusIngestMetrics();
  registerPgPoolMetrics(metrics.registry, 'opamp_ingest', pool);
  registerConsumerLagMetrics(metrics.registry, 'opamp_ingest', () => [{ groupId: 'g', topic: 't', partition: 0, lag: 0 }]);
  try {
    expect(missingMetrics(loadMonitoring(), 'status-ingest', await registryFamilies(metrics.registry))).toEqual([]);
  } finally {
    await pool.end();
  }
});
