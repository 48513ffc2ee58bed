import { MAX_CSR_BYTES } from '@opamp/certificate-authority';
import { fleet } from '@opamp/contracts';
import { AgentCapabilities, configHash, isUuidV7, newInstanceUidV7, ServerToAgentFlags } from '@opamp/protocol';
import { COLLECTOR_CAPS, description, FakeAgent, fullReportFields, testContext, testUid } from '../testing/factories';
import { AgentChange, DisconnectReason, Transport, type AgentState, type ApplyResult } from './agent-state';
import { applyInbound, type ApplyContext } from './apply-inbound';
import { INGEST_DEFAULTS } from './ingest-defaults';
import { buildAgentEvent } from './events';
import { coalescePushes, mergeKinds } from './push';

/** Applies envelopes of one agent in order, like the consumer does for one key. */
function run(
  agent: FakeAgent,
  envelopes: fleet.v1.IAgentInbound[],
  state: AgentState | null = null,
  ctx: ApplyContext = testContext(),
): { state: AgentState | null; results: ApplyResult[]; last: ApplyResult } {
  const results: ApplyResult[] = [];
  for (const env of envelopes) {
    const r = applyInbound(state, agent.record(env), ctx);
    results.push(r);
    state = r.state;
  }
  return { state, results, last: results[results.length - 1] };
}

const flagsOf = (r: ApplyResult) => r.pushes.filter((p) => p.kind === 'flags').reduce((f, p) => f | Number(p.message.flags), 0);

function connectedAgent(fields = {}) {
  const agent = new FakeAgent();
  const { state } = run(agent, [agent.connect(), agent.full(fields)]);
  return { agent, state: state! };
}

