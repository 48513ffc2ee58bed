/**
 * The fleet/v1 messages the console reads, in their proto3 JSON mapping
 * (proto/fleet/v1/fleet_api.proto). Every field is present: the REST mirror
 * writes defaults.
 */
import type { AgentCertificateSummary } from './agent-certificate';
import type { AgentCredentialSummary } from './agent-credential';

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
  /** Unknown while disconnected (not counted healthy); the last report is lastKnownHealth. */
  health: HealthState;
  lastKnownHealth?: HealthState;
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
  /** What the agent is admitted with (ListAgents, GetAgent); absent from an older server. */
  credential?: AgentCredentialSummary | null;
  /** Its client certificate and when it ends (ListAgents, GetAgent); absent from an older server. */
  certificate?: AgentCertificateSummary | null;
}

export interface ComponentHealth {
  healthy: boolean;
  status: string;
  lastError: string;
  /** RFC 3339, or "" when not reported. */
  startTime: string;
  statusTime: string;
  attributes: Record<string, string>;
  children: Record<string, ComponentHealth>;
}

export type PackageState = 'PACKAGE_STATE_INSTALLED' | 'PACKAGE_STATE_INSTALL_PENDING' | 'PACKAGE_STATE_INSTALLING' | 'PACKAGE_STATE_INSTALL_FAILED' | 'PACKAGE_STATE_DOWNLOADING';

export interface PackageStatus {
  name: string;
  agentHasVersion: string;
  agentHasHash: string;
  serverOfferedVersion: string;
  serverOfferedHash: string;
  status: PackageState;
  errorMessage: string;
  /** DOWNLOADING progress (download_details, as the agent reported it). */
  downloadDetails?: { downloadPercent?: number; downloadBytesPerSecond?: number };
}

export interface ComponentDetails {
  metadata: Record<string, string>;
  subComponents: Record<string, ComponentDetails>;
}

/** GetAgent: the agent with what ListAgents leaves out. */
export interface AgentDetail extends Agent {
  /** null when the agent never reported health. */
  componentHealth: ComponentHealth | null;
  effectiveConfig: ConfigFiles;
  effectiveConfigHash: string;
  packageStatuses: PackageStatus[];
  packageStatusesError: string;
  connectedSince: string;
  availableComponents: Record<string, ComponentDetails>;
  availableComponentsHash: string;
}

/** fleet.v1.FleetCounts: definitions match the ListAgents filters. */
export interface FleetCounts {
  agents: number;
  connected: number;
  disconnected: number;
  healthy: number;
  unhealthy: number;
  healthUnknown: number;
  inSync: number;
  outOfSync: number;
  unassigned: number;
  configFailed: number;
  configApplying: number;
}

export interface FleetGroup {
  value: string;
  hasLabel: boolean;
  counts: FleetCounts;
}

