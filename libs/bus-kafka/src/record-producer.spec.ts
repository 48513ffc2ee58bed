import type { Kafka, ProducerBatch } from 'kafkajs';
import { RecordProducer } from './record-producer';

/** A stand-in that only records what the batching logic hands to kafkajs. */
function recordingKafka(fail = false) {
  const batches: ProducerBatch[] = [];
  const kafka = {
    producer: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async (b: ProducerBatch) => {
        batches.push(b);
        if (fail) throw new Error('broker says no');
        return [];
      },
    }),
  } as unknown as Kafka;
  return { kafka, batches };
}

const rec = (i: number) => ({ key: Buffer.from([i]), value: Buffer.from(`v${i}`) });

describe('RecordProducer batching', () => {
  it('groups records sent within the linger into one request, per topic, in order', async () => {
    const { kafka, batches } = recordingKafka();
    const p = new RecordProducer(kafka, { lingerMs: 20 });
    await Promise.all([p.send('a', rec(1)), p.send('b', rec(2)), p.send('a', rec(3))]);
    expect(batches).toHaveLength(1);
    expect(batches[0].acks).toBe(-1);
    const topics = batches[0].topicMessages!;
    expect(topics.map((t) => t.topic)).toEqual(['a', 'b']);
    expect(topics[0].messages.map((m) => (m.value as Buffer).toString())).toEqual(['v1', 'v3']);
  });

  it('sends at once when the batch is full', async () => {
    const { kafka, batches } = recordingKafka();
    const p = new RecordProducer(kafka, { lingerMs: 60_000, maxBatchRecords: 3 });
    await Promise.all([1, 2, 3].map((i) => p.send('t', rec(i))));
    expect(batches).toHaveLength(1);
    expect(batches[0].topicMessages![0].messages).toHaveLength(3);
  });

  it('rejects every record of a failed batch', async () => {
    const { kafka } = recordingKafka(true);
    const p = new RecordProducer(kafka, { lingerMs: 1 });
    const results = await Promise.allSettled([p.send('t', rec(1)), p.send('t', rec(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('refuses records after disconnect', async () => {
    const { kafka } = recordingKafka();
    const p = new RecordProducer(kafka);
    await p.disconnect();
    await expect(p.send('t', rec(1))).rejects.toThrow(/closed/);
  });

  it('takes a new producer after the broker no longer knows its id or sequence, and sends the next batch with it', async () => {
    const made: { id: number; connects: number; disconnects: number; batches: number }[] = [];
    let failWith: string | null = null;
    const kafka = {
      producer: () => {
        const me = { id: made.length, connects: 0, disconnects: 0, batches: 0 };
        made.push(me);
        return {
          connect: async () => void me.connects++,
          disconnect: async () => void me.disconnects++,
          sendBatch: async () => {
            me.batches++;
            if (failWith) {
              const err = Object.assign(new Error('The broker received an out of order sequence number'), { type: failWith });
              failWith = null;
              throw err;
            }
            return [];
          },
        };
      },
    } as unknown as Kafka;
    const p = new RecordProducer(kafka, { lingerMs: 1 });
    await p.connect();
    // Any other failure keeps the producer.
    failWith = 'REQUEST_TIMED_OUT';
    await expect(p.send('t', rec(1))).rejects.toThrow();
    expect(made).toHaveLength(1);
    failWith = 'OUT_OF_ORDER_SEQUENCE_NUMBER';
    await expect(p.send('t', rec(2))).rejects.toThrow(/out of order/);
    await p.send('t', rec(3));
    expect(made).toHaveLength(2);
    expect(p.replacements).toBe(1);
    expect(made[0]).toMatchObject({ disconnects: 1, batches: 2 });
    expect(made[1]).toMatchObject({ connects: 1, batches: 1 });
  });
});
