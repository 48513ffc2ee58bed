/**
 * Consumers of agents' own telemetry (issue 19): what the gateway's OTLP
 * receiver accepted, as AgentTelemetry records bound to (tenant,
 * instance_uid). The interface is what a store of the data (item 3, later)
 * implements; OwnTelemetryCounters is the first real one: per-agent counts
 * and the last receive time, shown in the agent's detail. OwnTelemetryWorker
 * feeds a consumer from the opamp.agent-telemetry topic (distributed mode);
 * the embedded server hands records to it in process.
 */
import { AgentTelemetryCodec, EnvelopeDecodeError, type fleet } from '@opamp/contracts';
import { BatchConsumer } from '@opamp/bus-kafka';
import type { SqlExecutor } from '@opamp/store';
import type { Kafka } from 'kafkajs';
import { tallyOwnTelemetry } from '../core/own-telemetry-tally';
import { OwnTelemetryCounterRepository } from '../store/own-telemetry-counter.repository';

export interface AgentTelemetryConsumer {
  /** Takes one batch (one agent's records in the order received); resolves once it is kept. */
  consume(records: readonly fleet.v1.IAgentTelemetry[]): Promise<void>;
}

export interface OwnTelemetryCounterTotals {
  records: number;
  /** Records of agents that no longer exist (deleted meanwhile): dropped. */
  unknownAgents: number;
}

export class OwnTelemetryCounters implements AgentTelemetryConsumer {
  readonly totals: OwnTelemetryCounterTotals = { records: 0, unknownAgents: 0 };
  private readonly repo: OwnTelemetryCounterRepository;

  constructor(db: SqlExecutor) {
    this.repo = new OwnTelemetryCounterRepository(db);
  }

  async consume(records: readonly fleet.v1.IAgentTelemetry[]): Promise<void> {
    this.totals.unknownAgents += await this.repo.add(tallyOwnTelemetry(records));
    this.totals.records += records.length;
  }
}

export interface OwnTelemetryWorkerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  consumer: AgentTelemetryConsumer;
  partitionConcurrency?: number;
  onPoisoned?: (offset: string, err: Error) => void;
  onConsumerCrash?: (err: Error) => void;
}

export class OwnTelemetryWorker {
  /** Records that did not decode: counted and skipped. */
  poisoned = 0;
  private kafkaConsumer: BatchConsumer | null = null;

  constructor(private readonly options: OwnTelemetryWorkerOptions) {}

  async start(): Promise<void> {
    const consumer = new BatchConsumer(
      this.options.kafka,
      {
        groupId: this.options.groupId,
        topic: this.options.topic,
        partitionsConsumedConcurrently: this.options.partitionConcurrency ?? 2,
        sessionTimeoutMs: 10_000,
        onCrash: (err) => this.options.onConsumerCrash?.(err),
      },
      async (batch) => {
        const records: fleet.v1.AgentTelemetry[] = [];
        for (const m of batch.messages) {
          if (!m.value) continue;
          try {
            records.push(AgentTelemetryCodec.decode(m.value));
          } catch (err) {
            if (!(err instanceof EnvelopeDecodeError)) throw err;
            this.poisoned++;
            this.options.onPoisoned?.(m.offset, err);
          }
        }
        await this.options.consumer.consume(records);
      },
    );
    this.kafkaConsumer = consumer;
    await consumer.start();
  }

  async stop(): Promise<void> {
    await this.kafkaConsumer?.stop();
    this.kafkaConsumer = null;
  }
}
