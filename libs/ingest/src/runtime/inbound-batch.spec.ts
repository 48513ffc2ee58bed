import { EventLoopSlice } from '@opamp/process-runtime';
import type { AgentState } from '../core/agent-state';
import { stateKey } from '../store/agent-repository';
import { FakeAgent, testContext } from '../testing/factories';
import { applyInboundBatch } from './inbound-batch';

/** 50 new agents' connect and first full report, as one partition batch brings them. */
function connectBatch() {
  const agents = Array.from({ length: 50 }, () => new FakeAgent());
  const records = agents.flatMap((a) => [a.record(a.connect()), a.record(a.full())]);
  const states = new Map<string, AgentState | null>(agents.map((a) => [stateKey(a.tenantId, a.uid), null]));
  return { agents, records, states };
}

describe('applying an inbound batch', () => {
  it('gives the event loop a turn once its slice is used up, before the batch is done', async () => {
    const { records, states } = connectBatch();
    // A clock that advances 1 ms per reading: the 20 ms slice is used up after about 20 records.
    let clock = 0;
    const slice = new EventLoopSlice(20, () => clock++);
    const order: string[] = [];
    setImmediate(() => order.push('other callback'));
    const applying = applyInboundBatch(records, states, testContext(), new Map(), { turn: () => slice.turn() }).then((batch) => {
      order.push('batch applied');
      return batch;
    });
    const batch = await applying;
    expect(order).toEqual(['other callback', 'batch applied']);
    expect(slice.turns).toBeGreaterThanOrEqual(2);
    expect(batch.pending.size).toBe(50);
  });

  it('applies the records in order, the same with or without turns', async () => {
    const a = connectBatch();
    const b = { records: a.records, states: new Map([...a.states.keys()].map((k) => [k, null] as [string, AgentState | null])) };
    const noTurns = await applyInboundBatch(a.records, a.states, testContext(), new Map(), { turn: async () => undefined });
    let clock = 0;
    const slice = new EventLoopSlice(1, () => (clock += 2));
    const everyRecord = await applyInboundBatch(b.records, b.states, testContext(), new Map(), { turn: () => slice.turn() });
    expect(slice.turns).toBe(a.records.length);
    expect([...everyRecord.pending.keys()]).toEqual([...noTurns.pending.keys()]);
    for (const [key, p] of noTurns.pending) {
      const q = everyRecord.pending.get(key);
      expect({ durable: q?.durable, changes: q?.changes, seq: q?.state.lastSequenceNum }).toEqual({ durable: p.durable, changes: p.changes, seq: p.state.lastSequenceNum });
      expect(p.durable).toBe(true);
    }
    expect(everyRecord.pushes.length).toBe(noTurns.pushes.length);
  });
});
