/**
 * Owns the OpAMP bit fields (agent and server capabilities, message flags)
 * and the rules built on them: which capability value is in force for an
 * Agent, and what the Server may offer or expect given that value.
 *
 * Values are plain numbers: all defined bits are in the low 16, and JS bit
 * operators work on the low 32 bits, which is where they live. Unknown bits an
 * Agent sends (from a newer spec) are kept but never acted on.
 */

/** AgentToServer.capabilities bits. */
export const AgentCapabilities = {
  ReportsStatus: 0x1,
  AcceptsRemoteConfig: 0x2,
  ReportsEffectiveConfig: 0x4,
  AcceptsPackages: 0x8,
  ReportsPackageStatuses: 0x10,
  ReportsOwnTraces: 0x20,
  ReportsOwnMetrics: 0x40,
  ReportsOwnLogs: 0x80,
  AcceptsOpAMPConnectionSettings: 0x100,
  AcceptsOtherConnectionSettings: 0x200,
  AcceptsRestartCommand: 0x400,
  ReportsHealth: 0x800,
  ReportsRemoteConfig: 0x1000,
  ReportsHeartbeat: 0x2000,
  ReportsAvailableComponents: 0x4000,
  ReportsConnectionSettingsStatus: 0x8000,
} as const;

/** All agent capability bits defined by the spec this library implements. */
export const AGENT_CAPABILITIES_MASK = 0xffff;

/** ServerToAgent.capabilities bits. */
export const ServerCapabilities = {
  AcceptsStatus: 0x1,
  OffersRemoteConfig: 0x2,
  AcceptsEffectiveConfig: 0x4,
  OffersPackages: 0x8,
  AcceptsPackagesStatus: 0x10,
  OffersConnectionSettings: 0x20,
  AcceptsConnectionSettingsRequest: 0x40,
} as const;

/** All server capability bits; a Server must leave every other bit 0. */
export const SERVER_CAPABILITIES_MASK = 0x7f;

/** AgentToServer.flags bits. */
export const AgentToServerFlags = {
  RequestInstanceUid: 0x1,
} as const;

/** ServerToAgent.flags bits. */
export const ServerToAgentFlags = {
  ReportFullState: 0x1,
  ReportAvailableComponents: 0x2,
} as const;

export type BitTable = Readonly<Record<string, number>>;

/** True if every bit of `capability` is set in `bits`. */
export function hasCapability(bits: number | null | undefined, capability: number): boolean {
  if (!bits) return false;
  return (bits & capability) >>> 0 === capability >>> 0;
}

/**
 * Names of the bits set in `bits`, lowest bit first, for display. Bits not in
 * `table` are listed as hex (e.g. "0x80000") so nothing is hidden.
 */
export function capabilityNames(bits: number | null | undefined, table: BitTable = AgentCapabilities): string[] {
  const names: string[] = [];
  if (!bits) return names;
  const known = new Map<number, string>();
  for (const [name, bit] of Object.entries(table)) known.set(bit, name);
  // Walk the bits of the full 53-bit integer, not just the low 32.
  let rest = Math.floor(bits);
  for (let bit = 1; rest > 0; bit *= 2) {
    if (rest % 2 === 1) names.push(known.get(bit) ?? `0x${bit.toString(16)}`);
    rest = Math.floor(rest / 2);
  }
  return names;
}

/**
 * The agent capabilities in force after a message reporting `reported`
 * (conformance §3.2, §3.3). A value of 0 (unset, as in polls and heartbeats of
 * some clients) or one without ReportsStatus is treated as "not reported":
 * the previous value stays. With no previous value the reported one is used
 * as is, so a client that never sets ReportsStatus still gets its other bits
 * honoured on its first message.
 */
export function effectiveCapabilities(previous: number | null | undefined, reported: number | null | undefined): number {
  const hasPrevious = previous !== null && previous !== undefined;
  if (!reported) return hasPrevious ? previous : 0;
  if (!hasCapability(reported, AgentCapabilities.ReportsStatus) && hasPrevious) return previous;
  return reported;
}

/** Things a Server may put into a ServerToAgent, each gated by an agent capability. */
export type Offer =
  | 'remote_config'
  | 'packages_available'
  | 'connection_settings.opamp'
  | 'connection_settings.other_connections'
  | 'connection_settings.own_traces'
  | 'connection_settings.own_metrics'
  | 'connection_settings.own_logs'
  | 'command.restart'
  | 'heartbeat_interval_seconds'
  | 'flag.report_available_components';

const OFFER_REQUIRES: Readonly<Record<Offer, number>> = {
  remote_config: AgentCapabilities.AcceptsRemoteConfig,
  packages_available: AgentCapabilities.AcceptsPackages,
  'connection_settings.opamp': AgentCapabilities.AcceptsOpAMPConnectionSettings,
  'connection_settings.other_connections': AgentCapabilities.AcceptsOtherConnectionSettings,
  'connection_settings.own_traces': AgentCapabilities.ReportsOwnTraces,
  'connection_settings.own_metrics': AgentCapabilities.ReportsOwnMetrics,
  'connection_settings.own_logs': AgentCapabilities.ReportsOwnLogs,
  'command.restart': AgentCapabilities.AcceptsRestartCommand,
  // Travels inside connection_settings.opamp, but per the spec's gating table
  // it needs only ReportsHeartbeat (opamp-go applies it without 0x100).
  heartbeat_interval_seconds: AgentCapabilities.ReportsHeartbeat,
  'flag.report_available_components': AgentCapabilities.ReportsAvailableComponents,
};

/** Whether the Server may send `what` to an Agent with capabilities `agentCaps` (§3.3 gating table). */
export function mayOffer(agentCaps: number | null | undefined, what: Offer): boolean {
  return hasCapability(agentCaps, OFFER_REQUIRES[what]);
}

/** Status sub-messages an Agent reports only when it has the matching capability. */
export type Report =
  | 'effective_config'
  | 'health'
  | 'remote_config_status'
  | 'package_statuses'
  | 'available_components'
  | 'connection_settings_status';

const REPORT_REQUIRES: Readonly<Record<Report, number>> = {
  effective_config: AgentCapabilities.ReportsEffectiveConfig,
  health: AgentCapabilities.ReportsHealth,
  remote_config_status: AgentCapabilities.ReportsRemoteConfig,
  package_statuses: AgentCapabilities.ReportsPackageStatuses,
  available_components: AgentCapabilities.ReportsAvailableComponents,
  connection_settings_status: AgentCapabilities.ReportsConnectionSettingsStatus,
};

/** Whether the Server should expect `what` from an Agent with `agentCaps`. */
export function expectsReport(agentCaps: number | null | undefined, what: Report): boolean {
  return hasCapability(agentCaps, REPORT_REQUIRES[what]);
}

/** Server capabilities with every reserved bit cleared (they must be 0 on the wire). */
export function sanitizeServerCapabilities(bits: number): number {
  return bits & SERVER_CAPABILITIES_MASK;
}
