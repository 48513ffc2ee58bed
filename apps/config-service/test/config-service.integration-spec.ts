/**
 * config-service against the real Kafka, Redis and PostgreSQL: AgentEvents
 * produced on a unique topic as status-ingest would, pushes observed on a
 * subscribed gateway channel and in the pending store, everything driven
 * through the REST mirror and the gRPC API (config-service.bed.ts). Agent rows are written the way
 * status-ingest writes them (the API reads the agents table).
 */
import * as grpc from '@grpc/grpc-js';
import { RedisKeys } from '@opamp/contracts';
import { PendingPushStore } from '@opamp/bus-redis';
import { AgentCapabilities as C, decodeServerToAgent, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type CallAs, type ReportedAgent } from './config-service.bed';

const COLLECTOR = `receivers:
  otlp: { protocols: { grpc: {} } }
exporters:
  otlphttp: { endpoint: "https://\${attr:service.name}.example" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
`;
const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';
const FULL = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig;
const B: CallAs = { tenant: 1 };

let bed: ConfigServiceBed;
let tenantA: string;
const rest = (method: string, path: string, body?: unknown, as: CallAs = {}) => bed.rest(method, path, body, as);
const rpc = (name: string, req: unknown, as: CallAs = {}) => bed.rpc(name, req, as);
const report = (a: ReportedAgent) => bed.report(a);
const pushesFor = (uid: Buffer) => bed.pushesFor(uid);
const newUid = () => bed.newUid();

beforeAll(async () => {
  bed = await ConfigServiceBed.start('cs', { overrides: { reevaluatePageSize: 2 }, pushes: true });
  tenantA = bed.tenants[0].id;
}, 60_000);

afterAll(() => bed?.close());

