/**
 * Owns turning a simulated agent's state into AgentToServer messages, with
 * status compression: a message carries only the sub-messages named in its
 * `parts` bit set (plus instance_uid, sequence_num and capabilities, which are
 * always present). A full-state message names them all; a heartbeat names none.
 *
 * Every sub-message is also gated by the capability that announces it, so an
 * agent never reports what it did not promise (health only with ReportsHealth,
 * and so on). Pure functions: no I/O, no clock.
 */
import { AgentCapabilities, hasCapability, opamp, sha256 } from '@opamp/protocol';

const v1 = opamp.proto.v1;

/** Attribute values an agent description may carry. */
export type AttributeValue = string | number | boolean;
export type Attributes = Readonly<Record<string, AttributeValue>>;

export interface AgentDescriptionInput {
  readonly identifying?: Attributes;
  readonly nonIdentifying?: Attributes;
}

export interface HealthInput {
  readonly healthy: boolean;
  readonly status?: string;
  readonly lastError?: string;
}

/** Bits of the compressible sub-messages, for `parts`. */
export const StatusPart = {
  Description: 0x1,
  Health: 0x2,
  EffectiveConfig: 0x4,
  RemoteConfigStatus: 0x8,
  CustomCapabilities: 0x10,
  /** available_components with the hash only (what a first message carries). */
  AvailableComponentsHash: 0x20,
  /** available_components with the full component map (answer to ReportAvailableComponents). */
  AvailableComponentsFull: 0x40,
  /** connection_settings_status (with ReportsConnectionSettingsStatus, once there is one). */
  ConnectionSettingsStatus: 0x80,
  /** package_statuses (with ReportsPackageStatuses, once a package offer came). */
  PackageStatuses: 0x100,
} as const;

/** Everything a full-state report carries. */
export const FULL_STATE_PARTS =
  StatusPart.Description |
  StatusPart.Health |
  StatusPart.EffectiveConfig |
  StatusPart.RemoteConfigStatus |
  StatusPart.CustomCapabilities |
  StatusPart.AvailableComponentsHash |
  StatusPart.ConnectionSettingsStatus |
  StatusPart.PackageStatuses;

/** The last remote configuration the agent handled and how that went. */
export interface RemoteConfigState {
  /** Hash of the last remote config received; undefined before the first one. */
  readonly hash?: Uint8Array;
  readonly status: opamp.proto.v1.RemoteConfigStatuses;
  readonly errorMessage?: string;
}

/** The available components an agent declares (shared by all agents of a profile). */
export interface ComponentsInput {
  readonly components: Readonly<Record<string, opamp.proto.v1.IComponentDetails>>;
  /** Computed from the components when omitted (see componentsHash). */
  readonly hash?: Uint8Array;
}

/** The agent state a message is built from. */
export interface StatusSnapshot {
  readonly instanceUid: Uint8Array;
  readonly sequenceNum: number;
  readonly capabilities: number;
  readonly description?: AgentDescriptionInput;
  readonly health?: HealthInput;
  /** Process start, for ComponentHealth.start_time_unix_nano. */
  readonly startTimeMs?: number;
  /** Time of the last health change, for status_time_unix_nano. */
  readonly healthTimeMs?: number;
  readonly effectiveConfig?: opamp.proto.v1.IAgentConfigMap | null;
  readonly remoteConfig: RemoteConfigState;
  readonly customCapabilities?: readonly string[];
  readonly availableComponents?: ComponentsInput;
  /** Hash of availableComponents (computed once per profile by the caller). */
  readonly availableComponentsHash?: Uint8Array;
  /** The last connection settings offer handled and how that went; undefined before the first. */
  readonly connectionSettings?: ConnectionSettingsReport;
  /** What the agent reports of its packages; undefined before the first offer. */
  readonly packageStatuses?: opamp.proto.v1.IPackageStatuses;
}

/** connection_settings_status content. */
export interface ConnectionSettingsReport {
  readonly hash?: Uint8Array;
  readonly status: opamp.proto.v1.ConnectionSettingsStatuses;
  readonly errorMessage?: string;
}

export interface MessageExtras {
  /** Set agent_disconnect (graceful shutdown). */
  readonly disconnect?: boolean;
  readonly customMessage?: opamp.proto.v1.ICustomMessage;
  /** A PEM CSR (connection_settings_request.opamp.certificate_request). */
  readonly certificateRequest?: Uint8Array;
  readonly flags?: number;
}

