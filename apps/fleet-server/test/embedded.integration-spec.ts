/**
 * End to end, embedded mode: the built server runs as one process with no
 * external services; simulated agents over WebSocket and plain HTTP plus
 * @elastic/opamp-client-node connect, appear in the API, receive the
 * configuration their labels select, report APPLIED and show in sync; a
 * restart reaches only agents that accept it; state survives a restart of the
 * server process; a deleted agent is REMOVED from the watches.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpAMPClient, RemoteConfigStatuses } from '@elastic/opamp-client-node';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import { type EmbeddedServerProcess, randomPortBase, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor, embeddedRest } from '@opamp/testing';

const APPLIED = 'REMOTE_CONFIG_STATUS_APPLIED';
const C = AgentCapabilities;
const COLLECTOR = `receivers:
  otlp:
    protocols:
      grpc: {}
exporters:
  otlphttp:
    endpoint: https://\${attr:region}.telemetry.example
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`;

// A restart reuses the ports and the data directory: the state must survive it.
const basePort = randomPortBase();
const dataDir = mkdtempSync(join(tmpdir(), 'fleet-embedded-'));
const startServer = () => startEmbeddedServerProcess({ dataDir, basePort });

describe('embedded mode end to end (one process, no external services)', () => {
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];
  let elastic: ReturnType<typeof createOpAMPClient> | null = null;

  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);

  beforeAll(async () => {
    server = await startServer();
  }, 90_000);

  afterAll(async () => {
    await elastic?.shutdown();
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
  });

  function agent(endpoint: string, labels: Record<string, string>, capabilities: number): SimulatedAgent {
    const a = new SimulatedAgent({
      endpoint,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      description: { identifying: { 'service.name': 'otelcol', ...labels }, nonIdentifying: { 'os.type': 'linux' } },
      capabilities,
      heartbeatIntervalMs: 1_000,
      applyConfig: { delayMs: 50, failureRate: 0 },
      reconnect: { initialMs: 100, maxMs: 1_000 },
      health: { healthy: true, status: 'running' },
    });
    agents.push(a);
    a.start();
    return a;
  }

  /** GET /agents:watch as Server-Sent Events: the `change` events received so far. */
  type WatchedChange = { kind: string; agent: { instanceUid: string } };
  async function watchAgents(query: string): Promise<{ changes: WatchedChange[]; other: string[]; close(): void }> {
    const abort = new AbortController();
    const res = await fetch(`${server.api}/agents:watch${query}`, { headers: { authorization: `Bearer ${server.adminToken}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    // Blocks other than changes (the stream's end, a reset) are kept: a failed wait shows them.
    const out = { changes: [] as WatchedChange[], other: [] as string[], close: () => abort.abort() };
    void (async () => {
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += Buffer.from(chunk).toString();
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^event: change\ndata: (.*)$/m.exec(block.replace(/^id: .*\n/m, ''))?.[1];
            if (data) out.changes.push(JSON.parse(data));
            else if (block.trim() && !block.startsWith(':')) out.other.push(block.slice(0, 300));
          }
        }
      } catch {
        // aborted
      }
    })();
    return out;
  }

  it('prints where agents and operators connect, with tokens to use', () => {
    expect(server.ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/opamp$/);
    expect(server.api).toMatch(/\/api\/v1$/);
    expect(server.adminToken).toMatch(/^opamp_admin_/);
    expect(server.agentToken).toMatch(/^opamp_agent_/);
  });

  it('serves WS, HTTP and Elastic agents: description, health, selected config, APPLIED, in sync; restart only where accepted', async () => {
    const full = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig | C.ReportsHealth | C.ReportsHeartbeat;
    const wsProd = agent(server.ws, { env: 'prod', region: 'eu' }, full | C.AcceptsRestartCommand);
    const httpProd = agent(server.http, { env: 'prod', region: 'us' }, full);
    const wsDev = agent(server.ws, { env: 'dev', region: 'eu' }, full | C.AcceptsRestartCommand);
    let elasticHash = '';
    elastic = createOpAMPClient({
      endpoint: server.http,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      capabilities: BigInt(C.AcceptsRemoteConfig | C.ReportsRemoteConfig),
      heartbeatIntervalSeconds: 0.5,
      onMessage: ({ remoteConfig }: { remoteConfig?: { configHash: Uint8Array } }) => {
        if (!remoteConfig) return;
        elasticHash = Buffer.from(remoteConfig.configHash).toString('hex');
        elastic!.setRemoteConfigStatus({ status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED, lastRemoteConfigHash: remoteConfig.configHash });
      },
    });
    elastic.setAgentDescription({ identifyingAttributes: { 'service.name': 'node-app', env: 'prod', region: 'ap' } });
    elastic.start();
    const elasticUid = Buffer.from(elastic.getInstanceUid() as Uint8Array).toString('hex');

    // All four appear with their description (and health, where reported).
    const listed = await waitFor(() => rest('GET', '/agents?pageSize=100'), (r) => (r.json.agents ?? []).length >= 4, {
      timeoutMs: 20_000,
      description: 'four agents listed',
    });
    const byUid = new Map<string, Record<string, any>>(listed.json.agents.map((a: Record<string, any>) => [a.instanceUid, a]));
    expect(byUid.get(wsProd.instanceUid.toString('hex'))).toMatchObject({ connected: true, transport: 'websocket', labels: { env: 'prod', region: 'eu' } });
    expect(byUid.get(httpProd.instanceUid.toString('hex'))).toMatchObject({ transport: 'http', labels: { env: 'prod', region: 'us' } });
    expect(byUid.get(elasticUid)?.labels).toMatchObject({ 'service.name': 'node-app', env: 'prod' });
    await waitFor(() => rest('GET', `/agents/${wsProd.instanceUid.toString('hex')}`), (r) => r.json.health === 'HEALTH_STATE_HEALTHY', {
      description: 'health reported',
    });

    // Operators watching for agents in sync see them come in (WatchAgents on the in-process change feed).
    const inSync = await watchAgents('?inSync=true&selector=env%3Dprod');

    // A configuration for prod, rendered per agent from its attributes.
    expect((await rest('POST', '/configurations', { name: 'collector', files: { 'collector.yaml': { body: COLLECTOR, contentType: 'text/yaml' } } })).status).toBe(200);
    expect((await rest('POST', '/assignments', { name: 'prod', configurationName: 'collector', selector: 'env=prod', priority: 10 })).status).toBe(200);

    for (const a of [wsProd, httpProd]) {
      await waitFor(() => a.remoteConfigStatus.status, (s) => s === opamp.proto.v1.RemoteConfigStatuses.RemoteConfigStatuses_APPLIED, {
        timeoutMs: 20_000,
        description: 'agent applied',
      });
    }
    expect(Buffer.from(wsProd.effectiveConfig?.configMap?.['collector.yaml']?.body ?? []).toString()).toContain('https://eu.telemetry.example');
    expect(Buffer.from(httpProd.effectiveConfig?.configMap?.['collector.yaml']?.body ?? []).toString()).toContain('https://us.telemetry.example');
    await waitFor(() => elasticHash, (h) => h.length === 64, { timeoutMs: 30_000, description: 'elastic client got its config' });

    for (const uid of [wsProd.instanceUid.toString('hex'), httpProd.instanceUid.toString('hex'), elasticUid]) {
      const a = await waitFor(() => rest('GET', `/agents/${uid}`), (r) => r.json.inSync === true, { timeoutMs: 30_000, description: `${uid} in sync` });
      expect(a.json).toMatchObject({ configurationName: 'collector', remoteConfigStatus: APPLIED });
    }
    // Probed as a list (a failure prints what the stream gave: its changes and any other block).
    const watched = await waitFor(
      () => ({ upserted: [...new Set(inSync.changes.filter((c) => c.kind === 'AGENT_WATCH_EVENT_KIND_UPSERTED').map((c) => c.agent.instanceUid))].sort(), other: inSync.other }),
      (w) => [wsProd.instanceUid.toString('hex'), httpProd.instanceUid.toString('hex'), elasticUid].every((u) => w.upserted.includes(u)),
      { timeoutMs: 15_000, description: 'in-sync changes watched' },
    );
    expect(watched.upserted.includes(wsDev.instanceUid.toString('hex'))).toBe(false);
    inSync.close();

    // config-service's metrics, on the API port and with the gateway's on the admin port.
    const apiMetrics = await (await fetch(server.api.replace(/\/api\/v1$/, '/metrics'))).text();
    expect(apiMetrics).toMatch(/^opamp_config_reconciler_configs_pushed_total [1-9]/m);
    expect(apiMetrics).toMatch(/^opamp_config_api_requests_total\{method="CreateAssignment",code="OK"\} 1$/m);
    expect(apiMetrics).toMatch(/^opamp_config_watchers_opened_total 1$/m);
    const adminMetrics = await (await fetch(`http://127.0.0.1:${basePort + 1}/metrics`)).text();
    expect(adminMetrics).toMatch(/^opamp_gateway_connections/m);
    expect(adminMetrics).toMatch(/^opamp_config_reevaluation_jobs_finished_total [1-9]/m);

    // The dev agent matches no assignment: nothing sent, nothing applied.
    expect(wsDev.remoteConfigStatus.status).not.toBe(opamp.proto.v1.RemoteConfigStatuses.RemoteConfigStatuses_APPLIED);

    // Restart: accepted by the agent with the capability, refused for the one without.
    const restarts: string[] = [];
    wsProd.on('restart', () => restarts.push('wsProd'));
    httpProd.on('restart', () => restarts.push('httpProd'));
    expect((await rest('POST', `/agents/${wsProd.instanceUid.toString('hex')}/restart`, {})).status).toBe(200);
    expect((await rest('POST', `/agents/${httpProd.instanceUid.toString('hex')}/restart`, {})).status).toBe(400);
    await waitFor(() => restarts, (r) => r.includes('wsProd'), { timeoutMs: 15_000, description: 'restart delivered' });
    expect(restarts).toEqual(['wsProd']);
  });

  it('keeps its state across a restart of the process', async () => {
    const before = await rest('GET', '/configurations');
    expect(before.json.configurations).toHaveLength(1);
    await stopEmbeddedServerProcess(server);
    const stoppedAt = Date.now();
    server = await startServer();
    const after = await rest('GET', '/configurations');
    expect(after.status).toBe(200);
    expect(after.json.configurations.map((c: Record<string, unknown>) => c['name'])).toEqual(['collector']);
    // The agents reconnect by themselves, are processed by the new process (last seen moves on,
    // which needs fencing epochs above the previous process's) and are still in sync.
    const wsProd = agents[0];
    await waitFor(
      () => rest('GET', `/agents/${wsProd.instanceUid.toString('hex')}`),
      (r) => r.json.connected === true && r.json.inSync === true && Date.parse(r.json.lastSeenTime) > stoppedAt,
      { timeoutMs: 30_000, description: 'agent back, seen by the new process and in sync' },
    );
  });

  it('marks agents of a crashed run that do not come back offline at once after the restart (issue 13 item 2)', async () => {
    const connectedUids = async () =>
      ((await rest('GET', '/agents?connected=true&pageSize=1000')).json.agents as Array<{ instanceUid: string }>).map((a) => a.instanceUid).sort();
    const uids = agents.map((a) => a.instanceUid.toString('hex'));
    await waitFor(connectedUids, (c) => uids.every((u) => c.includes(u)), { timeoutMs: 30_000, description: 'every simulated agent connected' });
    // A crash: no drain, no disconnect recorded. The agents then go away for good.
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGKILL');
    await exited;
    await elastic?.shutdown();
    elastic = null;
    await Promise.all(agents.map((a) => a.stop()));
    server = await startServer();
    // Far inside the offline window (10 heartbeat intervals of 30 s): nothing is connected.
    expect(await connectedUids()).toEqual([]);
    const wsProd = await rest('GET', `/agents/${uids[0]}`);
    expect(wsProd.json).toMatchObject({ connected: false, health: 'HEALTH_STATE_UNKNOWN', lastKnownHealth: 'HEALTH_STATE_HEALTHY', gatewayId: '' });
    const summary = await rest('GET', '/fleet-summary');
    expect(summary.json.totals).toMatchObject({ connected: 0, healthy: 0 });
  });

  it('DeleteAgent of an agent that has gone: a WatchAgents stream hears REMOVED (the in-process change feed)', async () => {
    const gone = agents[0].instanceUid.toString('hex');
    // Open once the response started: the watch is registered before the deletion.
    const watch = await watchAgents('');
    try {
      expect((await rest('DELETE', `/agents/${gone}`)).json).toEqual({ agentsRemoved: 1 });
      const removed = await waitFor(
        () => watch.changes.filter((c) => c.agent.instanceUid === gone && c.kind === 'AGENT_WATCH_EVENT_KIND_REMOVED'),
        (c) => c.length > 0,
        { timeoutMs: 15_000, description: 'REMOVED for the deleted agent' },
      );
      // Gone: only its uid is known (the rest are the message's defaults).
      expect(removed[0].agent).toMatchObject({ instanceUid: gone, labels: {} });
    } finally {
      watch.close();
    }
  });
});
