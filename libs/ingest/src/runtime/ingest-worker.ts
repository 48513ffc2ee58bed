/**
 * status-ingest without a framework: the consumer group on the inbound topic,
 * the processor, the event producer, the push dispatcher, the last-seen flush
 * and the liveness sweep, built from injected clients so tests (and the embedded mode) choose
 * topics, group and connections. The Nest module in apps/status-ingest wraps it.
 */
import type { ServerTracing } from '@opamp/tracing';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import { GatewayPushPublisher, PendingPushStore, RedisAgentChangeFeed } from '@opamp/bus-redis';
import { BatchConsumer, RecordProducer } from '@opamp/bus-kafka';
import type { SqlDatabase } from '@opamp/store';
import { AgentRepository } from '../store/agent-repository';
import { CursorStore } from '../store/cursor-store';
import { PushDispatcher } from '../store/push-dispatcher';
import { InboundProcessor, type BatchStats, type EventSink, type RawRecord } from './inbound-processor';
import { AgentRetentionSweeper } from './agent-retention.sweeper';
import { LivenessSweeper, type LivenessOptions } from './liveness-sweeper';
import { LastSeenFlusher } from './last-seen.flusher';
import { INGEST_DEFAULTS } from '../core/ingest-defaults';
import { LastSeenBuffer } from '../core/last-seen-buffer';

export interface IngestWorkerOptions {
  kafka: Kafka;
  /** Commands (pipelines, publishes); not a subscriber connection. */
  redis: Redis;
  db: SqlDatabase;
  inboundTopic: string;
  eventsTopic: string;
  groupId: string;
  partitionConcurrency?: number;
  /** Records per transaction of the full path (default INGEST_DEFAULTS.workerRecordsPerTransaction). */
  recordsPerTransaction?: number;
  liveness: LivenessOptions;
  /** Run the periodic sweep (default true). */
  sweep?: boolean;
  /** How often last-seen times kept off PostgreSQL are written to the rows (LastSeenFlusher). */
  lastSeenFlushMs?: number;
  /** After each partition batch is processed (before its offsets commit), with how long it took. */
  onBatch?: (stats: BatchStats, durationMs: number) => void;
  onPoisoned?: (record: RawRecord, error: unknown) => void;
  /** This process's traces (default off). */
  tracing?: ServerTracing;
  /** A background task failed (the liveness sweep, the last-seen flush); the message names it. */
  onError?: (error: Error) => void;
  /** A consumer crash kafkajs did not recover from; the consumer is rebuilt after it. */
  onConsumerCrash?: (error: Error) => void;
}

export class IngestWorker {
  readonly processor: InboundProcessor;
  readonly sweeper: LivenessSweeper;
  readonly lastSeen: LastSeenFlusher;
  /** Removes agents disconnected longer than their tenant's retention, on the sweeper's schedule. */
  readonly retention: AgentRetentionSweeper;
  private readonly producer: RecordProducer;
  private consumer: BatchConsumer | null = null;
  private groupJoined = false;
  private crashes = 0;

  constructor(private readonly options: IngestWorkerOptions) {
    this.producer = new RecordProducer(options.kafka, { lingerMs: 2 });
    const events: EventSink = {
      publish: async (records) => {
        await Promise.all(records.map((r) => this.producer.send(options.eventsTopic, r)));
      },
    };
    const repository = new AgentRepository();
    const cursors = new CursorStore(options.redis);
    const pushes = new PushDispatcher(new GatewayPushPublisher(options.redis), new PendingPushStore(options.redis));
    const lastSeen = new LastSeenBuffer();
    this.processor = new InboundProcessor({
      db: options.db,
      cursors,
      events,
      pushes,
      lastSeen,
      repository,
      onPoisoned: options.onPoisoned,
      tracing: options.tracing,
      recordsPerTransaction: options.recordsPerTransaction ?? INGEST_DEFAULTS.workerRecordsPerTransaction,
    });
    const flushMs = options.lastSeenFlushMs ?? INGEST_DEFAULTS.lastSeenFlushMs;
    this.lastSeen = new LastSeenFlusher({ db: options.db, buffer: lastSeen, repository }, flushMs);
    // A row trails its agent by one flush interval and the flush itself: twice the interval is safe.
    this.retention = new AgentRetentionSweeper({ db: options.db, cursors, changes: new RedisAgentChangeFeed(options.redis) });
    this.sweeper = new LivenessSweeper({ db: options.db, cursors, events, repository, retention: this.retention }, { rowLagMs: 2 * flushMs, ...options.liveness });
  }

  /** The consumer is in the group (joined, and not crashed or stopped since). */
  get joined(): boolean {
    return this.groupJoined;
  }

  /** Consumer crashes kafkajs did not recover from (each one rebuilds the consumer). */
  get consumerCrashes(): number {
    return this.crashes;
  }

  async start(): Promise<void> {
    await this.producer.connect();
    const consumer = new BatchConsumer(
      this.options.kafka,
      {
        groupId: this.options.groupId,
        topic: this.options.inboundTopic,
        partitionsConsumedConcurrently: this.options.partitionConcurrency ?? 4,
        sessionTimeoutMs: 10_000,
        onCrash: (err) => {
          this.crashes++;
          this.options.onConsumerCrash?.(err);
        },
      },
      async (batch) => {
        const started = performance.now();
        const stats = await this.processor.process(batch.messages.map((m) => ({ key: m.key, value: m.value, offset: m.offset })));
        this.options.onBatch?.(stats, performance.now() - started);
      },
    );
    // Listeners stay attached across the rebuilds after a crash: a rejoin makes it ready again.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.groupJoined = true;
    });
    consumer.on(consumer.events.CRASH, () => {
      this.groupJoined = false;
    });
    this.consumer = consumer;
    await consumer.start();
    const onError = (task: string) => (err: unknown) => this.options.onError?.(new Error(`${task}: ${String(err)}`, { cause: err }));
    this.lastSeen.start(onError('last-seen flush'));
    if (this.options.sweep !== false) this.sweeper.start(onError('liveness sweep'));
  }

  /** Stops consuming (the current batch finishes and commits), then flushes events. */
  async stop(): Promise<void> {
    await this.sweeper.stop();
    this.groupJoined = false;
    await this.consumer?.stop();
    this.consumer = null;
    await this.lastSeen.stop();
    await this.producer.disconnect();
  }
}
