/**
 * WatchAgents and /metrics of config-service against the real Kafka, Redis
 * and PostgreSQL: agent events produced as status-ingest would reach a gRPC
 * stream and an SSE stream through the reconciler and the Redis change feed,
 * with the reconciler's own decisions (in sync) among them, scoped to the
 * caller's tenant.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Partitioners } from 'kafkajs';
import type { Pool } from 'pg';
import { AgentEventCodec } from '@opamp/contracts';
import { createKafkaClient, deleteTopics } from '@opamp/bus-kafka';
import { AgentCapabilities as C } from '@opamp/protocol';
import { createPgPool } from '@opamp/store';
import { freePort, testInfra, uniqueName, waitFor } from '@opamp/testing';
import { findFleetApiProto, LOADER_OPTIONS } from '@opamp/platform-api';
import { createConfigServiceApp, reconcilerJoined } from '../src/app';
import { loadConfigServiceConfig } from '../src/config/config-service.config';

const infra = testInfra();
const run = uniqueName('cw').replace(/[^a-z0-9]/g, '_');
const schema = `t_${run}`;
const topic = `opamp.agent-events.${run}`;
const gatewayId = `gw-${run}`;
const tenantA = `ta-${run}`;
const tenantB = `tb-${run}`;
const tokenA = `admin-a-${run}-0123456789`;
const tokenB = `admin-b-${run}-0123456789`;
const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';
const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig;

type Client = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<Record<string, unknown>>>;
let app: NestExpressApplication;
let pool: Pool;
let adminPool: Pool;
let httpBase: string;
let client: Client;
const kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: `cw-test-${run}` });
const producer = kafka.producer({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.write(run.slice(-8).padEnd(8, '0'), 0, 'latin1');
  b.writeUInt32BE(i, 12);
  return b;
}

/** Writes the agents row as status-ingest would, then publishes its AgentEvent. */
async function report(tenant: string, id: Buffer, labels: Record<string, string>, reported: { hash?: Buffer; status?: number } = {}): Promise<void> {
  await pool.query(
    `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, remote_config_hash, remote_config_status, healthy)
     VALUES ($1, $2, $3, $4::jsonb, true, $5, 'c', 1, 1, $6, $7, true)
     ON CONFLICT (tenant_id, instance_uid) DO UPDATE SET labels = EXCLUDED.labels, remote_config_hash = EXCLUDED.remote_config_hash,
       remote_config_status = EXCLUDED.remote_config_status, updated_at = now()`,
    [tenant, id, FULL, JSON.stringify(labels), gatewayId, reported.hash ?? null, reported.status ?? 0],
  );
  const event = AgentEventCodec.encode({
    tenantId: tenant,
    instanceUid: id,
    changes: 1,
    capabilities: FULL,
    labels: Object.entries(labels).map(([key, value]) => ({ key, value })),
    reportedRemoteConfigHash: reported.hash,
    remoteConfigStatus: reported.status ?? 0,
    owner: { connected: true, gatewayId, connectionId: 'c', epoch: 1, transport: 1 },
  });
  await producer.send({ topic, messages: [{ key: id, value: event }] });
}

async function rest(method: string, path: string, body?: unknown, token = tokenA): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${httpBase}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface GrpcWatch {
  events: Array<Record<string, unknown>>;
  error: grpc.ServiceError | null;
  ended: boolean;
  call: grpc.ClientReadableStream<Record<string, unknown>>;
}

function grpcWatch(req: Record<string, unknown>, token = tokenA): GrpcWatch {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const call = client.WatchAgents(req, md);
  const w: GrpcWatch = { events: [], error: null, ended: false, call };
  call.on('data', (e: Record<string, unknown>) => w.events.push(e));
  call.on('error', (err: grpc.ServiceError) => (w.error = err));
  call.on('end', () => (w.ended = true));
  return w;
}

interface SseWatch {
  status: number;
  contentType: string;
  events: Array<{ event: string; data: Record<string, unknown> }>;
  close(): void;
}

async function sseWatch(query: string, token = tokenA): Promise<SseWatch> {
  const abort = new AbortController();
  const res = await fetch(`${httpBase}/api/v1/agents:watch${query}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  const w: SseWatch = { status: res.status, contentType: res.headers.get('content-type') ?? '', events: [], close: () => abort.abort() };
  if (res.status !== 200 || !res.body) return w;
  void (async () => {
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) w.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return w;
}

const changesOf = (events: Array<Record<string, unknown>>, id: Buffer) => events.filter((e) => (e['agent'] as { instanceUid?: string })?.instanceUid === id.toString('hex'));

beforeAll(async () => {
  adminPool = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'cw-test-admin', max: 1 });
  await adminPool.query(`CREATE SCHEMA "${schema}"`);
  const databaseUrl = `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  pool = createPgPool({ connectionString: databaseUrl, applicationName: 'cw-test', max: 4 });
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  app = await createConfigServiceApp(
    {
      ...loadConfigServiceConfig({}),
      kafkaBrokers: infra.kafkaBrokers,
      redisUrl: infra.redisUrl,
      databaseUrl,
      clientId: `cw-${run}`,
      bindHost: '127.0.0.1',
      httpPort,
      grpcPort,
      eventsTopic: topic,
      consumerGroup: `cw-group-${run}`,
      watchCoalesceMs: 20,
      bootstrapAdminTokens: [
        { tenantId: tenantA, token: tokenA },
        { tenantId: tenantB, token: tokenB },
      ],
    },
    { logger: false },
  );
  await reconcilerJoined(app);
  httpBase = `http://127.0.0.1:${httpPort}`;
  await producer.connect();
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(findFleetApiProto().protoPath, LOADER_OPTIONS)) as unknown as {
    fleet: { v1: { FleetService: grpc.ServiceClientConstructor } };
  };
  client = new pkg.fleet.v1.FleetService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as Client;
}, 60_000);

