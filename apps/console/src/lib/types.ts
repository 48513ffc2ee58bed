/**
 * The fleet/v1 messages the console reads, in their proto3 JSON mapping
 * (proto/fleet/v1/fleet_api.proto). Every field is present: the REST mirror
 * writes defaults.
 */
export type HealthState = 'HEALTH_STATE_UNKNOWN' | 'HEALTH_STATE_HEALTHY' | 'HEALTH_STATE_UNHEALTHY';
export type RemoteConfigStatus = 'REMOTE_CONFIG_STATUS_UNSET' | 'REMOTE_CONFIG_STATUS_APPLIED' | 'REMOTE_CONFIG_STATUS_APPLYING' | 'REMOTE_CONFIG_STATUS_FAILED';
export type ConfigFormat = 'CONFIG_FORMAT_UNSPECIFIED' | 'CONFIG_FORMAT_OTEL_COLLECTOR' | 'CONFIG_FORMAT_GENERIC';

export const REMOTE_CONFIG_STATUSES: readonly RemoteConfigStatus[] = [
  'REMOTE_CONFIG_STATUS_UNSET',
  'REMOTE_CONFIG_STATUS_APPLIED',
  'REMOTE_CONFIG_STATUS_APPLYING',
  'REMOTE_CONFIG_STATUS_FAILED',
];

export interface Agent {
  instanceUid: string;
  labels: Record<string, string>;
  identifyingAttributes: Record<string, string>;
  nonIdentifyingAttributes: Record<string, string>;
  /** uint64 as a decimal string. */
  capabilities: string;
  capabilityNames: string[];
  connected: boolean;
  gatewayId: string;
  transport: string;
  health: HealthState;
  remoteConfigStatus: RemoteConfigStatus;
  remoteConfigHash: string;
  remoteConfigError: string;
  configurationName: string;
  configurationVersion: number;
  desiredConfigHash: string;
  inSync: boolean;
  notSentReason: string;
  customCapabilities: string[];
  lastSeenTime: string;
  updateTime: string;
}

export interface ListAgentsResponse {
  agents: Agent[];
  nextPageToken: string;
}

export interface ConfigFile {
  body: string;
  contentType: string;
}

export type ConfigFiles = Record<string, ConfigFile>;

export interface Configuration {
  name: string;
  description: string;
  format: ConfigFormat;
  version: number;
  files: ConfigFiles;
  contentHash: string;
  templated: boolean;
  createdBy: string;
  createTime: string;
  updateTime: string;
}

export interface ValidateConfigurationResponse {
  valid: boolean;
  errors: string[];
  contentHash: string;
}

export interface RenderConfigurationResponse {
  sendable: boolean;
  reason: string;
  files: ConfigFiles;
  configHash: string;
}

export interface Assignment {
  name: string;
  configurationName: string;
  pinnedVersion: number;
  selector: string;
  priority: number;
  createdBy: string;
  createTime: string;
  updateTime: string;
}

export interface AuditEvent {
  id: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceName: string;
  beforeHash: string;
  afterHash: string;
  time: string;
  detailsJson: string;
}

export interface CommandResult {
  delivery: string;
}

export interface ListConfigurationsResponse {
  configurations: Configuration[];
}

export interface ListConfigurationVersionsResponse {
  versions: Configuration[];
}

export interface ListAssignmentsResponse {
  assignments: Assignment[];
}

export interface ListAuditEventsResponse {
  events: AuditEvent[];
  nextPageToken: string;
}
