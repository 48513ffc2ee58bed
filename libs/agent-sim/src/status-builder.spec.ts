import {
  AgentCapabilities,
  decodeAgentToServer,
  decodeWsMessage,
  encodeAgentToServer,
  encodeAgentToServerFrame,
  newInstanceUidV7,
  RemoteConfigStatuses,
} from '@opamp/protocol';
import { DEFAULT_AGENT_CAPABILITIES } from './agent-options';
import { buildAgentToServer, componentsHash, FULL_STATE_PARTS, StatusPart, toAnyValue, type StatusSnapshot } from './status-builder';

const uid = newInstanceUidV7();
const ALL_REPORTS =
  DEFAULT_AGENT_CAPABILITIES | AgentCapabilities.ReportsAvailableComponents;

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    instanceUid: uid,
    sequenceNum: 7,
    capabilities: ALL_REPORTS,
    description: { identifying: { 'service.name': 'otelcol', 'service.instance.id': 'i-1' }, nonIdentifying: { 'os.type': 'linux', cpus: 4, load: 0.5, spot: true } },
    health: { healthy: false, status: 'degraded', lastError: 'exporter down' },
    startTimeMs: 1_700_000_000_000,
    healthTimeMs: 1_700_000_001_000,
    effectiveConfig: { configMap: { '': { body: Buffer.from('receivers: {}'), contentType: 'text/yaml' } } },
    remoteConfig: { hash: Buffer.alloc(32, 1), status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED, errorMessage: 'bad yaml' },
    customCapabilities: ['io.example.echo/v1'],
    availableComponents: { components: { receivers: { subComponentMap: { otlp: { metadata: [] } } } } },
    ...overrides,
  };
}

/** Encode and decode through the protocol lib, as a server would see it. */
function roundTrip(parts: number, overrides: Partial<StatusSnapshot> = {}, extras?: Parameters<typeof buildAgentToServer>[2]) {
  return decodeAgentToServer(decodeWsMessage(encodeAgentToServerFrame(buildAgentToServer(snapshot(overrides), parts, extras))));
}

