/**
 * The agent identity scenario both modes run with the opamp-go test agent
 * (agent-identity.e2e-spec.ts on the embedded server, distributed.e2e-spec.ts
 * on the processes): an agent enrolling with a token is offered a credential
 * of its own and reconnects with it; from then on the token no longer speaks
 * for it, a copy of its credential from its disk is refused for another uid,
 * a rotation moves it to a new credential without a refused connection (the
 * old one is then refused with 401), the offered heartbeat interval is in
 * effect, and a revocation closes its connection and refuses it from then on.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OpampGoAgentProcess, startOpampGoAgent, waitFor } from '@opamp/testing';

export interface IdentityScenarioContext {
  /** The REST API (a 200 with JSON, else it throws). */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  readonly endpoint: string;
  readonly enrollmentToken: string;
  readonly binary: string;
  readonly workDir: string;
  /** The heartbeat interval the server puts in its offers (the agents start with 1 s). */
  readonly offerHeartbeatS: number;
  /** Agents started, for the caller's clean-up. */
  readonly agents: OpampGoAgentProcess[];
}

interface ApiCredential {
  id: string;
  state: string;
}

/** The bearer token the agent keeps on its disk (what a thief would copy). */
function tokenOnDisk(stateDir: string): string {
  const saved = JSON.parse(readFileSync(join(stateDir, 'connection-settings.json'), 'utf8')) as { headers: Record<string, string[]> };
  return (saved.headers['Authorization'] ?? saved.headers['authorization'])[0].replace(/^Bearer /, '');
}

export async function runIdentityScenario(ctx: IdentityScenarioContext, name: string): Promise<void> {
  const call = ctx.call;
  const credentialsOf = (uid: string) => call<{ credentials: ApiCredential[]; enrollment?: { enrollments: number } }>('GET', `/agents/${uid}/credentials`);
  const start = async (options: Omit<Parameters<typeof startOpampGoAgent>[0], 'endpoint'> & { endpoint?: string }) => {
    const agent = await startOpampGoAgent({ binary: ctx.binary, heartbeatSeconds: 1, endpoint: ctx.endpoint, ...options });
    ctx.agents.push(agent);
    return agent;
  };
  const stateDir = join(ctx.workDir, `state-${name}`);
  const agent = await start({ token: ctx.enrollmentToken, stateDir });
  const first = await agent.waitForEvent((e) => e.event === 'connected', 30_000, 'connected with the enrollment token');

  // Enrollment: offered its own credential, it reconnects with it and reports APPLIED.
  const offered = await agent.waitForEvent((e) => e.event === 'settings_offered', 30_000, 'an offer');
  expect(offered.headerNames).toEqual(['Authorization']);
  expect(offered.heartbeatSeconds).toBe(ctx.offerHeartbeatS);
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
  await agent.waitForEvent((e) => e.event === 'heartbeat_interval' && e.seconds === ctx.offerHeartbeatS, 30_000, 'the offered heartbeat interval');

  // The enrollment token no longer speaks for this agent.
  const impostor = await start({ token: ctx.enrollmentToken, uid: agent.uid });
  const refusedToken = await impostor.waitForEvent((e) => e.event === 'server_error_response', 30_000, 'the enrollment token refused for the uid');
  expect(String(refusedToken.message)).toMatch(/holds a credential of its own/);

  // A copy of its credential (from its disk) is refused for another agent.
  const stolen = tokenOnDisk(stateDir);
  const thief = await start({ token: stolen });
  const refusedThief = await thief.waitForEvent((e) => e.event === 'server_error_response', 30_000, 'the stolen credential refused');
  expect(String(refusedThief.message)).toMatch(/belongs to another agent/);
  await thief.stop();
  await impostor.stop();
  expect(JSON.stringify(agent.events) + agent.stderr()).not.toContain(stolen);

  // Rotation: a new credential, switched to without any refused connection.
  const beforeRotation = join(ctx.workDir, `state-${name}-before-rotation`);
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
  const old = await start({ token: tokenOnDisk(beforeRotation), uid: agent.uid });
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
}
