/**
 * The distributed system of ARCHITECTURE.md as real processes on one machine:
 * two gateways, one status-ingest, one config-service (the built apps from
 * dist/out-tsc) against the real Kafka, Redis and PostgreSQL, behind a TCP
 * load balancer so agents have one endpoint.
 *
 * Isolation per run, as far as the apps' configuration allows:
 *  - tenant, agent token and admin token are unique to the run;
 *  - a PostgreSQL schema of its own (search_path in the database URL);
 *  - its own agent-events topic and consumer groups for status-ingest and config-service;
 *  - gateway ids unique to the run (so are their Redis push channels);
 *  - an inbound topic of its own (OPAMP_GATEWAY_INBOUND_TOPIC): another run or
 *    a benchmark on the same Kafka must not feed this run's status-ingest (nor
 *    this run's agents theirs: their workers would answer this run's agents);
 *    the same for agents' own telemetry (its topic and status-ingest's group).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { createKafkaClient, ensureTopics } from '@opamp/bus-kafka';
import { KafkaTopics } from '@opamp/contracts';
import { freePort, uniqueName } from '@opamp/testing';
import type { E2eConfig } from '../config/e2e.config';
import { AppProcess, type AppName } from './app-process';
import { TcpBalancer } from './tcp-balancer';

/** The shared inbound topic every gateway writes (the gateway has no setting for it). */
/** The heartbeat interval config-service puts in its connection settings offers (seconds). */
export const OFFER_HEARTBEAT_S = 2;

export interface FleetTimeouts {
  /** Start of one process until it is ready (cold Node start, migrations, Kafka group join). */
  readonly startMs: number;
}

/** The directory holding nx.json above `start`. */
export function workspaceRoot(start: string = __dirname): string {
  let dir = start;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly json: T;
}

export class DistributedFleet {
  readonly run = uniqueName('e2e').replace(/[^a-z0-9]/g, '_');
  readonly tenant = `tenant_${this.run}`;
  readonly agentToken = `agent-${randomBytes(18).toString('base64url')}`;
  readonly adminToken = `admin-${randomBytes(18).toString('base64url')}`;
  readonly schema = `e2e_${this.run}`;
  readonly eventsTopic = `opamp.agent-events.${this.run}`;
  readonly inboundTopic = `opamp.agent-inbound.${this.run}`;
  readonly ingestGroup = `opamp.status-ingest.${this.run}`;
  readonly telemetryTopic = `opamp.agent-telemetry.${this.run}`;
  readonly telemetryGroup = `opamp.own-telemetry.${this.run}`;
  readonly configGroup = `opamp.config-service.${this.run}`;
  readonly gatewayIds = [`${this.run}-gw1`, `${this.run}-gw2`] as const;
  readonly root = workspaceRoot();
  readonly logDir = join(this.root, 'tmp', 'fleet-e2e', this.run);

  gateways: AppProcess[] = [];
  ingest!: AppProcess;
  configService!: AppProcess;
  balancer!: TcpBalancer;
  apiBase = '';
  private gatewayAdminPorts: number[] = [];
  private readonly kafka: Kafka;

  constructor(
    private readonly config: E2eConfig,
    private readonly timeouts: FleetTimeouts,
    /** Settings every process of the run gets besides the harness's own (e.g. tracing). */
    private readonly extraEnv: Readonly<Record<string, string>> = {},
  ) {
    this.kafka = createKafkaClient({ brokers: config.infra.kafkaBrokers, clientId: `e2e-${this.run}` });
  }

  /** ws:// endpoint through the load balancer. */
  get wsEndpoint(): string {
    return `ws://127.0.0.1:${this.balancer.port}/v1/opamp`;
  }

  /** http:// endpoint through the load balancer. */
  get httpEndpoint(): string {
    return `http://127.0.0.1:${this.balancer.port}/v1/opamp`;
  }

  get all(): AppProcess[] {
    return [...this.gateways, this.ingest, this.configService].filter(Boolean);
  }

