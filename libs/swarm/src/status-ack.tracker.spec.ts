import { replyKind, StatusAckTracker } from './status-ack.tracker';

describe('replyKind', () => {
  it('tells a plain acknowledgement from a refusal and from a push', () => {
    const uid = new Uint8Array(16);
    expect(replyKind({ instanceUid: uid })).toBe('ack');
    expect(replyKind({ instanceUid: uid, capabilities: 7 })).toBe('ack');
    expect(replyKind({ instanceUid: uid, errorResponse: { type: 2 } })).toBe('refusal');
    expect(replyKind({ instanceUid: uid, remoteConfig: { configHash: new Uint8Array(1) } })).toBe('push');
    expect(replyKind({ instanceUid: uid, flags: 1 })).toBe('push');
  });
});

describe('StatusAckTracker', () => {
  it('counts a counter acknowledged when the answer to the message that carried it is an ack, pushes in between', () => {
    const t = new StatusAckTracker();
    t.connected(0); // message 1: full state
    t.received('ack');
    t.set(1, 1); // message 2 carries 1
    t.received('push'); // a push answers nothing
    expect(t.acked).toBe(0);
    t.received('ack'); // answers message 2
    expect(t.acked).toBe(1);
  });

  it('does not count a counter whose message was refused, nor an ack of an earlier message', () => {
    const t = new StatusAckTracker();
    t.connected(0);
    t.set(1, 1); // message 2
    t.set(2, 2); // message 3
    t.received('ack'); // message 1
    t.received('ack'); // message 2: carried 1, but 2 is current now and travels in message 3
    expect(t.acked).toBe(0);
    t.received('refusal'); // message 3 refused
    expect(t.acked).toBe(0);
  });

  it('moves the carrier to the first message of a new connection when the counter was not acknowledged', () => {
    const t = new StatusAckTracker();
    t.connected(0);
    t.received('ack');
    t.set(1, 1); // message 2, its answer is lost with the connection
    t.disconnected();
    t.received('ack'); // after close: ignored
    t.connected(2); // message 3: full state with 1
    expect(t.acked).toBe(0);
    t.received('ack');
    expect(t.acked).toBe(1);
  });

  it('keeps an acknowledged counter across reconnects', () => {
    const t = new StatusAckTracker();
    t.connected(0);
    t.set(1, 0); // set before the first message: message 1 carries it
    t.received('ack');
    expect(t.acked).toBe(1);
    t.disconnected();
    t.connected(5);
    t.received('ack');
    expect(t.acked).toBe(1);
    expect(t.current).toBe(1);
  });
});
