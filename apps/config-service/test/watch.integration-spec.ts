/**
 * WatchAgents and /metrics of config-service against the real Kafka, Redis
 * and PostgreSQL: agent events produced as status-ingest would reach a gRPC
 * stream and an SSE stream through the reconciler and the Redis change feed,
 * with the reconciler's own decisions (in sync) among them, scoped to the
 * caller's tenant; a deletion reaches the watches of every replica.
 */
import * as grpc from '@grpc/grpc-js';
import { AgentCapabilities as C } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type CallAs, type ConfigServiceReplica, type ReportedAgent } from './config-service.bed';

const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';
const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig;
const B: CallAs = { tenant: 1 };

let bed: ConfigServiceBed;
const uids: Buffer[] = [];

function uid(i: number): Buffer {
  while (uids.length < i) uids.push(bed.newUid());
  return uids[i - 1];
}

/** Writes the agents row as status-ingest would, then publishes its AgentEvent. */
function report(tenant: number, id: Buffer, labels: Record<string, string>, reported: { hash?: Buffer; status?: number } = {}): Promise<void> {
  const agent: ReportedAgent = { tenant: bed.tenants[tenant].id, uid: id, capabilities: FULL, labels, reportedHash: reported.hash, status: reported.status };
  return bed.report(agent);
}

const rest = (method: string, path: string, body?: unknown, as: CallAs = {}) => bed.rest(method, path, body, as);

interface GrpcWatch {
  events: Array<Record<string, unknown>>;
  error: grpc.ServiceError | null;
  ended: boolean;
  call: grpc.ClientReadableStream<Record<string, unknown>>;
}

function grpcWatch(req: Record<string, unknown>, as: CallAs = {}, on: ConfigServiceReplica = bed.primary): GrpcWatch {
  const md = new grpc.Metadata();
  md.set('authorization', on.bearer(as));
  const call = on.grpcClient.WatchAgents(req, md) as grpc.ClientReadableStream<Record<string, unknown>>;
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

async function sseWatch(query: string, as: CallAs = {}, on: ConfigServiceReplica = bed.primary): Promise<SseWatch> {
  const abort = new AbortController();
  const res = await fetch(`${on.httpBase}/api/v1/agents:watch${query}`, { headers: { authorization: on.bearer(as) }, signal: abort.signal });
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
  bed = await ConfigServiceBed.start('cw', { overrides: { watchCoalesceMs: 20 } });
}, 60_000);

afterAll(() => bed?.close());

