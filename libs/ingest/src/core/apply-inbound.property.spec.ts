/**
 * Properties of the inbound state merge over generated message sequences
 * (fast-check): the merged record is the last report of each sub-message; the
 * heartbeat fast path agrees with the full path wherever it takes a record;
 * every sequence gap asks for the full state once.
 */
import fc from 'fast-check';
import { fleet } from '@opamp/contracts';
import { AgentCapabilities, configHash, ServerToAgentFlags, type IAgentToServer } from '@opamp/protocol';
import { COLLECTOR_CAPS, description, FakeAgent, testContext } from '../testing/factories';
import { type AgentState, type ApplyResult } from './agent-state';
import { applyInbound } from './apply-inbound';
import { cursorOf, heartbeatCursor } from './agent-cursor';

const HTTP = fleet.v1.Transport.TRANSPORT_HTTP;
const WS = fleet.v1.Transport.TRANSPORT_WEBSOCKET;
const RUNS = { numRuns: 300 };

/** One AgentToServer as generated: which sub-messages it carries, with small value domains (so values repeat). */
interface Msg {
  health?: { healthy: boolean; status: string };
  config?: string;
  status?: { hash: number; status: number; error: string };
  name?: string;
  capabilities: number;
  /** Sequence number offset from last + 1 (0: in order). */
  skew: number;
}

const msgArb = (withGaps: boolean): fc.Arbitrary<Msg> =>
  fc.record(
    {
      health: fc.option(fc.record({ healthy: fc.boolean(), status: fc.constantFrom('ok', 'degraded', 'starting') }), { nil: undefined }),
      config: fc.option(fc.constantFrom('a: 1', 'b: 2', 'c: 3'), { nil: undefined }),
      status: fc.option(fc.record({ hash: fc.integer({ min: 1, max: 3 }), status: fc.integer({ min: 0, max: 3 }), error: fc.constantFrom('', 'bad') }), {
        nil: undefined,
      }),
      name: fc.option(fc.constantFrom('otelcol', 'collector', 'agent'), { nil: undefined }),
      capabilities: fc.constantFrom(COLLECTOR_CAPS, 0),
      skew: withGaps ? fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 5 }) }) : fc.constant(0),
    },
    { requiredKeys: ['capabilities', 'skew'] },
  );

function fieldsOf(m: Msg): IAgentToServer {
  return {
    capabilities: m.capabilities,
    ...(m.health ? { health: { ...m.health } } : {}),
    ...(m.config ? { effectiveConfig: { configMap: { configMap: { 'c.yaml': { body: Buffer.from(m.config), contentType: 'text/yaml' } } } } } : {}),
    ...(m.status
      ? { remoteConfigStatus: { lastRemoteConfigHash: Buffer.alloc(32, m.status.hash), status: m.status.status, errorMessage: m.status.error } }
      : {}),
    ...(m.name ? { agentDescription: description(m.name) } : {}),
  };
}

const flagsOf = (r: ApplyResult) => r.pushes.filter((p) => p.kind === 'flags').reduce((f, p) => f | Number(p.message.flags), 0);

/** A connected, described WS agent (or HTTP agent) after a first full report. */
function started(transport: number): { agent: FakeAgent; state: AgentState } {
  const agent = new FakeAgent({ transport });
  const ctx = testContext();
  let state: AgentState | null = null;
  if (transport === WS) state = applyInbound(state, agent.record(agent.connect()), ctx).state;
  state = applyInbound(state, agent.record(agent.full()), ctx).state;
  return { agent, state: state! };
}

