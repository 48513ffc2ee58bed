/**
 * What the OpAMP edge needs from the rest of the system, as small interfaces.
 * Distributed mode plugs in Kafka and Redis (./adapters); the embedded mode
 * plugs in in-process twins. The edge's rules are the same code either way.
 */
import type { AgentTokenEntry, ConnectionLease, LeaseAcquisition, PendingItem } from '@opamp/bus-redis';

export type { ConnectionLease, LeaseAcquisition, PendingItem };

/**
 * The shared credential directory, read when a presented credential is not
 * known here: its announcement can trail the offer that made the agent use it
 * (they travel on different Redis connections, and a busy gateway reads a
 * rotation's burst of announcements late).
 */
export interface CredentialLookup {
  /** The directory's entry under this digest, or null. */
  lookup(digest: string): Promise<AgentTokenEntry | null>;
}

/** The ordered, durable stream of AgentInbound envelopes (opamp.agent-inbound). */
export interface InboundSink {
  /** Queues one envelope on the agent's ordered stream; resolves once it is durable. */
  send(key: Buffer, envelope: Buffer): Promise<void>;
  /** Envelopes sent but not yet durable, and their bytes: the edge refuses work above its limits. */
  readonly backlog: number;
  readonly backlogBytes: number;
  close(): Promise<void>;
}

/** Connection ownership with fencing epochs (Redis leases). */
export interface LeaseStore {
  /** Exclusive: refused (not taken over) while another connection holds the agent. */
  acquire(tenantId: string, instanceUidHex: string, gatewayId: string, connectionId: string, exclusive?: boolean): Promise<LeaseAcquisition>;
  refresh(tenantId: string, instanceUidHex: string, lease: ConnectionLease): Promise<boolean>;
  release(tenantId: string, instanceUidHex: string, lease: ConnectionLease): Promise<boolean>;
}

/** Other gateways' channels, to hand a taken-over agent's old connection its notice. */
export interface PeerGateways {
  /** Returns how many gateways received it (0: that gateway is gone). */
  publish(gatewayId: string, payload: Buffer): Promise<number>;
}

/** This gateway's channel of GatewayPush messages. */
export interface PushInbox {
  start(listener: (payload: Buffer) => void): Promise<void>;
  stop(): Promise<void>;
}

/** ServerToAgent items waiting for plain-HTTP agents (latest of each kind). */
export interface PendingStore {
  take(tenantId: string, instanceUidHex: string): Promise<PendingItem[]>;
  /** Puts an item back unless a newer one of its kind arrived meanwhile. */
  putBack(tenantId: string, instanceUidHex: string, item: PendingItem): Promise<void>;
  /**
   * take() for a poll on `credentialId`, with what was held for the agent on
   * another credential; `holding`: a switch away from this one is under way.
   */
  takeFor?(tenantId: string, instanceUidHex: string, credentialId: string): Promise<{ items: PendingItem[]; holding: boolean }>;
  /** Keeps what a reply on `credentialId` delivered while the agent switches away from it. */
  hold?(tenantId: string, instanceUidHex: string, credentialId: string, items: readonly PendingItem[]): Promise<void>;
}

/**
 * Where the OTLP receiver's accepted requests go (issue 19): AgentTelemetry
 * envelopes keyed by instance_uid, on the opamp.agent-telemetry topic
 * (distributed) or to the in-process consumer (embedded). Apart from the
 * inbound sink so that telemetry never queues before OpAMP messages.
 */
export interface TelemetrySink {
  /** Resolves once the record is durable (or handed to the consumer). */
  send(key: Buffer, record: Buffer): Promise<void>;
}
