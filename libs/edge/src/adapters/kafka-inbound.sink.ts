/** InboundSink on Kafka: the opamp.agent-inbound topic, keyed by instance_uid. */
import type { RecordProducer } from '@opamp/bus-kafka';
import type { InboundSink } from '../edge-ports';

export class KafkaInboundSink implements InboundSink {
  private pending = 0;
  private pendingBytes = 0;

  constructor(
    private readonly producer: RecordProducer,
    private readonly topic: string,
  ) {}

  get backlog(): number {
    return this.pending;
  }

  get backlogBytes(): number {
    return this.pendingBytes;
  }

  send(key: Buffer, envelope: Buffer): Promise<void> {
    const size = key.length + envelope.length;
    this.pending++;
    this.pendingBytes += size;
    return this.producer.send(this.topic, { key, value: envelope }).finally(() => {
      this.pending--;
      this.pendingBytes -= size;
    });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
