/**
 * Public API of @opamp/agent-sim: a simulated OpAMP agent (WebSocket or
 * plain-HTTP transport) for end-to-end tests and load swarms, plus the pure
 * helpers it is built from.
 */
export { SimulatedAgent } from './simulated-agent';
export type { AgentError, AgentErrorKind, CustomMessageEvent, PackageInstallEvent, RemoteConfigEvent, SimulatedAgentEvents } from './agent-events';
export { downloadPackageFile, DownloadRefusedError } from './package-download';
export type { DownloadedFile, DownloadOptions, DownloadProgress } from './package-download';
export { aliasedUrl, ConnectionSettingsFollower, sameConnection, settingsWithOffer } from './connection-settings';
export type { ConnectionOfferDecision, EndpointResolver, OpampSettings } from './connection-settings';
export {
  DEFAULT_AGENT_CAPABILITIES,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_RECONNECT,
  DEFAULT_PER_MESSAGE_DEFLATE,
} from './agent-options';
export type { AgentProfile, PerAgentOptions, SimulatedAgentOptions, TransportKind } from './agent-options';
export type { ApplyConfigCallback, ApplyConfigPolicy, SimulatedApplyPolicy } from './config-apply';
export { DEFAULT_SOURCE_PORT_RANGES, SourcePortPool, sourcePortPool } from './source-ports';
export { backoffCeilingMs, fullJitterDelayMs } from './backoff';
export type { BackoffSettings, Rng } from './backoff';
export { parseRetryAfterMs, retryInfoToMs } from './retry-after';
export { buildAgentToServer, FULL_STATE_PARTS, StatusPart } from './status-builder';
export type {
  AgentDescriptionInput,
  Attributes,
  AttributeValue,
  ComponentsInput,
  ConnectionSettingsReport,
  HealthInput,
  RemoteConfigState,
  StatusSnapshot,
} from './status-builder';
export type { PerMessageDeflateOptions as WsPerMessageDeflateOptions } from 'ws';
export { CollectorOwnMetrics } from './collector-own-metrics';
export type { CollectorOwnMetricsOptions, OwnMetricNaming } from './collector-own-metrics';
export { DEFAULT_OWN_METRICS_INTERVAL_MS, OwnMetricsRunner } from './own-metrics.runner';
export type { OwnMetricsSettings, OwnMetricsTotals } from './own-metrics.runner';
