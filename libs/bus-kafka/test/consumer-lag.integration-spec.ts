/**
 * Consumer lag against the real broker: zero while the group keeps up, the
 * records produced while its consumer is stopped once it is, zero again once
 * a consumer of the group has caught up.
 */
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import type { Kafka } from 'kafkajs';
import { BatchConsumer, ConsumerLagSampler, createKafkaClient, deleteTopics, ensureTopics, RecordProducer } from '../src';

describe('consumer lag (real broker)', () => {
  let kafka: Kafka;
  let producer: RecordProducer;
  const topic = uniqueName('test.lag');
  const groupId = uniqueName('test.lag-group');

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: testInfra().kafkaBrokers, clientId: 'bus-kafka-lag-test' });
    await ensureTopics(kafka, [{ name: topic, partitions: 3, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    producer = new RecordProducer(kafka, { lingerMs: 5 });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  async function produce(n: number): Promise<void> {
    await Promise.all(Array.from({ length: n }, (_, i) => producer.send(topic, { key: Buffer.from(`k${i}`), value: Buffer.from(String(i)) })));
  }

  it('goes up by what is produced while the consumer is stopped and back to 0 after it caught up', async () => {
    const sampler = new ConsumerLagSampler(kafka, [{ groupId, topic }], { intervalMs: 60_000 });
    let consumed = 0;
    const consumer = () => new BatchConsumer(kafka, { groupId, topic }, async (batch) => void (consumed += batch.messages.length));
    const total = async () => {
      await sampler.sample();
      return sampler.lags.reduce((n, p) => n + p.lag, 0);
    };
    await sampler.start();
    try {
      await produce(30);
      const first = consumer();
      await first.start();
      await waitFor(total, (n) => n === 0 && consumed === 30, { timeoutMs: 30_000, description: 'first records consumed and committed' });
      expect(sampler.lags.map((p) => p.partition)).toEqual([0, 1, 2]);
      await first.stop();

      await produce(45);
      expect(await total()).toBe(45);
      expect(sampler.lags.every((p) => p.groupId === groupId && p.topic === topic)).toBe(true);

      const second = consumer();
      await second.start();
      try {
        expect(await waitFor(total, (n) => n === 0, { timeoutMs: 30_000, description: 'lag back to 0' })).toBe(0);
        expect(consumed).toBe(75);
      } finally {
        await second.stop();
      }
      expect(sampler.errors).toBe(0);
    } finally {
      await sampler.stop();
    }
  }, 90_000);
});
