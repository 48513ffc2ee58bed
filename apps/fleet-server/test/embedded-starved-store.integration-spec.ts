/**
 * The built embedded server with its database pool starved (issue 13: under
 * CPU starvation pg's connect timeout fired and an inbound envelope was
 * dropped, API calls got 500): one pool connection, pg's tries 1 s, a
 * 3 s wait budget, and that connection stuck behind a lock the test holds on
 * the agents table (through the server's own unix socket). Meanwhile an agent
 * reports its description once (its next heartbeat is a minute away) and API
 * calls are made: they get 503 UNAVAILABLE, not 500; the agent's message is
 * retried, not dropped, and is stored once the lock is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { SimulatedAgent } from '@opamp/agent-sim';
import { AgentCapabilities as C } from '@opamp/protocol';
import { embeddedRest, type EmbeddedServerProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess, waitFor } from '@opamp/testing';

/** A counter's value in a Prometheus text page (0 when absent). */
function metric(page: string, name: string, labels = ''): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('embedded server with its database pool starved', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleet-starved-'));
  let server: EmbeddedServerProcess;
  let locker: Client | null = null;
  let agent: SimulatedAgent | null = null;
  const rest = (method: string, path: string) => embeddedRest(server, method, path);
  // This helper's ports (25000-25999): agents, admin (metrics), REST, gRPC.
  const basePort = 25_000 + 4 * Math.floor(Math.random() * 240);
  const metrics = async () => (await fetch(`http://127.0.0.1:${basePort + 1}/metrics`)).text();

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await locker?.end().catch(() => undefined);
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers API calls 503 while it waits, and stores the agent\'s message once the pool frees', async () => {
    server = await startEmbeddedServerProcess({
      dataDir,
      basePort,
      env: { OPAMP_EMBEDDED_PG_POOL_MAX: '1', OPAMP_EMBEDDED_PG_CONNECT_TIMEOUT_MS: '1000', OPAMP_EMBEDDED_PG_WAIT_BUDGET_MS: '3000' },
    });
    expect((await rest('GET', '/agents')).status).toBe(200);

    // The server's own PostgreSQL, over its socket, as the OS user (peer authentication).
    locker = new Client({ connectionString: `postgresql://${encodeURIComponent(userInfo().username)}@/postgres?host=${encodeURIComponent(join(dataDir, 'pg'))}&port=5432` });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE agents IN ACCESS EXCLUSIVE MODE');
    // Something of the server's (this call, or a sweep) now holds the pool's one connection, waiting for the lock.
    const stuck = rest('GET', '/agents?pageSize=10');
    await waitFor(
      async () => (await locker!.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'fleet-server' AND wait_event_type = 'Lock'`)).rows[0].n as number,
      (n) => n >= 1,
      { timeoutMs: 20_000, description: 'the pool\'s connection waits for the lock' },
    );

    agent = new SimulatedAgent({
      endpoint: server.ws,
      headers: { Authorization: `Bearer ${server.agentToken}` },
      description: { identifying: { 'service.name': 'otelcol', 'host.name': 'starved-1' }, nonIdentifying: {} },
      capabilities: C.ReportsStatus | C.ReportsHeartbeat,
      heartbeatIntervalMs: 60_000,
    });
    agent.start();
    // Its message could not be stored within the wait budget: the batch is retried (before the fix: dropped, "inbound envelope was not stored").
    await waitFor(metrics, (page) => metric(page, 'opamp_embedded_queue_retries_total', '{queue="inbound"}') >= 1, {
      timeoutMs: 20_000,
      description: 'the inbound batch retried',
    });

    const busy = await rest('GET', '/configurations');
    expect(busy.status).toBe(503);
    expect(busy.json.error).toMatchObject({ code: 503, status: 'UNAVAILABLE', message: 'the database gave no connection within 3000 ms; retry shortly' });
    expect(metric(await metrics(), 'opamp_config_db_pool_unavailable_total', '{reason="wait_budget"}')).toBeGreaterThanOrEqual(1);

    await locker.query('COMMIT');
    expect([200, 503]).toContain((await stuck).status);
    // Stored from the one message the agent sent: its next heartbeat is a minute away.
    const listed = await waitFor(() => rest('GET', '/agents?pageSize=10'), (r) => r.status === 200 && (r.json.agents ?? []).length === 1, {
      timeoutMs: 20_000,
      description: 'the agent stored',
    });
    expect(listed.json.agents[0]).toMatchObject({ instanceUid: agent.instanceUid.toString('hex'), connected: true, labels: { 'host.name': 'starved-1' } });
    expect(server.output.join('')).not.toMatch(/inbound envelope was not stored|platform API internal error/);
  });
});
