/**
 * Connection profiles with a real OpAMP client library: the opamp-go test
 * agent against the built embedded server, over WebSocket and plain HTTP. An
 * agent on its own credential whose labels a profile matches is offered the
 * profile's heartbeat interval and header beside its credential, reconnects
 * with them without a refused connection, takes the interval, reports
 * APPLIED, and the API shows it APPLIED per agent and per profile.
 */
import { join } from 'node:path';
import { waitFor } from '@opamp/testing';
import { GoAgentBed } from './harness/go-agent-bed';

/** The server's offer interval, and the profile's (the agents start with 1 s). */
const SERVER_HEARTBEAT_S = 2;
const PROFILE_HEARTBEAT_S = 3;

interface AgentView {
  connectionSettings?: { profileName: string; status: string; reportedHash: string; offeredHash: string };
}

describe('connection profiles with the opamp-go test agent (embedded server)', () => {
  const bed = new GoAgentBed('opamp-profiles', { OPAMP_HEARTBEAT_INTERVAL_S: String(SERVER_HEARTBEAT_S) });
  const call = bed.call;
  beforeAll(() => bed.start(), 600_000);
  afterAll(() => bed.stop());

  const transports = [
    { transport: 'websocket', endpoint: () => bed.server.ws },
    { transport: 'http', endpoint: () => bed.server.http },
  ];

  it.each(transports)('$transport: a profile changes the heartbeat interval and adds a header for an agent on its own credential; APPLIED per agent and per profile', async ({ transport, endpoint }) => {
    const agent = await bed.startAgent({ heartbeatSeconds: 1, endpoint: endpoint(), token: bed.server.agentToken, stateDir: join(bed.work, `state-${transport}`), labels: { group: `e2e-${transport}` } });
    // On its own credential first (the server's settings).
    const own = await agent.waitForEvent((e) => e.event === 'settings_applied', 30_000, 'its own credential applied');
    await agent.waitForEvent((e) => e.event === 'heartbeat_interval' && e.seconds === SERVER_HEARTBEAT_S, 30_000, "the server's heartbeat interval");
    // ... as the server sees it too: a profile made while the agent's switch is still in flight can
    // miss it until the agent's next event (heartbeats carry none; #14 note).
    await waitFor(
      () => call<AgentView & { connected: boolean; credential?: { state: string } }>('GET', `/agents/${agent.uid}`),
      (a) => a.connected && a.credential?.state === 'ACTIVE' && a.connectionSettings?.status === 'CONNECTION_SETTINGS_STATE_APPLIED',
      { timeoutMs: 30_000, description: 'the agent on its own credential, settings APPLIED' },
    );
    const seen = agent.events.length;

    const name = `group-${transport}`;
    await call('POST', '/connection-profiles', {
      name,
      selector: `group=e2e-${transport}`,
      priority: 5,
      opamp: { heartbeatIntervalSeconds: PROFILE_HEARTBEAT_S, headers: [{ key: 'X-Fleet-Group', value: transport }] },
    });
    const offered = await agent.waitForEvent((e) => e.event === 'settings_offered' && (e.headerNames as string[]).includes('X-Fleet-Group'), 30_000, "the profile's offer");
    expect(offered.headerNames).toEqual(['Authorization', 'X-Fleet-Group']);
    expect(offered.heartbeatSeconds).toBe(PROFILE_HEARTBEAT_S);
    // The same credential: the profile does not replace it.
    expect(offered.offerCredential).toBe(own.credential);
    const applied = await agent.waitForEvent((e) => e.event === 'settings_applied' && e.hash === offered.hash, 30_000, "the profile's offer applied");
    expect(applied.reconnected).toBe(true);
    await agent.waitForEvent((e) => e.event === 'heartbeat_interval' && e.seconds === PROFILE_HEARTBEAT_S, 30_000, "the profile's heartbeat interval");
    expect(agent.events.slice(seen).filter((e) => e.event === 'connect_failed' || e.event === 'settings_failed' || e.event === 'settings_rolled_back')).toEqual([]);

    const view = await waitFor(
      () => call<AgentView>('GET', `/agents/${agent.uid}`),
      (a) => a.connectionSettings?.status === 'CONNECTION_SETTINGS_STATE_APPLIED' && a.connectionSettings.reportedHash === offered.hash,
      { timeoutMs: 30_000, description: 'APPLIED in GetAgent' },
    );
    expect(view.connectionSettings).toMatchObject({ profileName: name, offeredHash: offered.hash });
    const profile = await waitFor(
      () => call<{ agentCounts: Record<string, number> }>('GET', `/connection-profiles/${name}`),
      (p) => p.agentCounts['applied'] === 1,
      { timeoutMs: 30_000, description: 'APPLIED in the profile counts' },
    );
    expect(profile.agentCounts).toEqual({ agents: 1, applied: 1, applying: 0, failed: 0, notReported: 0 });
  });
});