describe('applyInbound: first contact and status compression', () => {
  it('stores a full first report from a new agent and asks for nothing', () => {
    const agent = new FakeAgent();
    const { state, results } = run(agent, [agent.connect(), agent.full()]);
    expect(results[0].changes).toBe(AgentChange.AGENT_CHANGE_CONNECTION | AgentChange.AGENT_CHANGE_CREDENTIAL);
    expect(results[0].durable).toBe(true);
    const r = results[1];
    expect(r.pushes).toEqual([]);
    expect(r.durable).toBe(true);
    expect(r.changes & AgentChange.AGENT_CHANGE_DESCRIPTION).toBeTruthy();
    expect(r.changes & AgentChange.AGENT_CHANGE_HEALTH).toBeTruthy();
    expect(r.changes & AgentChange.AGENT_CHANGE_EFFECTIVE_CONFIG).toBeTruthy();
    expect(r.changes & AgentChange.AGENT_CHANGE_REMOTE_CONFIG_STATUS).toBeTruthy();
    expect(r.changes & AgentChange.AGENT_CHANGE_CAPABILITIES).toBeTruthy();
    expect(state!.capabilities).toBe(COLLECTOR_CAPS);
    expect(state!.connected).toBe(true);
    expect(state!.gatewayId).toBe('gw-1');
    expect(state!.lastSequenceNum).toBe(0);
    expect(state!.labels).toEqual({
      'host.cpu': '4',
      'os.type': 'linux',
      'service.instance.id': 'otelcol-1',
      'service.name': 'otelcol',
    });
    expect(state!.remoteConfigStatus).toBe(1);
    expect(state!.remoteConfigHash).toEqual(Buffer.alloc(32, 7));
  });

  it('C37: seq=last+1 with omitted sub-messages keeps everything, sets no flag and costs no row write', () => {
    const { agent, state } = connectedAgent();
    const { state: after, last } = run(agent, [agent.heartbeat()], state);
    expect(last.pushes).toEqual([]);
    expect(last.changes).toBe(0);
    expect(last.durable).toBe(false);
    expect(last.volatile).toBe(true);
    expect(after!.identifyingAttributes).toEqual(state.identifyingAttributes);
    expect(after!.health).toEqual(state.health);
    expect(after!.effectiveConfigHash).toEqual(state.effectiveConfigHash);
    expect(after!.lastSequenceNum).toBe(1);
  });

  it('C73: keeps the nested health tree depth-first, including attributes (field 7)', () => {
    const health = {
      healthy: false,
      lastError: 'exporter down',
      componentHealthMap: {
        a: { healthy: true, componentHealthMap: { b: { healthy: false, lastError: 'x', attributes: [{ key: 'k', value: { intValue: 3 } }] } } },
      },
    };
    const { state } = connectedAgent({ health });
    expect(state.healthy).toBe(false);
    expect(state.health).toEqual({
      healthy: false,
      lastError: 'exporter down',
      componentHealthMap: {
        a: { healthy: true, componentHealthMap: { b: { healthy: false, lastError: 'x', attributes: [{ key: 'k', value: { intValue: 3 } }] } } },
      },
    });
  });

  it('C58: effective config is hashed, offered for storage once, and survives omission', () => {
    const { agent, state } = connectedAgent();
    const map = fullReportFields().effectiveConfig!.configMap!;
    expect(state.effectiveConfigHash).toEqual(configHash(map));
    const same = run(agent, [agent.send({ effectiveConfig: { configMap: map } })], state);
    expect(same.last.effectiveConfig).toBeNull();
    expect(same.last.changes & AgentChange.AGENT_CHANGE_EFFECTIVE_CONFIG).toBe(0);
    const changed = run(agent, [agent.send({ effectiveConfig: { configMap: { configMap: { '': { body: Buffer.from('x: 1') } } } } })], same.state);
    expect(changed.last.effectiveConfig).not.toBeNull();
    expect(changed.last.changes & AgentChange.AGENT_CHANGE_EFFECTIVE_CONFIG).toBeTruthy();
    const omitted = run(agent, [agent.heartbeat(), agent.heartbeat()], changed.state);
    expect(omitted.state!.effectiveConfigHash).toEqual(changed.state!.effectiveConfigHash);
  });

  it('records remote config status, package statuses, custom capabilities and connection settings status', () => {
    const { agent, state } = connectedAgent();
    const { state: s, last } = run(
      agent,
      [
        agent.send({
          remoteConfigStatus: { lastRemoteConfigHash: Buffer.alloc(32, 9), status: 3, errorMessage: 'bad yaml' },
          packageStatuses: { packages: { p: { name: 'p', agentHasVersion: '1.0', status: 0 } }, serverProvidedAllPackagesHash: Buffer.from([1, 2]) },
          customCapabilities: { capabilities: ['com.x.pause'] },
          connectionSettingsStatus: { lastConnectionSettingsHash: Buffer.from([5]), status: 2 },
          customMessage: { capability: 'com.x.pause', type: 'paused', data: Buffer.from('1') },
        }),
      ],
      state,
    );
    expect(last.changes).toBe(
      AgentChange.AGENT_CHANGE_REMOTE_CONFIG_STATUS |
        AgentChange.AGENT_CHANGE_PACKAGE_STATUSES |
        AgentChange.AGENT_CHANGE_CUSTOM_CAPABILITIES |
        AgentChange.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS |
        AgentChange.AGENT_CHANGE_CUSTOM_MESSAGE,
    );
    expect(s!.remoteConfigStatus).toBe(3);
    expect(s!.remoteConfigError).toBe('bad yaml');
    expect(s!.packagesHash).toEqual(Buffer.from([1, 2]));
    expect(s!.packageStatuses).toEqual({ packages: { p: { name: 'p', agentHasVersion: '1.0', status: 0 } }, serverProvidedAllPackagesHash: 'AQI=' });
    expect(s!.customCapabilities).toEqual(['com.x.pause']);
    expect(s!.connectionSettingsHash).toEqual(Buffer.from([5]));
    expect(s!.connectionSettingsStatus).toBe(2);
    // A custom message alone is not a durable change.
    const cm = run(agent, [agent.send({ customMessage: { capability: 'com.x.pause', type: 't' } })], s);
    expect(cm.last.changes).toBe(AgentChange.AGENT_CHANGE_CUSTOM_MESSAGE);
    expect(cm.last.durable).toBe(false);
  });

  it('flattens identifying and non-identifying attributes into string labels, identifying winning', () => {
    const { state } = connectedAgent({
      agentDescription: {
        identifyingAttributes: [{ key: 'env', value: { stringValue: 'prod' } }],
        nonIdentifyingAttributes: [
          { key: 'env', value: { stringValue: 'dev' } },
          { key: 'flag', value: { boolValue: true } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
          { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
          { key: 'kv', value: { kvlistValue: { values: [{ key: 'x', value: { stringValue: 'y' } }] } } },
          { key: 'raw', value: { bytesValue: Buffer.from([255]) } },
          { key: 'none', value: {} },
        ],
      },
    });
    expect(state.labels).toEqual({
      env: 'prod',
      flag: 'true',
      kv: '{"x":"y"}',
      list: '["a",2]',
      none: '',
      ratio: '0.5',
      raw: '/w==',
    });
    expect(state.nonIdentifyingAttributes['host.cpu']).toBeUndefined();
  });
});

describe('applyInbound: sequence numbers and ReportFullState', () => {
  it('C36: a gap asks ReportFullState', () => {
    const { agent, state } = connectedAgent();
    const { last } = run(agent, [agent.send({ sequenceNum: 3 })], state);
    expect(flagsOf(last)).toBe(ServerToAgentFlags.ReportFullState);
    expect(last.pushes[0].instanceUidAsSent).toEqual(agent.uid);
    expect(last.pushes[0].target).toEqual({ gatewayId: 'gw-1', connectionId: agent.connectionId, epoch: 1, transport: Transport.TRANSPORT_WEBSOCKET });
  });

  it('C39: the full report answering the flag gets no flag, and neither do the next ten', () => {
    const { agent, state } = connectedAgent();
    const envs = [agent.send({ sequenceNum: 57 }), agent.full()];
    for (let i = 0; i < 10; i++) envs.push(i % 2 ? agent.heartbeat() : agent.full());
    const { results } = run(agent, envs, state);
    expect(flagsOf(results[0])).toBe(ServerToAgentFlags.ReportFullState);
    expect(results.slice(1).map(flagsOf)).toEqual(new Array(11).fill(0));
  });

  it('C38: an unknown agent with a compressed first message is asked once, never in a loop', () => {
    const agent = new FakeAgent({ firstSeq: 57 });
    const { results, state } = run(agent, [agent.connect(), agent.heartbeat(), agent.heartbeat(), agent.heartbeat()]);
    expect(results.slice(1).map(flagsOf)).toEqual([ServerToAgentFlags.ReportFullState, 0, 0]);
    expect(state!.fullStateRequested).toBe(true);
    const full = run(agent, [agent.full(), agent.heartbeat()], state);
    expect(full.results.map(flagsOf)).toEqual([0, 0]);
    expect(full.state!.fullStateRequested).toBe(false);
  });

  it('asks again on a new connection if the description never came (a lost push is repaired)', () => {
    const agent = new FakeAgent();
    const first = run(agent, [agent.connect(), agent.heartbeat(), agent.heartbeat()]);
    const again = run(agent, [agent.disconnect(), agent.connect(), agent.heartbeat()], first.state);
    expect(flagsOf(again.last)).toBe(ServerToAgentFlags.ReportFullState);
  });

  it('asks once when an agent without stored state omits a sub-message its capabilities promise', () => {
    const agent = new FakeAgent();
    const { results } = run(agent, [agent.send({ ...fullReportFields(), health: null }), agent.heartbeat()]);
    expect(results.map(flagsOf)).toEqual([ServerToAgentFlags.ReportFullState, 0]);
  });

  it('C40: a WS reconnect with continuous seq and omitted fields keeps the state and asks nothing', () => {
    const { agent, state } = connectedAgent();
    const { state: s, results } = run(agent, [agent.heartbeat(), agent.disconnect(), agent.connect('gw-2'), agent.heartbeat()], state);
    expect(results.map(flagsOf)).toEqual([0, 0, 0, 0]);
    expect(s!.connected).toBe(true);
    expect(s!.gatewayId).toBe('gw-2');
    expect(s!.epoch).toBe(2);
    expect(s!.identifyingAttributes).toEqual(state.identifyingAttributes);
    expect(s!.lastSequenceNum).toBe(2);
  });

  it('a retried message (same seq on a new connection) is a gap: answered with ReportFullState', () => {
    const { agent, state } = connectedAgent();
    const { last } = run(agent, [agent.disconnect(), agent.connect(), agent.send({ sequenceNum: 0 })], state);
    expect(flagsOf(last)).toBe(ServerToAgentFlags.ReportFullState);
  });
});

describe('applyInbound: capabilities', () => {
  it('C41: capabilities 0 in a poll keep the previous value', () => {
    const { agent, state } = connectedAgent();
    const { state: s, last } = run(agent, [agent.heartbeat(0)], state);
    expect(s!.capabilities).toBe(COLLECTOR_CAPS);
    expect(last.changes).toBe(0);
  });

  it('a value without ReportsStatus keeps the previous one; a new value with it replaces it (C43)', () => {
    const { agent, state } = connectedAgent();
    const kept = run(agent, [agent.heartbeat(AgentCapabilities.AcceptsRemoteConfig)], state);
    expect(kept.state!.capabilities).toBe(COLLECTOR_CAPS);
    const down = run(agent, [agent.heartbeat(AgentCapabilities.ReportsStatus)], kept.state);
    expect(down.state!.capabilities).toBe(AgentCapabilities.ReportsStatus);
    expect(down.last.changes).toBe(AgentChange.AGENT_CHANGE_CAPABILITIES);
    expect(down.last.durable).toBe(true);
  });

  it('the first value is used as is even without ReportsStatus (Java client)', () => {
    const agent = new FakeAgent();
    const { state } = run(agent, [agent.connect(), agent.full({ capabilities: AgentCapabilities.AcceptsRemoteConfig })]);
    expect(state!.capabilities).toBe(AgentCapabilities.AcceptsRemoteConfig);
  });
});

describe('applyInbound: instance uid assignment', () => {
  it('C49/C50: RequestInstanceUid gets a UUIDv7, echoes the old uid, and the record moves to the new uid', () => {
    const ctx = testContext({ newInstanceUid: () => newInstanceUidV7() });
    const temp = testUid(42);
    const agent = new FakeAgent({ uid: temp });
    const { results, state: tomb } = run(agent, [agent.connect(), agent.full({ flags: 1 })], null, ctx);
    const r = results[1];
    const ident = r.pushes.find((p) => p.kind === 'agent_identification')!;
    const newUid = Buffer.from(ident.message.agentIdentification!.newInstanceUid!);
    expect(newUid).toHaveLength(16);
    expect(isUuidV7(newUid)).toBe(true);
    expect(ident.instanceUidAsSent).toEqual(temp);
    expect(tomb!.replacedBy).toEqual(newUid);
    expect(tomb!.connected).toBe(false);
    expect(r.moved!.instanceUid).toEqual(newUid);
    expect(r.moved!.labels['service.name']).toBe('otelcol');
    expect(r.changes & AgentChange.AGENT_CHANGE_INSTANCE_UID).toBeTruthy();

    // The agent continues under the new uid (its own lease: epoch restarts) with seq+1.
    const moved = new FakeAgent({ uid: newUid });
    moved.seq = agent.seq;
    const next = run(moved, [moved.connect(), moved.heartbeat()], r.moved, ctx);
    expect(next.results.map(flagsOf)).toEqual([0, 0]);
    expect(next.state!.identifyingAttributes).toEqual(r.moved!.identifyingAttributes);
    expect(next.state!.connected).toBe(true);
  });

  it('a replay of the request changes nothing; a repeat before switching gets the same uid', () => {
    const agent = new FakeAgent({ uid: testUid(7) });
    const connect = agent.connect();
    const request = agent.full({ flags: 1 });
    const ctx = testContext();
    const first = run(agent, [connect, request], null, ctx);
    const newUid = first.state!.replacedBy!;
    const replay = run(agent, [connect, request], first.state, ctx);
    expect(replay.results.map((r) => r.ignored)).toEqual(['moved', 'replay']);
    expect(replay.results.flatMap((r) => r.pushes)).toEqual([]);
    const repeat = run(agent, [agent.heartbeat()], first.state, ctx);
    expect(repeat.last.pushes).toEqual([]);
    const repeatFlag = run(agent, [agent.send({ flags: 1 })], first.state, ctx);
    expect(repeatFlag.last.pushes[0].message.agentIdentification!.newInstanceUid).toEqual(newUid);
    expect(ctx.issued).toHaveLength(1);
  });

  it('C52: two live WS connections for one uid: the older one is told to take a new uid, once', () => {
    const original = new FakeAgent({ uid: testUid(9) });
    const clone = new FakeAgent({ uid: testUid(9), gatewayId: 'gw-2' });
    const ctx = testContext();
    let { state } = run(original, [original.connect(), original.full()], null, ctx);
    // The clone connects later: the gateway's lease gives it the next epoch.
    clone.epoch = original.epoch;
    clone.seq = 100;
    clone.clockMs = original.clockMs + 10;
    ({ state } = run(clone, [clone.connect(), clone.full()], state, ctx));
    expect(state!.connectionId).toBe(clone.connectionId);
    // The original is still alive and sends after the clone connected.
    original.clockMs = clone.clockMs + 10;
    const dup = run(original, [original.heartbeat(), original.heartbeat()], state, ctx);
    expect(dup.results[0].ignored).toBe('duplicate-connection');
    expect(dup.results[0].durable).toBe(true);
    const push = dup.results[0].pushes[0];
    expect(push.kind).toBe('agent_identification');
    expect(push.target.connectionId).toBe(original.connectionId);
    expect(push.target.gatewayId).toBe('gw-1');
    expect(push.instanceUidAsSent).toEqual(testUid(9));
    expect(dup.results[1].pushes).toEqual([]);
    // The record still belongs to the newer connection.
    expect(dup.state!.connectionId).toBe(clone.connectionId);
    expect(dup.state!.lastSequenceNum).toBe(101);
  });

  it('a message of an older connection received before the newer one connected is stale, not a duplicate', () => {
    const agent = new FakeAgent();
    const connect1 = agent.connect();
    const late = agent.heartbeat();
    const { state } = run(agent, [connect1, agent.full()]);
    const newer = run(agent, [agent.connect()], state);
    // `late` was received before the second connection (clock), delivered after it.
    const r = applyInbound(newer.state, agent.record({ ...late, epoch: 1 }), testContext());
    expect(r.ignored).toBe('stale-epoch');
    expect(r.pushes).toEqual([]);
  });
});

describe('applyInbound: available components (C74)', () => {
  const AC = COLLECTOR_CAPS | AgentCapabilities.ReportsAvailableComponents;
  const hash = Buffer.alloc(32, 3);

  it('an unknown hash without the map asks ReportAvailableComponents once; the map stores it', () => {
    const { agent, state } = connectedAgent({ capabilities: AC, availableComponents: { hash } });
    expect(state.componentsRequestedHash).toEqual(hash);
    const again = run(agent, [agent.send({ availableComponents: { hash } })], state);
    expect(again.last.pushes).toEqual([]);
    const map = run(
      agent,
      [agent.send({ availableComponents: { hash, components: { receivers: { subComponentMap: { otlp: { metadata: [{ key: 'v', value: { stringValue: '1' } }] } } } } } })],
      again.state,
    );
    expect(map.last.availableComponents!.hash).toEqual(hash);
    expect(map.last.availableComponents!.content).toEqual({
      receivers: { subComponentMap: { otlp: { metadata: [{ key: 'v', value: { stringValue: '1' } }] } } },
    });
    expect(map.state!.componentsRequestedHash).toBeNull();
  });

  it('the first report with an unknown hash gets the flag', () => {
    const agent = new FakeAgent();
    const { results } = run(agent, [agent.connect(), agent.full({ capabilities: AC, availableComponents: { hash } })]);
    expect(flagsOf(results[1])).toBe(ServerToAgentFlags.ReportAvailableComponents);
  });

  it('a known hash gets no flag, nor does an agent without ReportsAvailableComponents', () => {
    const agent = new FakeAgent();
    const known = run(agent, [agent.connect(), agent.full({ capabilities: AC, availableComponents: { hash } })], null, testContext({ knownComponents: [hash] }));
    expect(flagsOf(known.last)).toBe(0);
    expect(known.last.changes & AgentChange.AGENT_CHANGE_AVAILABLE_COMPONENTS).toBeTruthy();
    const other = new FakeAgent();
    const noCap = run(other, [other.connect(), other.full({ availableComponents: { hash } })]);
    expect(flagsOf(noCap.last)).toBe(0);
  });
});

describe('applyInbound: liveness and connections', () => {
  it('C77: agent_disconnect marks the agent offline at once (WS)', () => {
    const { agent, state } = connectedAgent();
    const { state: s, last } = run(agent, [agent.send({ agentDisconnect: {} })], state);
    expect(s!.connected).toBe(false);
    expect(s!.disconnectReason).toBe(DisconnectReason.DISCONNECT_REASON_AGENT_DISCONNECT);
    expect(last.changes).toBe(AgentChange.AGENT_CHANGE_CONNECTION);
    expect(last.pushes).toEqual([]);
    // The gateway's disconnected event that follows changes nothing.
    expect(run(agent, [agent.disconnect(DisconnectReason.DISCONNECT_REASON_AGENT_DISCONNECT)], s).last.ignored).toBe('not-current-connection');
  });

  it('C77: plain HTTP: polling keeps the agent connected without row writes; agent_disconnect takes it offline', () => {
    const agent = new FakeAgent({ transport: Transport.TRANSPORT_HTTP });
    const { state, results } = run(agent, [agent.full(), agent.heartbeat(), agent.heartbeat()]);
    expect(results.map((r) => r.durable)).toEqual([true, false, false]);
    expect(state!.connected).toBe(true);
    expect(state!.connectionId).toBe(agent.connectionId);
    expect(state!.epoch).toBe(agent.epoch);
    const off = run(agent, [agent.send({ agentDisconnect: {} })], state);
    expect(off.state!.connected).toBe(false);
    expect(off.last.durable).toBe(true);
  });

  it('transport close takes the agent offline; a drain or takeover only drops the owner', () => {
    const { agent, state } = connectedAgent();
    const closed = run(agent, [agent.disconnect(DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED)], state);
    expect(closed.state!.connected).toBe(false);
    const drained = run(agent, [agent.disconnect(DisconnectReason.DISCONNECT_REASON_GATEWAY_DRAIN)], state);
    expect(drained.state!.connected).toBe(true);
    expect(drained.state!.gatewayId).toBeNull();
    expect(drained.last.changes).toBe(AgentChange.AGENT_CHANGE_CONNECTION);
    const event = buildAgentEvent(drained.state!, drained.last.changes, 1);
    expect(event.owner!.connected).toBe(false);
    // ... and it comes back elsewhere with continuous sequence numbers.
    const back = run(agent, [agent.connect('gw-9'), agent.heartbeat()], drained.state);
    expect(back.results.map(flagsOf)).toEqual([0, 0]);
    expect(back.state!.gatewayId).toBe('gw-9');
  });

  it('a message clears the stale mark', () => {
    const { agent, state } = connectedAgent();
    const { state: s, last } = run(agent, [agent.heartbeat()], { ...state, stale: true });
    expect(s!.stale).toBe(false);
    expect(last.changes).toBe(AgentChange.AGENT_CHANGE_CONNECTION);
    expect(last.durable).toBe(true);
  });

  it('a disconnect for an unknown agent is ignored', () => {
    const agent = new FakeAgent();
    expect(applyInbound(null, agent.record(agent.disconnect()), testContext()).ignored).toBe('unknown-agent');
  });
});

describe('applyInbound: the credential of the connection', () => {
  const AGENT = fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT;
  const ENROLLMENT = fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT;

  it('records the credential a WS connection was admitted with, and reports a switch to the agent\'s own', () => {
    const { agent, state } = connectedAgent();
    expect(state.credentialId).toBe('enrollment-1');
    expect(state.credentialKind).toBe(ENROLLMENT);
    agent.credentialId = 'own-1';
    agent.credentialKind = AGENT;
    const { state: after, results } = run(agent, [agent.connect(), agent.heartbeat()], state);
    expect(results[0].changes & AgentChange.AGENT_CHANGE_CREDENTIAL).toBeTruthy();
    expect(after!.credentialId).toBe('own-1');
    expect(after!.credentialKind).toBe(AGENT);
    const event = buildAgentEvent(after!, results[0].changes, 0);
    expect(event.credentialId).toBe('own-1');
    expect(event.credentialKind).toBe(AGENT);
    // The same credential again is no change.
    const again = run(agent, [agent.connect()], after);
    expect(again.last.changes & AgentChange.AGENT_CHANGE_CREDENTIAL).toBeFalsy();
  });

  it('notices a plain-HTTP agent polling with another credential, and writes it', () => {
    const agent = new FakeAgent({ transport: fleet.v1.Transport.TRANSPORT_HTTP });
    const { state } = run(agent, [agent.full()]);
    agent.credentialId = 'own-2';
    agent.credentialKind = AGENT;
    const r = applyInbound(state, agent.record(agent.heartbeat()), testContext());
    expect(r.changes & AgentChange.AGENT_CHANGE_CREDENTIAL).toBeTruthy();
    expect(r.durable).toBe(true);
    expect(r.state!.credentialId).toBe('own-2');
  });
});

describe('applyInbound: enrollment labels', () => {
  it('merges the labels the agent enrolled with into the labels of every description it reports, winning on the same key', () => {
    const agent = new FakeAgent();
    const { state } = run(agent, [agent.connect()]);
    state!.enrollmentLabels = { env: 'prod', 'os.type': 'enrolled' };
    const { state: after, last } = run(agent, [agent.full({ agentDescription: description('otelcol', { env: 'dev', zone: 'a' }) })], state);
    expect(last.changes & AgentChange.AGENT_CHANGE_DESCRIPTION).toBeTruthy();
    expect(after!.labels).toEqual({ env: 'prod', 'host.cpu': '4', 'os.type': 'enrolled', 'service.instance.id': 'otelcol-1', 'service.name': 'otelcol', zone: 'a' });
    expect(buildAgentEvent(after!, last.changes, 0).labels).toContainEqual({ key: 'env', value: 'prod' });
  });
});

describe('applyInbound: replay safety', () => {
  it('applying the same records twice leaves the same state and does nothing the second time', () => {
    const agent = new FakeAgent();
    const envs = [
      agent.connect(),
      agent.full(),
      agent.heartbeat(),
      agent.send({ health: { healthy: false, lastError: 'x' } }),
      agent.disconnect(),
      agent.connect(),
      agent.heartbeat(),
    ];
    const once = run(agent, envs);
    const twice = run(agent, envs, once.state);
    expect(twice.state).toEqual(once.state);
    expect(twice.results.every((r) => r.ignored !== null && !r.durable && r.pushes.length === 0)).toBe(true);
  });

  it('a record of an older epoch changes nothing', () => {
    const { agent, state } = connectedAgent();
    const old = { ...agent.send({ health: { healthy: false } }), epoch: 0 };
    const r = applyInbound(state, agent.record(old), testContext());
    expect(r.ignored).toBe('stale-epoch');
    expect(r.state).toBe(state);
  });

  it('a `connected` for an epoch already seen changes nothing', () => {
    const agent = new FakeAgent();
    const connect = agent.connect();
    const { state } = run(agent, [connect, agent.full()]);
    expect(applyInbound(state, agent.record(connect), testContext()).ignored).toBe('stale-epoch');
  });
});

describe('pushes and events', () => {
  it('coalesce per connection: flags OR-ed, identification kept, uid as sent', () => {
    const uid = testUid(1);
    const target = { gatewayId: 'g', connectionId: 'c', epoch: 3, transport: Transport.TRANSPORT_WEBSOCKET };
    const base = { tenantId: 't', instanceUid: uid, instanceUidAsSent: uid, target };
    const pushes = coalescePushes([
      { ...base, kind: 'flags', message: { flags: 1 } },
      { ...base, kind: 'flags', message: { flags: 2 } },
      { ...base, kind: 'agent_identification', message: { agentIdentification: { newInstanceUid: testUid(2) } } },
      { ...base, target: { ...target, connectionId: 'other' }, kind: 'flags', message: { flags: 1 } },
    ]);
    expect(pushes).toHaveLength(2);
    expect(pushes[0].byKind.get('flags')).toEqual({ instanceUid: uid, flags: 3 });
    expect(mergeKinds(pushes[0])).toEqual({ instanceUid: uid, flags: 3, agentIdentification: { newInstanceUid: testUid(2) } });
  });

  it('an event carries what config-service needs', () => {
    const { state } = connectedAgent({ customCapabilities: { capabilities: ['com.x'] } });
    const e = buildAgentEvent({ ...state, recordVersion: 4 }, 3, 99, testUid(5));
    expect(e).toMatchObject({
      tenantId: state.tenantId,
      instanceUid: state.instanceUid,
      changes: 3,
      capabilities: COLLECTOR_CAPS,
      reportedRemoteConfigHash: Buffer.alloc(32, 7),
      remoteConfigStatus: 1,
      owner: { connected: true, gatewayId: 'gw-1', epoch: 1, transport: Transport.TRANSPORT_WEBSOCKET },
      customCapabilities: ['com.x'],
      previousInstanceUid: testUid(5),
      occurredAtUnixMs: 99,
      recordVersion: 4,
    });
    expect(e.labels!.map((l) => l.key)).toEqual(['host.cpu', 'os.type', 'service.instance.id', 'service.name']);
  });
});

describe('applyInbound: certificate requests (issue 18)', () => {
  const PEM = Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n');

  it('passes a CSR on with the event as sent, without a row write of its own', () => {
    const { agent, state } = connectedAgent();
    const r = applyInbound(state, agent.record(agent.send({ connectionSettingsRequest: { opamp: { certificateRequest: { csr: PEM } } } })), testContext());
    expect(r.changes & AgentChange.AGENT_CHANGE_CERTIFICATE_REQUEST).toBeTruthy();
    expect(r.certificateRequest).toEqual(PEM);
    expect(r.durable).toBe(false);
    expect(buildAgentEvent(r.state!, r.changes, 0, null, r.certificateRequest ?? null).certificateRequestCsr).toEqual(PEM);
  });

  it('cuts a huge CSR to one byte over what config-service accepts (refused there as too large; never megabytes on Kafka)', () => {
    const { agent, state } = connectedAgent();
    const huge = Buffer.alloc(2 * 1024 * 1024, 0x41);
    const r = applyInbound(state, agent.record(agent.send({ connectionSettingsRequest: { opamp: { certificateRequest: { csr: huge } } } })), testContext());
    expect(r.certificateRequest?.length).toBe(INGEST_DEFAULTS.maxCertificateRequestBytes);
    expect(INGEST_DEFAULTS.maxCertificateRequestBytes).toBe(MAX_CSR_BYTES + 1);
  });

  it('passes an empty CSR on too (config-service refuses it), and a message without one carries none', () => {
    const { agent, state } = connectedAgent();
    const empty = applyInbound(state, agent.record(agent.send({ connectionSettingsRequest: { opamp: { certificateRequest: {} } } })), testContext());
    expect(empty.changes & AgentChange.AGENT_CHANGE_CERTIFICATE_REQUEST).toBeTruthy();
    expect(empty.certificateRequest).toEqual(Buffer.alloc(0));
    const none = applyInbound(empty.state, agent.record(agent.heartbeat()), testContext());
    expect(none.changes & AgentChange.AGENT_CHANGE_CERTIFICATE_REQUEST).toBeFalsy();
    expect(none.certificateRequest).toBeUndefined();
    expect(buildAgentEvent(none.state!, none.changes, 0).certificateRequestCsr).toBeUndefined();
  });
});