  async start(): Promise<void> {
    mkdirSync(this.logDir, { recursive: true });
    await this.prepareDatabase();
    await this.prepareKafka();

    const infra = this.config.infra;
    const base = { ...this.config.inheritedEnv, ...this.extraEnv, OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','), OPAMP_REDIS_URL: infra.redisUrl };
    const databaseUrl = `${infra.databaseUrl}${infra.databaseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${this.schema}`)}`;
    const [httpPort, grpcPort, balancerPort, ingestMetricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    this.apiBase = `http://127.0.0.1:${httpPort}/api/v1`;

    this.ingest = this.process('status-ingest', 'status-ingest', {
      ...base,
      OPAMP_DATABASE_URL: databaseUrl,
      OPAMP_INGEST_CLIENT_ID: `status-ingest-${this.run}`,
      OPAMP_INGEST_INBOUND_TOPIC: this.inboundTopic,
      OPAMP_INGEST_EVENTS_TOPIC: this.eventsTopic,
      OPAMP_INGEST_GROUP_ID: this.ingestGroup,
      OPAMP_INGEST_OWN_TELEMETRY_TOPIC: this.telemetryTopic,
      OPAMP_INGEST_OWN_TELEMETRY_GROUP_ID: this.telemetryGroup,
      // A port of its own: another run (or a bench) on this machine may hold the default 9464.
      OPAMP_INGEST_METRICS_HOST: '127.0.0.1',
      OPAMP_INGEST_METRICS_PORT: String(ingestMetricsPort),
      OPAMP_PG_POOL_MAX: '4',
    });
    this.configService = this.process('config-service', 'config-service', {
      ...base,
      OPAMP_DATABASE_URL: databaseUrl,
      OPAMP_CONFIG_CLIENT_ID: `config-service-${this.run}`,
      OPAMP_CONFIG_BIND_HOST: '127.0.0.1',
      OPAMP_CONFIG_HTTP_PORT: String(httpPort),
      OPAMP_CONFIG_GRPC_PORT: String(grpcPort),
      OPAMP_CONFIG_EVENTS_TOPIC: this.eventsTopic,
      OPAMP_CONFIG_CONSUMER_GROUP: this.configGroup,
      OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS: `${this.tenant}=${this.adminToken}`,
      OPAMP_PG_POOL_MAX: '4',
      // Agents' own credentials, offered with the load balancer's address.
      OPAMP_CREDENTIAL_KEY: randomBytes(32).toString('base64'),
      OPAMP_PUBLIC_OPAMP_URL: `http://127.0.0.1:${balancerPort}/v1/opamp`,
      OPAMP_OFFER_HEARTBEAT_S: String(OFFER_HEARTBEAT_S),
    });
    const backends = [];
    for (const [i, gatewayId] of this.gatewayIds.entries()) {
      const [port, adminPort] = [await freePort(), await freePort()];
      this.gatewayAdminPorts.push(adminPort);
      backends.push({ host: '127.0.0.1', port });
      this.gateways.push(
        this.process(`gateway-${i + 1}`, 'gateway', {
          ...base,
          OPAMP_GATEWAY_ID: gatewayId,
          OPAMP_GATEWAY_HOST: '127.0.0.1',
          OPAMP_GATEWAY_PORT: String(port),
          OPAMP_GATEWAY_ADMIN_PORT: String(adminPort),
          OPAMP_GATEWAY_INBOUND_TOPIC: this.inboundTopic,
          OPAMP_OWN_TELEMETRY_TOPIC: this.telemetryTopic,
          OPAMP_AGENT_TOKENS: `${this.tenant}=${this.agentToken}`,
          // Short drains keep the teardown quick; the kill test uses SIGKILL anyway.
          OPAMP_DRAIN_WINDOW_MS: '500',
        }),
      );
    }
    this.balancer = new TcpBalancer(backends, { downForMs: 3_000 });
    await this.balancer.listen(balancerPort);

    // Migrations take an advisory lock, so the two workers may start together.
    this.ingest.start();
    this.configService.start();
    for (const g of this.gateways) g.start();
    await Promise.all([this.ingestReady(), this.configServiceReady(), ...this.gateways.map((_, i) => this.gatewayReady(i))]);
  }

  async stop(): Promise<void> {
    await this.balancer?.close();
    // Gateways first (their agents are gone by now), then the workers.
    await Promise.all(this.gateways.map((g) => g.stop('SIGTERM', 5_000)));
    await Promise.all([this.ingest, this.configService].filter(Boolean).map((p) => p.stop('SIGTERM', 10_000)));
    await Promise.all(this.all.map((p) => p.close()));
  }

  /** Drops the run's schema, topic and consumer groups; the logs go unless a test failed or keepLogs is set. */
  async cleanUp(keepLogs: boolean): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteGroups([this.ingestGroup, this.configGroup, this.telemetryGroup]).catch(() => undefined);
      await admin.deleteTopics({ topics: [this.eventsTopic, this.inboundTopic, this.telemetryTopic], timeout: 10_000 }).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
    const pg = new Client({ connectionString: this.config.infra.databaseUrl });
    await pg.connect();
    try {
      await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    } finally {
      await pg.end();
    }
    if (!keepLogs && !this.config.keepLogs) rmSync(this.logDir, { recursive: true, force: true });
  }

  async gatewayReady(index: number): Promise<void> {
    const url = `http://127.0.0.1:${this.gatewayAdminPorts[index]}/readyz`;
    await this.gateways[index].waitUntil(() => httpOk(url), `${this.gateways[index].name} /readyz`, this.timeouts.startMs);
  }

  async ingestReady(): Promise<void> {
    await this.ingest.waitForOutput(/consuming \S+ as /, this.timeouts.startMs);
  }

  /** The REST API answers with the admin token (migrations done, tokens registered, reconciler consuming). */
  async configServiceReady(): Promise<void> {
    await this.configService.waitForOutput(/\bready\b/, this.timeouts.startMs);
    await this.configService.waitUntil(
      async () => (await this.api('GET', '/configurations').catch(() => ({ status: 0 }))).status === 200,
      'config-service REST API',
      this.timeouts.startMs,
    );
  }

  /** Calls the REST mirror with the run's admin token. */
  async api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const res = await fetch(`${this.apiBase}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: (await res.json()) as T };
  }

  /** The error with the state of every process attached (a test's failure message). */
  explain(err: unknown): Error {
    return new Error(`${err instanceof Error ? err.message : String(err)}\n\n${this.describe()}`);
  }

  /** The state of every process, with output tails: attached to failures. */
  describe(): string {
    return [`run ${this.run}, logs in ${this.logDir}`, ...this.all.map((p) => p.describe())].join('\n');
  }

  private process(name: string, app: AppName, env: Record<string, string | undefined>): AppProcess {
    return new AppProcess({ name, app, root: this.root, env, logDir: this.logDir });
  }

  private async prepareDatabase(): Promise<void> {
    const pg = new Client({ connectionString: this.config.infra.databaseUrl });
    await pg.connect();
    try {
      await pg.query(`CREATE SCHEMA "${this.schema}"`);
    } finally {
      await pg.end();
    }
  }

  /** Creates the run's inbound topic (deleted again by cleanUp). */
  private async prepareKafka(): Promise<void> {
    await ensureTopics(this.kafka, [{ ...KafkaTopics.agentInbound, name: this.inboundTopic }]);
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
