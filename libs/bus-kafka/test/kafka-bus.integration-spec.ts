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
  const extraTopics: string[] = [];

  async function singlePartitionTopic(prefix: string): Promise<string> {
    const name = uniqueName(prefix);
    await ensureTopics(kafka, [{ name, partitions: 1, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    extraTopics.push(name);
    return name;
  }

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
    // Deleted only now: the shared producer keeps every topic it sent to in its metadata,
    // and a topic deleted under it makes its later sends fail.
    await deleteTopics(kafka, [topic, ...extraTopics]).catch(() => undefined);
  });

  it('ensures topics from several processes at once (they all start together): each call returns only once every partition has a leader', async () => {
    // Gateways, status-ingest and config-service each make the topics they use when they start;
    // a just-made topic whose metadata is not everywhere yet once failed a start ("This server does
    // not host this topic-partition").
    const clients = Array.from({ length: 4 }, (_, i) => createKafkaClient({ brokers: testInfra().kafkaBrokers, clientId: `bus-kafka-race-${i}` }));
    for (let round = 0; round < 3; round++) {
      const names = [uniqueName('test.race'), uniqueName('test.race'), uniqueName('test.race')];
      extraTopics.push(...names);
      const specs = names.map((name) => ({ name, partitions: 12, retentionMs: 3_600_000, valueType: 'AgentInbound' as const }));
      // Each caller reads the topics' metadata as soon as its call returned (as a consumer starting next would).
      const leaders = await Promise.all(
        clients.map(async (c) => {
          await ensureTopics(c, specs);
          const admin = c.admin();
          await admin.connect();
          try {
            const { topics } = await admin.fetchTopicMetadata({ topics: names });
            return topics.map((t) => t.partitions.filter((p) => p.leader >= 0).length);
          } finally {
            await admin.disconnect();
          }
        }),
      );
      expect(leaders).toEqual(clients.map(() => [12, 12, 12]));
    }
  }, 60_000);

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

  it('hands a large fetch to the handler in bounded chunks, each committed before the next', async () => {
    const groupId = uniqueName('test.group');
    const chunkTopic = await singlePartitionTopic('test.chunk');
    await Promise.all(Array.from({ length: 230 }, (_, i) => producer.send(chunkTopic, { key: keyOf(2), value: Buffer.from(String(i)) })));
    const calls: number[][] = [];
    const consumer = new BatchConsumer(kafka, { groupId, topic: chunkTopic, maxRecordsPerCall: 50 }, async (batch) => {
      calls.push(batch.messages.map((m) => Number(m.value!.toString())));
    });
    await consumer.start();
    try {
      await waitFor(() => calls.flat().length, (n) => n >= 230, { timeoutMs: 30_000, description: 'all records handled' });
      // The group's committed offset follows the chunks.
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitFor(
          async () => (await admin.fetchOffsets({ groupId, topics: [chunkTopic] }))[0].partitions[0].offset,
          (o) => o === '230',
          { timeoutMs: 10_000, description: 'offset committed' },
        );
      } finally {
        await admin.disconnect();
      }
    } finally {
      await consumer.stop();
    }
    expect(Math.max(...calls.map((c) => c.length))).toBeLessThanOrEqual(50);
    expect(calls.length).toBeGreaterThanOrEqual(5);
    expect(calls.flat()).toEqual(Array.from({ length: 230 }, (_, i) => i));
  });

  it('keeps consuming after its member was evicted from the group mid-batch', async () => {
    const groupId = uniqueName('test.group');
    const slowTopic = await singlePartitionTopic('test.slow');
    for (let i = 0; i < 5; i++) await producer.send(slowTopic, { key: keyOf(3), value: Buffer.from(String(i)) });
    const seen: number[] = [];
    const crashes: string[] = [];
    let stalled = false;
    const consumer = new BatchConsumer(
      kafka,
      { groupId, topic: slowTopic, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 1_000, restartDelayMs: 200, onCrash: (e) => crashes.push(e.message) },
      async (batch) => {
        if (!stalled) {
          stalled = true;
          // A handler that holds the thread past the session timeout: nothing can heartbeat,
          // so the broker evicts the member.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 9_000);
        }
        for (const m of batch.messages) seen.push(Number(m.value!.toString()));
      },
    );
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => joins++);
    await consumer.start();
    try {
      await producer.send(slowTopic, { key: keyOf(3), value: Buffer.from('5') });
      // Done only when the eviction really happened (else this test would prove nothing): the
      // member joined the group again and the stalled batch, never committed, was handled again.
      await waitFor(
        () => ({ joins, zeros: seen.filter((v) => v === 0).length, fives: seen.filter((v) => v === 5).length }),
        (p) => p.joins >= 2 && p.zeros >= 2 && p.fives >= 1,
        { timeoutMs: 60_000, description: 'a rejoin after the eviction and the stalled batch handled again' },
      );
    } finally {
      await consumer.stop();
    }
    expect(stalled).toBe(true);
    // Nothing skipped: every record was handled at least once, in order per first sight.
    expect([...new Set(seen)]).toEqual([0, 1, 2, 3, 4, 5]);
    // Every crash kafkajs gave up on was reported and answered by a rebuilt consumer.
    expect(consumer.crashRestarts).toBe(crashes.length);
  }, 120_000);

  it('replays an uncommitted batch when the handler fails, so nothing is skipped', async () => {
    const groupId = uniqueName('test.group');
    const failTopic = await singlePartitionTopic('test.fail');
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
  });
});