afterAll(async () => {
  client?.close();
  await producer.disconnect();
  await app?.close();
  await pool?.end();
  await adminPool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await adminPool.end();
  await deleteTopics(kafka, [topic]).catch(() => undefined);
});

describe('WatchAgents', () => {
  it('refuses a bad filter or token before streaming (gRPC INVALID_ARGUMENT / UNAUTHENTICATED, REST 400 / 401)', async () => {
    const bad = grpcWatch({ selector: 'env in (' });
    await waitFor(() => bad.error, Boolean, { description: 'gRPC error' });
    expect(bad.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const anon = grpcWatch({}, 'nope');
    await waitFor(() => anon.error, Boolean, { description: 'gRPC error' });
    expect(anon.error).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const sse = await sseWatch('?selector=env%20in%20(');
    expect(sse.status).toBe(400);
    expect((await sseWatch('', 'nope')).status).toBe(401);
    expect((await sseWatch('?configStatuses=BOGUS')).status).toBe(400);
  });

  it('streams the tenant\'s agent changes: upserts, the reconciler\'s in-sync decision, and removal when no longer matching', async () => {
    const prodWatch = grpcWatch({ selector: 'env=prod' });
    const inSyncWatch = grpcWatch({ inSync: true });
    const otherTenant = grpcWatch({}, tokenB);
    const sse = await sseWatch('?selector=env%3Dprod');
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    // Every watch is registered before the first change (the REST call above went through after them).
    await waitFor(async () => (await fetch(`${httpBase}/metrics`).then((r) => r.text())).match(/^opamp_config_watchers_active (\d+)/m)?.[1], (n) => n === '4', {
      description: 'four watchers',
    });

    await rest('POST', '/configurations', { name: 'base', files: { 'c.yaml': { body: STATIC, contentType: 'text/yaml' } } });
    await rest('POST', '/assignments', { name: 'prod', configurationName: 'base', selector: 'env=prod' });
    await report(tenantA, uid(1), { env: 'prod' });
    const [upsert] = await waitFor(() => changesOf(prodWatch.events, uid(1)), (e) => e.length > 0, { description: 'gRPC upsert' });
    expect(upsert).toMatchObject({ kind: 'AGENT_WATCH_EVENT_KIND_UPSERTED', agent: { instanceUid: uid(1).toString('hex'), labels: { env: 'prod' } } });
    expect(String(upsert['cursor'])).toMatch(/^\d+-\d+$/);
    const [sseUpsert] = await waitFor(() => sse.events.filter((e) => e.event === 'change'), (e) => e.length > 0, { description: 'SSE change' });
    expect(sseUpsert.data).toMatchObject({ kind: 'AGENT_WATCH_EVENT_KIND_UPSERTED', agent: { instanceUid: uid(1).toString('hex') } });

    // The agent applies the config it was sent: in sync now, a change the in-sync watcher sees.
    const desired = await waitFor(() => rest('GET', `/agents/${uid(1).toString('hex')}`), (r) => String(r.json['desiredConfigHash']).length === 64, { description: 'decided' });
    await report(tenantA, uid(1), { env: 'prod' }, { hash: Buffer.from(String(desired.json['desiredConfigHash']), 'hex'), status: 1 });
    const synced = await waitFor(() => changesOf(inSyncWatch.events, uid(1)).filter((e) => e['kind'] === 'AGENT_WATCH_EVENT_KIND_UPSERTED'), (e) => e.length > 0, { description: 'in-sync upsert' });
    expect(synced[0]).toMatchObject({ agent: { inSync: true, configurationName: 'base' } });

    // Moving the agent out of the selector: REMOVED for the prod watch.
    await report(tenantA, uid(1), { env: 'dev' });
    const removed = await waitFor(() => changesOf(prodWatch.events, uid(1)).filter((e) => e['kind'] === 'AGENT_WATCH_EVENT_KIND_REMOVED'), (e) => e.length > 0, { description: 'removed' });
    expect(removed[0]).toMatchObject({ agent: { labels: { env: 'dev' } } });

    // Tenant B saw nothing of tenant A.
    expect(otherTenant.events).toEqual([]);
    for (const w of [prodWatch, inSyncWatch, otherTenant]) w.call.cancel();
    sse.close();
    await waitFor(async () => (await fetch(`${httpBase}/metrics`).then((r) => r.text())).match(/^opamp_config_watchers_active (\d+)/m)?.[1], (n) => n === '0', {
      description: 'watchers gone',
    });
  });
});

describe('GET /metrics', () => {
  it('exports reconciler, re-evaluation, push, rollout, API and watch metrics as Prometheus text', async () => {
    const res = await fetch(`${httpBase}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (line: RegExp) => Number(line.exec(text)?.[1] ?? NaN);
    expect(value(/^opamp_config_reconciler_events_handled_total (\d+)/m)).toBeGreaterThanOrEqual(3);
    expect(value(/^opamp_config_reconciler_decisions_changed_total (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^opamp_config_reevaluation_jobs_finished_total (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(value(/^opamp_config_pushes_total\{kind="remote_config",delivery="published"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^opamp_config_rollout_ticks_total \d+/m);
    expect(value(/^opamp_config_api_requests_total\{method="CreateAssignment",code="OK"\} (\d+)/m)).toBe(1);
    expect(value(/^opamp_config_api_requests_total\{method="WatchAgents",code="INVALID_ARGUMENT"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
    expect(value(/^opamp_config_watchers_opened_total (\d+)/m)).toBe(4);
    expect(text).toMatch(/^opamp_config_watch_streams_dropped_total 0$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });
});
