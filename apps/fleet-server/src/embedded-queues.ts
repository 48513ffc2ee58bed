/**
 * The embedded server's in-process twins of its Kafka topics (inbound, events,
 * own telemetry), built alike: a batch whose store work failed for a reason a
 * replay may get past (the database gave no connection in time, a lost
 * connection, a deadlock) is handled again after a backoff, as Kafka replays
 * uncommitted records in the distributed mode, so an agent's acknowledged
 * message is not dropped because the machine was starved for a while. The
 * replays are counted: opamp_embedded_queue_retries_total{queue}.
 */
import { KeyedBatchQueue } from '@opamp/bus-memory';
import { isTransientStoreError } from '@opamp/store';
import { Counter, type Registry } from 'prom-client';

export type EmbeddedQueueName = 'inbound' | 'events' | 'telemetry';

export class EmbeddedQueues {
  private readonly queues = new Map<EmbeddedQueueName, KeyedBatchQueue>();

  create(name: EmbeddedQueueName, options: { partitions: number; maxBatch: number }): KeyedBatchQueue {
    const queue = new KeyedBatchQueue({ ...options, retry: { isRetryable: isTransientStoreError } });
    this.queues.set(name, queue);
    return queue;
  }

  /** Batches handled again per queue. */
  retries(name: EmbeddedQueueName): number {
    return this.queues.get(name)?.retries ?? 0;
  }

  register(registry: Registry): void {
    const queues = this.queues;
    new Counter({
      name: 'opamp_embedded_queue_retries_total',
      help: 'Batches of the embedded server\'s in-process queues handled again after a store failure a replay may get past (the database gave no connection in time, a lost connection, a deadlock)',
      labelNames: ['queue'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [queue, q] of queues) this.inc({ queue }, q.retries);
      },
    });
  }
}
