/**
 * The set-up the WebSocket and plain-HTTP transport tests share: a fresh
 * OpampTestPeer for every test, agents built against it with quick reconnects
 * and a heartbeat far away, all killed (and the peer stopped) after each test;
 * plus the small message helpers both use.
 */
import { configHash, type opamp } from '@opamp/protocol';
import { SimulatedAgent, type SimulatedAgentOptions } from '../src';
import { OpampTestPeer, type Received } from './opamp-test-peer';

/** Bounded waits of these tests: everything is local, 5 s is plenty. */
export const WAIT = { timeoutMs: 5000 };

export interface TransportTestBed {
  /** This test's peer. */
  readonly peer: OpampTestPeer;
  /** An agent against this test's peer (the transport's endpoint unless `options.endpoint`), killed after the test. */
  agent(options?: Partial<SimulatedAgentOptions>): SimulatedAgent;
  /** Starts a new peer for a test that stopped its own (after-test clean-up stops the new one). */
  restartPeer(): Promise<OpampTestPeer>;
}

export interface TransportTestBedOptions {
  /** The peer's endpoint for the transport under test. */
  readonly endpoint: (peer: OpampTestPeer) => string;
  readonly description: SimulatedAgentOptions['description'];
}

/** Registers beforeEach / afterEach of the calling test file. */
export function useTransportTestBed(options: TransportTestBedOptions): TransportTestBed {
  let peer: OpampTestPeer | undefined;
  const agents: SimulatedAgent[] = [];

  beforeEach(async () => {
    peer = await OpampTestPeer.start();
  });

  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.kill();
    await peer?.stop();
  });

  const current = (): OpampTestPeer => {
    if (!peer) throw new Error('no test peer outside a test');
    return peer;
  };

  return {
    get peer() {
      return current();
    },
    agent(overrides: Partial<SimulatedAgentOptions> = {}): SimulatedAgent {
      const a = new SimulatedAgent({
        endpoint: overrides.endpoint ?? options.endpoint(current()),
        heartbeatIntervalMs: 60_000,
        reconnect: { initialMs: 20, maxMs: 100 },
        description: options.description,
        ...overrides,
      } as SimulatedAgentOptions);
      agents.push(a);
      return a;
    },
    async restartPeer() {
      peer = await OpampTestPeer.start();
      return peer;
    },
  };
}

/** A message that carries the full state (the agent description is only in those). */
export function isFull(r: Received): boolean {
  return !!r.message.agentDescription;
}

export function configMap(text: string): opamp.proto.v1.IAgentConfigMap {
  return { configMap: { '': { body: Buffer.from(text), contentType: 'text/yaml' } } };
}

/** A remote configuration offer of `text` to the agent that sent `r`. */
export function offer(r: Received, text: string): opamp.proto.v1.IServerToAgent {
  const config = configMap(text);
  return { instanceUid: r.message.instanceUid, remoteConfig: { config, configHash: configHash(config) } };
}
