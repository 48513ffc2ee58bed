/**
 * Builds the kafkajs client with the settings every process shares, and makes
 * sure the topics the system needs exist (idempotently, so every process can
 * call it at start).
 */
import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig } from 'kafkajs';
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
  };
  return new Kafka(config);
}

/** Creates the topics that are missing; leaves existing ones as they are. */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: -1,
        configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
      })),
    });
    return missing.map((t) => t.name);
  } finally {
    await admin.disconnect();
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
