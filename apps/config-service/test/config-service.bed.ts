/**
 * A config-service on the real Kafka, Redis and PostgreSQL for integration
 * tests: its own schema, events topic, consumer group and tenants (one admin
 * token each), the REST mirror and a gRPC client, and agent rows written as
 * status-ingest writes them. One per spec file; close() removes what it made.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Pool } from 'pg';
import { createKafkaClient, deleteTopics } from '@opamp/bus-kafka';
import type { FleetApiService } from '@opamp/desired-state';
import { FLEET_API, findFleetApiProto, LOADER_OPTIONS } from '@opamp/platform-api';
import { createPgPool } from '@opamp/store';
import { freePort, testInfra, uniqueName } from '@opamp/testing';
import { createConfigServiceApp, reconcilerJoined } from '../src/app';
import { loadConfigServiceConfig, type ConfigServiceConfig } from '../src/config/config-service.config';

export interface BedTenant {
  readonly id: string;
  readonly token: string;
}

export interface RestResult {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

type GrpcClient = grpc.Client &
  Record<string, (req: unknown, md: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall>;

export interface BedAgent {
  tenant: string;
  uid: Buffer;
  capabilities: number;
  labels: Record<string, string>;
  customCapabilities?: string[];
  /** Connected (the default) or an agent that has gone. */
  connected?: boolean;
}

export class ConfigServiceBed {
  private uidCounter = 0;

  private constructor(
    readonly run: string,
    readonly app: NestExpressApplication,
    readonly pool: Pool,
    private readonly adminPool: Pool,
    readonly tenants: readonly BedTenant[],
    readonly httpBase: string,
    readonly grpcClient: GrpcClient,
    readonly gatewayId: string,
    private readonly topic: string,
    private readonly schema: string,
  ) {}

  /** Starts config-service with `tenants` tenants; `overrides` changes its settings. */
  static async start(prefix: string, options: { tenants?: number; overrides?: Partial<ConfigServiceConfig> } = {}): Promise<ConfigServiceBed> {
    const infra = testInfra();
    const run = uniqueName(prefix).replace(/[^a-z0-9]/g, '_');
    const schema = `t_${run}`;
    const topic = `opamp.agent-events.${run}`;
    const tenants = Array.from({ length: options.tenants ?? 2 }, (_, i) => ({ id: `t${i}-${run}`, token: `admin-${i}-${run}-0123456789` }));
    const adminPool = createPgPool({ connectionString: infra.databaseUrl, applicationName: `${prefix}-admin`, max: 1 });
    await adminPool.query(`CREATE SCHEMA "${schema}"`);
    const databaseUrl = `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const pool = createPgPool({ connectionString: databaseUrl, applicationName: prefix, max: 4 });
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    const config: ConfigServiceConfig = {
      ...loadConfigServiceConfig({}),
      kafkaBrokers: infra.kafkaBrokers,
      redisUrl: infra.redisUrl,
      databaseUrl,
      clientId: `cs-${run}`,
      bindHost: '127.0.0.1',
      httpPort,
      grpcPort,
      eventsTopic: topic,
      consumerGroup: `cs-group-${run}`,
      bootstrapAdminTokens: tenants.map((t) => ({ tenantId: t.id, token: t.token })),
      ...options.overrides,
    };
    const app = await createConfigServiceApp(config, { logger: false });
    await reconcilerJoined(app);
    const def = protoLoader.loadSync(findFleetApiProto().protoPath, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as { fleet: { v1: { FleetService: grpc.ServiceClientConstructor } } };
    const client = new pkg.fleet.v1.FleetService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as GrpcClient;
    return new ConfigServiceBed(run, app, pool, adminPool, tenants, `http://127.0.0.1:${httpPort}`, client, `gw-${run}`, topic, schema);
  }

  get api(): FleetApiService {
    return this.app.get<FleetApiService>(FLEET_API);
  }

  /** A REST call with a JSON body (or `raw` as it is, with its own headers). */
  async rest(method: string, path: string, body?: unknown, options: { tenant?: number; headers?: Record<string, string>; raw?: string | Uint8Array } = {}): Promise<RestResult> {
    const res = await fetch(`${this.httpBase}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${this.tenants[options.tenant ?? 0].token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
  }

  /** A gRPC call; rejects with the ServiceError. Bounded by `deadlineMs` so that a wedged call fails instead of hanging. */
  rpc(name: string, req: unknown, options: { tenant?: number; deadlineMs?: number } = {}): Promise<Record<string, unknown>> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.tenants[options.tenant ?? 0].token}`);
    const deadline = new Date(Date.now() + (options.deadlineMs ?? 10_000));
    return new Promise((resolve, reject) => this.grpcClient[name](req, md, { deadline }, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))));
  }

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

  /** The audit actor of a tenant's bootstrap admin token. */
  async adminActor(tenant = 0): Promise<string> {
    const { rows } = await this.pool.query(`SELECT id FROM api_tokens WHERE tenant_id = $1 AND kind = 'admin'`, [this.tenants[tenant].id]);
    return `token:${String(rows[0]['id'])}`;
  }

  async close(): Promise<void> {
    this.grpcClient.close();
    await this.app.close();
    await this.pool.end();
    await this.adminPool.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await this.adminPool.end();
    const kafka = createKafkaClient({ brokers: testInfra().kafkaBrokers, clientId: `cs-bed-${this.run}` });
    await deleteTopics(kafka, [this.topic]).catch(() => undefined);
  }
}
