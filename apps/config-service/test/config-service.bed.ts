/**
 * A config-service on the real Kafka, Redis and PostgreSQL for integration
 * tests: its own schema, events topic, consumer group and tenants (one admin
 * token each), the REST mirror and a gRPC client, agent rows written as
 * status-ingest writes them (with or without their AgentEvent), the pushes
 * the gateway of the bed's agents is sent, and further replicas on the same
 * database. One per spec file; close() removes what it made.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { Partitioners, type Producer } from 'kafkajs';
import type { Pool } from 'pg';
import { AgentEventCodec, fleet, GatewayPushCodec, RedisChannels } from '@opamp/contracts';
import { createKafkaClient, deleteTopics } from '@opamp/bus-kafka';
import { createRedisConnection } from '@opamp/bus-redis';
import { decodeServerToAgent, type ServerToAgent } from '@opamp/protocol';
import type { FleetApiService, Reconciler, RolloutDriver } from '@opamp/desired-state';
import { createPgPool } from '@opamp/store';
import { freePort, testInfra, uniqueName, waitFor } from '@opamp/testing';
import { reconcilerJoined } from '../src/app';
import { loadConfigServiceConfig, type ConfigServiceConfig } from '../src/config/config-service.config';
import { ConfigServiceReplica, type BedTenant } from './config-service.replica';

export type { BedTenant, CallAs, GrpcClient, RestResult } from './config-service.replica';
export { ConfigServiceReplica } from './config-service.replica';

export interface BedAgent {
  tenant: string;
  uid: Buffer;
  capabilities: number;
  labels: Record<string, string>;
  customCapabilities?: string[];
  /** Connected (the default) or an agent that has gone. */
  connected?: boolean;
}

/** An agent's report: its row as status-ingest writes it, and the AgentEvent it publishes. */
export interface ReportedAgent extends BedAgent {
  /** 1 WebSocket (default), 2 plain HTTP. */
  transport?: number;
  reportedHash?: Buffer | null;
  status?: number;
  error?: string | null;
  /** The connection status-ingest names as the owner (default: one per agent). */
  connectionId?: string;
  /** When the message was received, as status-ingest stamps events (default: unknown). */
  occurredAtMs?: number;
  /** The uid this agent replaced (RequestInstanceUid). */
  previousInstanceUid?: Buffer;
  /** The credential its connection was admitted with (id and fleet.v1.CredentialKind). */
  credentialId?: string;
  credentialKind?: number;
  /** What it reports in ConnectionSettingsStatus. */
  connectionSettingsHash?: Buffer;
  connectionSettingsStatus?: number;
  connectionSettingsError?: string;
  /** What it reports in PackageStatuses: server_provided_all_packages_hash and the statuses (as status-ingest stores them). */
  packagesHash?: Buffer;
  packageStatuses?: Record<string, unknown>;
  /** The event's change bits (default: description). */
  changes?: number;
  /** A CSR the agent sent (with AGENT_CHANGE_CERTIFICATE_REQUEST in `changes`). */
  certificateRequestCsr?: Buffer;
}

/** An agent on its own credential (ConfigServiceBed.agentOnOwnCredential). */
export interface OwnCredentialAgent {
  uid: Buffer;
  /** Its credential's id and secret. */
  id: string;
  secret: string;
  report(extra?: Partial<ReportedAgent>): Promise<void>;
}

export interface BedOptions {
  tenants?: number;
  overrides?: Partial<ConfigServiceConfig>;
  /** Collect the pushes made to the bed's gateway (bed.pushes, bed.onPush). */
  pushes?: boolean;
}

export class ConfigServiceBed {
  /** Every push made to the bed's gateway, in arrival order (with `pushes: true`). */
  readonly pushes: fleet.v1.GatewayPush[] = [];
  private readonly pushHandlers: Array<(push: fleet.v1.GatewayPush) => void> = [];
  private readonly replicas: ConfigServiceReplica[] = [];
  private uidCounter = 0;
  private producer: Producer | null = null;
  private command: Redis | null = null;
  private pushSubscriber: Redis | null = null;

  private constructor(
    readonly run: string,
    readonly primary: ConfigServiceReplica,
    readonly pool: Pool,
    private readonly adminPool: Pool,
    readonly tenants: readonly BedTenant[],
    readonly gatewayId: string,
    /** The events topic the primary consumes. */
    readonly topic: string,
    private readonly schema: string,
    private readonly config: ConfigServiceConfig,
  ) {}

