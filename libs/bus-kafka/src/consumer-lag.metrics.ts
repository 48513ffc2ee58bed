/** The consumer lag gauge, in the registry and metric namespace of the app whose groups it samples. */
import { Gauge, type Registry } from 'prom-client';
import type { PartitionLag } from './consumer-lag.sampler';

/** Registers `<namespace>_consumer_lag_records{group,topic,partition}`, read from the last sample at scrape time. */
export function registerConsumerLagMetrics(registry: Registry, namespace: string, read: () => readonly PartitionLag[]): void {
  new Gauge({
    name: `${namespace}_consumer_lag_records`,
    help: "Records of a partition not yet committed by this app's consumer group (end offset minus committed offset), sampled every OPAMP_CONSUMER_LAG_SAMPLE_MS",
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of read()) this.set({ group: p.groupId, topic: p.topic, partition: String(p.partition) }, p.lag);
    },
  });
}
