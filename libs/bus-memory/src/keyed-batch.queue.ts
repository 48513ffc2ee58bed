/**
 * The embedded server's twin of a Kafka topic with one consumer: records are
 * spread over partitions by key, each partition is handled in order, in
 * batches, one batch at a time, and `send` resolves once the handler has
 * finished the batch holding the record (that is when it is "durable").
 * A handler failure rejects that batch's sends; later records go on. A failure
 * the `retry` option calls transient (the database unreachable for a while) is
 * instead handled again after a backoff, the partition waiting behind it, as
 * Kafka replays records whose offsets were not committed: what was sent is not
 * dropped because the store was slow. Its backlog meanwhile is what the edge's
 * admission bound sees (agents get UNAVAILABLE, not silence).
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

/** The queue's defaults; retry backoff doubles from min to max, jittered. */
export const KEYED_BATCH_QUEUE_DEFAULTS = {
  partitions: 4,
  maxBatch: 500,
  retryMinMs: 100,
  retryMaxMs: 5_000,
  /** After close, a failing batch is still retried this long, then its sends are rejected (a stop must end). */
  retryAfterCloseMs: 10_000,
} as const;

export interface BatchRetryPolicy {
  /** True when handling the same batch again may succeed. */
  isRetryable(err: unknown): boolean;
  minMs?: number;
  maxMs?: number;
  afterCloseMs?: number;
  /** Each failure that is retried (count it). */
  onRetry?(err: unknown): void;
}

export interface KeyedBatchQueueOptions {
  partitions?: number;
  maxBatch?: number;
  /** Without it, every handler failure rejects the batch's sends. */
  retry?: BatchRetryPolicy;
}

export class KeyedBatchQueue {
  private readonly queues: Pending[][];
  private readonly busy: boolean[];
  private readonly maxBatch: number;
  private handler: BatchHandler | null = null;
  private queuedCount = 0;
  private queuedBytes = 0;
  private closed = false;
  private closedAt = 0;
  private readonly retry: BatchRetryPolicy | null;
  /** Batches handled again after a transient failure. */
  retries = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: KeyedBatchQueueOptions = {}) {
    const partitions = options.partitions ?? KEYED_BATCH_QUEUE_DEFAULTS.partitions;
    this.queues = Array.from({ length: partitions }, () => []);
    this.busy = Array.from({ length: partitions }, () => false);
    this.maxBatch = options.maxBatch ?? KEYED_BATCH_QUEUE_DEFAULTS.maxBatch;
    this.retry = options.retry ?? null;
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
    if (!this.closed) this.closedAt = Date.now();
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
        await this.handleWithRetries(handler, batch);
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

  private async handleWithRetries(handler: BatchHandler, batch: readonly Pending[]): Promise<void> {
    const retry = this.retry;
    let delay = retry?.minMs ?? KEYED_BATCH_QUEUE_DEFAULTS.retryMinMs;
    for (;;) {
      try {
        await handler(batch.map(({ key, value }) => ({ key, value })));
        return;
      } catch (err) {
        if (!retry || !retry.isRetryable(err) || this.pastRetryAfterClose(retry)) throw err;
        this.retries++;
        retry.onRetry?.(err);
        await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
        delay = Math.min(retry.maxMs ?? KEYED_BATCH_QUEUE_DEFAULTS.retryMaxMs, delay * 2);
      }
    }
  }

  private pastRetryAfterClose(retry: BatchRetryPolicy): boolean {
    return this.closed && Date.now() - this.closedAt >= (retry.afterCloseMs ?? KEYED_BATCH_QUEUE_DEFAULTS.retryAfterCloseMs);
  }
}
