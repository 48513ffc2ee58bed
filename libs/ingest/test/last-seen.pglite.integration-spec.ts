/**
 * The last-seen flush's statement on the embedded database (PGlite, the
 * embedded server's store): rows only move forward, a plain-HTTP agent's owner
 * follows only while it is connected over HTTP, and record_version stays.
 */
import { migrateToLatest, PgliteSqlDatabase } from '@opamp/store';
import { AgentRepository, LastSeenBuffer, LastSeenFlusher, newAgentState, Transport, type AgentState } from '../src';

const tenant = 't';
const repo = new AgentRepository();
let db: PgliteSqlDatabase;

const uid = (n: number) => Buffer.from(n.toString(16).padStart(32, '0'), 'hex');
const T0 = Date.UTC(2026, 0, 1);

function agent(n: number, fields: Partial<AgentState>): AgentState {
  return {
    ...newAgentState(tenant, uid(n)),
    connected: true,
    gatewayId: 'gw-a',
    connectionId: 'c1',
    transport: Transport.TRANSPORT_WEBSOCKET,
    lastSeenMs: T0,
    recordVersion: 1,
    ...fields,
  };
}

beforeAll(async () => {
  db = await PgliteSqlDatabase.open();
  await migrateToLatest(db);
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [tenant]);
  await db.transaction((tx) =>
    repo.upsert(tx, [
      agent(1, {}),
      agent(2, { transport: Transport.TRANSPORT_HTTP }),
      agent(3, { transport: Transport.TRANSPORT_HTTP, connected: false, gatewayId: null, connectionId: null }),
      agent(4, { lastSeenMs: T0 + 10_000 }),
    ]),
  );
}, 30_000);

afterAll(async () => {
  await db?.close();
});

describe('last-seen flush on PGlite', () => {
  it('advances last_seen_at, moves only connected HTTP owners, never goes back, keeps record_version', async () => {
    const buffer = new LastSeenBuffer();
    const flusher = new LastSeenFlusher({ db, buffer }, 60_000);
    const note = (n: number, at: number, transport: number, gatewayId: string) =>
      buffer.note({ tenantId: tenant, instanceUid: uid(n), lastSeenMs: at, transport, gatewayId, connectionId: `${gatewayId}-r` });
    note(1, T0 + 5_000, Transport.TRANSPORT_WEBSOCKET, 'gw-b');
    note(2, T0 + 5_000, Transport.TRANSPORT_HTTP, 'gw-b');
    note(3, T0 + 5_000, Transport.TRANSPORT_HTTP, 'gw-b');
    note(4, T0 + 5_000, Transport.TRANSPORT_WEBSOCKET, 'gw-a'); // older than the row
    expect(await flusher.flushOnce()).toBe(3);
    const get = async (n: number) => (await repo.get(db, tenant, uid(n)))!;
    expect(await get(1)).toMatchObject({ lastSeenMs: T0 + 5_000, gatewayId: 'gw-a', connectionId: 'c1', recordVersion: 1 });
    expect(await get(2)).toMatchObject({ lastSeenMs: T0 + 5_000, gatewayId: 'gw-b', connectionId: 'gw-b-r', recordVersion: 1 });
    expect(await get(3)).toMatchObject({ lastSeenMs: T0 + 5_000, connected: false, gatewayId: null, connectionId: null });
    expect(await get(4)).toMatchObject({ lastSeenMs: T0 + 10_000 });
    // Nothing noted since: nothing written.
    expect(await flusher.flushOnce()).toBe(0);
    expect(flusher.totals).toEqual({ flushes: 2, rowsWritten: 3, errors: 0 });
  });
});
