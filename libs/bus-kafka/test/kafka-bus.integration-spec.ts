/**
 * Against the real broker from `npm run infra:up`: keyed records keep their
 * per-key order across partitions, and a consumer group resumes after a
 * consumer restart without losing anything.
 */
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { BatchConsumer, createKafkaClient, deleteTopics, ensureTopics, RecordProducer } from '../src';

const KEYS = 40;
const PER_KEY = 50;

function keyOf(i: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(i, 12);
  return key;
}

interface Seen {
  key: string;
  seq: number;
  partition: number;
}

function collect(into: Seen[]) {
  return async (batch: { partition: number; messages: KafkaMessage[] }) => {
    for (const m of batch.messages) {
      into.push({ key: m.key!.toString('hex'), seq: Number(m.value!.toString()), partition: batch.partition });
    }
  };
}

describe('Kafka bus (real broker)', () => {
  let kafka: Kafka;
  let topic: string;
  let producer: RecordProducer;

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: testInfra().kafkaBrokers, clientId: 'bus-kafka-test' });
    topic = uniqueName('test.bus');
    const created = await ensureTopics(kafka, [{ name: topic, partitions: 6, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    expect(created).toEqual([topic]);
    // A second call finds the topic and creates nothing.
    expect(
      await ensureTopics(kafka, [{ name: topic, partitions: 6, retentionMs: 3_600_000, valueType: 'AgentInbound' }]),
    ).toEqual([]);
    producer = new RecordProducer(kafka, { lingerMs: 5 });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await deleteTopics(kafka, [topic]).catch(() => undefined);
  });

  async function produce(fromSeq: number, toSeq: number): Promise<void> {
    const sends: Promise<void>[] = [];
    for (let seq = fromSeq; seq < toSeq; seq++) {
      for (let k = 0; k < KEYS; k++) sends.push(producer.send(topic, { key: keyOf(k), value: Buffer.from(String(seq)) }));
    }
    await Promise.all(sends);
  }

  it('keeps per-key order across partitions and resumes after a consumer restart without loss', async () => {
    const groupId = uniqueName('test.group');
    await produce(0, PER_KEY / 2);

    const first: Seen[] = [];
    const consumerA = new BatchConsumer(kafka, { groupId, topic, partitionsConsumedConcurrently: 3 }, collect(first));
    await consumerA.start();
    await waitFor(() => first.length, (n) => n >= (KEYS * PER_KEY) / 2, { timeoutMs: 30_000, description: 'first half consumed' });
    await consumerA.stop();

    // Records produced while no consumer runs must be delivered to the next one.
    await produce(PER_KEY / 2, PER_KEY);

    const second: Seen[] = [];
    const consumerB = new BatchConsumer(kafka, { groupId, topic, partitionsConsumedConcurrently: 3 }, collect(second));
    await consumerB.start();
    try {
      await waitFor(() => second.length, (n) => n >= (KEYS * PER_KEY) / 2, { timeoutMs: 30_000, description: 'second half consumed' });
    } finally {
      await consumerB.stop();
    }

    const all = [...first, ...second];
    // Nothing lost and, after a clean stop, nothing delivered twice.
    expect(all).toHaveLength(KEYS * PER_KEY);
    const byKey = new Map<string, Seen[]>();
    for (const s of all) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s]);
    expect(byKey.size).toBe(KEYS);
    const partitionsUsed = new Set(all.map((s) => s.partition));
    expect(partitionsUsed.size).toBeGreaterThan(1);
    for (const [, seen] of byKey) {
      expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: PER_KEY }, (_, i) => i));
      // One agent's records never straddle partitions.
      expect(new Set(seen.map((s) => s.partition)).size).toBe(1);
    }
  });

  it('replays an uncommitted batch when the handler fails, so nothing is skipped', async () => {
    const groupId = uniqueName('test.group');
    const failTopic = uniqueName('test.fail');
    await ensureTopics(kafka, [{ name: failTopic, partitions: 1, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    try {
      for (let i = 0; i < 5; i++) await producer.send(failTopic, { key: keyOf(1), value: Buffer.from(String(i)) });
      const seen: number[] = [];
      let failed = false;
      const consumer = new BatchConsumer(kafka, { groupId, topic: failTopic }, async (batch) => {
        if (!failed) {
          failed = true;
          throw new Error('handler fails once');
        }
        for (const m of batch.messages) seen.push(Number(m.value!.toString()));
      });
      await consumer.start();
      try {
        await waitFor(() => seen.length, (n) => n >= 5, { timeoutMs: 30_000, description: 'replayed batch' });
      } finally {
        await consumer.stop();
      }
      expect(failed).toBe(true);
      expect(seen).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await deleteTopics(kafka, [failTopic]).catch(() => undefined);
    }
  });
});