/** Build the AgentToServer for `parts` of `state`. */
export function buildAgentToServer(
  state: StatusSnapshot,
  parts: number,
  extras?: MessageExtras,
): opamp.proto.v1.IAgentToServer {
  const caps = state.capabilities;
  const message: opamp.proto.v1.IAgentToServer = {
    instanceUid: state.instanceUid,
    sequenceNum: state.sequenceNum,
    capabilities: caps,
  };
  if (parts & StatusPart.Description) {
    message.agentDescription = buildDescription(state.description);
  }
  if (parts & StatusPart.Health && hasCapability(caps, AgentCapabilities.ReportsHealth) && state.health) {
    message.health = buildHealth(state.health, state.startTimeMs, state.healthTimeMs);
  }
  if (parts & StatusPart.EffectiveConfig && hasCapability(caps, AgentCapabilities.ReportsEffectiveConfig)) {
    message.effectiveConfig = { configMap: state.effectiveConfig ?? { configMap: {} } };
  }
  if (parts & StatusPart.RemoteConfigStatus && hasCapability(caps, AgentCapabilities.ReportsRemoteConfig)) {
    message.remoteConfigStatus = buildRemoteConfigStatus(state.remoteConfig);
  }
  if (parts & StatusPart.CustomCapabilities && state.customCapabilities && state.customCapabilities.length > 0) {
    message.customCapabilities = { capabilities: state.customCapabilities.slice() };
  }
  const components = state.availableComponents;
  if (
    parts & (StatusPart.AvailableComponentsHash | StatusPart.AvailableComponentsFull) &&
    components &&
    hasCapability(caps, AgentCapabilities.ReportsAvailableComponents)
  ) {
    const hash = state.availableComponentsHash ?? components.hash ?? componentsHash(components);
    message.availableComponents =
      parts & StatusPart.AvailableComponentsFull ? { hash, components: { ...components.components } } : { hash };
  }
  const settings = state.connectionSettings;
  if (parts & StatusPart.ConnectionSettingsStatus && settings && hasCapability(caps, AgentCapabilities.ReportsConnectionSettingsStatus)) {
    message.connectionSettingsStatus = { status: settings.status };
    if (settings.hash) message.connectionSettingsStatus.lastConnectionSettingsHash = settings.hash;
    if (settings.errorMessage) message.connectionSettingsStatus.errorMessage = settings.errorMessage;
  }
  if (parts & StatusPart.PackageStatuses && state.packageStatuses && hasCapability(caps, AgentCapabilities.ReportsPackageStatuses)) {
    message.packageStatuses = state.packageStatuses;
  }
  if (extras?.disconnect) message.agentDisconnect = {};
  if (extras?.customMessage) message.customMessage = extras.customMessage;
  if (extras?.certificateRequest) message.connectionSettingsRequest = { opamp: { certificateRequest: { csr: extras.certificateRequest } } };
  if (extras?.flags) message.flags = extras.flags;
  return message;
}

/** The proto AgentDescription for the simple attribute records. */
export function buildDescription(description: AgentDescriptionInput | undefined): opamp.proto.v1.IAgentDescription {
  return {
    identifyingAttributes: toKeyValues(description?.identifying),
    nonIdentifyingAttributes: toKeyValues(description?.nonIdentifying),
  };
}

/** Attribute records as KeyValue lists: integers as int_value, other numbers as double_value. */
export function toKeyValues(attributes: Attributes | undefined): opamp.proto.v1.IKeyValue[] {
  if (!attributes) return [];
  const out: opamp.proto.v1.IKeyValue[] = [];
  for (const key of Object.keys(attributes)) {
    out.push({ key, value: toAnyValue(attributes[key]) });
  }
  return out;
}

export function toAnyValue(value: AttributeValue): opamp.proto.v1.IAnyValue {
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    default:
      return Number.isSafeInteger(value) ? { intValue: value } : { doubleValue: value };
  }
}

export function buildHealth(health: HealthInput, startTimeMs?: number, statusTimeMs?: number): opamp.proto.v1.IComponentHealth {
  const out: opamp.proto.v1.IComponentHealth = { healthy: health.healthy };
  if (health.status) out.status = health.status;
  if (health.lastError) out.lastError = health.lastError;
  // Timestamps as plain numbers lose sub-microsecond precision above 2^53 ns; fine for a simulator.
  if (startTimeMs !== undefined && health.healthy) out.startTimeUnixNano = startTimeMs * 1e6;
  if (statusTimeMs !== undefined) out.statusTimeUnixNano = statusTimeMs * 1e6;
  return out;
}

export function buildRemoteConfigStatus(state: RemoteConfigState): opamp.proto.v1.IRemoteConfigStatus {
  const out: opamp.proto.v1.IRemoteConfigStatus = { status: state.status };
  if (state.hash) out.lastRemoteConfigHash = state.hash;
  if (state.errorMessage) out.errorMessage = state.errorMessage;
  return out;
}

/** Deterministic hash of a component map: SHA-256 of its protobuf encoding with keys sorted. */
export function componentsHash(components: ComponentsInput): Buffer {
  const sorted: Record<string, opamp.proto.v1.IComponentDetails> = {};
  for (const key of Object.keys(components.components).sort()) sorted[key] = components.components[key];
  return sha256(v1.AvailableComponents.encode({ components: sorted }).finish());
}
