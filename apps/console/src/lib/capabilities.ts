/**
 * Agent capabilities by name (OpAMP AgentCapabilities bits) and what the
 * console lets an operator do with an agent that has, or lacks, them. The
 * server refuses the same commands (FAILED_PRECONDITION); the console only
 * explains it before the click.
 */
export const AGENT_CAPABILITIES: readonly { name: string; bit: number; description: string }[] = [
  { name: 'ReportsStatus', bit: 0x1, description: 'reports its status' },
  { name: 'AcceptsRemoteConfig', bit: 0x2, description: 'accepts remote configuration' },
  { name: 'ReportsEffectiveConfig', bit: 0x4, description: 'reports its effective configuration' },
  { name: 'AcceptsPackages', bit: 0x8, description: 'accepts packages' },
  { name: 'ReportsPackageStatuses', bit: 0x10, description: 'reports package statuses' },
  { name: 'ReportsOwnTraces', bit: 0x20, description: 'sends its own traces' },
  { name: 'ReportsOwnMetrics', bit: 0x40, description: 'sends its own metrics' },
  { name: 'ReportsOwnLogs', bit: 0x80, description: 'sends its own logs' },
  { name: 'AcceptsOpAMPConnectionSettings', bit: 0x100, description: 'accepts OpAMP connection settings' },
  { name: 'AcceptsOtherConnectionSettings', bit: 0x200, description: 'accepts other connection settings' },
  { name: 'AcceptsRestartCommand', bit: 0x400, description: 'accepts the restart command' },
  { name: 'ReportsHealth', bit: 0x800, description: 'reports health' },
  { name: 'ReportsRemoteConfig', bit: 0x1000, description: 'reports remote-config status' },
  { name: 'ReportsHeartbeat', bit: 0x2000, description: 'sends heartbeats' },
  { name: 'ReportsAvailableComponents', bit: 0x4000, description: 'reports available components' },
  { name: 'ReportsConnectionSettingsStatus', bit: 0x8000, description: 'reports connection-settings status' },
];

/** Names of the bits set in a uint64 given as a decimal string (unknown bits as 0x...). */
export function capabilityNamesOf(bits: string | number): string[] {
  let rest: bigint;
  try {
    rest = BigInt(bits);
  } catch {
    return [];
  }
  const names: string[] = [];
  for (let bit = 1n; rest > 0n; bit <<= 1n) {
    if ((rest & 1n) === 1n) names.push(AGENT_CAPABILITIES.find((c) => BigInt(c.bit) === bit)?.name ?? `0x${bit.toString(16)}`);
    rest >>= 1n;
  }
  return names;
}

export interface Gate {
  ok: boolean;
  /** Why the action is not available (empty when ok). */
  reason: string;
}

interface AgentCaps {
  capabilities: string;
  capabilityNames?: string[];
  customCapabilities?: string[];
}

function has(agent: AgentCaps, name: string): boolean {
  return (agent.capabilityNames ?? capabilityNamesOf(agent.capabilities)).includes(name);
}

export function restartGate(agent: AgentCaps): Gate {
  if (has(agent, 'AcceptsRestartCommand')) return { ok: true, reason: '' };
  return { ok: false, reason: 'The agent does not declare the AcceptsRestartCommand capability.' };
}

export function customMessageGate(agent: AgentCaps, capability?: string): Gate {
  const custom = agent.customCapabilities ?? [];
  if (custom.length === 0) return { ok: false, reason: 'The agent declares no custom capabilities.' };
  if (capability !== undefined && !custom.includes(capability)) {
    return { ok: false, reason: `The agent does not declare the custom capability "${capability}".` };
  }
  return { ok: true, reason: '' };
}
