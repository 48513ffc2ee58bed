/**
 * Runs a real OpAMP edge against the real Kafka and Redis of infra:up, with a
 * topic and a gateway id of its own, and reads back what it streamed.
 */
import { BatchConsumer, createKafkaClient, deleteTopics, ensureTopics, RecordProducer } from '@opamp/bus-kafka';
import { ConnectionLeaseRepository, createRedisConnection, GatewayPresence, PendingPushStore } from '@opamp/bus-redis';
import { AgentInboundCodec, fleet } from '@opamp/contracts';
import { type StallableLink, testInfra, uniqueName, waitFor } from '@opamp/testing';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import WebSocket from 'ws';
import {
  AgentTokenAuthority,
  type EdgeOptions,
  KafkaInboundSink,
  OpampEdgeServer,
  type PackageFileSource,
  RedisPeerGateways,
  RedisPushInbox,
} from '../src';

export const TOKEN = 'edge-test-token';
export const TENANT = 'tenant-edge';

export interface InboundRecord {
  key: Buffer;
  envelope: fleet.v1.AgentInbound;
}

export class EdgeHarness {
  edge!: OpampEdgeServer;
  readonly gatewayId = uniqueName('gw');
  readonly topic = uniqueName('test.inbound');
  readonly records: InboundRecord[] = [];
  /** The credentials this edge accepts: the tenant's enrollment token; tests add agents' own. */
  readonly authority = new AgentTokenAuthority([{ tenantId: TENANT, token: TOKEN, tokenId: 'enrollment-1' }]);
  redis!: Redis;
  private leaseRedis: Redis | null = null;
  presence: GatewayPresence | null = null;
  private subscriber!: Redis;
  private kafka!: Kafka;
  private consumer!: BatchConsumer;
  private readonly sockets: WebSocket[] = [];

  /**
   * With `producerLink`, the edge's producer reaches Kafka through that link, so
   * the test can stall it (the bus cannot take messages) without touching the broker.
   * With `packageFiles`, the edge serves package downloads from it.
   * With `leaseLink`, the edge takes its connection leases through that link
   * (on a connection of their own that gives up on a command after
   * `leaseCommandTimeoutMs`), so the test can make Redis not answer in time.
   */
  async start(
    options: Partial<EdgeOptions> = {},
    {
      producerLink,
      packageFiles,
      leaseLink,
      leaseCommandTimeoutMs = 300,
    }: { producerLink?: StallableLink; packageFiles?: PackageFileSource; leaseLink?: StallableLink; leaseCommandTimeoutMs?: number } = {},
  ): Promise<void> {
    const infra = testInfra();
    this.kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'edge-test' });
    await ensureTopics(this.kafka, [{ name: this.topic, partitions: 4, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    const producerKafka = producerLink
      ? createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'edge-test-producer', socketFactory: producerLink.socketFactory })
      : this.kafka;
    const producer = new RecordProducer(producerKafka, { lingerMs: 2 });
    await producer.connect();
    this.redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'edge-test' });
    this.subscriber = createRedisConnection({ url: infra.redisUrl, connectionName: 'edge-test-sub' });
    if (leaseLink) {
      const direct = new URL(infra.redisUrl);
      const relayed = new URL(infra.redisUrl);
      relayed.hostname = '127.0.0.1';
      relayed.port = String(await leaseLink.forward(direct.hostname, Number(direct.port || 6379)));
      this.leaseRedis = createRedisConnection({ url: relayed.toString(), connectionName: 'edge-test-leases', commandTimeoutMs: leaseCommandTimeoutMs });
    }
    this.edge = new OpampEdgeServer(
      {
        gatewayId: this.gatewayId,
        host: '127.0.0.1',
        port: 0,
        maxMessageBytes: 64 * 1024,
        wsCompression: true,
        messagesPerSecond: 1000,
        messageBurst: 1000,
        maxConnections: 100,
        upgradesPerSecond: 1000,
        upgradeBurst: 1000,
        retryAfterRangeS: [30, 30],
        httpPushWaitMs: 50,
        idleTimeoutS: 60,
        drainWindowMs: 0,
        maxPendingInbound: 10_000,
        ...options,
      },
      {
        authenticator: this.authority,
        inbound: new KafkaInboundSink(producer, this.topic),
        leases: new ConnectionLeaseRepository(this.leaseRedis ?? this.redis),
        pushes: new RedisPushInbox(this.subscriber, this.gatewayId),
        pending: new PendingPushStore(this.redis),
        peers: new RedisPeerGateways(this.redis),
        ...(packageFiles ? { packageFiles } : {}),
      },
    );
    this.presence = new GatewayPresence(this.redis, this.gatewayId);
    await this.presence.start();
    await this.edge.start();
    this.consumer = new BatchConsumer(this.kafka, { groupId: uniqueName('edge-test'), topic: this.topic }, async (batch) => {
      for (const m of batch.messages) {
        this.records.push({ key: m.key!, envelope: AgentInboundCodec.decode(m.value!) });
      }
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await this.edge?.close();
    await this.presence?.stop();
    await this.consumer?.stop();
    await Promise.allSettled([this.redis?.quit(), this.subscriber?.quit()]);
    this.leaseRedis?.disconnect();
    if (this.kafka) await deleteTopics(this.kafka, [this.topic]).catch(() => undefined);
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.edge.port}/v1/opamp`;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.edge.port}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.edge.port}/v1/opamp`;
  }

  /** Opens a WebSocket and collects every binary message it receives. */
  async connect(headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }, deflate = false): Promise<TestSocket> {
    const ws = new WebSocket(this.wsUrl, { headers, perMessageDeflate: deflate });
    this.sockets.push(ws);
    const socket = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return socket;
  }

  /** Records for one agent (by its 16-byte key), in stream order. */
  recordsFor(key: Buffer): InboundRecord[] {
    return this.records.filter((r) => r.key.equals(key));
  }

  async waitForRecords(key: Buffer, count: number): Promise<InboundRecord[]> {
    return waitFor(() => this.recordsFor(key), (r) => r.length >= count, {
      timeoutMs: 20_000,
      description: `${count} inbound records`,
    });
  }
}

export class TestSocket {
  readonly messages: Buffer[] = [];
  closeCode: number | null = null;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.messages.push(Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]));
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  send(frame: Buffer | string): void {
    this.ws.send(frame, { binary: typeof frame !== 'string' });
  }

  async nextMessages(count: number): Promise<Buffer[]> {
    return waitFor(() => this.messages, (m) => m.length >= count, { timeoutMs: 10_000, description: `${count} messages` });
  }

  async closed(): Promise<number> {
    return waitFor(() => this.closeCode, (c) => c !== null, { timeoutMs: 10_000, description: 'close' }) as Promise<number>;
  }
}