describe('applyInbound properties', () => {
  it('the merged record holds, per sub-message, what the last message carrying it said (omitted means unchanged)', () => {
    fc.assert(
      fc.property(fc.constantFrom(WS, HTTP), fc.array(msgArb(false), { maxLength: 25 }), (transport, msgs) => {
        const { agent, state: first } = started(transport);
        const ctx = testContext();
        let state = first;
        const expected = {
          healthStatus: (first.health as { status?: string } | null)?.status,
          healthy: first.healthy,
          config: first.effectiveConfigHash,
          status: [first.remoteConfigHash, first.remoteConfigStatus, first.remoteConfigError] as unknown[],
          labels: first.labels,
          capabilities: first.capabilities,
        };
        for (const m of msgs) {
          const r = applyInbound(state, agent.record(agent.send(fieldsOf(m))), ctx);
          state = r.state!;
          expect(r.ignored).toBeNull();
          if (m.health) {
            expected.healthy = m.health.healthy;
            expected.healthStatus = m.health.status;
          }
          if (m.config) expected.config = configHash({ configMap: { 'c.yaml': { body: Buffer.from(m.config), contentType: 'text/yaml' } } });
          if (m.status) expected.status = [Buffer.alloc(32, m.status.hash), m.status.status, m.status.error || null];
          if (m.name) {
            const ident = description(m.name)!.identifyingAttributes!;
            expected.labels = { ...Object.fromEntries(ident.map((kv) => [kv.key!, kv.value!.stringValue!])), 'os.type': 'linux' };
          }
          // Capabilities 0 keep the previous value.
          if (m.capabilities !== 0) expected.capabilities = m.capabilities;
          // In sequence, described: never asks for the full state.
          expect(flagsOf(r) & ServerToAgentFlags.ReportFullState).toBe(0);
        }
        expect(state.health).toMatchObject({ status: expected.healthStatus });
        expect(state.healthy).toBe(expected.healthy);
        expect(state.effectiveConfigHash).toEqual(expected.config);
        expect([state.remoteConfigHash, state.remoteConfigStatus, state.remoteConfigError]).toEqual(expected.status);
        expect(state.labels).toMatchObject(expected.labels);
        expect(state.capabilities).toBe(expected.capabilities);
        expect(state.lastSequenceNum).toBe(agent.seq);
        expect(state.connected).toBe(true);
      }),
      RUNS,
    );
  });

  it('the heartbeat fast path, wherever it takes a record, gives exactly what the full path gives', () => {
    let taken = 0;
    let declined = 0;
    const heartbeatArb = fc.record({
      skew: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }) }),
      capabilities: fc.constantFrom(COLLECTOR_CAPS, 0, COLLECTOR_CAPS | AgentCapabilities.ReportsAvailableComponents),
      reconnect: fc.boolean(),
      gateway: fc.constantFrom('gw-1', 'gw-2'),
      clientIdentity: fc.constantFrom(undefined, 'id-1'),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(WS, HTTP),
        fc.array(fc.oneof(msgArb(true).map((m) => ({ kind: 'msg' as const, m })), heartbeatArb.map((h) => ({ kind: 'hb' as const, h }))), {
          minLength: 1,
          maxLength: 30,
        }),
        (transport, steps) => {
          const { agent, state: first } = started(transport);
          const ctx = testContext();
          let state = first;
          for (const step of steps) {
            let env: fleet.v1.IAgentInbound;
            if (step.kind === 'msg') {
              env = agent.send({ ...fieldsOf(step.m), sequenceNum: Math.max(0, agent.seq + 1 + step.m.skew) });
            } else {
              const h = step.h;
              if (h.reconnect && transport === WS) state = applyInbound(state, agent.record(agent.connect(h.gateway)), ctx).state!;
              agent.gatewayId = h.gateway;
              env = { ...agent.send({ capabilities: h.capabilities, sequenceNum: Math.max(0, agent.seq + 1 + h.skew) }), clientIdentity: h.clientIdentity };
            }
            const rec = agent.record(env);
            const fast = heartbeatCursor(cursorOf(state), rec, ctx.nowMs);
            const full = applyInbound(state, rec, ctx);
            if (fast) {
              taken++;
              expect(full.durable).toBe(false);
              expect(full.changes).toBe(0);
              expect(full.pushes).toEqual([]);
              expect(full.moved).toBeNull();
              expect(fast).toEqual(cursorOf(full.state!));
            } else {
              declined++;
            }
            state = full.state!;
          }
        },
      ),
      RUNS,
    );
    // The generated sequences exercise both sides of the fast path's decision.
    expect(taken).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(100);
  });

  it('the fast path takes every in-order heartbeat of a connected, described agent (it is not vacuous)', () => {
    fc.assert(
      fc.property(fc.constantFrom(WS, HTTP), fc.integer({ min: 1, max: 20 }), (transport, n) => {
        const { agent, state: first } = started(transport);
        let cursor = cursorOf(first);
        for (let i = 0; i < n; i++) {
          const next = heartbeatCursor(cursor, agent.record(agent.heartbeat(i % 2 === 0 ? COLLECTOR_CAPS : 0)), 0);
          expect(next).not.toBeNull();
          cursor = next!;
        }
        expect(cursor.seq).toBe(agent.seq);
      }),
      RUNS,
    );
  });

  it('every sequence gap asks for the full state once, and an in-order message never does', () => {
    fc.assert(
      fc.property(fc.constantFrom(WS, HTTP), fc.array(msgArb(true), { minLength: 1, maxLength: 30 }), (transport, msgs) => {
        const { agent, state: first } = started(transport);
        const ctx = testContext();
        let state = first;
        for (const m of msgs) {
          const last = state.lastSequenceNum!;
          const seq = Math.max(0, last + 1 + m.skew);
          const r = applyInbound(state, agent.record(agent.send({ ...fieldsOf(m), sequenceNum: seq })), ctx);
          const asks = r.pushes.filter((p) => p.kind === 'flags' && (Number(p.message.flags) & ServerToAgentFlags.ReportFullState) !== 0);
          const sameConnectionReplay = transport === WS && seq <= last;
          if (sameConnectionReplay) {
            // A replay of an applied (epoch, sequence) changes nothing and asks nothing.
            expect(r.ignored).toBe('replay');
            expect(asks).toHaveLength(0);
            // The agent's counter stays where the record is.
            agent.seq = last;
            continue;
          }
          expect(asks).toHaveLength(seq === last + 1 ? 0 : 1);
          state = r.state!;
          expect(state.lastSequenceNum).toBe(seq);
        }
      }),
      RUNS,
    );
  });
});
