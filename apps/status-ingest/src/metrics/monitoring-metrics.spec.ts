/**
 * Every opamp_ingest_* and process metric the chart's dashboards and alert
 * rules read is one status-ingest registers (its metrics as the module makes
 * them: default metrics on).
 */
import { loadMonitoring, missingMetrics, registryFamilies } from '@opamp/testing';
import { StatusIngestMetrics } from './status-ingest.metrics';

it('status-ingest exports every ingest and process metric the dashboards and alerts read', async () => {
  const metrics = new StatusIngestMetrics();
  expect(missingMetrics(loadMonitoring(), 'status-ingest', await registryFamilies(metrics.registry))).toEqual([]);
});
