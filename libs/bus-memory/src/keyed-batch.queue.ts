/**
 * The embedded server's twin of a Kafka topic with one consumer: records are
 * spread over partitions by key, each partition is handled in order, in
 * batches, one batch at a time, and `send` resolves once the handler has
 * finished the batch holding the record (that is when it is "durable").
 * A handler failure rejects that batch's sends; later records go on.
 */
import { createHash } from 'node:crypto';

export interface QueuedRecord {
  key: Buffer;
  value: Buffer;
}

export type BatchHandler = (records: QueuedRecord[]) => Promise<void>;

interface Pending extends QueuedRecord {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface KeyedBatchQueueOptions {
  partitions?: number;
  maxBatch?: number;
}

export class KeyedBatchQueue {
  private readonly queues: Pending[][];
  private readonly busy: boolean[];
  private readonly maxBatch: number;
  private handler: BatchHandler | null = null;
  private queuedCount = 0;
  private queuedBytes = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: KeyedBatchQueueOptions = {}) {
    const partitions = options.partitions ?? 4;
    this.queues = Array.from({ length: partitions }, () => []);
    this.busy = Array.from({ length: partitions }, () => false);
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** Records queued or being handled. */
  get backlog(): number {
    return this.queuedCount;
  }

  get backlogBytes(): number {
    return this.queuedBytes;
  }

  consume(handler: BatchHandler): void {
    this.handler = handler;
    this.queues.forEach((_, p) => this.pump(p));
  }

  send(key: Buffer, value: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('queue is closed'));
    const partition = createHash('md5').update(key).digest().readUInt32BE(0) % this.queues.length;
    return new Promise<void>((resolve, reject) => {
      this.queues[partition].push({ key, value, resolve, reject });
      this.queuedCount++;
      this.queuedBytes += key.length + value.length;
      this.pump(partition);
    });
  }

  /** Resolves when everything queued so far has been handled. */
  async drained(): Promise<void> {
    if (this.queuedCount === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new records and waits for the queued ones. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drained();
  }

  private pump(partition: number): void {
    if (!this.handler || this.busy[partition] || this.queues[partition].length === 0) return;
    this.busy[partition] = true;
    const batch = this.queues[partition].splice(0, this.maxBatch);
    const handler = this.handler;
    void (async () => {
      try {
        await handler(batch.map(({ key, value }) => ({ key, value })));
        for (const r of batch) r.resolve();
      } catch (err) {
        for (const r of batch) r.reject(err);
      } finally {
        this.queuedCount -= batch.length;
        for (const r of batch) this.queuedBytes -= r.key.length + r.value.length;
        this.busy[partition] = false;
        if (this.queuedCount === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          waiters.forEach((w) => w());
        }
        this.pump(partition);
      }
    })();
  }
}
