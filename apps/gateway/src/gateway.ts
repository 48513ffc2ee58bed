/**
 * Composition root of a distributed gateway: the OpAMP edge wired to Kafka
 * (inbound stream) and Redis (leases, pushes, pending items for HTTP agents),
 * and its OTLP receiver of agents' own telemetry to a Kafka topic of its own
 * through a producer of its own (a telemetry burst never queues OpAMP
 * messages behind it).
 */
import { ServerTracing } from '@opamp/tracing';
import { createKafkaClient, ensureTopics, RecordProducer } from '@opamp/bus-kafka';
import { AgentTokenDirectory, ConnectionLeaseRepository, createRedisConnection, GatewayPresence, PendingPushStore } from '@opamp/bus-redis';
import { KafkaTopics } from '@opamp/contracts';
import {
  AdminServer,
  AgentTokenAuthority,
  KafkaInboundSink,
  KafkaTelemetrySink,
  OpampEdgeServer,
  parseTokenList,
  RedisPeerGateways,
  RedisPushInbox,
} from '@opamp/edge';
import { createPgPool, PgSqlDatabase, SqlPackageBlobStore } from '@opamp/store';
import type { GatewayConfig } from './config/gateway.config';

export interface RunningGateway {
  edge: OpampEdgeServer;
  admin: AdminServer;
  /** The credentials it accepts now, as followed from the shared directory. */
  authenticator: AgentTokenAuthority;
  /** Drains connections over the configured window, then closes everything. */
  shutdown(drainWindowMs?: number): Promise<void>;
}

export type GatewayLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export async function startGateway(config: GatewayConfig, log: GatewayLog): Promise<RunningGateway> {
  // Agent tokens: the static ones from the environment, plus config-service's directory in Redis.
  const authenticator = new AgentTokenAuthority(parseTokenList(config.agentTokens));

  const kafka = createKafkaClient({ brokers: config.kafkaBrokers, clientId: `gateway-${config.gatewayId}`, security: config.kafkaSecurity });
  await ensureTopics(kafka, [
    { ...KafkaTopics.agentInbound, name: config.inboundTopic },
    ...(config.ownTelemetry ? [{ ...KafkaTopics.agentTelemetry, name: config.ownTelemetry.topic }] : []),
  ]);
  const producer = new RecordProducer(kafka, { lingerMs: 5 });
  await producer.connect();
  const telemetryProducer = config.ownTelemetry ? new RecordProducer(kafka, { lingerMs: 20 }) : null;
  await telemetryProducer?.connect();

  const commands = createRedisConnection({ url: config.redisUrl, connectionName: `${config.gatewayId}:cmd` });
  const subscriber = createRedisConnection({ url: config.redisUrl, connectionName: `${config.gatewayId}:sub` });
  const tokenWatcher = createRedisConnection({ url: config.redisUrl, connectionName: `${config.gatewayId}:tokens` });
  let edgeRef: OpampEdgeServer | null = null;
  // Subscribe before loading, so no change falls between the two.
  const unwatch = await AgentTokenDirectory.watch(tokenWatcher, (change) => {
    // Revocation also ends the connections that credential opened.
    const revoked = authenticator.apply(change);
    if (revoked) edgeRef?.disconnectCredential(revoked.tenantId, revoked.tokenId);
  });
  const directory = new AgentTokenDirectory(commands);
  // Revoked certificates first: their entries, if any are left, are refused anyway.
  for (const revocation of await directory.loadRevoked()) authenticator.apply({ action: 'revoke', revocation });
  for (const entry of await directory.loadAll()) authenticator.apply({ action: 'put', entry });
  for (const policy of await directory.loadPolicies()) authenticator.apply({ action: 'policy', policy });
  if (authenticator.size === 0) log('warn', 'no agent tokens yet: agents get 401 until config-service issues some');
  // Package files are read straight from PostgreSQL (a small read-only pool), not through config-service:
  // the bytes of a fleet-wide upgrade then cross one hop, and config-service is not on the download path.
  const packagePool = config.packages ? createPgPool({ connectionString: config.packages.databaseUrl, applicationName: `gateway-${config.gatewayId}`, max: config.packages.poolMax }) : null;

  const tracing = ServerTracing.start(config.tracing, { serviceName: 'gateway', instanceId: config.gatewayId });
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
      drainRetryAfterRangeS: config.drainRetryAfterRangeS,
      httpPushWaitMs: config.httpPushWaitMs,
      idleTimeoutS: config.idleTimeoutS,
      drainWindowMs: config.drainWindowMs,
      maxPendingInbound: config.maxPendingInbound,
      maxPendingInboundBytes: config.maxPendingInboundBytes,
      clientIdentity: config.clientIdentity,
      acceptLegacyUlid: config.acceptLegacyUlid,
      ...(config.packages
        ? { packageDownloads: { urlKey: config.packages.urlKey, maxConcurrent: config.packages.maxConcurrent, bytesPerSecond: config.packages.bytesPerSecond } }
        : {}),
      acceptsCertificateRequests: config.acceptsCertificateRequests,
      ...(config.ownTelemetry ? { telemetry: { maxConcurrent: config.ownTelemetry.maxConcurrent, maxBodyBytes: config.ownTelemetry.maxBodyBytes } } : {}),
    },
    {
      authenticator,
      inbound: new KafkaInboundSink(producer, config.inboundTopic),
      leases: new ConnectionLeaseRepository(commands),
      pushes: new RedisPushInbox(subscriber, config.gatewayId),
      pending: new PendingPushStore(commands),
      peers: new RedisPeerGateways(commands),
      credentialLookup: directory,
      ...(packagePool ? { packageFiles: new SqlPackageBlobStore(new PgSqlDatabase(packagePool)) } : {}),
      ...(telemetryProducer && config.ownTelemetry ? { telemetry: new KafkaTelemetrySink(telemetryProducer, config.ownTelemetry.topic) } : {}),
      tracing,
      log,
    },
  );
  edgeRef = edge;
  // Present before the first agent: its leases count as live only while this gateway is.
  const presence = new GatewayPresence(commands, config.gatewayId);
  await presence.start((err) => log('warn', 'gateway presence not refreshed', { error: String(err) }));
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
    authenticator,
    async shutdown(drainWindowMs = config.drainWindowMs) {
      await edge.drain(drainWindowMs);
      await telemetryProducer?.disconnect().catch(() => undefined);
      await presence.stop();
      admin.stop();
      await unwatch().catch(() => undefined);
      await Promise.allSettled([commands.quit(), subscriber.quit(), tokenWatcher.quit(), packagePool?.end(), tracing.shutdown()]);
    },
  };
}
