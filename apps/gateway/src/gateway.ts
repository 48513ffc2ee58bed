/**
 * Composition root of a distributed gateway: the OpAMP edge wired to Kafka
 * (inbound stream) and Redis (leases, pushes, pending items for HTTP agents).
 */
import { createKafkaClient, ensureTopics, RecordProducer } from '@opamp/bus-kafka';
import { ConnectionLeaseRepository, createRedisConnection, PendingPushStore } from '@opamp/bus-redis';
import { KafkaTopics } from '@opamp/contracts';
import {
  AdminServer,
  AgentTokenAuthority,
  KafkaInboundSink,
  OpampEdgeServer,
  parseTokenList,
  RedisPeerGateways,
  RedisPushInbox,
} from '@opamp/edge';
import type { GatewayConfig } from './config/gateway.config';

export interface RunningGateway {
  edge: OpampEdgeServer;
  admin: AdminServer;
  /** Drains connections over the configured window, then closes everything. */
  shutdown(drainWindowMs?: number): Promise<void>;
}

export type GatewayLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export async function startGateway(config: GatewayConfig, log: GatewayLog): Promise<RunningGateway> {
  const tokens = parseTokenList(config.agentTokens);
  if (tokens.length === 0) throw new Error('no agent tokens configured (OPAMP_AGENT_TOKENS=tenant=token,...)');
  const authenticator = new AgentTokenAuthority(tokens);

  const kafka = createKafkaClient({ brokers: config.kafkaBrokers, clientId: `gateway-${config.gatewayId}` });
  await ensureTopics(kafka, [KafkaTopics.agentInbound]);
  const producer = new RecordProducer(kafka, { lingerMs: 5 });
  await producer.connect();

  const commands = createRedisConnection({ url: config.redisUrl, connectionName: `${config.gatewayId}:cmd` });
  const subscriber = createRedisConnection({ url: config.redisUrl, connectionName: `${config.gatewayId}:sub` });

  const edge = new OpampEdgeServer(
    {
      gatewayId: config.gatewayId,
      host: config.host,
      port: config.port,
      tls: config.tls,
      maxMessageBytes: config.maxMessageBytes,
      wsCompression: config.wsCompression,
      messagesPerSecond: config.messagesPerSecond,
      messageBurst: config.messageBurst,
      maxConnections: config.maxConnections,
      upgradesPerSecond: config.upgradesPerSecond,
      upgradeBurst: config.upgradeBurst,
      retryAfterRangeS: config.retryAfterRangeS,
      httpPushWaitMs: config.httpPushWaitMs,
      idleTimeoutS: config.idleTimeoutS,
      drainWindowMs: config.drainWindowMs,
      maxPendingInbound: config.maxPendingInbound,
      clientIdentity: config.clientIdentity,
      acceptLegacyUlid: config.acceptLegacyUlid,
    },
    {
      authenticator,
      inbound: new KafkaInboundSink(producer, KafkaTopics.agentInbound.name),
      leases: new ConnectionLeaseRepository(commands),
      pushes: new RedisPushInbox(subscriber, config.gatewayId),
      pending: new PendingPushStore(commands),
      peers: new RedisPeerGateways(commands),
      log,
    },
  );
  await edge.start();
  const admin = new AdminServer({
    host: config.host,
    port: config.adminPort,
    isReady: () => edge.ready,
    registry: edge.metrics.registry,
  });
  await admin.start();
  log('info', 'gateway listening', { opamp: `${config.host}:${edge.port}`, admin: `${config.host}:${admin.port}` });

  return {
    edge,
    admin,
    async shutdown(drainWindowMs = config.drainWindowMs) {
      await edge.drain(drainWindowMs);
      admin.stop();
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
