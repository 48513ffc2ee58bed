/**
 * The merged record of one agent as status-ingest knows it (one row of the
 * `agents` table), plus the pieces of work applying an inbound record yields.
 */
import { fleet } from '@opamp/contracts';
import type { IServerToAgent } from '@opamp/protocol';
import type { JsonObject, JsonValue } from './json';

export const Transport = fleet.v1.Transport;
export const DisconnectReason = fleet.v1.DisconnectReason;
export const AgentChange = fleet.v1.AgentChange;

/** disconnect_reason written by the liveness sweep (outside fleet.v1.DisconnectReason). */
export const DISCONNECT_REASON_LIVENESS_TIMEOUT = 100;
/** disconnect_reason of agents still counted connected when the process that held every connection started again. */
export const DISCONNECT_REASON_SERVER_RESTART = 101;

export interface AgentState {
  tenantId: string;
  /** The 16-byte key (Kafka key, primary key). */
  instanceUid: Buffer;

  /** Latest capabilities in force (0 / no ReportsStatus keeps the previous value). */
  capabilities: number;
  descriptionReported: boolean;
  identifyingAttributes: JsonObject;
  nonIdentifyingAttributes: JsonObject;
  /** Attribute-derived labels with the enrollment labels over them (core/enrollment-labels.ts). */
  labels: Record<string, string>;
  /** The labels of the enrollment token the agent came in with (looked up when its credential changes). */
  enrollmentLabels: Record<string, string>;
  health: JsonObject | null;
  healthy: boolean | null;
  effectiveConfigHash: Buffer | null;
  remoteConfigHash: Buffer | null;
  remoteConfigStatus: number;
  remoteConfigError: string | null;
  packageStatuses: JsonObject | null;
  packagesHash: Buffer | null;
  customCapabilities: string[];
  availableComponentsHash: Buffer | null;
  connectionSettingsHash: Buffer | null;
  connectionSettingsStatus: number;
  connectionSettingsError: string | null;

  /** Highest connection epoch seen (fencing token). */
  epoch: number;
  /** Epoch of the connection that sent lastSequenceNum. */
  seqEpoch: number;
  lastSequenceNum: number | null;
  fullStateRequested: boolean;
  componentsRequestedHash: Buffer | null;

  /** Counted as connected (WS connection open, or an HTTP agent still polling). */
  connected: boolean;
  stale: boolean;
  /** Owner of the live connection; null while there is none (e.g. its gateway drains). */
  gatewayId: string | null;
  connectionId: string | null;
  transport: number;
  connectedSinceMs: number | null;
  lastSeenMs: number | null;
  disconnectReason: number | null;
  clientIdentity: string | null;
  /** The credential the agent's connection was admitted with (fleet.v1.CredentialKind and its id). */
  credentialId: string | null;
  credentialKind: number;

  /** RequestInstanceUid moved this record to that uid (this one is a tombstone). */
  replacedBy: Buffer | null;
  /** Older duplicate connection already told to take a new uid. */
  reassignedConnectionId: string | null;

  /** Bumped by every durable write; carried in events so consumers drop stale ones. */
  recordVersion: number;
}

/** A fresh record for an agent never seen before. */
export function newAgentState(tenantId: string, instanceUid: Uint8Array): AgentState {
  return {
    tenantId,
    instanceUid: Buffer.from(instanceUid),
    capabilities: 0,
    descriptionReported: false,
    identifyingAttributes: {},
    nonIdentifyingAttributes: {},
    labels: {},
    enrollmentLabels: {},
    health: null,
    healthy: null,
    effectiveConfigHash: null,
    remoteConfigHash: null,
    remoteConfigStatus: 0,
    remoteConfigError: null,
    packageStatuses: null,
    packagesHash: null,
    customCapabilities: [],
    availableComponentsHash: null,
    connectionSettingsHash: null,
    connectionSettingsStatus: 0,
    connectionSettingsError: null,
    epoch: 0,
    seqEpoch: 0,
    lastSequenceNum: null,
    fullStateRequested: false,
    componentsRequestedHash: null,
    connected: false,
    stale: false,
    gatewayId: null,
    connectionId: null,
    transport: Transport.TRANSPORT_UNSPECIFIED,
    connectedSinceMs: null,
    lastSeenMs: null,
    disconnectReason: null,
    clientIdentity: null,
    credentialId: null,
    credentialKind: 0,
    replacedBy: null,
    reassignedConnectionId: null,
    recordVersion: 0,
  };
}

export function cloneState(s: AgentState): AgentState {
  return { ...s, customCapabilities: [...s.customCapabilities] };
}

/** Where to deliver a push: the connection a record came from. */
export interface PushTarget {
  gatewayId: string;
  connectionId: string;
  epoch: number;
  transport: number;
}

/** Kinds in the HTTP pending store; the gateway merges kinds into one reply. */
export type PushKind = 'flags' | 'agent_identification';

/** One extra ServerToAgent (never with `command`) for one agent connection. */
export interface PushPiece {
  tenantId: string;
  kind: PushKind;
  /** The uid exactly as the agent sent it (echoed in ServerToAgent.instance_uid). */
  instanceUidAsSent: Buffer;
  /** The 16-byte key (pending store key for HTTP agents). */
  instanceUid: Buffer;
  target: PushTarget;
  /** The payload fields (instance_uid is filled in when encoding). */
  message: IServerToAgent;
}

export interface ContentBlob<T> {
  hash: Buffer;
  content: T;
}

export type IgnoredReason =
  | 'stale-epoch'
  | 'replay'
  | 'moved'
  | 'unknown-agent'
  | 'not-current-connection'
  | 'duplicate-connection';

/** What one inbound record does to one agent. */
export interface ApplyResult {
  /** The record under its own key after the record (unchanged object when ignored). */
  state: AgentState | null;
  /** AgentChange bit mask for the event. */
  changes: number;
  /** A row write is needed (something durable changed). */
  durable: boolean;
  /** Only volatile fields moved (sequence, last seen, HTTP owner): cursor write, no row write. */
  volatile: boolean;
  pushes: PushPiece[];
  /** RequestInstanceUid: the record now lives under a new uid (`state` is the tombstone). */
  moved: AgentState | null;
  effectiveConfig: ContentBlob<Buffer> | null;
  availableComponents: ContentBlob<JsonValue> | null;
  ignored: IgnoredReason | null;
  /** The CSR of connection_settings_request (issue 18), passed on with the event as the agent sent it (not part of the record). */
  certificateRequest?: Buffer;
}
