import { newAgentState } from '../core/agent-state';
import { MemoryCursorStore } from './cursor-store';

function agent(tenant: string, byte: number, patch: Partial<ReturnType<typeof newAgentState>>) {
  return { ...newAgentState(tenant, Buffer.alloc(16, byte)), ...patch };
}

describe('MemoryCursorStore (the embedded twin of the Redis cursors)', () => {
  it('loads what was saved, per tenant', async () => {
    const store = new MemoryCursorStore();
    await store.save([agent('t1', 1, { epoch: 3, seqEpoch: 3, lastSequenceNum: 41, lastSeenMs: 1000, connected: true })]);
    const loaded = await store.load([
      { tenantId: 't1', instanceUid: Buffer.alloc(16, 1) },
      { tenantId: 't2', instanceUid: Buffer.alloc(16, 1) },
    ]);
    expect([...loaded.keys()]).toEqual([`t1/${Buffer.alloc(16, 1).toString('hex')}`]);
    expect([...loaded.values()][0]).toMatchObject({ epoch: 3, seq: 41, lastSeenMs: 1000 });
  });

  it('keeps a live index of connected agents, oldest first, for the sweep', async () => {
    const store = new MemoryCursorStore();
    await store.save([
      agent('t', 1, { connected: true, lastSeenMs: 300 }),
      agent('t', 2, { connected: true, lastSeenMs: 100 }),
      agent('t', 3, { connected: true, lastSeenMs: 900 }),
      agent('t', 4, { connected: false, lastSeenMs: 50 }),
    ]);
    const silent = await store.silentSince('t', 500, 10);
    expect(silent.map((s) => [s.instanceUid[0], s.lastSeenMs])).toEqual([
      [2, 100],
      [1, 300],
    ]);
    expect(await store.lastSeen('t', [Buffer.alloc(16, 3), Buffer.alloc(16, 4)])).toEqual([900, null]);
    await store.removeLive('t', [Buffer.alloc(16, 2)]);
    expect((await store.silentSince('t', 500, 10)).map((s) => s.instanceUid[0])).toEqual([1]);
  });
});

describe('MemoryCursorStore compare-and-set', () => {
  const uid = Buffer.alloc(16, 7);
  const key = `t/${uid.toString('hex')}`;

  it('writes when the cursor is as read, refuses when it changed or was forgotten', async () => {
    const store = new MemoryCursorStore();
    const first = agent('t', 7, { connected: true, lastSeenMs: 10, lastSequenceNum: 1 });
    // Absent as read: the first write goes through, a second "absent" write does not.
    expect(await store.save([first], new Map([[key, null]]))).toEqual(new Set());
    expect(await store.save([first], new Map([[key, null]]))).toEqual(new Set([key]));
    const snap = (await store.snapshots([{ tenantId: 't', instanceUid: uid }])).get(key)!;
    expect(snap.cursor.seq).toBe(1);
    const next = { ...snap.cursor, seq: 2, lastSeenMs: 20 };
    expect(await store.write([{ tenantId: 't', instanceUid: uid, cursor: next, live: true, expected: snap.raw }])).toEqual(new Set());
    // The same expectation again is stale now.
    expect(await store.write([{ tenantId: 't', instanceUid: uid, cursor: { ...next, seq: 3 }, live: true, expected: snap.raw }])).toEqual(
      new Set([key]),
    );
    expect((await store.load([{ tenantId: 't', instanceUid: uid }])).get(key)?.seq).toBe(2);
    expect(await store.lastSeen('t', [uid])).toEqual([20]);
    const current = (await store.snapshots([{ tenantId: 't', instanceUid: uid }])).get(key)!;
    await store.forget('t', [uid]);
    expect(await store.write([{ tenantId: 't', instanceUid: uid, cursor: next, live: true, expected: current.raw }])).toEqual(new Set([key]));
    expect((await store.snapshots([{ tenantId: 't', instanceUid: uid }])).size).toBe(0);
  });
});