describe('buildAgentToServer', () => {
  it('builds the full state with every sub-message the capabilities announce', () => {
    const m = roundTrip(FULL_STATE_PARTS);
    expect(Buffer.from(m.instanceUid).equals(uid)).toBe(true);
    expect(m.sequenceNum).toBe(7);
    expect(m.capabilities).toBe(ALL_REPORTS);
    expect(m.agentDescription?.identifyingAttributes?.map((kv) => kv.key)).toEqual(['service.name', 'service.instance.id']);
    const nonId = Object.fromEntries((m.agentDescription?.nonIdentifyingAttributes ?? []).map((kv) => [kv.key, kv.value]));
    expect(nonId['os.type']?.stringValue).toBe('linux');
    expect(nonId['cpus']?.intValue).toBe(4);
    expect(nonId['load']?.doubleValue).toBe(0.5);
    expect(nonId['spot']?.boolValue).toBe(true);
    expect(m.health).toMatchObject({ healthy: false, status: 'degraded', lastError: 'exporter down' });
    expect(m.health?.statusTimeUnixNano).toBeCloseTo(1_700_000_001_000 * 1e6, -4);
    expect(Buffer.from(m.effectiveConfig!.configMap!.configMap![''].body!).toString()).toBe('receivers: {}');
    expect(m.remoteConfigStatus).toMatchObject({ status: RemoteConfigStatuses.RemoteConfigStatuses_FAILED, errorMessage: 'bad yaml' });
    expect(Buffer.from(m.remoteConfigStatus!.lastRemoteConfigHash!).equals(Buffer.alloc(32, 1))).toBe(true);
    expect(m.customCapabilities?.capabilities).toEqual(['io.example.echo/v1']);
    // First report: components by hash only.
    expect(m.availableComponents?.hash?.length).toBe(32);
    expect(Object.keys(m.availableComponents?.components ?? {})).toEqual([]);
    expect(m.agentDisconnect).toBeFalsy();
  });

  it('compresses a heartbeat to uid, sequence number and capabilities', () => {
    const message = buildAgentToServer(snapshot(), 0);
    expect(Object.keys(message).sort()).toEqual(['capabilities', 'instanceUid', 'sequenceNum']);
    // tag+len+16 bytes, tag+1-byte varint seq, tag+3-byte varint caps (>= 0x4000).
    expect(encodeAgentToServer(message).length).toBe(18 + 2 + 4);
  });

  it('carries exactly the parts asked for', () => {
    const m = roundTrip(StatusPart.Health | StatusPart.RemoteConfigStatus);
    expect(m.health).toBeTruthy();
    expect(m.remoteConfigStatus).toBeTruthy();
    expect(m.agentDescription).toBeFalsy();
    expect(m.effectiveConfig).toBeFalsy();
    expect(m.customCapabilities).toBeFalsy();
    expect(m.availableComponents).toBeFalsy();
  });

  it('leaves out what the capabilities do not announce', () => {
    const m = roundTrip(FULL_STATE_PARTS, { capabilities: AgentCapabilities.ReportsStatus });
    expect(m.agentDescription).toBeTruthy();
    expect(m.health).toBeFalsy();
    expect(m.effectiveConfig).toBeFalsy();
    expect(m.remoteConfigStatus).toBeFalsy();
    expect(m.availableComponents).toBeFalsy();
  });

  it('reports an UNSET remote config status before any config arrived', () => {
    const m = roundTrip(FULL_STATE_PARTS, { remoteConfig: { status: RemoteConfigStatuses.RemoteConfigStatuses_UNSET } });
    expect(m.remoteConfigStatus).toBeTruthy();
    expect(m.remoteConfigStatus?.status).toBe(RemoteConfigStatuses.RemoteConfigStatuses_UNSET);
    expect(m.remoteConfigStatus?.lastRemoteConfigHash?.length ?? 0).toBe(0);
  });

  it('sends the full component map on request, with a deterministic hash', () => {
    const m = roundTrip(StatusPart.AvailableComponentsFull);
    expect(Object.keys(m.availableComponents?.components ?? {})).toEqual(['receivers']);
    const a = componentsHash({ components: { a: { metadata: [] }, b: { metadata: [] } } });
    const b = componentsHash({ components: { b: { metadata: [] }, a: { metadata: [] } } });
    expect(a.equals(b)).toBe(true);
    expect(Buffer.from(m.availableComponents!.hash!).equals(componentsHash(snapshot().availableComponents!))).toBe(true);
  });

  it('reports package statuses with ReportsPackageStatuses once there are some, download details included', () => {
    const packageStatuses = {
      packages: { otelcol: { name: 'otelcol', serverOfferedVersion: '2.0.0', status: 3, downloadDetails: { downloadPercent: 40, downloadBytesPerSecond: 1000 } } },
      serverProvidedAllPackagesHash: Buffer.alloc(32, 2),
    };
    const caps = ALL_REPORTS | AgentCapabilities.AcceptsPackages | AgentCapabilities.ReportsPackageStatuses;
    const full = decodeAgentToServer(encodeAgentToServer(buildAgentToServer(snapshot({ capabilities: caps, packageStatuses }), FULL_STATE_PARTS)));
    expect(full.packageStatuses?.packages?.['otelcol']).toMatchObject({ serverOfferedVersion: '2.0.0', status: 3, downloadDetails: { downloadPercent: 40, downloadBytesPerSecond: 1000 } });
    expect(buildAgentToServer(snapshot({ capabilities: caps }), FULL_STATE_PARTS).packageStatuses).toBeUndefined();
    expect(buildAgentToServer(snapshot({ packageStatuses }), StatusPart.PackageStatuses).packageStatuses).toBeUndefined();
  });

  it('adds agent_disconnect, a custom message and flags when asked', () => {
    const m = roundTrip(0, {}, { disconnect: true, customMessage: { capability: 'io.example.echo/v1', type: 'ping', data: Buffer.from('x') }, flags: 1 });
    expect(m.agentDisconnect).toBeTruthy();
    expect(m.customMessage?.type).toBe('ping');
    expect(m.flags).toBe(1);
  });

  it('encodes integers as int_value and everything else by its type', () => {
    expect(toAnyValue(3)).toEqual({ intValue: 3 });
    expect(toAnyValue(3.5)).toEqual({ doubleValue: 3.5 });
    expect(toAnyValue(2 ** 60)).toEqual({ doubleValue: 2 ** 60 });
    expect(toAnyValue('x')).toEqual({ stringValue: 'x' });
    expect(toAnyValue(false)).toEqual({ boolValue: false });
  });
});
