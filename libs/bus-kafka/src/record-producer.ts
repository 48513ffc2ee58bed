/**
 * Produces keyed records with a short linger, so thousands of small messages a
 * second leave as a few batched requests instead of one request each.
 *
 * The producer is idempotent with acks=all: broker-side dedup of retries, and
 * per-partition order kept. Keys are the raw 16-byte instance_uid, so every
 * record of one agent lands in one partition.
 *
 * A broker that restarted may no longer know the producer's id or sequence
 * (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH):
 * kafkajs then fails every later batch of that producer for good (the fault
 * suite's Kafka stop: a gateway's every envelope refused until it was
 * restarted). The failed batch is rejected and a new producer, with a new id,
 * takes over, as the Java client resets its producer id.
 */
import { CompressionTypes, Partitioners, type Kafka, type Producer, type Message } from 'kafkajs';

export interface KeyedRecord {
  key: Buffer;
  value: Buffer;
  headers?: Record<string, string | Buffer>;
}

export interface RecordProducerOptions {
  /** How long a record may wait for companions before the batch is sent. */
  lingerMs?: number;
  /** Send at once when this many records are waiting. */
  maxBatchRecords?: number;
  compression?: CompressionTypes;
}

/** Errors after which this producer id can send nothing more. */
const FATAL_PRODUCER_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH']);

function isFatalForProducer(err: unknown): boolean {
  return FATAL_PRODUCER_ERRORS.has(String((err as { type?: unknown })?.type ?? ''));
}

interface Pending {
  topic: string;
  message: Message;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class RecordProducer {
  private producer: Producer;
  private readonly newProducer: () => Producer;
  /** Producers replaced after a fatal error (for the logs and tests). */
  replacements = 0;
  /** The replacement still has to connect (done before its first batch, retried with the next one). */
  private unconnected = false;
  private readonly lingerMs: number;
  private readonly maxBatchRecords: number;
  private readonly compression: CompressionTypes;
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(kafka: Kafka, options: RecordProducerOptions = {}) {
    this.newProducer = () =>
      kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        // An idempotent producer keeps order only if it never gives up on a batch;
        // callers bound the wait with their own backlog limits.
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
    this.producer = this.newProducer();
    this.lingerMs = options.lingerMs ?? 5;
    this.maxBatchRecords = options.maxBatchRecords ?? 2_000;
    this.compression = options.compression ?? CompressionTypes.None;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** Resolves once the broker has acknowledged the record (acks=all). */
  send(topic: string, record: KeyedRecord): Promise<void> {
    if (this.closed) return Promise.reject(new Error('producer is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        topic,
        message: { key: record.key, value: record.value, headers: record.headers },
        resolve,
        reject,
      });
      if (this.pending.length >= this.maxBatchRecords) this.flushSoon(0);
      else this.flushSoon(this.lingerMs);
    });
  }

  /** Sends whatever is waiting and resolves when it has been acknowledged. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.inFlight = this.inFlight.then(() => this.sendPending());
    await this.inFlight;
  }

  async disconnect(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.producer.disconnect();
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  private async sendPending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push(p.message);
    }
    try {
      if (this.unconnected) {
        await this.producer.connect();
        this.unconnected = false;
      }
      await this.producer.sendBatch({
        acks: -1,
        compression: this.compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err);
      if (isFatalForProducer(err) && !this.closed) await this.replaceProducer();
    }
  }

  /** A new producer (a new producer id) in place of one the broker no longer takes; the next batch waits for it. */
  private async replaceProducer(): Promise<void> {
    const old = this.producer;
    this.producer = this.newProducer();
    this.replacements++;
    this.unconnected = true;
    await old.disconnect().catch(() => undefined);
  }
}
