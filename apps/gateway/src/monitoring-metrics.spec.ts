/**
 * Every opamp_gateway_* and process metric the chart's dashboards and alert
 * rules read is one a gateway registers: its registry built by the edge's
 * metric class as the gateway runs it (a gateway id, default metrics on).
 */
import { EdgeMetrics } from '@opamp/edge';
import { loadMonitoring, missingMetrics, registryFamilies } from '@opamp/testing';

it('the gateway exports every gateway and process metric the dashboards and alerts read', async () => {
  const metrics = new EdgeMetrics({ gatewayId: 'gateway-a' });
  expect(missingMetrics(loadMonitoring(), 'gateway', await registryFamilies(metrics.registry))).toEqual([]);
});
