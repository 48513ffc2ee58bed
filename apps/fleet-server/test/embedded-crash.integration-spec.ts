/**
 * The built embedded server killed with -9 in the middle of a configuration
 * change (new versions and assignments being written while agents get the
 * previous ones pushed), its PostgreSQL server killed with it, then started
 * again on the same data directory: every API write that was answered 200
 * before the kill is there, and the agents converge on the latest version.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { type EmbeddedServerProcess, randomPortBase, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor, embeddedRest } from '@opamp/testing';

const body = (n: number) =>
  `receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug:\n    verbosity: basic\nservice:\n  telemetry:\n    resource:\n      revision: "${n}"\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n`;
const files = (n: number) => ({ 'collector.yaml': { contentType: 'text/yaml', body: body(n) } });

describe('embedded server killed with -9 mid-change', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-crash-'));
  const basePort = randomPortBase();
  let server: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];

  const rest = (method: string, path: string, body?: unknown) => embeddedRest(server, method, path, body);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write', async () => {
    server = await startEmbeddedServerProcess({ dataDir, basePort });
    expect((await rest('POST', '/configurations', { name: 'collector', files: files(1) })).status).toBe(200);
    expect((await rest('POST', '/assignments', { name: 'prod', configurationName: 'collector', selector: 'env=prod', priority: 10 })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const a = new SimulatedAgent({
        endpoint: server.ws,
        headers: { Authorization: `Bearer ${server.agentToken}` },
        description: { identifying: { 'service.name': 'otelcol', env: 'prod' }, nonIdentifying: {} },
        capabilities: C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsRemoteConfig | C.ReportsEffectiveConfig | C.ReportsHeartbeat,
        heartbeatIntervalMs: 1_000,
        applyConfig: { delayMs: 20, failureRate: 0 },
        reconnect: { initialMs: 100, maxMs: 500 },
      });
      agents.push(a);
      a.start();
    }
    await waitFor(() => rest('GET', '/agents?pageSize=10'), (r) => (r.json.agents ?? []).length === 3, { timeoutMs: 20_000, description: 'agents listed' });

    // Writers: new versions of the pushed configuration, and new configurations with their assignments.
    const ackedVersions: number[] = [];
    const ackedConfigs: string[] = [];
    let stop = false;
    const versionWriter = (async () => {
      for (let n = 2; !stop; n++) {
        const r = await rest('PUT', '/configurations/collector', { files: files(n) }).catch(() => null);
        if (r?.status === 200) ackedVersions.push(r.json.version as number);
      }
    })();
    const configWriters = [0, 1].map(async (w) => {
      for (let n = 0; !stop; n++) {
        const name = `cfg-${w}-${n}`;
        const c = await rest('POST', '/configurations', { name, files: files(n) }).catch(() => null);
        if (c?.status !== 200) continue;
        const a = await rest('POST', '/assignments', { name, configurationName: name, selector: `writer=${w}`, priority: n + 20 }).catch(() => null);
        if (a?.status === 200) ackedConfigs.push(name);
      }
    });
    await waitFor(() => ackedVersions.length + ackedConfigs.length, (n) => n >= 20, { timeoutMs: 60_000, description: 'writes acknowledged' });
    // The whole server at once: the Node process and its PostgreSQL server (which would outlive it).
    const pidFile = join(dataDir, 'pg', 'postmaster.pid');
    const postgresPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
    const exited = new Promise((r) => server.child.once('exit', r));
    server.child.kill('SIGKILL');
    if (postgresPid > 0) process.kill(postgresPid, 'SIGKILL');
    await exited;
    stop = true;
    await Promise.all([versionWriter, ...configWriters]);
    const versions = [...ackedVersions];
    const configs = [...ackedConfigs];
    expect(versions.length + configs.length).toBeGreaterThanOrEqual(20);

    server = await startEmbeddedServerProcess({ dataDir, basePort });
    const collector = await rest('GET', '/configurations/collector');
    expect(collector.status).toBe(200);
    expect(collector.json.version).toBeGreaterThanOrEqual(Math.max(1, ...versions));
    for (const name of configs) {
      expect((await rest('GET', `/configurations/${name}`)).status).toBe(200);
      expect((await rest('GET', `/assignments/${name}`)).json).toMatchObject({ name, configurationName: name });
    }
    // And the server works on: the agents reconnect and apply the latest version.
    const latest = collector.json.version as number;
    await waitFor(
      () => rest('GET', '/agents?pageSize=10&inSync=true'),
      (r) => (r.json.agents ?? []).filter((a: Record<string, any>) => a.configurationVersion === latest).length === 3,
      { timeoutMs: 60_000, description: 'agents in sync on the latest version after the restart' },
    );
  }, 180_000);
});