export interface FleetSummaryResponse {
  totals: FleetCounts;
  groupBy: string;
  groups: FleetGroup[];
  labelKeys: string[];
  time: string;
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

export type RolloutState =
  | 'ROLLOUT_STATE_UNSPECIFIED'
  | 'ROLLOUT_STATE_PENDING'
  | 'ROLLOUT_STATE_RUNNING'
  | 'ROLLOUT_STATE_PAUSED'
  | 'ROLLOUT_STATE_COMPLETED'
  | 'ROLLOUT_STATE_ABORTED'
  | 'ROLLOUT_STATE_ROLLING_BACK'
  | 'ROLLOUT_STATE_ROLLED_BACK';

export interface RolloutStep {
  count: number;
  percent: number;
}

export interface RolloutStage {
  name: string;
  selector: string;
}

export interface RolloutStrategy {
  batchSize: number;
  batchPercent: number;
  steps: RolloutStep[];
  stages: RolloutStage[];
}

export interface RolloutGates {
  maxFailedAgents: number;
  maxFailedPercent: number;
  /** Set when batches are also judged on their agents' own metrics. */
  ownTelemetry?: OwnTelemetryGate | null;
}

export interface OwnTelemetryGate {
  maxExportFailureIncreasePercent: number;
  maxRefusedDroppedIncreasePercent: number;
  maxThroughputDropPercent: number;
  windowSeconds: number;
  minReportingPercent: number;
}

export interface RolloutProgress {
  pending: number;
  applying: number;
  applied: number;
  failed: number;
  unhealthy: number;
  offline: number;
  notSent: number;
  /** Past the apply deadline: counted against the gate like failed, shown apart. */
  timedOut: number;
}

export interface RolloutBatch {
  index: number;
  name: string;
  selector: string;
  state: string;
  plannedAgents: number;
  agents: number;
  progress: RolloutProgress;
  failureReason: string;
  startTime: string;
  soakStartTime: string;
  finishTime: string;
}

export interface Rollout {
  name: string;
  assignmentName: string;
  configurationName: string;
  fromVersion: number;
  toVersion: number;
  strategy: RolloutStrategy;
  gates: RolloutGates;
  soakTimeMs: number;
  /** 0 = no apply deadline. */
  applyTimeoutMs: number;
  autoRollback: boolean;
  state: RolloutState;
  stateReason: string;
  totalAgents: number;
  currentBatch: number;
  batches: RolloutBatch[];
  progress: RolloutProgress;
  driverId: string;
  createdBy: string;
  createTime: string;
  updateTime: string;
  startTime: string;
  finishTime: string;
}

export interface ListRolloutsResponse {
  rollouts: Rollout[];
  nextPageToken: string;
}

export interface RolloutEvent {
  id: string;
  rolloutName: string;
  type: string;
  batchIndex: number;
  message: string;
  detailsJson: string;
  actor: string;
  time: string;
}

export interface ListRolloutEventsResponse {
  events: RolloutEvent[];
  /** int64 as a string. */
  lastId: string;
}

export interface RolloutAgent {
  instanceUid: string;
  batchIndex: number;
  phase: string;
  reverted: boolean;
  reason: string;
}

export interface ListRolloutAgentsResponse {
  agents: RolloutAgent[];
  nextPageToken: string;
}

export type AgentTokenState = 'AGENT_TOKEN_STATE_UNSPECIFIED' | 'AGENT_TOKEN_STATE_ACTIVE' | 'AGENT_TOKEN_STATE_EXPIRED' | 'AGENT_TOKEN_STATE_EXHAUSTED' | 'AGENT_TOKEN_STATE_REVOKED';

/** An enrollment token agents connect with (the secret is only in CreateAgentTokenResponse). */
export interface AgentToken {
  id: string;
  name: string;
  createdBy: string;
  createTime: string;
  revokeTime: string;
  /** Empty: never expires. */
  expireTime: string;
  /** 0: no limit. */
  maxUses: number;
  uses: number;
  labels: Record<string, string>;
  state: AgentTokenState;
}

export interface ListAgentTokensResponse {
  tokens: AgentToken[];
}

export interface CreateAgentTokenResponse {
  token: AgentToken;
  secret: string;
}

export interface TenantSettings {
  agentRetentionDays: number;
  requireAgentCredentials: boolean;
  agentCredentialLifetimeDays: number;
  credentialSwitchGraceHours: number;
}

// --- Packages (issue 17): the catalog, assignments, per-agent state, package rollouts. ---

export type PackageKind = 'PACKAGE_KIND_UNSPECIFIED' | 'PACKAGE_KIND_AGENT' | 'PACKAGE_KIND_TOP_LEVEL' | 'PACKAGE_KIND_ADDON';

export interface PackageFile {
  os: string;
  arch: string;
  sha256: string;
  /** base64 (bytes in the JSON mapping); empty when the publisher gave none. */
  signature: string;
  url: string;
  sizeBytes: string | number;
  source: string;
}

export interface PackageVersion {
  packageName: string;
  version: string;
  files: PackageFile[];
  createdBy: string;
  createTime: string;
  withdrawn: boolean;
  withdrawTime: string;
  withdrawnBy: string;
}

export interface Package {
  name: string;
  kind: PackageKind;
  createdBy: string;
  createTime: string;
  versions: PackageVersion[];
  versionCount: number;
  withdrawnCount: number;
}

export interface ListPackagesResponse {
  packages: Package[];
}

export interface PackageFileUpload {
  sha256: string;
  sizeBytes: string | number;
  existed: boolean;
}

export interface DesiredPackage {
  packageName: string;
  version: string;
}

export interface PackageAssignment {
  name: string;
  selector: string;
  priority: number;
  packages: DesiredPackage[];
  createdBy: string;
  createTime: string;
  updateTime: string;
}

export interface ListPackageAssignmentsResponse {
  packageAssignments: PackageAssignment[];
}

/** GetAgentPackages: what the reconciler decides for one agent. */
export interface AgentPackages {
  instanceUid: string;
  assignmentName: string;
  state: string;
  packageName: string;
  desiredHash: string;
  reportedHash: string;
  offeredHash: string;
}

export interface PackageRollout {
  name: string;
  packageAssignmentName: string;
  fromPackages: DesiredPackage[];
  toPackages: DesiredPackage[];
  strategy: RolloutStrategy;
  gates: RolloutGates;
  soakTimeMs: number;
  applyTimeoutMs: number;
  autoRollback: boolean;
  state: RolloutState;
  stateReason: string;
  totalAgents: number;
  currentBatch: number;
  batches: RolloutBatch[];
  progress: RolloutProgress;
  driverId: string;
  createdBy: string;
  createTime: string;
  updateTime: string;
  startTime: string;
  finishTime: string;
}

export interface ListPackageRolloutsResponse {
  rollouts: PackageRollout[];
  nextPageToken: string;
}

/** GetPackageAssignmentStatus: where the agents a package assignment wins for stand. */
export interface PackageAssignmentStatus {
  name: string;
  agents: number;
  installed: number;
  otherVersion: number;
  downloading: number;
  /** int64 as a JSON string. */
  downloadBytesPerSecond: string;
  downloadPercent: number;
  installing: number;
  installFailed: number;
  retryPending: number;
  noFileForPlatform: number;
  notCapable: number;
  other: number;
}
