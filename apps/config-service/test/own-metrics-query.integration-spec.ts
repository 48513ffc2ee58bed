/**
 * Agents' own metrics read through the API (issue 19 item 3) on the real
 * PostgreSQL, from rows as status-ingest writes them (migration 0250, daily
 * partitions): GetAgentOwnMetrics gives one agent's series from the 10 s
 * points for a range up to a day and from the 5-minute rollups beyond, over
 * gRPC and REST, within the caller's tenant; GetFleetOwnMetrics sums the
 * rollups per configuration version the agents run and per label value;
 * bad ranges, kinds and label keys are INVALID_ARGUMENT with a message.
 */
import * as grpc from '@grpc/grpc-js';
import { AgentCapabilities as C } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n';
const DAY = 86_400_000;
const BUCKET = 300_000;

describe("agents' own metrics API (config-service on real PostgreSQL)", () => {
  let bed: ConfigServiceBed;
  const now = Date.now();
  // Two buckets back: whole 5-minute buckets, all in the past.
  const b0 = Math.floor(now / BUCKET) * BUCKET - 2 * BUCKET;
  const iso = (ms: number) => new Date(ms).toISOString();

  const point = (tenant: string, uid: Buffer, kind: string, component: string, signal: string, atMs: number, value: number) =>
    bed.pool.query(`INSERT INTO agent_own_metric_points (tenant_id, instance_uid, kind, component, signal, at, value) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      tenant,
      uid,
      kind,
      component,
      signal,
      iso(atMs),
      value,
    ]);
  const rollup = (tenant: string, uid: Buffer, kind: string, component: string, signal: string, atMs: number, avg: number, max: number) =>
    bed.pool.query(`INSERT INTO agent_own_metric_rollups (tenant_id, instance_uid, kind, component, signal, bucket_at, avg, max, count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 30)`, [
      tenant,
      uid,
      kind,
      component,
      signal,
      iso(atMs),
      avg,
      max,
    ]);

  let a1: ReportedAgent;
  let a2: ReportedAgent;
  let a3: ReportedAgent;
  let hash = '';

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('ownmetricsapi', { tenants: 2 });
    // Daily partitions as the ingest's sweep makes them, from 12 days back to 2 ahead.
    for (const table of ['agent_own_metric_points', 'agent_own_metric_rollups']) {
      for (let d = -12; d <= 2; d++) {
        const from = Math.floor(now / DAY) * DAY + d * DAY;
        await bed.pool.query(`CREATE TABLE ${table}_${iso(from).slice(0, 10).replace(/-/g, '')} PARTITION OF ${table} FOR VALUES FROM ('${iso(from)}') TO ('${iso(from + DAY)}')`);
      }
    }
    const tenant = bed.tenants[0].id;
    const caps = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsOwnMetrics;
    a1 = { tenant, uid: bed.newUid(), capabilities: caps, labels: { team: 'a', region: 'eu' } };
    a2 = { tenant, uid: bed.newUid(), capabilities: caps, labels: { team: 'a', region: 'us' } };
    a3 = { tenant, uid: bed.newUid(), capabilities: caps, labels: { team: 'b', region: 'eu' } };
    await bed.rpc('CreateConfiguration', { name: 'pipe', files: { 'c.yaml': { body: STATIC, contentType: 'text/yaml' } } });
    await bed.rpc('CreateAssignment', { assignment: { name: 'pipe-a', configurationName: 'pipe', selector: 'team=a' } });
    for (const a of [a1, a2, a3]) await bed.report(a);
    const desired = await waitFor(
      () => bed.rpc('GetAgent', { instanceUid: a1.uid.toString('hex') }),
      (r) => String(r['desiredConfigHash'] ?? '') !== '',
      { description: 'the desired configuration of a1' },
    );
    hash = String(desired['desiredConfigHash']);
    // a1 and a2 run version 1 of "pipe"; a3 runs a configuration this server never sent.
    for (const a of [a1, a2]) await bed.report({ ...a, reportedHash: Buffer.from(hash, 'hex'), status: 1 });
    await bed.report({ ...a3, reportedHash: Buffer.alloc(32, 7), status: 1 });

    await point(tenant, a1.uid, 'exporter_sent', 'otlp', 'spans', now - 60_000, 5);
    await point(tenant, a1.uid, 'exporter_sent', 'otlp', 'spans', now - 50_000, 7);
    await point(tenant, a1.uid, 'exporter_sent', 'debug', 'spans', now - 50_000, 1);
    await point(tenant, a1.uid, 'process_memory_rss', '', '', now - 50_000, 5e7);
    // Two hours ago: outside the default hour.
    await point(tenant, a1.uid, 'exporter_sent', 'otlp', 'spans', now - 2 * 3_600_000, 99);
    for (const [a, sent, failed] of [
      [a1, 10, 1],
      [a2, 30, 3],
      [a3, 100, 0],
    ] as const) {
      await rollup(tenant, a.uid, 'exporter_sent', 'otlp', 'spans', b0, sent, sent * 2);
      await rollup(tenant, a.uid, 'exporter_send_failed', 'otlp', 'spans', b0, failed, failed);
    }
    await rollup(tenant, a1.uid, 'exporter_sent', 'debug', 'spans', b0, 2, 2);
    await rollup(tenant, a1.uid, 'exporter_sent', 'otlp', 'spans', b0 - 10 * DAY, 4, 4);
    // Another tenant's agent under the same uid: never seen by tenant 0.
    await bed.putAgent({ tenant: bed.tenants[1].id, uid: a1.uid, capabilities: caps, labels: { team: 'a' } });
    await point(bed.tenants[1].id, a1.uid, 'exporter_sent', 'otlp', 'spans', now - 40_000, 1234);
    await rollup(bed.tenants[1].id, a1.uid, 'exporter_sent', 'otlp', 'spans', b0, 1234, 1234);
  }, 90_000);

  afterAll(async () => {
    await bed?.close();
  });

  it("gives an agent's 10 s points for the last hour by default, per kind, component and signal, over gRPC and REST", async () => {
    const uid = a1.uid.toString('hex');
    const res = await bed.rpc('GetAgentOwnMetrics', { instanceUid: uid });
    expect(res).toMatchObject({ instanceUid: uid, stepSeconds: 10, truncated: false });
    const pts = (values: number[], offsets: number[]) => values.map((value, i) => ({ timeUnixMs: String(now + offsets[i]), value, max: value }));
    const series = res['series'] as { kind: string; component: string; signal: string; points: { timeUnixMs: string; value: number }[] }[];
    expect(series.map((s) => [s.kind, s.component, s.signal, s.points.map((p) => p.value)])).toEqual([
      ['exporter_sent', 'debug', 'spans', [1]],
      ['exporter_sent', 'otlp', 'spans', [5, 7]],
      ['process_memory_rss', '', '', [5e7]],
    ]);
    expect(series[1].points).toEqual(pts([5, 7], [-60_000, -50_000]));

    const rest = await bed.rest('GET', `/agents/${uid}/own-metrics?kinds=exporter_sent&startTime=${iso(now - 3 * 3_600_000)}&endTime=${iso(now)}`);
    expect(rest.status).toBe(200);
    const restSeries = rest.json['series'] as { component: string; points: { value: number }[] }[];
    expect(restSeries.map((s) => [s.component, s.points.map((p) => p.value)])).toEqual([
      ['debug', [1]],
      ['otlp', [99, 5, 7]],
    ]);
  });

  it('answers a range beyond a day from the 5-minute rollups', async () => {
    const res = await bed.rpc('GetAgentOwnMetrics', { instanceUid: a1.uid.toString('hex'), startTime: iso(now - 11 * DAY), kinds: ['exporter_sent'] });
    expect(res['stepSeconds']).toBe(300);
    const series = res['series'] as { component: string; points: { timeUnixMs: string; value: number; max: number }[] }[];
    expect(series.map((s) => [s.component, s.points])).toEqual([
      ['debug', [{ timeUnixMs: String(b0), value: 2, max: 2 }]],
      [
        'otlp',
        [
          { timeUnixMs: String(b0 - 10 * DAY), value: 4, max: 4 },
          { timeUnixMs: String(b0), value: 10, max: 20 },
        ],
      ],
    ]);
  });

  it("sums the fleet's rollups per configuration version the agents run, and per label value", async () => {
    const res = await bed.rpc('GetFleetOwnMetrics', { kinds: ['exporter_sent', 'exporter_send_failed'] });
    expect(res).toMatchObject({ groupBy: 'configuration', stepSeconds: 300, truncated: false });
    const groups = res['groups'] as Record<string, unknown>[];
    expect(groups.map((g) => [g['value'], g['configurationName'], g['configurationVersion'], g['agents']])).toEqual([
      [hash, 'pipe', 1, 2],
      [Buffer.alloc(32, 7).toString('hex'), '', 0, 1],
    ]);
    // v1 of "pipe": a1 (otlp 10 + debug 2) and a2 (30); failures 1 + 3.
    expect(groups[0]['series']).toEqual([
      { kind: 'exporter_send_failed', signal: 'spans', points: [{ timeUnixMs: String(b0), sum: 4, max: 3, agents: 2 }] },
      { kind: 'exporter_sent', signal: 'spans', points: [{ timeUnixMs: String(b0), sum: 42, max: 60, agents: 2 }] },
    ]);

    const byRegion = await bed.rest('GET', `/fleet-own-metrics?groupByLabel=region&kinds=exporter_sent&selector=${encodeURIComponent('team in (a,b)')}`);
    expect(byRegion.status).toBe(200);
    const regions = byRegion.json['groups'] as { value: string; agents: number; series: { points: { sum: number }[] }[] }[];
    expect(regions.map((g) => [g.value, g.agents, g.series[0].points[0].sum])).toEqual([
      ['eu', 2, 112],
      ['us', 1, 30],
    ]);
  });

  it("keeps to the caller's tenant and refuses bad ranges, kinds and label keys with a message", async () => {
    const other = await bed.rpc('GetAgentOwnMetrics', { instanceUid: a1.uid.toString('hex') }, { tenant: 1 });
    expect((other['series'] as { points: { value: number }[] }[]).map((s) => s.points.map((p) => p.value))).toEqual([[1234]]);
    await expect(bed.rpc('GetAgentOwnMetrics', { instanceUid: a2.uid.toString('hex') }, { tenant: 1 })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    const fleet = await bed.rpc('GetFleetOwnMetrics', {}, { tenant: 1 });
    expect((fleet['groups'] as { agents: number }[]).map((g) => g.agents)).toEqual([1]);

    const uid = a1.uid.toString('hex');
    await expect(bed.rpc('GetAgentOwnMetrics', { instanceUid: uid, startTime: 'yesterday' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/start_time must be an RFC 3339 time/) });
    await expect(bed.rpc('GetAgentOwnMetrics', { instanceUid: uid, startTime: iso(now), endTime: iso(now - 1) })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/before end_time/) });
    await expect(bed.rpc('GetFleetOwnMetrics', { startTime: iso(now - 40 * DAY) })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/at most 31 days/) });
    await expect(bed.rpc('GetFleetOwnMetrics', { groupByLabel: 'a b' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/group_by_label must be a label key/) });
    const badKind = await bed.rest('GET', `/agents/${uid}/own-metrics?kinds=${encodeURIComponent("x' OR 1=1")}`);
    expect(badKind.status).toBe(400);
    expect(JSON.stringify(badKind.json)).toMatch(/kinds must be series kinds/);
  });
});
