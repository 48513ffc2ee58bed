/**
 * A real OpAMP gateway edge in this process, on the real Kafka and Redis of
 * `npm run infra:up` (the libs/edge/test/edge-harness.ts pattern), with a
 * topic and gateway id of its own. It reads back what the edge streamed to
 * learn each agent's connection (for fenced pushes) and description, and
 * can push a remote config to an agent the way config-service does: a
 * GatewayPush on the owning gateway's channel for WebSocket agents, the
 * pending store plus a wake-up for plain-HTTP agents.
 */
import { BatchConsumer, createKafkaClient, deleteTopics, ensureTopics, RecordProducer } from '@opamp/bus-kafka';
import { ConnectionLeaseRepository, createRedisConnection, PendingPushStore } from '@opamp/bus-redis';
import { AgentInboundCodec, fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
// An end-to-end test of the swarm needs a real gateway: the only place a testing lib reaches into the edge.
import { AgentTokenAuthority, KafkaInboundSink, OpampEdgeServer, RedisPeerGateways, RedisPushInbox } from '@opamp/edge';
import { decodeAgentToServer, encodeServerToAgent, opamp } from '@opamp/protocol';
import { testInfra, uniqueName } from '@opamp/testing';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';

export const TOKEN = 'swarm-test-token';
export const TENANT = 'tenant-swarm';

export interface SeenAgent {
  readonly uidHex: string;
  connectionId: string;
  epoch: number;
  transport: fleet.v1.Transport;
  labels?: Record<string, string>;
  messages: number;
  lastRemoteStatus?: { hash: string; status: number };
}

function attributesToLabels(list: opamp.proto.v1.IKeyValue[] | null | undefined, into: Record<string, string>): void {
  for (const kv of list ?? []) {
    const v = kv.value;
    if (!kv.key || !v) continue;
    into[kv.key] = String(v.stringValue ?? v.boolValue ?? v.intValue ?? v.doubleValue ?? '');
  }
}

export class GatewayHarness {
  edge!: OpampEdgeServer;
  readonly gatewayId = uniqueName('gw-swarm');
  readonly topic = uniqueName('test.swarm.inbound');
  readonly agents = new Map<string, SeenAgent>();
  records = 0;
  redis!: Redis;
  private subscriber!: Redis;
  private kafka!: Kafka;
  private producer!: RecordProducer;
  private consumer!: BatchConsumer;

  async start(): Promise<void> {
    const infra = testInfra();
    this.kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'swarm-test' });
    await ensureTopics(this.kafka, [{ name: this.topic, partitions: 4, retentionMs: 3_600_000, valueType: 'AgentInbound' }]);
    this.producer = new RecordProducer(this.kafka, { lingerMs: 2 });
    await this.producer.connect();
    this.redis = createRedisConnection({ url: infra.redisUrl, connectionName: 'swarm-test' });
    this.subscriber = createRedisConnection({ url: infra.redisUrl, connectionName: 'swarm-test-sub' });
    this.edge = new OpampEdgeServer(
      {
        gatewayId: this.gatewayId,
        host: '127.0.0.1',
        port: 0,
        maxMessageBytes: 256 * 1024,
        wsCompression: true,
        messagesPerSecond: 100,
        messageBurst: 100,
        maxConnections: 5_000,
        upgradesPerSecond: 5_000,
        upgradeBurst: 5_000,
        retryAfterRangeS: [1, 2],
        httpPushWaitMs: 50,
        idleTimeoutS: 60,
        drainWindowMs: 0,
        maxPendingInbound: 50_000,
      },
      {
        authenticator: new AgentTokenAuthority([{ tenantId: TENANT, token: TOKEN }]),
        inbound: new KafkaInboundSink(this.producer, this.topic),
        leases: new ConnectionLeaseRepository(this.redis),
        pushes: new RedisPushInbox(this.subscriber, this.gatewayId),
        pending: new PendingPushStore(this.redis),
        peers: new RedisPeerGateways(this.redis),
      },
    );
    await this.edge.start();
    this.consumer = new BatchConsumer(this.kafka, { groupId: uniqueName('swarm-test'), topic: this.topic }, async (batch) => {
      for (const m of batch.messages) this.onRecord(m.key!, AgentInboundCodec.decode(m.value!));
    });
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.edge?.close();
    await this.consumer?.stop();
    await Promise.allSettled([this.redis?.quit(), this.subscriber?.quit()]);
    if (this.kafka) await deleteTopics(this.kafka, [this.topic]).catch(() => undefined);
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.edge.port}/v1/opamp`;
  }

  private onRecord(key: Buffer, envelope: fleet.v1.AgentInbound): void {
    this.records++;
    const uidHex = key.toString('hex');
    let agent = this.agents.get(uidHex);
    if (!agent) {
      agent = { uidHex, connectionId: '', epoch: 0, transport: envelope.transport, messages: 0 };
      this.agents.set(uidHex, agent);
    }
    agent.connectionId = envelope.connectionId;
    agent.epoch = Number(envelope.epoch);
    agent.transport = envelope.transport;
    if (envelope.event !== 'agentToServer' || !envelope.agentToServer) return;
    agent.messages++;
    const message = decodeAgentToServer(envelope.agentToServer);
    const d = message.agentDescription;
    if (d) {
      const labels: Record<string, string> = {};
      attributesToLabels(d.nonIdentifyingAttributes, labels);
      attributesToLabels(d.identifyingAttributes, labels);
      agent.labels = labels;
    }
    const rc = message.remoteConfigStatus;
    if (rc?.lastRemoteConfigHash?.length) {
      agent.lastRemoteStatus = { hash: Buffer.from(rc.lastRemoteConfigHash).toString('hex'), status: rc.status ?? 0 };
    }
  }

  /** Push a remote config to one agent, as config-service would. */
  async pushRemoteConfig(agent: SeenAgent, hash: Buffer, body: string): Promise<void> {
    const uid = Buffer.from(agent.uidHex, 'hex');
    const serverToAgent = Buffer.from(
      encodeServerToAgent({
        instanceUid: uid,
        remoteConfig: { configHash: hash, config: { configMap: { '': { body: Buffer.from(body), contentType: 'text/yaml' } } } },
      }),
    );
    const base = { tenantId: TENANT, instanceUid: uid, connectionId: agent.connectionId, epoch: agent.epoch };
    if (agent.transport === fleet.v1.Transport.TRANSPORT_HTTP) {
      await new PendingPushStore(this.redis).put(TENANT, agent.uidHex, 'remote_config', serverToAgent);
      await this.redis.publish(RedisChannels.gatewayPush(this.gatewayId), GatewayPushCodec.encode({ ...base, pendingWakeup: true }));
    } else {
      await this.redis.publish(RedisChannels.gatewayPush(this.gatewayId), GatewayPushCodec.encode({ ...base, serverToAgent }));
    }
  }
}
