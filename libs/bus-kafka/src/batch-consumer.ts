/**
 * Consumes a topic in a consumer group, one partition batch at a time, in
 * order. Offsets are committed only after the handler has finished with the
 * records, so a crash replays (never skips) records; handlers make their
 * effects idempotent.
 *
 * Two guards keep a consumer alive under load:
 * - A fetched batch (up to maxBytesPerPartition) is handed to the handler in
 *   chunks of at most `maxRecordsPerCall`, with a commit and a group heartbeat
 *   after each: a slow store then costs latency, not the group membership.
 * - kafkajs gives up on errors it deems non-retriable (a commit refused after
 *   the member was evicted, "The coordinator is not aware of this member"),
 *   leaving the process alive and consuming nothing. The consumer is then
 *   rebuilt after a short backoff and rejoins; uncommitted records replay.
 */
import type { Consumer, ConsumerEvents, Kafka, KafkaMessage, RemoveInstrumentationEventListener, ValueOf } from 'kafkajs';

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** Keep the group membership alive during a long handler. */
  heartbeat(): Promise<void>;
}

export interface BatchConsumerOptions {
  groupId: string;
  topic: string;
  /** Read from the earliest offset when the group has none (default true). */
  fromBeginning?: boolean;
  /** Partitions handled in parallel; per-partition order is always kept. */
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  /** Most records one handler call gets (default 500); larger fetches are split, committed chunk by chunk. */
  maxRecordsPerCall?: number;
  /** Delay before a consumer that kafkajs gave up on is rebuilt (default 1 s, doubling to 30 s while it keeps failing). */
  restartDelayMs?: number;
  /** Told about each crash kafkajs does not recover from itself, before the rebuild. */
  onCrash?: (error: Error) => void;
}

export type BatchHandler = (batch: PartitionBatch) => Promise<void>;

type EventName = ValueOf<ConsumerEvents>;
type Listener = (event: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

export class BatchConsumer {
  private consumer: Consumer;
  private running = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Instrumentation listeners, re-attached to each rebuilt consumer. */
  private readonly listeners = new Set<{ event: EventName; listener: Listener; remove: RemoveInstrumentationEventListener<EventName> }>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerOptions,
    private readonly handler: BatchHandler,
  ) {
    this.consumer = this.createConsumer();
  }

  /** The kafkajs consumer's instrumentation events (GROUP_JOIN, CRASH, ...). */
  get events() {
    return this.consumer.events;
  }

  /** Consumers rebuilt after a crash kafkajs did not recover from. */
  get crashRestarts(): number {
    return this.restarts;
  }

  on = <E extends EventName>(event: E, listener: Listener): RemoveInstrumentationEventListener<E> => {
    const entry = { event, listener, remove: this.consumer.on(event, listener) };
    this.listeners.add(entry);
    return (() => {
      this.listeners.delete(entry);
      entry.remove();
    }) as RemoveInstrumentationEventListener<E>;
  };

  async start(): Promise<void> {
    this.running = true;
    await this.run(this.consumer);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.consumer.disconnect();
  }

  private createConsumer(): Consumer {
    const o = this.options;
    const consumer = this.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 3_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || !this.running || consumer !== this.consumer) return;
      this.options.onCrash?.(payload.error);
      this.scheduleRebuild();
    });
    for (const entry of this.listeners) entry.remove = consumer.on(entry.event, entry.listener);
    return consumer;
  }

  private scheduleRebuild(): void {
    const base = this.options.restartDelayMs ?? 1_000;
    const delay = Math.min(30_000, base * 2 ** Math.min(this.restarts, 5));
    this.restarts++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.running) return;
      const old = this.consumer;
      this.consumer = this.createConsumer();
      void old.disconnect().catch(() => undefined);
      this.run(this.consumer).catch((err: Error) => {
        // Could not even connect (broker down): try again later.
        this.options.onCrash?.(err);
        if (this.running) this.scheduleRebuild();
      });
    }, delay);
    this.restartTimer.unref?.();
  }

  private async run(consumer: Consumer): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? true });
    const chunkSize = Math.max(1, this.options.maxRecordsPerCall ?? 500);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        for (let from = 0; from < batch.messages.length; from += chunkSize) {
          if (!isRunning() || isStale()) return;
          const messages = batch.messages.slice(from, from + chunkSize);
          await this.handler({ topic: batch.topic, partition: batch.partition, messages, heartbeat });
          const last = messages[messages.length - 1];
          // Advances the fetch position; the commit makes it durable for the group.
          resolveOffset(last.offset);
          await consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
          ]);
          await heartbeat();
        }
      },
    });
  }
}