describe('WatchAgents', () => {
  it('refuses a bad filter or token before streaming (gRPC INVALID_ARGUMENT / UNAUTHENTICATED, REST 400 / 401)', async () => {
    const bad = grpcWatch({ selector: 'env in (' });
    await waitFor(() => bad.error, Boolean, { description: 'gRPC error' });
    expect(bad.error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const anon = grpcWatch({}, { token: 'nope' });
    await waitFor(() => anon.error, Boolean, { description: 'gRPC error' });
    expect(anon.error).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const sse = await sseWatch('?selector=env%20in%20(');
    expect(sse.status).toBe(400);
    expect((await sseWatch('', { token: 'nope' })).status).toBe(401);
    expect((await sseWatch('?configStatuses=BOGUS')).status).toBe(400);
  });

  it('streams the tenant\'s agent changes: upserts, the reconciler\'s in-sync decision, and removal when no longer matching', async () => {
    const prodWatch = grpcWatch({ selector: 'env=prod' });
    const inSyncWatch = grpcWatch({ inSync: true });
    const otherTenant = grpcWatch({}, B);
    const sse = await sseWatch('?selector=env%3Dprod');
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    // Every watch is registered before the first change (the REST call above went through after them).
    await waitFor(async () => (await fetch(`${bed.httpBase}/metrics`).then((r) => r.text())).match(/^opamp_config_watchers_active (\d+)/m)?.[1], (n) => n === '4', {
      description: 'four watchers',
    });

    await rest('POST', '/configurations', { name: 'base', files: { 'c.yaml': { body: STATIC, contentType: 'text/yaml' } } });
    await rest('POST', '/assignments', { name: 'prod', configurationName: 'base', selector: 'env=prod' });
    await report(0, uid(1), { env: 'prod' });
    const [upsert] = await waitFor(() => changesOf(prodWatch.events, uid(1)), (e) => e.length > 0, { description: 'gRPC upsert' });
    expect(upsert).toMatchObject({ kind: 'AGENT_WATCH_EVENT_KIND_UPSERTED', agent: { instanceUid: uid(1).toString('hex'), labels: { env: 'prod' } } });
    expect(String(upsert['cursor'])).toMatch(/^\d+-\d+$/);
    const [sseUpsert] = await waitFor(() => sse.events.filter((e) => e.event === 'change'), (e) => e.length > 0, { description: 'SSE change' });
    expect(sseUpsert.data).toMatchObject({ kind: 'AGENT_WATCH_EVENT_KIND_UPSERTED', agent: { instanceUid: uid(1).toString('hex') } });

    // The agent applies the config it was sent: in sync now, a change the in-sync watcher sees.
    const desired = await waitFor(() => rest('GET', `/agents/${uid(1).toString('hex')}`), (r) => String(r.json['desiredConfigHash']).length === 64, { description: 'decided' });
    await report(0, uid(1), { env: 'prod' }, { hash: Buffer.from(String(desired.json['desiredConfigHash']), 'hex'), status: 1 });
    const synced = await waitFor(() => changesOf(inSyncWatch.events, uid(1)).filter((e) => e['kind'] === 'AGENT_WATCH_EVENT_KIND_UPSERTED'), (e) => e.length > 0, { description: 'in-sync upsert' });
    expect(synced[0]).toMatchObject({ agent: { inSync: true, configurationName: 'base' } });

    // Moving the agent out of the selector: REMOVED for the prod watch.
    await report(0, uid(1), { env: 'dev' });
    const removed = await waitFor(() => changesOf(prodWatch.events, uid(1)).filter((e) => e['kind'] === 'AGENT_WATCH_EVENT_KIND_REMOVED'), (e) => e.length > 0, { description: 'removed' });
    expect(removed[0]).toMatchObject({ agent: { labels: { env: 'dev' } } });

    // Tenant B saw nothing of tenant A.
    expect(otherTenant.events).toEqual([]);
    for (const w of [prodWatch, inSyncWatch, otherTenant]) w.call.cancel();
    sse.close();
    await waitFor(async () => (await fetch(`${bed.httpBase}/metrics`).then((r) => r.text())).match(/^opamp_config_watchers_active (\d+)/m)?.[1], (n) => n === '0', {
      description: 'watchers gone',
    });
  });
});

describe('GET /metrics', () => {
  it('exports reconciler, re-evaluation, push, rollout, API and watch metrics as Prometheus text', async () => {
    const res = await fetch(`${bed.httpBase}/metrics`);
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

describe('WatchAgents and DeleteAgent', () => {
  it('every replica\'s watches get REMOVED for an agent deleted through DeleteAgent (the notice travels over Redis)', async () => {
    const other = await bed.startReplica('b');
    const gone = uid(10);
    // Rows only, no events: the deletion is then the only change any watch could hear of.
    // Disconnected, as status-ingest leaves it (DeleteAgent refuses a connected agent).
    await bed.putAgent({ tenant: bed.tenants[0].id, uid: gone, capabilities: FULL, labels: { env: 'gone' }, connected: false });
    const here = grpcWatch({ selector: 'env=gone' });
    const there = grpcWatch({}, {}, other);
    const thereSse = await sseWatch('', {}, other);
    const otherTenant = grpcWatch({}, B, other);
    await waitFor(() => [bed.api.watches.metrics.watchersActive, other.api.watches.metrics.watchersActive], (n) => n[0] >= 1 && n[1] >= 3, { description: 'watches open' });

    // Over REST on the primary: a watch on either replica hears of it.
    expect((await rest('DELETE', `/agents/${gone.toString('hex')}`)).json).toEqual({ agentsRemoved: 1 });
    const removed = { kind: 'AGENT_WATCH_EVENT_KIND_REMOVED', agent: { instanceUid: gone.toString('hex') } };
    const removedFrom = (events: Array<Record<string, unknown>>) => changesOf(events, gone).filter((e) => e['kind'] === removed.kind);
    expect((await waitFor(() => removedFrom(here.events), (e) => e.length > 0, { description: 'REMOVED on the primary' }))[0]).toMatchObject(removed);
    expect((await waitFor(() => removedFrom(there.events), (e) => e.length > 0, { description: 'REMOVED on the other replica' }))[0]).toMatchObject(removed);
    const sse = await waitFor(() => thereSse.events.filter((e) => e.data['kind'] === removed.kind), (e) => e.length > 0, { description: 'REMOVED over SSE' });
    expect(sse[0].data).toMatchObject(removed);

    // Over gRPC on the other replica, for a second agent: heard on the primary too.
    const second = uid(11);
    await bed.putAgent({ tenant: bed.tenants[0].id, uid: second, capabilities: FULL, labels: { env: 'gone' }, connected: false });
    expect(await other.rpc('DeleteAgent', { instanceUid: second.toString('hex') })).toEqual({ agentsRemoved: 1 });
    const secondRemoved = await waitFor(() => changesOf(here.events, second).filter((e) => e['kind'] === removed.kind), (e) => e.length > 0, { description: 'REMOVED of the second' });
    expect(secondRemoved[0]).toMatchObject({ agent: { instanceUid: second.toString('hex') } });
    // Another tenant's watch hears nothing of it.
    expect(otherTenant.events).toEqual([]);
    for (const w of [here, there, otherTenant]) w.call.cancel();
    thereSse.close();
  });
});
