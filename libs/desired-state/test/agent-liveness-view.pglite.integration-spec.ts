/**
 * The API's view of an agent's connection and health on the embedded
 * database (PGlite): ListAgents carries connected_since and
 * effective_config_hash as GetAgent does, and a disconnected agent is healthy
 * in no count or filter while its last report stays visible as
 * last_known_health.
 */
import { AgentCapabilities as C } from '@opamp/protocol';
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import { migrateToLatest, PgliteSqlDatabase } from '@opamp/store';
import { AgentPushDispatcher, DesiredStateRepository, FleetApiService, Reconciler, type Caller } from '../src';

const tenant = 'view';
const caller: Caller = { tenantId: tenant, tokenId: 'test' };
const CAPS = C.ReportsStatus | C.ReportsHealth | C.ReportsEffectiveConfig;
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

let db: PgliteSqlDatabase;
let api: FleetApiService;

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

async function insertAgent(i: number, connected: boolean, healthy: boolean | null): Promise<void> {
  await db.query(
    `INSERT INTO agents (tenant_id, instance_uid, capabilities, labels, connected, gateway_id, connection_id, transport, epoch, healthy,
                         connected_since, effective_config_hash)
     VALUES ($1, $2, $3, '{}'::jsonb, $4, 'gw', 'c', 1, 1, $5, $6, $7)`,
    [tenant, uid(i), CAPS, connected, healthy, new Date(T0 + i), Buffer.alloc(32, i)],
  );
}

type Agent = Record<string, unknown>;
const list = async (req: Record<string, unknown> = {}) =>
  ((await api.agents.listAgents(caller, { pageSize: 1000, ...req })) as { agents: Agent[] }).agents.map((a) => a['instanceUid']);

beforeAll(async () => {
  db = await PgliteSqlDatabase.open();
  await migrateToLatest(db);
  const repo = new DesiredStateRepository(db);
  const dispatcher = new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore());
  api = new FleetApiService(repo, dispatcher, new Reconciler(repo, dispatcher));
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [tenant]);
  await insertAgent(1, true, true);
  await insertAgent(2, false, true);
  await insertAgent(3, false, false);
  await insertAgent(4, true, false);
}, 30_000);

afterAll(async () => {
  await db?.close();
});

describe('agent view: connection fields', () => {
  it('ListAgents returns connected_since and effective_config_hash as GetAgent does', async () => {
    const { agents } = (await api.agents.listAgents(caller, {})) as { agents: Agent[] };
    expect(agents).toHaveLength(4);
    for (const listed of agents) {
      const detail = await api.agents.getAgent(caller, { instanceUid: listed['instanceUid'] });
      expect(listed['connectedSince']).toBe(detail['connectedSince']);
      expect(listed['effectiveConfigHash']).toBe(detail['effectiveConfigHash']);
    }
    const byUid = new Map(agents.map((a) => [a['instanceUid'], a]));
    expect(byUid.get(uid(1).toString('hex'))).toMatchObject({
      connectedSince: new Date(T0 + 1).toISOString(),
      effectiveConfigHash: Buffer.alloc(32, 1).toString('hex'),
    });
    // Disconnected: no current connection, but the last effective config stays known.
    expect(byUid.get(uid(2).toString('hex'))).toMatchObject({ connectedSince: '', effectiveConfigHash: Buffer.alloc(32, 2).toString('hex') });
  });
});

describe('agent view: health of disconnected agents', () => {
  it('shows the last report as last_known_health, and health unknown', async () => {
    const get = (i: number) => api.agents.getAgent(caller, { instanceUid: uid(i).toString('hex') });
    expect(await get(1)).toMatchObject({ health: 'HEALTH_STATE_HEALTHY', lastKnownHealth: 'HEALTH_STATE_HEALTHY' });
    expect(await get(2)).toMatchObject({ health: 'HEALTH_STATE_UNKNOWN', lastKnownHealth: 'HEALTH_STATE_HEALTHY' });
    expect(await get(3)).toMatchObject({ health: 'HEALTH_STATE_UNKNOWN', lastKnownHealth: 'HEALTH_STATE_UNHEALTHY' });
    const { agents } = (await api.agents.listAgents(caller, {})) as { agents: Agent[] };
    expect(agents.map((a) => [a['health'], a['lastKnownHealth']])).toEqual([
      ['HEALTH_STATE_HEALTHY', 'HEALTH_STATE_HEALTHY'],
      ['HEALTH_STATE_UNKNOWN', 'HEALTH_STATE_HEALTHY'],
      ['HEALTH_STATE_UNKNOWN', 'HEALTH_STATE_UNHEALTHY'],
      ['HEALTH_STATE_UNHEALTHY', 'HEALTH_STATE_UNHEALTHY'],
    ]);
  });

  it('counts and filters a disconnected agent as of unknown health', async () => {
    const s = (await api.agents.getFleetSummary(caller, {})) as { totals: Record<string, number> };
    expect(s.totals).toMatchObject({ agents: 4, connected: 2, healthy: 1, unhealthy: 1, healthUnknown: 2 });
    expect(await list({ healthy: true })).toEqual([uid(1).toString('hex')]);
    expect(await list({ healthy: false })).toEqual([uid(4).toString('hex')]);
  });
});
