/**
 * Runs the reconciler on the agent-events topic in the config-service consumer
 * group, and after it the other handlers of agent events (agents' identity).
 */
import type { Kafka } from 'kafkajs';
import { BatchConsumer } from '@opamp/bus-kafka';
import type { Reconciler } from './reconciler';

/** Something else that works on every batch of agent events. */
export interface AgentEventHandler {
  handleEventRecords(values: ReadonlyArray<Buffer | null>): Promise<void>;
}

export interface ReconcilerWorkerOptions {
  topic: string;
  groupId: string;
  partitionsConsumedConcurrently?: number;
  fromBeginning?: boolean;
  /** How soon a crashed replica's partitions move to another (default 10 s, as status-ingest). */
  sessionTimeoutMs?: number;
}

export class ReconcilerWorker {
  private readonly consumer: BatchConsumer;

  constructor(kafka: Kafka, reconciler: Reconciler, options: ReconcilerWorkerOptions, also: ReadonlyArray<AgentEventHandler> = []) {
    this.consumer = new BatchConsumer(
      kafka,
      {
        groupId: options.groupId,
        topic: options.topic,
        fromBeginning: options.fromBeginning ?? true,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      },
      async (batch) => {
        const values = batch.messages.map((m) => m.value);
        await reconciler.handleEventRecords(values);
        for (const handler of also) await handler.handleEventRecords(values);
      },
    );
  }

  /** The consumer's instrumentation events (GROUP_JOIN, ...). */
  get events() {
    return this.consumer.events;
  }

  on: BatchConsumer['on'] = (...args) => this.consumer.on(...args);

  start(): Promise<void> {
    return this.consumer.start();
  }

  stop(): Promise<void> {
    return this.consumer.stop();
  }
}
