/**
 * Builds the kafkajs client with the settings every process shares, and makes
 * sure the topics the system needs exist (idempotently, so every process can
 * call it at start).
 */
import { type Admin, Kafka, logLevel as KafkaLogLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { TopicSpec } from '@opamp/contracts';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** kafkajs log level; defaults to WARN so a healthy process stays quiet. */
  logLevel?: KafkaLogLevel;
  /** How connections to brokers are opened (tests put a fault of their own on the link). */
  socketFactory?: KafkaConfig['socketFactory'];
  /** TLS and SASL to the brokers (a managed Kafka); none: plaintext. */
  security?: KafkaSecurity;
}

/** What a Kafka that wants TLS and/or SASL needs (the apps read it from OPAMP_KAFKA_TLS* / OPAMP_KAFKA_SASL_*). */
export interface KafkaSecurity {
  /** ca null: the system's trusted CAs. The brokers' certificates are always verified. */
  tls: { ca: string | null } | null;
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
}

export function createKafkaClient(options: KafkaClientOptions): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 5_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: options.logLevel ?? KafkaLogLevel.WARN,
    retry: { initialRetryTime: 200, retries: 8 },
    ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    ...(options.security?.tls ? { ssl: options.security.tls.ca ? { ca: [options.security.tls.ca], rejectUnauthorized: true } : true } : {}),
    ...(options.security?.sasl ? { sasl: saslOptions(options.security.sasl) } : {}),
  };
  return new Kafka(config);
}

function saslOptions(s: NonNullable<KafkaSecurity['sasl']>): SASLOptions {
  const { username, password } = s;
  switch (s.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/**
 * Creates the topics that are missing; leaves existing ones as they are; and
 * returns only once every partition of every topic named has a leader. The
 * processes start together and each makes the topics it uses: a topic another
 * process made a moment ago may not have its leaders yet, and a consumer or
 * producer started on it then fails ("This server does not host this
 * topic-partition"). Returns the topics this call found missing.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[], { timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    let createError: unknown = null;
    if (missing.length > 0) {
      try {
        // Leaders are awaited below, for every topic named: kafkajs' own wait gives up on a topic its metadata does not know yet.
        await admin.createTopics({
          waitForLeaders: false,
          topics: missing.map((t) => ({
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: -1,
            configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
          })),
        });
      } catch (err) {
        // Another process made one of them at the same moment (TOPIC_ALREADY_EXISTS); anything else shows if the topics never come.
        createError = err;
      }
    }
    await waitForLeaders(admin, topics.map((t) => t.name), timeoutMs, createError);
    return missing.map((t) => t.name);
  } finally {
    await admin.disconnect();
  }
}

async function waitForLeaders(admin: Admin, names: string[], timeoutMs: number, createError: unknown): Promise<void> {
  if (names.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 1_000)) {
    try {
      // Every topic's metadata (not those named: a name the broker does not know yet is an error kafkajs logs as such).
      const wanted = new Set(names);
      const topics = (await admin.fetchTopicMetadata()).topics.filter((t) => wanted.has(t.name));
      if (topics.length === names.length && topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      last = 'partitions without a leader';
    } catch (err) {
      // A topic just made is unknown to the metadata for a moment: retried.
      last = err;
    }
    if (Date.now() >= deadline) {
      const made = createError ? `; creating them failed: ${String(createError)}` : '';
      throw new Error(`Kafka topics ${names.join(', ')} have no leader for every partition after ${timeoutMs} ms: ${String(last)}${made}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

export async function deleteTopics(kafka: Kafka, names: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: names });
  } finally {
    await admin.disconnect();
  }
}
