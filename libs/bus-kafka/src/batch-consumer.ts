/**
 * Consumes a topic in a consumer group, one partition batch at a time, in
 * order. Offsets are committed only after the handler has finished with the
 * batch, so a crash replays (never skips) records; handlers make their effects
 * idempotent.
 */
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';

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
}

export type BatchHandler = (batch: PartitionBatch) => Promise<void>;

export class BatchConsumer {
  private readonly consumer: Consumer;
  private running = false;

  constructor(
    kafka: Kafka,
    private readonly options: BatchConsumerOptions,
    private readonly handler: BatchHandler,
  ) {
    this.consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
  }

  /** The kafkajs consumer's instrumentation events (GROUP_JOIN, CRASH, ...). */
  get events() {
    return this.consumer.events;
  }

  on: Consumer['on'] = (...args) => this.consumer.on(...args);

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning ?? true });
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        await this.handler({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages,
          heartbeat,
        });
        const last = batch.messages[batch.messages.length - 1];
        // Advances the fetch position; the commit below makes it durable for the group.
        resolveOffset(last.offset);
        await this.consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
      },
    });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.consumer.disconnect();
  }
}
