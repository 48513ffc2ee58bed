/**
 * The row locks of an ingest batch against the other writers of agent rows,
 * on the real PostgreSQL: config-service's per-agent writes join the agent
 * rows FOR KEY SHARE in their own order (existingAgentsOnly), so an ingest
 * batch or a last-seen flush must not block them (FOR UPDATE did, and they
 * deadlocked at 100,000 agents), while a deletion (FOR UPDATE) still waits.
 * A last-seen flush holds an agent's row lock for one statement only.
 */
import type { PoolClient } from 'pg';
import { waitFor } from '@opamp/testing';
import { AgentRepository, LastSeenBuffer, LastSeenFlusher, Transport } from '../src';
import { IngestHarness } from './ingest-harness';

describe('agent row locks of an ingest batch (real PostgreSQL)', () => {
  const h = new IngestHarness();
  const repo = new AgentRepository();
  const uids = [Buffer.alloc(16, 0x41), Buffer.alloc(16, 0x42)];

  beforeAll(async () => {
    await h.start(['gw-locks']);
    await h.db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [h.tenant]);
    for (const uid of uids) {
      await h.pool.query(`INSERT INTO agents (tenant_id, instance_uid, connected, last_seen_at) VALUES ($1, $2, true, now())`, [h.tenant, uid]);
    }
  });

  afterAll(async () => {
    await h.stop();
  });

  /** Runs `sql` on a connection of its own that gives up on a lock after 3 s (never waits forever). */
  async function onOtherConnection(sql: string): Promise<number> {
    const c: PoolClient = await h.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL lock_timeout = '3s'`);
      const { rows } = await c.query(sql, [h.tenant, uids]);
      return rows.length;
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    }
  }

  it("leave the reconciler's KEY SHARE joins alone while the batch is open, and still hold off a deletion", async () => {
    await h.db.transaction(async (tx) => {
      const locked = await repo.loadForUpdate(tx, uids.map((instanceUid) => ({ tenantId: h.tenant, instanceUid })));
      expect(locked.size).toBe(2);
      // What writeAgentStates and the rollout driver's batch pick take on the same rows.
      expect(await onOtherConnection(`SELECT ag.instance_uid FROM agents ag WHERE ag.tenant_id = $1 AND ag.instance_uid = ANY($2::bytea[]) FOR KEY SHARE OF ag`)).toBe(2);
      // DeleteAgent's lock waits for the batch (here: gives up after its lock timeout).
      await expect(onOtherConnection(`SELECT instance_uid FROM agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) FOR UPDATE`)).rejects.toThrow(/lock timeout/);
    });
  });

  it('a last-seen flush commits statement by statement: agents already written are free while a later statement waits', async () => {
    const flushed = Array.from({ length: 6 }, (_, i) => Buffer.alloc(16, 0x50 + i));
    for (const uid of flushed) {
      await h.pool.query(`INSERT INTO agents (tenant_id, instance_uid, connected, last_seen_at) VALUES ($1, $2, true, now())`, [h.tenant, uid]);
    }
    // Another writer holds the last agent: the flush's third statement (two rows each) waits for it.
    const blocker = await h.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM agents WHERE tenant_id = $1 AND instance_uid = $2 FOR NO KEY UPDATE`, [h.tenant, flushed[5]]);
    const buffer = new LastSeenBuffer();
    const later = Date.now() + 60_000;
    for (const instanceUid of flushed) buffer.note({ tenantId: h.tenant, instanceUid, lastSeenMs: later, transport: Transport.TRANSPORT_WEBSOCKET, gatewayId: 'gw-locks', connectionId: 'c' });
    const flush = new LastSeenFlusher({ db: h.db, buffer, rowsPerTransaction: 2 }, 60_000).flushOnce();
    try {
      await waitFor(
        async () => (await h.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH v AS%'`)).rows[0].n,
        (n) => n === 1,
        { description: 'the flush waiting on the held agent' },
      );
      // The first agent's statement is committed: an ingest batch takes its row at once.
      const c = await h.pool.connect();
      try {
        const { rows } = await c.query(`SELECT last_seen_at FROM agents WHERE tenant_id = $1 AND instance_uid = $2 FOR NO KEY UPDATE NOWAIT`, [h.tenant, flushed[0]]);
        expect(new Date(rows[0].last_seen_at).getTime()).toBe(later);
      } finally {
        c.release();
      }
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    expect(await flush).toBe(6);
  });

  it('a last-seen flush leaves them alone too', async () => {
    await h.db.transaction(async (tx) => {
      const later = Date.now() + 60_000;
      const written = await repo.writeLastSeen(tx, h.tenant, uids.map((instanceUid) => ({ tenantId: h.tenant, instanceUid, lastSeenMs: later, gatewayId: null, connectionId: null })));
      expect(written).toBe(2);
      expect(await onOtherConnection(`SELECT ag.instance_uid FROM agents ag WHERE ag.tenant_id = $1 AND ag.instance_uid = ANY($2::bytea[]) FOR KEY SHARE OF ag`)).toBe(2);
    });
  });
});
