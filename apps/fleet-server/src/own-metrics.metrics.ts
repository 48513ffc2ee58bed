/**
 * The embedded server's counters of agents' own metrics (issue 19 item 3):
 * the same opamp_ingest_own_metric_* names status-ingest exports, read from
 * the store's and the partition sweep's totals at scrape time.
 */
import { OWN_METRIC_PARTITION_COUNTERS, OWN_METRIC_STORE_COUNTERS, type OwnMetricPartitionTotals, type OwnMetricStoreTotals } from '@opamp/ingest';
import { Counter, Registry } from 'prom-client';

export function ownMetricsRegistry(store: Readonly<OwnMetricStoreTotals>, partitions: Readonly<OwnMetricPartitionTotals>): Registry {
  const registry = new Registry();
  const mirrors = [
    ...OWN_METRIC_STORE_COUNTERS.map(([name, help, read]) => [name, help, () => read(store)] as const),
    ...OWN_METRIC_PARTITION_COUNTERS.map(([name, help, read]) => [name, help, () => read(partitions)] as const),
  ];
  for (const [name, help, read] of mirrors) {
    new Counter({
      name: `opamp_ingest_${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
  return registry;
}
