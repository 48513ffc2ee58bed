/**
 * The Kafka clients over TLS with SASL/PLAIN, against the real broker's second
 * listener (deploy/infra/infra.sh: a CA of its own, a test user): with the
 * right CA and credentials topics are made and records go through; a wrong
 * password, an untrusted broker certificate and a client without TLS are
 * refused, each with the broker's or TLS's reason.
 */
import { readFileSync } from 'node:fs';
import { testInfra, uniqueName, waitFor } from '@opamp/testing';
import { logLevel, type Kafka } from 'kafkajs';
import { BatchConsumer, createKafkaClient, deleteTopics, ensureTopics, RecordProducer, type KafkaSecurity } from '../src';

describe('Kafka over TLS with SASL (real broker)', () => {
  const infra = testInfra().kafkaSaslSsl;
  const ca = readFileSync(infra.caFile, 'utf8');
  const secure: KafkaSecurity = { tls: { ca }, sasl: { mechanism: 'plain', username: infra.username, password: infra.password } };
  const client = (security: KafkaSecurity | undefined, id: string): Kafka =>
    createKafkaClient({ brokers: infra.brokers, clientId: id, security, connectionTimeoutMs: 3_000, logLevel: logLevel.NOTHING });
  const topics: string[] = [];

  afterAll(async () => {
    if (topics.length) await deleteTopics(client(secure, 'security-cleanup'), topics).catch(() => undefined);
  });

  it('makes topics and carries records with the CA and the credentials', async () => {
    const kafka = client(secure, 'security-ok');
    const topic = uniqueName('test.secure');
    topics.push(topic);
    expect(await ensureTopics(kafka, [{ name: topic, partitions: 2, retentionMs: 3_600_000, valueType: 'AgentInbound' }])).toEqual([topic]);
    const producer = new RecordProducer(kafka, { lingerMs: 1 });
    await producer.connect();
    const seen: string[] = [];
    const consumer = new BatchConsumer(kafka, { groupId: uniqueName('secure'), topic, fromBeginning: true }, async (batch) => {
      for (const m of batch.messages) seen.push(m.value!.toString());
    });
    try {
      await consumer.start();
      await Promise.all(['a', 'b', 'c'].map((v) => producer.send(topic, { key: Buffer.alloc(16, v.charCodeAt(0)), value: Buffer.from(v) })));
      await waitFor(() => [...seen].sort(), (s) => s.join() === 'a,b,c', { timeoutMs: 30_000, description: 'the records consumed over TLS + SASL' });
    } finally {
      await consumer.stop();
      await producer.disconnect();
    }
  }, 60_000);

  const refusal = async (security: KafkaSecurity | undefined): Promise<string> => {
    const admin = client(security, 'security-refused').admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return 'connected';
    } catch (err) {
      return String((err as Error).message);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };

  it('is refused with a wrong password, by a broker whose certificate it does not trust, and without TLS', async () => {
    expect(await refusal({ ...secure, sasl: { ...secure.sasl!, password: 'wrong' } })).toMatch(/SASL PLAIN authentication failed|Authentication failed/i);
    // The system CAs do not know the test broker's CA.
    expect(await refusal({ ...secure, tls: { ca: null } })).toMatch(/self[- ]signed|unable to (get|verify)|certificate/i);
    expect(await refusal(undefined)).not.toBe('connected');
  }, 60_000);
});
