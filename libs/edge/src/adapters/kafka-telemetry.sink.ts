/** TelemetrySink on Kafka: the opamp.agent-telemetry topic, keyed by instance_uid (issue 19). */
import type { RecordProducer } from '@opamp/bus-kafka';
import type { TelemetrySink } from '../edge-ports';

export class KafkaTelemetrySink implements TelemetrySink {
  constructor(
    private readonly producer: RecordProducer,
    private readonly topic: string,
  ) {}

  send(key: Buffer, record: Buffer): Promise<void> {
    return this.producer.send(this.topic, { key, value: record });
  }
}
