/**
 * Shared factories for ingest tests (unit and integration): agents that speak
 * like the gateway reports them (envelopes with raw AgentToServer bytes), full
 * reports, heartbeats, and a deterministic apply context.
 */
import { AgentInboundCodec, fleet } from '@opamp/contracts';
import {
  AgentCapabilities,
  decodeAgentToServer,
  encodeAgentToServer,
  newInstanceUidV7,
  type AgentToServer,
  type IAgentToServer,
} from '@opamp/protocol';
import type { ApplyContext, InboundRecord } from '../core/apply-inbound';

export const TEST_TENANT = 'tenant-test';

/** Capabilities of a typical collector: status, remote config, effective config, health, remote config status, heartbeat. */
export const COLLECTOR_CAPS =
  AgentCapabilities.ReportsStatus |
  AgentCapabilities.AcceptsRemoteConfig |
  AgentCapabilities.ReportsEffectiveConfig |
  AgentCapabilities.ReportsHealth |
  AgentCapabilities.ReportsRemoteConfig |
  AgentCapabilities.ReportsHeartbeat;

/** A deterministic 16-byte uid (UUIDv7 layout) for agent number `n`. */
export function testUid(n: number, salt = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUIntBE(0x018f00000000 + salt, 0, 6);
  b[6] = 0x70;
  b[8] = 0x80;
  b.writeUInt32BE(n >>> 0, 12);
  return b;
}

/** A message as the consumer sees it: encoded by the agent, decoded by us. */
export function agentToServer(fields: IAgentToServer): AgentToServer {
  return decodeAgentToServer(encodeAgentToServer(fields));
}

export function description(name = 'otelcol', extra: Record<string, string> = {}): IAgentToServer['agentDescription'] {
  return {
    identifyingAttributes: [
      { key: 'service.name', value: { stringValue: name } },
      { key: 'service.instance.id', value: { stringValue: `${name}-1` } },
    ],
    nonIdentifyingAttributes: [
      { key: 'os.type', value: { stringValue: 'linux' } },
      { key: 'host.cpu', value: { intValue: 4 } },
      ...Object.entries(extra).map(([key, v]) => ({ key, value: { stringValue: v } })),
    ],
  };
}

/** Every sub-message COLLECTOR_CAPS promises, plus a description. */
export function fullReportFields(overrides: IAgentToServer = {}): IAgentToServer {
  return {
    capabilities: COLLECTOR_CAPS,
    agentDescription: description(),
    health: {
      healthy: true,
      startTimeUnixNano: 1_700_000_000_000_000,
      status: 'running',
      componentHealthMap: {
        'pipeline:traces': {
          healthy: true,
          status: 'ok',
          componentHealthMap: { 'receiver:otlp': { healthy: true, status: 'ok' } },
        },
      },
    },
    effectiveConfig: { configMap: { configMap: { '': { body: Buffer.from('receivers: {}\n'), contentType: 'text/yaml' } } } },
    remoteConfigStatus: { lastRemoteConfigHash: Buffer.alloc(32, 7), status: 1 },
    ...overrides,
  };
}

export interface FakeAgentOptions {
  tenantId?: string;
  uid?: Buffer;
  gatewayId?: string;
  transport?: number;
  /** First sequence number (opamp-go starts at 0, Node and Java at 1). */
  firstSeq?: number;
  /** Receive time of the first record; each record adds one ms. */
  startMs?: number;
}

/**
 * One agent as the gateway reports it: connections (epoch rises with each),
 * messages with rising sequence numbers, disconnects. Produces envelopes ready
 * for Kafka (`toKafka`) or for the pure core (`record`).
 */
export class FakeAgent {
  readonly tenantId: string;
  uid: Buffer;
  gatewayId: string;
  transport: number;
  epoch = 0;
  seq: number;
  connectionId = '';
  clockMs: number;
  /** The credential the gateway admitted the connection with (what it puts in every envelope). */
  credentialId = 'enrollment-1';
  credentialKind: number = fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT;
  private connections = 0;