  /** Starts config-service with `tenants` tenants; `overrides` changes its settings. */
  static async start(prefix: string, options: BedOptions = {}): Promise<ConfigServiceBed> {
    const infra = testInfra();
    const run = uniqueName(prefix).replace(/[^a-z0-9]/g, '_');
    const schema = `t_${run}`;
    const topic = `opamp.agent-events.${run}`;
    const tenants = Array.from({ length: options.tenants ?? 2 }, (_, i) => ({ id: `t${i}-${run}`, token: `admin-${i}-${run}-0123456789` }));
    const adminPool = createPgPool({ connectionString: infra.databaseUrl, applicationName: `${prefix}-admin`, max: 1 });
    await adminPool.query(`CREATE SCHEMA "${schema}"`);
    const databaseUrl = `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const pool = createPgPool({ connectionString: databaseUrl, applicationName: prefix, max: 4 });
    const config: ConfigServiceConfig = {
      ...loadConfigServiceConfig({}),
      kafkaBrokers: infra.kafkaBrokers,
      redisUrl: infra.redisUrl,
      databaseUrl,
      clientId: `cs-${run}`,
      bindHost: '127.0.0.1',
      eventsTopic: topic,
      consumerGroup: `cs-group-${run}`,
      bootstrapAdminTokens: tenants.map((t) => ({ tenantId: t.id, token: t.token })),
      ...options.overrides,
    };
    const bed = new ConfigServiceBed(run, await ConfigServiceReplica.start({ ...config, httpPort: await freePort(), grpcPort: await freePort() }, tenants), pool, adminPool, tenants, `gw-${run}`, topic, schema, config);
    if (options.pushes) await bed.subscribePushes();
    await reconcilerJoined(bed.primary.app);
    return bed;
  }

  /**
   * Another replica on the same database and Redis. By default it consumes a
   * topic of its own that nobody writes (every decision then comes from the
   * primary's reconciler); `overrides` changes that and any other setting.
   */
  async startReplica(name: string, overrides: Partial<ConfigServiceConfig> = {}): Promise<ConfigServiceReplica> {
    const replica = await ConfigServiceReplica.start(
      {
        ...this.config,
        clientId: `cs-${name}-${this.run}`,
        eventsTopic: `${this.topic}.${name}`,
        consumerGroup: `cs-group-${name}-${this.run}`,
        httpPort: await freePort(),
        grpcPort: await freePort(),
        ...overrides,
      },
      this.tenants,
    );
    this.replicas.push(replica);
    return replica;
  }

  get app(): ConfigServiceReplica['app'] {
    return this.primary.app;
  }

  get httpBase(): string {
    return this.primary.httpBase;
  }

  get grpcClient(): ConfigServiceReplica['grpcClient'] {
    return this.primary.grpcClient;
  }

  get api(): FleetApiService {
    return this.primary.api;
  }

  get reconciler(): Reconciler {
    return this.primary.reconciler;
  }

  get rolloutDriver(): RolloutDriver {
    return this.primary.rolloutDriver;
  }

  /** A Redis command connection of the test's own (made on first use). */
  get redis(): Redis {
    this.command ??= createRedisConnection({ url: this.config.redisUrl, connectionName: `bed-${this.run}` });
    return this.command;
  }

  rest: ConfigServiceReplica['rest'] = (...args) => this.primary.rest(...args);
  rpc: ConfigServiceReplica['rpc'] = (...args) => this.primary.rpc(...args);

  /** A new instance uid, unique to this bed. */
  newUid(): Buffer {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(++this.uidCounter, 12);
    b.write(this.run.slice(-8).padEnd(8, '0'), 0, 'latin1');
    return b;
  }

  /** Writes a connected agent's row as status-ingest would (no event: the API reads the table). */
  async putAgent(a: BedAgent): Promise<void> {
    await this.pool.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, custom_capabilities, healthy)
       VALUES ($1, $2, $3, $4::jsonb, $8, $5, $6, 1, 1, $7::jsonb, true)`,
      [a.tenant, a.uid, a.capabilities, JSON.stringify(a.labels), this.gatewayId, `conn-${a.uid.toString('hex')}`, JSON.stringify(a.customCapabilities ?? []), a.connected ?? true],
    );
  }

  /** Writes (or updates) the agent's row as status-ingest would, then publishes its AgentEvent on the primary's topic. */
  async report(a: ReportedAgent): Promise<void> {
    await this.writeReportedRow(a);
    await this.publishEvent(a);
  }

  /** The row half of `report`. */
  async writeReportedRow(a: ReportedAgent): Promise<void> {
    const connectionId = a.connectionId ?? `conn-${a.uid.toString('hex')}`;
    const transport = a.transport ?? 1;
    await this.pool.query(
      `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch,
         remote_config_hash, remote_config_status, remote_config_error, custom_capabilities, healthy, last_seen_at)
       VALUES ($1, $2, $3, $4::jsonb, true, $5, $6, $7, 1, $8, $9, $10, $11::jsonb, true, now())
       ON CONFLICT (tenant_id, instance_uid) DO UPDATE SET capabilities = EXCLUDED.capabilities, labels = EXCLUDED.labels, connection_id = EXCLUDED.connection_id,
         remote_config_hash = EXCLUDED.remote_config_hash, remote_config_status = EXCLUDED.remote_config_status,
         remote_config_error = EXCLUDED.remote_config_error, custom_capabilities = EXCLUDED.custom_capabilities, transport = EXCLUDED.transport,
         last_seen_at = now(), updated_at = now()`,
      [a.tenant, a.uid, a.capabilities, JSON.stringify(a.labels), this.gatewayId, connectionId, transport, a.reportedHash ?? null, a.status ?? 0, a.error ?? null, JSON.stringify(a.customCapabilities ?? [])],
    );
    if (a.credentialId) {
      await this.pool.query(`UPDATE agents SET credential_id = $3, credential_kind = $4 WHERE tenant_id = $1 AND instance_uid = $2`, [a.tenant, a.uid, a.credentialId, a.credentialKind ?? 0]);
    }
    if (a.connectionSettingsHash !== undefined || a.connectionSettingsStatus !== undefined) {
      await this.pool.query(
        `UPDATE agents SET connection_settings_hash = $3, connection_settings_status = $4, connection_settings_error = $5 WHERE tenant_id = $1 AND instance_uid = $2`,
        [a.tenant, a.uid, a.connectionSettingsHash ?? null, a.connectionSettingsStatus ?? 0, a.connectionSettingsError ?? null],
      );
    }
    if (a.packagesHash !== undefined || a.packageStatuses !== undefined) {
      await this.pool.query(`UPDATE agents SET packages_hash = $3, package_statuses = $4::jsonb WHERE tenant_id = $1 AND instance_uid = $2`, [
        a.tenant,
        a.uid,
        a.packagesHash ?? null,
        a.packageStatuses ? JSON.stringify(a.packageStatuses) : null,
      ]);
    }
  }

  /** The event half of `report` (status-ingest publishes it before its transaction commits). */
  async publishEvent(a: ReportedAgent): Promise<void> {
    const connectionId = a.connectionId ?? `conn-${a.uid.toString('hex')}`;
    const transport = a.transport ?? 1;
    const event = AgentEventCodec.encode({
      tenantId: a.tenant,
      packagesHash: a.packagesHash,
      instanceUid: a.uid,
      changes: a.changes ?? 1,
      credentialId: a.credentialId,
      credentialKind: a.credentialKind,
      connectionSettingsHash: a.connectionSettingsHash,
      connectionSettingsStatus: a.connectionSettingsStatus,
      capabilities: a.capabilities,
      labels: Object.entries(a.labels).map(([key, value]) => ({ key, value })),
      reportedRemoteConfigHash: a.reportedHash ?? undefined,
      remoteConfigStatus: a.status ?? 0,
      owner: { connected: true, gatewayId: this.gatewayId, connectionId, epoch: 1, transport },
      customCapabilities: a.customCapabilities ?? [],
      previousInstanceUid: a.previousInstanceUid,
      occurredAtUnixMs: a.occurredAtMs,
      certificateRequestCsr: a.certificateRequestCsr,
    });
    if (!this.producer) {
      const kafka = createKafkaClient({ brokers: this.config.kafkaBrokers, clientId: `bed-${this.run}` });
      this.producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
    }
    await this.producer.send({ topic: this.topic, messages: [{ key: a.uid, value: event }] });
  }

  /**
   * An agent that enrolled with a new enrollment token of tenant 0 and switched
   * to its own credential (active in the gateways' directory); `report` reports
   * it again on that connection. Needs a credential key and a public endpoint.
   */
  async agentOnOwnCredential(o: { capabilities: number; labels?: Record<string, string>; transport?: number; enrollmentTokenId?: string }): Promise<OwnCredentialAgent> {
    const tenant = this.tenants[0].id;
    const labels = o.labels ?? {};
    const tokenId = o.enrollmentTokenId ?? String(((await this.rest('POST', '/agent-tokens', { name: 'enrollment' })).json['token'] as { id: string }).id);
    const uid = this.newUid();
    const base = { tenant, uid, capabilities: o.capabilities, labels, transport: o.transport };
    await this.report({ ...base, credentialId: tokenId, credentialKind: fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    const { rows } = await waitFor(() => this.pool.query(`SELECT id FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2`, [tenant, uid]), (r) => r.rows.length === 1, {
      description: 'its credential issued',
    });
    const id = String(rows[0]['id']);
    const secret = this.primary.identity.credentials.secretOf({ tenantId: tenant, id });
    const report = (extra: Partial<ReportedAgent> = {}) =>
      this.report({ ...base, credentialId: id, credentialKind: fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT, connectionId: `own-${uid.toString('hex')}`, changes: fleet.v1.AgentChange.AGENT_CHANGE_CREDENTIAL, ...extra });
    await report();
    const digest = createHash('sha256').update(secret, 'utf8').digest('base64');
    await waitFor(() => this.redis.hget('opamp:agent-tokens', digest), (v) => v?.endsWith('|1|0') === true, { description: 'its credential active' });
    return { uid, id, secret, report };
  }

  /** Waits until the primary's reconciler has fully handled `n` more event records than `since`. */
  async handled(since: number, n: number): Promise<void> {
    await waitFor(() => this.reconciler.metrics.eventsHandled, (v) => v >= since + n, { description: `${n} events handled`, timeoutMs: 10_000 });
  }

  /** Event records the primary's identity reconciler has fully handled. */
  identityHandled(): number {
    return this.primary.identity.identity?.metrics.eventsHandled ?? 0;
  }

  /** Calls `handler` for every push made to the bed's gateway from now on (needs `pushes: true`). */
  onPush(handler: (push: fleet.v1.GatewayPush) => void): void {
    if (!this.pushSubscriber) throw new Error('start the bed with { pushes: true } to observe pushes');
    this.pushHandlers.push(handler);
  }

  /** The ServerToAgent messages pushed to one agent so far. */
  pushesFor(uid: Buffer): ServerToAgent[] {
    return this.pushes.filter((p) => Buffer.from(p.instanceUid).equals(uid) && p.serverToAgent?.length).map((p) => decodeServerToAgent(p.serverToAgent));
  }

  /** The audit actor of a tenant's bootstrap admin token. */
  /** A CSR waiting for approval, as the CSR flow records it (the agent it is for, and the sender's uid). */
  async putCertificateRequest(tenant: number, uid: Buffer, csrPem: string, keyType = 'ecdsa-p256', senderUid = uid): Promise<string> {
    const { rows } = await this.pool.query(
      `INSERT INTO certificate_requests (id, tenant_id, instance_uid, sender_uid, csr_pem, csr_digest, key_type, state)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, 'pending') RETURNING id`,
      [this.tenants[tenant].id, uid, senderUid, csrPem, createHash('sha256').update(csrPem).digest(), keyType],
    );
    return String(rows[0]['id']);
  }

  async adminActor(tenant = 0): Promise<string> {
    const { rows } = await this.pool.query(`SELECT id FROM api_tokens WHERE tenant_id = $1 AND kind = 'admin'`, [this.tenants[tenant].id]);
    return `token:${String(rows[0]['id'])}`;
  }

  async close(): Promise<void> {
    for (const r of this.replicas) await r.close();
    await this.primary.close();
    await this.producer?.disconnect();
    await Promise.allSettled([this.command?.quit(), this.pushSubscriber?.quit()]);
    await this.pool.end();
    await this.adminPool.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await this.adminPool.end();
    const kafka = createKafkaClient({ brokers: this.config.kafkaBrokers, clientId: `cs-bed-${this.run}` });
    await deleteTopics(kafka, [this.topic, ...this.replicas.map((r) => r.config.eventsTopic).filter((t) => t !== this.topic)]).catch(() => undefined);
  }

  private async subscribePushes(): Promise<void> {
    const sub = createRedisConnection({ url: this.config.redisUrl, connectionName: `bed-sub-${this.run}` });
    this.pushSubscriber = sub;
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
      const push = GatewayPushCodec.decode(message);
      this.pushes.push(push);
      for (const h of this.pushHandlers) h(push);
    });
    await sub.subscribe(RedisChannels.gatewayPush(this.gatewayId));
  }
}