describe('config-service', () => {
  let hash: string;
  let prod: ReportedAgent;
  beforeAll(() => {
    prod = { tenant: tenantA, uid: newUid(), capabilities: FULL, labels: { env: 'prod', 'service.name': 'checkout' } };
  });

  it('exports the consumer lag of its group (sampled at start) and its PostgreSQL pool gauges', async () => {
    const metrics = await fetch(`${bed.httpBase}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(new RegExp(`opamp_config_consumer_lag_records\\{group="cs-group-${bed.run}",topic="${bed.topic}",partition="\\d+"\\} \\d+`));
    expect(metrics).toMatch(/opamp_config_db_pool_connections\{state="idle"\} \d+/);
    expect(metrics).toMatch(/opamp_config_db_pool_max_connections \d+/);
  });

  it('refuses requests without a valid admin token', async () => {
    const res = await fetch(`${bed.httpBase}/api/v1/configurations`);
    expect(res.status).toBe(401);
    await expect(rpc('ListConfigurations', {}, { token: 'nope' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it('refuses an invalid configuration and stores nothing (REST 400, gRPC INVALID_ARGUMENT)', async () => {
    const bad = { name: 'broken', files: { 'c.yaml': { body: 'receivers: {otlp: {}}\nservice: {pipelines: {traces: {receivers: [otlp, jaeger]}}}', contentType: 'text/yaml' } } };
    const r = await rest('POST', '/configurations', bad);
    expect(r.status).toBe(400);
    expect((r.json['error'] as { message: string }).message).toMatch(/pipeline 'traces' has no exporters.*receiver 'jaeger', which is not defined/);
    await expect(rpc('CreateConfiguration', bad)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((await rest('POST', '/configurations', { name: 'x', files: {}, bogus: 1 })).status).toBe(400);
    expect((await rest('POST', '/configurations', { name: 'Bad Name', files: { a: { body: 'a: 1' } } })).status).toBe(400);
    expect((await rest('POST', '/assignments', { name: 'a', configurationName: 'broken', selector: 'env in (' })).status).toBe(400);
    expect((await rest('GET', '/configurations')).json['configurations']).toEqual([]);
    expect((await rest('GET', '/audit-events')).json['events']).toEqual([]);
    const v = await rest('POST', '/configurations:validate', { files: bad.files });
    expect(v.json).toMatchObject({ valid: false });
  });

  it('C13/C53/C55: a matching agent receives the configuration, reports APPLIED and shows in sync', async () => {
    const created = await rest('POST', '/configurations', { name: 'base', description: 'd', files: { 'collector.yaml': { body: COLLECTOR, content_type: 'text/yaml' } } });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ name: 'base', version: 1, templated: true, format: 'CONFIG_FORMAT_OTEL_COLLECTOR' });
    const before = bed.reconciler.metrics.eventsHandled;
    await report(prod);
    await bed.handled(before, 1);
    const a = await rest('POST', '/assignments', { name: 'prod', configurationName: 'base', selector: 'env=prod', priority: 10 });
    expect(a.status).toBe(200);
    const [msg] = await waitFor(() => pushesFor(prod.uid), (p) => p.length >= 1, { description: 'remote config push' });
    expect(Buffer.from(msg.instanceUid)).toEqual(prod.uid);
    expect(msg.remoteConfig?.configHash?.length).toBe(32);
    expect(Buffer.from(msg.remoteConfig!.config!.configMap!['collector.yaml'].body!).toString()).toContain('https://checkout.example');
    hash = Buffer.from(msg.remoteConfig!.configHash!).toString('hex');
    const rendered = await rest('POST', `/configurations/base:render`, { instanceUid: prod.uid.toString('hex') });
    expect(rendered.json).toMatchObject({ sendable: true, configHash: hash });

    await report({ ...prod, reportedHash: Buffer.from(hash, 'hex'), status: 1 });
    const agent = await waitFor(() => rest('GET', `/agents/${prod.uid.toString('hex')}`), (r) => r.json['inSync'] === true, { description: 'in sync' });
    expect(agent.json).toMatchObject({ configurationName: 'base', configurationVersion: 1, desiredConfigHash: hash, remoteConfigStatus: 'REMOTE_CONFIG_STATUS_APPLIED' });
    const synced = await rest('GET', '/agents?inSync=true');
    expect((synced.json['agents'] as Array<{ instanceUid: string }>).map((x) => x.instanceUid)).toEqual([prod.uid.toString('hex')]);
    expect(pushesFor(prod.uid)).toHaveLength(1); // C54: the matching report caused no resend
  });

  it('C56: FAILED for the current hash is not resent and the error shows in the API', async () => {
    const before = bed.reconciler.metrics.eventsHandled;
    await report({ ...prod, reportedHash: Buffer.from(hash, 'hex'), status: 3, error: 'bad exporter' });
    await bed.handled(before, 1);
    expect(pushesFor(prod.uid)).toHaveLength(1);
    expect((await rest('GET', `/agents/${prod.uid.toString('hex')}`)).json).toMatchObject({ remoteConfigStatus: 'REMOTE_CONFIG_STATUS_FAILED', remoteConfigError: 'bad exporter', inSync: false });
  });

  it('a config is sent once per connection while its status is awaited: a report before APPLIED does not resend it, a new connection gets it at once', async () => {
    // The Java client: remote config received, then effective config (still the old hash), then APPLIED.
    const java: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: FULL, labels: { env: 'prod', 'service.name': 'java' }, connectionId: `conn-java-1-${bed.run}` };
    const initial = bed.reconciler.metrics.eventsHandled;
    await report({ ...java, occurredAtMs: Date.now() });
    await bed.handled(initial, 1);
    const [first] = await waitFor(() => pushesFor(java.uid), (p) => p.length >= 1, { description: 'first push' });
    const sentHash = Buffer.from(first.remoteConfig!.configHash!);
    // Counted where the push is made (a push on its way through Redis could still arrive after handled()).
    const pushed = bed.reconciler.metrics.configsPushed;
    const waiting = bed.reconciler.metrics.sendsAwaitingStatus;
    const before = bed.reconciler.metrics.eventsHandled;
    await report({ ...java, occurredAtMs: Date.now() }); // effective config: nothing about the remote config yet
    await bed.handled(before, 1);
    expect(bed.reconciler.metrics.configsPushed).toBe(pushed);
    expect(bed.reconciler.metrics.sendsAwaitingStatus).toBe(waiting + 1);

    // Reconnected (a new connection): the send to the old one does not count.
    await report({ ...java, connectionId: `conn-java-2-${bed.run}`, occurredAtMs: Date.now() });
    const again = await waitFor(() => bed.pushes.filter((p) => Buffer.from(p.instanceUid).equals(java.uid)), (p) => p.length >= 2, { description: 'push to the new connection' });
    expect(again[1].connectionId).toBe(`conn-java-2-${bed.run}`);
    expect(Buffer.from(decodeServerToAgent(again[1].serverToAgent).remoteConfig!.configHash!)).toEqual(sentHash);

    await report({ ...java, connectionId: `conn-java-2-${bed.run}`, reportedHash: sentHash, status: 1, occurredAtMs: Date.now() });
    await waitFor(() => rest('GET', `/agents/${java.uid.toString('hex')}`), (r) => r.json['inSync'] === true, { description: 'in sync' });
    expect(bed.reconciler.metrics.configsPushed).toBe(pushed + 1);
    expect(pushesFor(java.uid)).toHaveLength(2);
  });

  it('C42: no config without AcceptsRemoteConfig; C57: once for agents that do not report status', async () => {
    const noAccept: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: C.ReportsStatus, labels: { env: 'prod', 'service.name': 's' } };
    const silent: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: C.ReportsStatus | C.AcceptsRemoteConfig, labels: { env: 'prod', 'service.name': 's' } };
    const before = bed.reconciler.metrics.eventsHandled;
    await report(noAccept);
    await report(silent);
    await waitFor(() => pushesFor(silent.uid), (p) => p.length === 1, { description: 'first delivery' });
    for (let i = 0; i < 3; i++) await report(silent);
    await bed.handled(before, 5);
    expect(pushesFor(noAccept.uid)).toHaveLength(0);
    expect(pushesFor(silent.uid)).toHaveLength(1);
    expect((await rest('GET', `/agents/${noAccept.uid.toString('hex')}`)).json['notSentReason']).toMatch(/AcceptsRemoteConfig not set/);
    expect((await rest('GET', `/agents/${silent.uid.toString('hex')}`)).json['inSync']).toBe(true);
  });

  it('plain-HTTP agents get the config in the pending store plus a wake-up', async () => {
    const http: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: FULL, labels: { env: 'prod', 'service.name': 'h' }, transport: 2 };
    await report(http);
    const store = new PendingPushStore(bed.redis);
    const items = await waitFor(() => store.take(tenantA, http.uid.toString('hex')), (i) => i.length > 0, { description: 'pending item' });
    expect(items[0].kind).toBe('remote_config');
    expect(decodeServerToAgent(items[0].serverToAgent).remoteConfig?.configHash?.length).toBe(32);
    await waitFor(() => bed.pushes.some((p) => Buffer.from(p.instanceUid).equals(http.uid) && p.pendingWakeup), Boolean, { description: 'wake-up' });
  });

  it('a new version reaches the agents; changing a selector moves agents between configurations', async () => {
    const dev: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: FULL, labels: { env: 'dev', 'service.name': 'd' } };
    await rest('POST', '/configurations', { name: 'other', files: { 'c.yaml': { body: STATIC, contentType: 'text/yaml' } } });
    const before = bed.reconciler.metrics.eventsHandled;
    await report(dev);
    await bed.handled(before, 1);
    expect(pushesFor(dev.uid)).toHaveLength(0);
    const upd = await rest('PUT', '/assignments/prod', { configurationName: 'other', selector: 'env in (dev)', priority: 10 });
    expect(upd.json).toMatchObject({ name: 'prod', configurationName: 'other', selector: 'env in (dev)' });
    const [m] = await waitFor(() => pushesFor(dev.uid), (p) => p.length === 1, { description: 'dev agent gets other' });
    expect(Buffer.from(m.remoteConfig!.config!.configMap!['c.yaml'].body!).toString()).toBe(STATIC);
    const moved = await waitFor(() => rest('GET', `/agents/${prod.uid.toString('hex')}`), (r) => r.json['configurationName'] === '', { description: 'prod agent unassigned' });
    expect(moved.json['desiredConfigHash']).toBe('');
    const v2 = await rest('PUT', '/configurations/other', { files: { 'c.yaml': { body: STATIC + '# v2\n', contentType: 'text/yaml' } } });
    expect(v2.json).toMatchObject({ version: 2 });
    await waitFor(() => pushesFor(dev.uid), (p) => p.length === 2, { description: 'version 2 pushed' });
    expect((await rest('GET', '/configurations/other/versions')).json['versions']).toHaveLength(2);
    const audit = (await rest('GET', '/audit-events?resourceName=other')).json['events'] as Array<Record<string, string>>;
    expect(audit[0]).toMatchObject({ action: 'configuration.update', actor: expect.stringMatching(/^token:/) });
    expect(audit[0].beforeHash).toHaveLength(64);
    expect(audit[0].afterHash).not.toBe(audit[0].beforeHash);
    expect((await rest('DELETE', '/configurations/other')).status).toBe(400); // in use
  });

  it('C46: restart is gated and travels alone; C75: custom messages only for declared capabilities', async () => {
    const r: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: C.ReportsStatus | C.AcceptsRestartCommand, labels: { env: 'x' }, customCapabilities: ['com.x.pause'] };
    await report(r);
    const hex = r.uid.toString('hex');
    await waitFor(() => rest('GET', `/agents/${hex}`), (x) => x.status === 200);
    expect((await rest('POST', `/agents/${hex}/restart`, {})).json).toEqual({ delivery: 'published' });
    const [cmd] = await waitFor(() => pushesFor(r.uid), (p) => p.length === 1, { description: 'restart' });
    expect(Object.keys(cmd.toJSON()).sort()).toEqual(['command', 'instanceUid']);
    expect((await rest('POST', `/agents/${prod.uid.toString('hex')}/restart`, {})).status).toBe(400);
    expect((await rest('POST', `/agents/${hex}/custom-messages`, { capability: 'com.y', type: 't', data: 'AA==' })).status).toBe(400);
    expect((await rest('POST', `/agents/${hex}/custom-messages`, { capability: 'com.x.pause', type: 'pause', data: 'AQ==' })).status).toBe(200);
    const [, custom] = await waitFor(() => pushesFor(r.uid), (p) => p.length === 2, { description: 'custom message' });
    expect(custom.customMessage).toMatchObject({ capability: 'com.x.pause', type: 'pause' });
  });

  it('tenant B cannot read or change anything of tenant A', async () => {
    expect((await rest('GET', '/configurations', undefined, B)).json['configurations']).toEqual([]);
    expect((await rest('GET', '/configurations/base', undefined, B)).status).toBe(404);
    expect((await rest('PUT', '/configurations/base', { files: { a: { body: 'x: 1' } } }, B)).status).toBe(404);
    expect((await rest('DELETE', '/assignments/prod', undefined, B)).status).toBe(404);
    expect((await rest('GET', `/agents/${prod.uid.toString('hex')}`, undefined, B)).status).toBe(404);
    expect((await rest('GET', '/agents', undefined, B)).json['agents']).toEqual([]);
    expect((await rest('POST', `/agents/${prod.uid.toString('hex')}/restart`, {}, B)).status).toBe(404);
    await expect(rpc('GetConfiguration', { name: 'base' }, B)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect((await rest('GET', '/audit-events', undefined, B)).json['events']).toEqual([]);
  });

  it('gRPC and REST see the same data; agent lists page stably', async () => {
    const viaRest = await rest('GET', '/configurations/base');
    const viaGrpc = await rpc('GetConfiguration', { name: 'base' });
    expect(viaGrpc).toEqual(viaRest.json);
    const listRest = await rest('GET', '/agents?selector=env%3Dprod&pageSize=2');
    const listGrpc = await rpc('ListAgents', { selector: 'env=prod', pageSize: 2 });
    expect(listGrpc).toEqual(listRest.json);
    const all: string[] = [];
    let token = '';
    do {
      const page = await rest('GET', `/agents?pageSize=2${token ? `&pageToken=${token}` : ''}`);
      all.push(...(page.json['agents'] as Array<{ instanceUid: string }>).map((a) => a.instanceUid));
      token = page.json['nextPageToken'] as string;
    } while (token);
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(6);
  });

  it('GetAgent shows the health tree, effective config, package statuses and components; REST and gRPC agree', async () => {
    // Written in the shape status-ingest stores them (libs/ingest core/json.ts; this app may not import the ingest lib).
    const v1 = opamp.proto.v1;
    const TO_JSON = { bytes: String, longs: Number, enums: Number, defaults: false } as const;
    const health = v1.ComponentHealth.toObject(
      v1.ComponentHealth.fromObject({
        healthy: true,
        status: 'StatusOK',
        startTimeUnixNano: Date.UTC(2026, 0, 1) * 1e6,
        componentHealthMap: { 'pipeline:logs': { healthy: false, status: 'StatusRecoverableError', lastError: 'queue full', attributes: [{ key: 'retries', value: { intValue: 3 } }] } },
      }),
      TO_JSON,
    );
    const packages = v1.PackageStatuses.toObject(
      v1.PackageStatuses.fromObject({ packages: { ext: { name: 'ext', agentHasVersion: '1.0', agentHasHash: Buffer.from('0102', 'hex'), status: v1.PackageStatusEnum.PackageStatusEnum_Installing } } }),
      TO_JSON,
    );
    const configMap = Buffer.from(v1.AgentConfigMap.encode({ configMap: { 'collector.yaml': { body: Buffer.from(STATIC), contentType: 'text/yaml' } } }).finish());
    const configHash = Buffer.alloc(32, 0x5a);
    const since = new Date(Date.UTC(2026, 0, 1, 12));
    await bed.pool.query(`INSERT INTO effective_configs (hash, config_map, size_bytes) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`, [configHash, configMap, configMap.length]);
    await bed.pool.query(
      `UPDATE agents SET health = $3::jsonb, package_statuses = $4::jsonb, effective_config_hash = $5, connected_since = $6 WHERE tenant_id = $1 AND instance_uid = $2`,
      [tenantA, prod.uid, JSON.stringify(health), JSON.stringify(packages), configHash, since],
    );
    const uid = prod.uid.toString('hex');
    const viaRest = await rest('GET', `/agents/${uid}`);
    expect(viaRest.status).toBe(200);
    expect(viaRest.json).toMatchObject({
      componentHealth: {
        healthy: true,
        status: 'StatusOK',
        startTime: '2026-01-01T00:00:00.000Z',
        children: { 'pipeline:logs': { healthy: false, status: 'StatusRecoverableError', lastError: 'queue full', attributes: { retries: '3' }, children: {} } },
      },
      effectiveConfig: { 'collector.yaml': { body: STATIC, contentType: 'text/yaml' } },
      effectiveConfigHash: configHash.toString('hex'),
      packageStatuses: [{ name: 'ext', agentHasVersion: '1.0', agentHasHash: '0102', serverOfferedHash: '', status: 'PACKAGE_STATE_INSTALLING', errorMessage: '' }],
      connectedSince: since.toISOString(),
    });
    expect(await rpc('GetAgent', { instanceUid: uid })).toEqual(viaRest.json);
    // The list leaves the detail out.
    const listed = (await rest('GET', '/agents?selector=env%3Dprod&pageSize=1000')).json['agents'] as Array<Record<string, unknown>>;
    const inList = listed.find((a) => a['instanceUid'] === uid)!;
    expect(inList['componentHealth']).toBeFalsy();
    expect(inList['effectiveConfig']).toEqual({});
  });

  it('GetFleetSummary counts match ListAgents; REST and gRPC agree; tenants are separate', async () => {
    const viaRest = await rest('GET', '/fleet-summary?groupBy=env');
    expect(viaRest.status).toBe(200);
    const viaGrpc = await rpc('GetFleetSummary', { groupBy: 'env' });
    const strip = (v: Record<string, unknown>) => ({ ...v, time: '' });
    expect(strip(viaGrpc)).toEqual(strip(viaRest.json));
    const s = viaRest.json as { totals: Record<string, number>; groups: Array<{ value: string; hasLabel: boolean; counts: Record<string, number> }>; labelKeys: string[] };
    const count = async (q: string) => ((await rest('GET', `/agents?pageSize=1000${q}`)).json['agents'] as unknown[]).length;
    expect(s.totals['agents']).toBe(await count(''));
    expect(s.totals['connected']).toBe(await count('&connected=true'));
    expect(s.totals['inSync']).toBe(await count('&inSync=true'));
    expect(s.totals['outOfSync']).toBe(await count('&inSync=false'));
    expect(s.totals['configFailed']).toBe(await count('&configStatuses=REMOTE_CONFIG_STATUS_FAILED'));
    const prodGroup = s.groups.find((g) => g.value === 'prod' && g.hasLabel)!;
    expect(prodGroup.counts['agents']).toBe(await count('&selector=env%3Dprod'));
    expect(prodGroup.counts['inSync']).toBe(await count('&selector=env%3Dprod&inSync=true'));
    expect(s.labelKeys).toContain('env');
    const other = (await rest('GET', '/fleet-summary', undefined, B)).json as { totals: Record<string, number> };
    expect(other.totals['agents']).toBe(0);
    expect((await rest('GET', '/fleet-summary?groupBy=a%20b')).status).toBe(400);
  });

  it('agent tokens are created once, listed and revoked; the OpenAPI document is served', async () => {
    const created = await rpc('CreateAgentToken', { name: 'fleet-a' });
    expect(created['secret']).toMatch(/^opamp_agent_/);
    const id = (created['token'] as { id: string }).id;
    const listed = await rest('GET', '/agent-tokens');
    expect(listed.json['tokens']).toEqual([expect.objectContaining({ id, name: 'fleet-a', revokeTime: '' })]);
    expect(JSON.stringify(listed.json)).not.toContain(created['secret'] as string);
    const revoked = await rest('DELETE', `/agent-tokens/${id}`);
    expect(revoked.json['revokeTime']).not.toBe('');
    expect((await rest('DELETE', `/agent-tokens/${id}`, undefined, B)).status).toBe(404);
    const doc = (await (await fetch(`${bed.httpBase}/api/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/agents', '/api/v1/configurations/{name}', '/api/v1/assignments']));
  });

  it('ListAgents orderBy over REST and gRPC: same pages, sorted, 400 for an unknown key or a token of another order; OpenAPI lists orderBy', async () => {
    const pages = async (orderBy: string) => {
      const all: Array<{ instanceUid: string; lastSeenTime: string }> = [];
      let token = '';
      do {
        const page = await rest('GET', `/agents?pageSize=2&orderBy=${encodeURIComponent(orderBy)}${token ? `&pageToken=${token}` : ''}`);
        expect(page.status).toBe(200);
        all.push(...(page.json['agents'] as Array<{ instanceUid: string; lastSeenTime: string }>));
        token = page.json['nextPageToken'] as string;
      } while (token);
      return all;
    };
    const desc = await pages('instanceUid desc');
    expect(desc.map((a) => a.instanceUid)).toEqual(desc.map((a) => a.instanceUid).sort().reverse());
    expect(desc.length).toBeGreaterThanOrEqual(6);
    const bySeen = await pages('last_seen desc');
    expect(new Set(bySeen.map((a) => a.instanceUid))).toEqual(new Set(desc.map((a) => a.instanceUid)));
    const restPage = await rest('GET', '/agents?pageSize=3&orderBy=health%20desc');
    expect(await rpc('ListAgents', { pageSize: 3, orderBy: 'health desc' })).toEqual(restPage.json);
    const next = await rpc('ListAgents', { pageSize: 3, orderBy: 'health desc', pageToken: restPage.json['nextPageToken'] });
    expect(next).toEqual((await rest('GET', `/agents?pageSize=3&orderBy=health%20desc&pageToken=${restPage.json['nextPageToken'] as string}`)).json);

    const unknown = await rest('GET', '/agents?orderBy=labels');
    expect(unknown.status).toBe(400);
    expect(unknown.json['error']).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining('order_by: unknown sort key "labels"') });
    const mixed = await rest('GET', `/agents?orderBy=health%20asc&pageToken=${restPage.json['nextPageToken'] as string}`);
    expect(mixed.status).toBe(400);
    expect((mixed.json['error'] as { message: string }).message).toContain('page_token continues order_by "health desc", not "health asc"');
    await expect(rpc('ListAgents', { orderBy: 'last_seen sideways' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    const doc = (await (await fetch(`${bed.httpBase}/api/v1/openapi.json`)).json()) as { paths: Record<string, { get: { parameters: Array<{ name: string }> } }> };
    expect(doc.paths['/api/v1/agents'].get.parameters.map((p) => p.name)).toContain('orderBy');
    expect(doc.paths['/api/v1/audit-events'].get.parameters.map((p) => p.name)).toContain('query');
  });

  it('ListAuditEvents query: case-insensitive text search on the server, paged, within the tenant', async () => {
    const all = (await rest('GET', '/audit-events?pageSize=1000')).json['events'] as Array<Record<string, string>>;
    const restarts = all.filter((e) => e.action === 'agent.restart');
    expect(restarts.length).toBeGreaterThan(0);
    const found = await rest('GET', '/audit-events?query=AGENT.RESTART');
    expect((found.json['events'] as Array<Record<string, string>>).map((e) => e.id)).toEqual(restarts.map((e) => e.id));
    // Every word must match (in any field): action and resource name together.
    const matches = (e: Record<string, string>, words: string[]) =>
      words.every((w) => `${e.actor} ${e.action} ${e.resourceType} ${e.resourceName} ${e.detailsJson}`.toLowerCase().includes(w));
    const configUpdates = all.filter((e) => matches(e, ['configuration.update', 'other']));
    expect(configUpdates.some((e) => e.action === 'configuration.update' && e.resourceName === 'other')).toBe(true);
    expect(configUpdates.length).toBeGreaterThan(0);
    const both = (await rest('GET', '/audit-events?query=' + encodeURIComponent('Configuration.Update OTHER'))).json['events'] as Array<Record<string, string>>;
    expect(both.map((e) => e.id)).toEqual(configUpdates.map((e) => e.id));
    // Paged on the server: one event per page, newest first, the same events.
    const paged: string[] = [];
    let token = '';
    do {
      const page = await rest('GET', `/audit-events?query=configuration&pageSize=1${token ? `&pageToken=${token}` : ''}`);
      paged.push(...(page.json['events'] as Array<{ id: string }>).map((e) => e.id));
      token = page.json['nextPageToken'] as string;
    } while (token);
    expect(paged).toEqual(all.filter((e) => matches(e, ['configuration'])).map((e) => e.id));
    expect(paged.length).toBeGreaterThan(1);
    // LIKE wildcards match themselves; another tenant sees nothing; an overlong query is refused.
    expect((await rest('GET', '/audit-events?query=%25')).json['events']).toEqual([]);
    expect((await rest('GET', '/audit-events?query=restart', undefined, B)).json['events']).toEqual([]);
    expect((await rest('GET', `/audit-events?query=${'x'.repeat(201)}`)).status).toBe(400);
    expect(await rpc('ListAuditEvents', { query: 'agent.restart' })).toEqual(found.json);
  });

  it('DeleteAgent: refused while connected; a disconnected agent goes with its state and Redis entries; audited; REST and gRPC', async () => {
    const gone: ReportedAgent = { tenant: tenantA, uid: newUid(), capabilities: FULL, labels: { env: 'prod', 'service.name': 'gone' } };
    const before = bed.reconciler.metrics.eventsHandled;
    await report(gone);
    await bed.handled(before, 1);
    const hexUid = gone.uid.toString('hex');
    const refused = await rest('DELETE', `/agents/${hexUid}`);
    expect(refused.status).toBe(400);
    expect(refused.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: expect.stringMatching(/is connected.*then delete it/) });
    await expect(rpc('DeleteAgent', { instanceUid: hexUid })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect((await rest('DELETE', '/agents/not-a-uid')).status).toBe(400);
    expect((await rest('DELETE', `/agents/${hexUid}`, undefined, B)).status).toBe(404); // another tenant's agent

    // Disconnected, as status-ingest leaves it; what Redis holds for it (cursor, live index, a pending push).
    await bed.pool.query(`UPDATE agents SET connected = false, gateway_id = NULL, connection_id = NULL WHERE tenant_id = $1 AND instance_uid = $2`, [tenantA, gone.uid]);
    await bed.redis.hset(RedisKeys.ingestCursor(tenantA), hexUid, '{}');
    await bed.redis.zadd(RedisKeys.liveAgents(tenantA), 1, hexUid);
    await new PendingPushStore(bed.redis).put(tenantA, hexUid, 'remote_config', Buffer.from([1]));
    const stateRows = async () => (await bed.pool.query(`SELECT count(*)::int AS n FROM agent_config_state WHERE tenant_id = $1 AND instance_uid = $2`, [tenantA, gone.uid])).rows[0].n;
    expect(await stateRows()).toBe(1);

    const deleted = await rest('DELETE', `/agents/${hexUid}`);
    expect([deleted.status, deleted.json]).toEqual([200, { agentsRemoved: 1 }]);
    expect((await rest('GET', `/agents/${hexUid}`)).status).toBe(404);
    expect(await stateRows()).toBe(0);
    expect(await bed.redis.hget(RedisKeys.ingestCursor(tenantA), hexUid)).toBeNull();
    expect(await bed.redis.zscore(RedisKeys.liveAgents(tenantA), hexUid)).toBeNull();
    expect(await bed.redis.exists(RedisKeys.pendingPush(tenantA, hexUid))).toBe(0);
    expect((await rest('DELETE', `/agents/${hexUid}`)).status).toBe(404);
    const audit = (await rest('GET', `/audit-events?resourceName=${hexUid}`)).json['events'] as Array<Record<string, string>>;
    expect(audit.map((e) => e.action)).toEqual(['agent.delete']);
  });

  it('tenant settings: agent retention defaults to 7 days, is set per tenant (0 = forever), refused out of range, audited', async () => {
    // The identity settings beside it (enrollment-settings.integration-spec.ts) keep their defaults here.
    const identity = { requireAgentCredentials: false, agentCredentialLifetimeDays: 0, credentialSwitchGraceHours: 168, ownTelemetryToServer: false };
    expect((await rest('GET', '/tenant-settings')).json).toEqual({ agentRetentionDays: 7, ...identity });
    expect(await rpc('GetTenantSettings', {})).toMatchObject({ agentRetentionDays: 7, ...identity });
    expect((await rest('PUT', '/tenant-settings', { agentRetentionDays: 30 })).json).toEqual({ agentRetentionDays: 30, ...identity });
    expect((await rest('GET', '/tenant-settings')).json).toEqual({ agentRetentionDays: 30, ...identity });
    expect((await rest('GET', '/tenant-settings', undefined, B)).json).toEqual({ agentRetentionDays: 7, ...identity });
    for (const bad of [-1, 3651, 1.5, 'x']) {
      const r = await rest('PUT', '/tenant-settings', { agentRetentionDays: bad });
      expect(r.status).toBe(400);
    }
    expect(await rpc('UpdateTenantSettings', { settings: { agentRetentionDays: 0 } })).toMatchObject({ agentRetentionDays: 0, ...identity });
    expect((await rest('GET', '/tenant-settings')).json).toEqual({ agentRetentionDays: 0, ...identity });
    const audit = (await rest('GET', '/audit-events?query=tenant.update_settings')).json['events'] as Array<Record<string, string>>;
    expect(audit).toHaveLength(2);
    expect(JSON.parse(audit[0].detailsJson)).toEqual({ agentRetentionDays: { from: 30, to: 0 } });
  });
});
