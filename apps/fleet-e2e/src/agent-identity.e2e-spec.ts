/**
 * Agents' own identity with a real OpAMP client library: the opamp-go test
 * agent against the built embedded server, over WebSocket and plain HTTP
 * (the scenario: harness/identity-scenario.ts; the distributed mode runs it in
 * distributed.e2e-spec.ts).
 */
import { GoAgentBed } from './harness/go-agent-bed';
import { runIdentityScenario } from './harness/identity-scenario';

/** The heartbeat interval the server puts in its offers (the agents start with 1 s). */
const OFFER_HEARTBEAT_S = 2;

describe('agent identity with the opamp-go test agent (embedded server)', () => {
  const bed = new GoAgentBed('opamp-identity', { OPAMP_HEARTBEAT_INTERVAL_S: String(OFFER_HEARTBEAT_S) });
  beforeAll(() => bed.start(), 600_000);
  afterAll(() => bed.stop());

  it.each([
    { transport: 'websocket', endpoint: () => bed.server.ws },
    { transport: 'http', endpoint: () => bed.server.http },
  ])('$transport: enrollment, own credential, stolen copy refused, rotation without a refused connection, revocation', async ({ transport, endpoint }) => {
    await runIdentityScenario(
      { call: bed.call, endpoint: endpoint(), enrollmentToken: bed.server.agentToken, binary: bed.binary, workDir: bed.work, offerHeartbeatS: OFFER_HEARTBEAT_S, agents: bed.agents },
      transport,
    );
  });
});
