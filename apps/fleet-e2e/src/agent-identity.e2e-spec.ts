/**
 * Agents' own identity with a real OpAMP client library: the opamp-go test
 * agent against the built embedded server, over WebSocket and plain HTTP
 * (the scenario: harness/identity-scenario.ts; the distributed mode runs it in
 * distributed.e2e-spec.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpampGoAgent, type EmbeddedServerProcess, type OpampGoAgentProcess, startEmbeddedServerProcess, stopEmbeddedServerProcess } from '@opamp/testing';
import { runIdentityScenario } from './harness/identity-scenario';

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

  it.each([
    { transport: 'websocket', endpoint: () => server.ws },
    { transport: 'http', endpoint: () => server.http },
  ])('$transport: enrollment, own credential, stolen copy refused, rotation without a refused connection, revocation', async ({ transport, endpoint }) => {
    await runIdentityScenario({ call, endpoint: endpoint(), enrollmentToken: server.agentToken, binary, workDir: work, offerHeartbeatS: OFFER_HEARTBEAT_S, agents }, transport);
  });
});
