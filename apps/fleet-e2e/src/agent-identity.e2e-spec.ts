/**
 * Agents' own identity with a real OpAMP client library: the opamp-go test
 * agent against the built embedded server, over WebSocket and plain HTTP.
 * An agent enrolling with the tenant's token is offered a credential of its
 * own and reconnects with it; from then on the enrollment token no longer
 * speaks for it, its credential speaks for no other agent (a copy of it from
 * the agent's disk is refused for another uid), a rotation moves it to a new
 * credential without a refused connection (the old one is then refused with
 * 401), the heartbeat interval of the offer takes effect, and a revocation
 * closes its connection and refuses it from then on.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOpampGoAgent,
  type EmbeddedServerProcess,
  type OpampGoAgentProcess,
  startEmbeddedServerProcess,
  startOpampGoAgent,
  stopEmbeddedServerProcess,
  waitFor,
} from '@opamp/testing';

interface ApiCredential {
  id: string;
  state: string;
  activateTime: string;
}

/** The heartbeat interval the server puts in its offers (the agents start with 1 s). */
const OFFER_HEARTBEAT_S = 2;

describe('agent identity with the opamp-go test agent (embedded server)', () => {
  const work = mkdtempSync(join(tmpdir(), 'opamp-identity-'));
  let server: EmbeddedServerProcess;
  let binary: string;
  const agents: OpampGoAgentProcess[] = [];

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const credentialsOf = (uid: string) => call<{ credentials: ApiCredential[]; enrollment?: { enrollments: number } }>('GET', `/agents/${uid}/credentials`);
  const start = async (options: Parameters<typeof startOpampGoAgent>[0]) => {
    const agent = await startOpampGoAgent({ binary, heartbeatSeconds: 1, ...options });
    agents.push(agent);
    return agent;
  };
  /** The bearer token the agent keeps on its disk (what a thief would copy). */
  const tokenOnDisk = (stateDir: string): string => {
    const saved = JSON.parse(readFileSync(join(stateDir, 'connection-settings.json'), 'utf8')) as { headers: Record<string, string[]> };
    return (saved.headers['Authorization'] ?? saved.headers['authorization'])[0].replace(/^Bearer /, '');
  };

  beforeAll(async () => {
    [binary, server] = await Promise.all([
      buildOpampGoAgent(),
      startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000, env: { OPAMP_HEARTBEAT_INTERVAL_S: String(OFFER_HEARTBEAT_S) } }),
    ]);
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.terminate()));
    if (server) await stopEmbeddedServerProcess(server);
    rmSync(work, { recursive: true, force: true });
  });

  const transports = [
    { transport: 'websocket', endpoint: () => server.ws },
    { transport: 'http', endpoint: () => server.http },
  ];

  it.each(transports)('$transport: enrollment, own credential, stolen copy refused, rotation without a refused connection, revocation', async ({ transport, endpoint }) => {
    const stateDir = join(work, `state-${transport}`);
    const agent = await start({ endpoint: endpoint(), token: server.agentToken, stateDir });
    const first = await agent.waitForEvent((e) => e.event === 'connected', 30_000, 'connected with the enrollment token');

    // Enrollment: offered its own credential, it reconnects with it and reports APPLIED.
    const offered = await agent.waitForEvent((e) => e.event === 'settings_offered', 30_000, 'an offer');
    expect(offered.headerNames).toEqual(['Authorization']);
    expect(offered.heartbeatSeconds).toBe(OFFER_HEARTBEAT_S);
    const applied = await agent.waitForEvent((e) => e.event === 'settings_applied', 30_000, 'the offer applied');
    expect(applied.reconnected).toBe(true);
    expect(applied.credential).not.toBe(first.credential);
    const active = await waitFor(() => credentialsOf(agent.uid), (r) => r.credentials.some((c) => c.state === 'ACTIVE'), {
      timeoutMs: 30_000,
      description: 'its credential active',
    });
    expect(active.credentials).toHaveLength(1);
    expect(active.enrollment?.enrollments).toBe(1);
    // The offer's heartbeat interval is in effect.
    await agent.waitForEvent((e) => e.event === 'heartbeat_interval' && e.seconds === OFFER_HEARTBEAT_S, 30_000, 'the offered heartbeat interval');

    // The enrollment token no longer speaks for this agent.
    const impostor = await start({ endpoint: endpoint(), token: server.agentToken, uid: agent.uid });
    const refusedToken = await impostor.waitForEvent((e) => e.event === 'server_error_response', 30_000, 'the enrollment token refused for the uid');
    expect(String(refusedToken.message)).toMatch(/holds a credential of its own/);

    // A copy of its credential (from its disk) is refused for another agent.
    const stolen = tokenOnDisk(stateDir);
    const thief = await start({ endpoint: endpoint(), token: stolen });
    const refusedThief = await thief.waitForEvent((e) => e.event === 'server_error_response', 30_000, 'the stolen credential refused');
    expect(String(refusedThief.message)).toMatch(/belongs to another agent/);
    await thief.stop();
    await impostor.stop();
    expect(JSON.stringify(agent.events) + agent.stderr()).not.toContain(stolen);

    // Rotation: a new credential, switched to without any refused connection.
    const beforeRotation = join(work, `state-${transport}-before-rotation`);
    cpSync(stateDir, beforeRotation, { recursive: true });
    const seen = agent.events.length;
    expect(await call('POST', '/agent-credentials:rotate', { instanceUid: agent.uid })).toEqual({ agents: 1, credentials: 1 });
    const rotated = await agent.waitForEvent((e) => e.event === 'settings_applied' && e.credential !== applied.credential, 30_000, 'the rotation applied');
    const during = agent.events.slice(seen);
    expect(during.filter((e) => e.event === 'connect_failed' || e.event === 'settings_failed' || e.event === 'settings_rolled_back')).toEqual([]);
    const afterRotation = await waitFor(
      () => credentialsOf(agent.uid),
      (r) => r.credentials.filter((c) => c.state === 'ACTIVE').length === 1 && r.credentials.some((c) => c.state === 'SUPERSEDED'),
      { timeoutMs: 30_000, description: 'the new credential active, the old superseded' },
    );
    expect(afterRotation.credentials).toHaveLength(2);
    // The old credential is refused with 401 now.
    const old = await start({ endpoint: endpoint(), token: tokenOnDisk(beforeRotation), uid: agent.uid });
    expect(await old.waitForEvent((e) => e.event === 'connect_failed', 30_000, 'the old credential refused')).toMatchObject({ status: 401 });
    await old.stop();

    // Revocation: the agent's connection ends, and its credential is refused from then on.
    const revokedAt = Date.now();
    expect(await call('POST', '/agent-credentials:revoke', { instanceUid: agent.uid, reason: 'e2e' })).toMatchObject({ agents: 1, credentials: 1 });
    const cutOff = await agent.waitForEvent((e) => e.event === 'connect_failed' && e.credential === rotated.credential && Date.parse(e.time) >= revokedAt - 1000, 30_000, 'refused after the revocation');
    expect(cutOff).toMatchObject({ status: 401 });
    const revoked = await credentialsOf(agent.uid);
    expect(revoked.credentials.find((c) => c.state === 'REVOKED')).toBeDefined();
    expect(revoked.credentials.some((c) => c.state === 'ACTIVE')).toBe(false);
  });
});