  constructor(options: FakeAgentOptions = {}) {
    this.tenantId = options.tenantId ?? TEST_TENANT;
    this.uid = options.uid ?? newInstanceUidV7();
    this.gatewayId = options.gatewayId ?? 'gw-1';
    this.transport = options.transport ?? fleet.v1.Transport.TRANSPORT_WEBSOCKET;
    this.seq = (options.firstSeq ?? 0) - 1;
    this.clockMs = options.startMs ?? 1_700_000_000_000;
  }

  private base(): fleet.v1.IAgentInbound {
    this.clockMs += 1;
    return {
      tenantId: this.tenantId,
      gatewayId: this.gatewayId,
      connectionId: this.connectionId,
      epoch: this.epoch,
      transport: this.transport,
      receivedAtUnixMs: this.clockMs,
      credentialId: this.credentialId,
      credentialKind: this.credentialKind,
    };
  }

  /** A new WS connection: higher epoch, new connection id, a `connected` event. */
  connect(gatewayId = this.gatewayId): fleet.v1.IAgentInbound {
    this.gatewayId = gatewayId;
    this.epoch += 1;
    this.connections += 1;
    this.connectionId = `${this.gatewayId}-${this.uid.toString('hex').slice(-8)}-c${this.connections}`;
    return { ...this.base(), connected: { remoteAddress: '127.0.0.1:1', userAgent: 'fake' } };
  }

  /** A message; sequence numbers rise by one unless `sequenceNum` is given. Plain HTTP gets a new epoch and connection id per request. */
  send(fields: IAgentToServer = {}): fleet.v1.IAgentInbound {
    if (this.transport === fleet.v1.Transport.TRANSPORT_HTTP) {
      this.epoch += 1;
      this.connections += 1;
      this.connectionId = `${this.uid.toString('hex').slice(-8)}-r${this.connections}`;
    }
    if (fields.sequenceNum === undefined || fields.sequenceNum === null) this.seq += 1;
    else this.seq = Number(fields.sequenceNum);
    const msg: IAgentToServer = { capabilities: COLLECTOR_CAPS, ...fields, instanceUid: fields.instanceUid ?? this.uid, sequenceNum: this.seq };
    return { ...this.base(), agentToServer: encodeAgentToServer(msg) };
  }

  full(overrides: IAgentToServer = {}): fleet.v1.IAgentInbound {
    return this.send(fullReportFields(overrides));
  }

  heartbeat(capabilities: number = COLLECTOR_CAPS): fleet.v1.IAgentInbound {
    return this.send({ capabilities });
  }

  disconnect(reason: number = fleet.v1.DisconnectReason.DISCONNECT_REASON_TRANSPORT_CLOSED): fleet.v1.IAgentInbound {
    return { ...this.base(), disconnected: { reason } };
  }

  /** The record for the pure core (key + decoded message). */
  record(envelope: fleet.v1.IAgentInbound, key: Buffer = this.uid): InboundRecord {
    return toInboundRecord(key, envelope);
  }

  /** The Kafka message the gateway would produce. */
  toKafka(envelope: fleet.v1.IAgentInbound, key: Buffer = this.uid): { key: Buffer; value: Buffer } {
    return { key, value: AgentInboundCodec.encode(envelope) };
  }
}

export function toInboundRecord(key: Buffer, envelope: fleet.v1.IAgentInbound): InboundRecord {
  const bytes = envelope.agentToServer;
  return {
    instanceUid: key,
    envelope,
    message: bytes && (envelope.connected == null && envelope.disconnected == null) ? decodeAgentToServer(bytes) : null,
  };
}

/** A deterministic context: fixed clock, numbered new uids, a settable set of known component hashes. */
export function testContext(overrides: Partial<ApplyContext> & { knownComponents?: Buffer[] } = {}): ApplyContext & {
  issued: Buffer[];
} {
  const issued: Buffer[] = [];
  const known = new Set((overrides.knownComponents ?? []).map((h) => h.toString('hex')));
  return {
    nowMs: overrides.nowMs ?? 1_800_000_000_000,
    newInstanceUid:
      overrides.newInstanceUid ??
      (() => {
        const u = testUid(issued.length + 1, 0xabc);
        issued.push(u);
        return u;
      }),
    isKnownComponentsHash: overrides.isKnownComponentsHash ?? ((h) => known.has(h.toString('hex'))),
    issued,
  };
}
