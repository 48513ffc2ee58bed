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
