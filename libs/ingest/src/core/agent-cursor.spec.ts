import { fleet } from '@opamp/contracts';
import { AgentCapabilities } from '@opamp/protocol';
import { COLLECTOR_CAPS, FakeAgent, testContext } from '../testing/factories';
import { type AgentState } from './agent-state';
import { applyInbound } from './apply-inbound';
import { cursorOf, heartbeatCursor, isHeartbeat, overlayCursor, type AgentCursor } from './agent-cursor';

const ctx = testContext();

/** Runs envelopes through the full path and returns the state. */
function fullPath(agent: FakeAgent, envelopes: fleet.v1.IAgentInbound[], state: AgentState | null = null): AgentState {
  for (const env of envelopes) state = applyInbound(state, agent.record(env), ctx).state;
  return state!;
}

/**
 * The fast path's promise: when it takes a record, the full path would have
 * changed only the cursor's fields (no row write, no event, no push), to the
 * same values.
 */
function expectSameAsFullPath(agent: FakeAgent, state: AgentState, env: fleet.v1.IAgentInbound): AgentCursor {
  const fast = heartbeatCursor(cursorOf(state), agent.record(env), ctx.nowMs);
  expect(fast).not.toBeNull();
  const full = applyInbound(state, agent.record(env), ctx);
  expect(full.durable).toBe(false);
  expect(full.changes).toBe(0);
  expect(full.pushes).toEqual([]);
  expect(full.moved).toBeNull();
  expect(fast).toEqual(cursorOf(full.state!));
  return fast!;
}

describe('heartbeat fast path', () => {
  it('takes in-sequence heartbeats of a described, connected WS agent, exactly as the full path would', () => {
    const agent = new FakeAgent();
    let state = fullPath(agent, [agent.connect(), agent.full()]);
    for (let i = 0; i < 3; i++) {
      const env = agent.heartbeat();
      const cursor = expectSameAsFullPath(agent, state, env);
      state = applyInbound(state, agent.record(env), ctx).state!;
      expect(cursor.seq).toBe(state.lastSequenceNum);
      expect(cursor.lastSeenMs).toBe(Number(env.receivedAtUnixMs));
    }
  });

  it('takes plain-HTTP polls (a new epoch and connection per request) and moves the owner like the full path', () => {
    const agent = new FakeAgent({ transport: fleet.v1.Transport.TRANSPORT_HTTP });
    let state = fullPath(agent, [agent.full()]);
    agent.gatewayId = 'gw-2';
    const env = agent.heartbeat();
    const cursor = expectSameAsFullPath(agent, state, env);
    expect(cursor.gatewayId).toBe('gw-2');
    state = applyInbound(state, agent.record(env), ctx).state!;
    expectSameAsFullPath(agent, state, agent.heartbeat());
  });

  it('uses the clock when the envelope has no receive time', () => {
    const agent = new FakeAgent();
    const state = fullPath(agent, [agent.connect(), agent.full()]);
    const env = { ...agent.heartbeat(), receivedAtUnixMs: 0 };
    expect(heartbeatCursor(cursorOf(state), agent.record(env), 42)?.lastSeenMs).toBe(42);
  });

  describe('leaves to the full path', () => {
    const agent = new FakeAgent();
    const base = fullPath(agent, [agent.connect(), agent.full()]);
    const cases: [string, () => [AgentCursor | undefined, fleet.v1.IAgentInbound]][] = [
      ['an agent without a cursor', () => [undefined, agent.heartbeat()]],
      ['a cursor written before the fast path existed', () => {
        const { connected, stale, capabilities, descriptionReported, clientIdentity, credentialId, replaced, ...old } = cursorOf(base);
        void [connected, stale, capabilities, descriptionReported, clientIdentity, credentialId, replaced];
        return [old, agent.heartbeat()];
      }],
      ['a sequence gap', () => [cursorOf(base), agent.send({ sequenceNum: agent.seq + 2 })]],
      ['a replay', () => [cursorOf(base), agent.send({ sequenceNum: agent.seq })]],
      ['a message on a new connection', () => {
        const a = new FakeAgent();
        const s = fullPath(a, [a.connect(), a.full()]);
        a.connect();
        return [cursorOf(s), a.heartbeat()];
      }],
      ['a stale record', () => [cursorOf({ ...base, stale: true }), agent.heartbeat()]],
      ['an offline record', () => [cursorOf({ ...base, connected: false }), agent.heartbeat()]],
      ['a replaced record', () => [cursorOf({ ...base, replacedBy: Buffer.alloc(16, 1) }), agent.heartbeat()]],
      ['a record without a description', () => [cursorOf({ ...base, descriptionReported: false }), agent.heartbeat()]],
      ['changed capabilities', () => [cursorOf(base), agent.heartbeat(COLLECTOR_CAPS | AgentCapabilities.AcceptsRestartCommand)]],
      ['a health report', () => [cursorOf(base), agent.send({ health: { healthy: false } })]],
      ['agent_disconnect', () => [cursorOf(base), agent.send({ agentDisconnect: {} })]],
      ['RequestInstanceUid', () => [cursorOf(base), agent.send({ flags: 1 })]],
      ['a new client identity', () => [cursorOf(base), { ...agent.heartbeat(), clientIdentity: 'CN=other' }]],
      ['another credential (the agent switched to its own)', () => [cursorOf(base), { ...agent.heartbeat(), credentialId: 'own-1' }]],
      ['a gateway connected event', () => [cursorOf(base), agent.connect()]],
    ];
    it.each(cases)('%s', (_name, make) => {
      const before = agent.seq;
      const [cursor, env] = make();
      expect(heartbeatCursor(cursor, agent.record(env), ctx.nowMs)).toBeNull();
      agent.seq = before;
    });
  });

  it('isHeartbeat: only uid, sequence number and capabilities', () => {
    const agent = new FakeAgent();
    agent.connect();
    expect(isHeartbeat(agent.record(agent.heartbeat()))).toBe(true);
    expect(isHeartbeat(agent.record(agent.send({ customMessage: { capability: 'x', type: 't' } })))).toBe(false);
    expect(isHeartbeat(agent.record(agent.disconnect()))).toBe(false);
  });

  it('overlayCursor ignores the fast-path fields: the row stays the truth for them', () => {
    const agent = new FakeAgent();
    const state = fullPath(agent, [agent.connect(), agent.full()]);
    const cursor = { ...cursorOf(state), seq: (state.lastSequenceNum ?? 0) + 5, stale: true, connected: false, capabilities: 1 };
    const out = overlayCursor(state, cursor);
    expect(out.lastSequenceNum).toBe(cursor.seq);
    expect(out.connected).toBe(true);
    expect(out.stale).toBe(false);
    expect(out.capabilities).toBe(state.capabilities);
  });
});
