/**
 * Kafka consumer lag of a process's own consumer groups: the topic's end
 * offsets minus the group's committed offsets, per partition, read with the
 * admin client every few seconds (never per message). The last sample is
 * kept for the metrics to read at scrape time.
 */
import type { Admin, Kafka } from 'kafkajs';

export interface ConsumerLagTarget {
  readonly groupId: string;
  readonly topic: string;
}

export interface PartitionLag {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** Records produced and not yet committed by the group. */
  readonly lag: number;
}

/**
 * Lag per partition from the topic's offsets and the group's commits. A
 * partition the group never committed lags by every record still kept
 * (high - low): the consumers read from the beginning.
 */
export function partitionLags(
  target: ConsumerLagTarget,
  ends: ReadonlyArray<{ partition: number; high: string; low: string }>,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
): PartitionLag[] {
  const commits = new Map(committed.map((c) => [c.partition, Number(c.offset)]));
  return ends
    .map(({ partition, high, low }) => {
      const end = Number(high);
      const done = commits.get(partition) ?? -1;
      const from = done >= 0 ? done : Number(low);
      return { groupId: target.groupId, topic: target.topic, partition, lag: Math.max(0, end - from) };
    })
    .sort((a, b) => a.partition - b.partition);
}

export interface ConsumerLagSamplerOptions {
  readonly intervalMs: number;
  readonly onError?: (err: unknown) => void;
}

export class ConsumerLagSampler {
  private admin: Admin | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private last: PartitionLag[] = [];
  /** Samples that failed (broker unreachable, group coordinator moving). */
  errors = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly targets: readonly ConsumerLagTarget[],
    private readonly options: ConsumerLagSamplerOptions,
  ) {}

  /** The last sample (empty before the first one). */
  get lags(): readonly PartitionLag[] {
    return this.last;
  }

  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Takes one sample now (also what the timer runs); a sample already on its way is awaited instead. */
  sample(): Promise<void> {
    if (!this.running) {
      this.running = this.read().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.admin?.disconnect();
    this.admin = null;
  }

  private async read(): Promise<void> {
    const admin = this.admin;
    if (!admin) return;
    try {
      const next: PartitionLag[] = [];
      for (const target of this.targets) {
        const ends = await admin.fetchTopicOffsets(target.topic);
        const [committed] = await admin.fetchOffsets({ groupId: target.groupId, topics: [target.topic] });
        next.push(...partitionLags(target, ends, committed?.partitions ?? []));
      }
      this.last = next;
    } catch (err) {
      this.errors++;
      this.options.onError?.(err);
    }
  }
}
