import { Transport } from './agent-state';
import { LastSeenBuffer } from './last-seen-buffer';

const uid = (n: number) => Buffer.from(n.toString(16).padStart(32, '0'), 'hex');
const ws = (tenantId: string, n: number, lastSeenMs: number | null) => ({
  tenantId,
  instanceUid: uid(n),
  lastSeenMs,
  transport: Transport.TRANSPORT_WEBSOCKET,
  gatewayId: 'gw-a',
  connectionId: 'c',
});

describe('LastSeenBuffer', () => {
  it('keeps the newest time per agent and drains by tenant in instance_uid order', () => {
    const b = new LastSeenBuffer();
    b.note(ws('t1', 2, 200));
    b.note(ws('t1', 1, 100));
    b.note(ws('t1', 2, 150)); // older: ignored
    b.note(ws('t2', 1, 300));
    b.note(ws('t1', 3, null)); // nothing to write
    expect(b.size).toBe(3);
    const out = b.drain();
    expect([...out.keys()].sort()).toEqual(['t1', 't2']);
    expect(out.get('t1')!.map((e) => [e.instanceUid.toString('hex').slice(-1), e.lastSeenMs])).toEqual([
      ['1', 100],
      ['2', 200],
    ]);
    // A WebSocket agent's owner is not the buffer's to move.
    expect(out.get('t2')![0]).toMatchObject({ gatewayId: null, connectionId: null });
    expect(b.size).toBe(0);
    expect(b.drain().size).toBe(0);
  });

  it("carries a plain-HTTP agent's owner of its newest poll, and restores without losing newer notes", () => {
    const b = new LastSeenBuffer();
    b.note({ ...ws('t', 1, 100), transport: Transport.TRANSPORT_HTTP, gatewayId: 'gw-a', connectionId: 'r1' });
    const taken = b.drain().get('t')!;
    expect(taken[0]).toMatchObject({ gatewayId: 'gw-a', connectionId: 'r1' });
    b.note({ ...ws('t', 1, 150), transport: Transport.TRANSPORT_HTTP, gatewayId: 'gw-b', connectionId: 'r2' });
    b.restore(taken);
    expect(b.drain().get('t')).toEqual([{ tenantId: 't', instanceUid: uid(1), lastSeenMs: 150, gatewayId: 'gw-b', connectionId: 'r2' }]);
    b.restore(taken);
    expect(b.drain().get('t')).toEqual(taken);
  });
});
