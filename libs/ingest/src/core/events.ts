/** The AgentEvent status-ingest publishes on opamp.agent-events for a changed record. */
import type { fleet } from '@opamp/contracts';
import type { AgentState } from './agent-state';

export function buildAgentEvent(
  s: AgentState,
  changes: number,
  occurredAtMs: number,
  previousInstanceUid: Buffer | null = null,
  certificateRequest: Buffer | null = null,
): fleet.v1.IAgentEvent {
  const gatewayId = s.connected ? s.gatewayId : null;
  const connectionId = s.connected ? s.connectionId : null;
  const live = gatewayId !== null && connectionId !== null;
  return {
    tenantId: s.tenantId,
    instanceUid: s.instanceUid,
    changes,
    capabilities: s.capabilities,
    labels: Object.keys(s.labels)
      .sort()
      .map((key) => ({ key, value: s.labels[key] })),
    reportedRemoteConfigHash: s.remoteConfigHash ?? undefined,
    remoteConfigStatus: s.remoteConfigStatus,
    owner: {
      connected: live,
      gatewayId: live ? gatewayId : '',
      connectionId: live ? connectionId : '',
      epoch: s.epoch,
      transport: s.transport,
    },
    availableComponentsHash: s.availableComponentsHash ?? undefined,
    connectionSettingsHash: s.connectionSettingsHash ?? undefined,
    packagesHash: s.packagesHash ?? undefined,
    customCapabilities: s.customCapabilities,
    previousInstanceUid: previousInstanceUid ?? undefined,
    occurredAtUnixMs: occurredAtMs,
    recordVersion: s.recordVersion,
    credentialId: s.credentialId ?? '',
    credentialKind: s.credentialKind,
    connectionSettingsStatus: s.connectionSettingsStatus,
    ...(certificateRequest ? { certificateRequestCsr: certificateRequest } : {}),
  };
}
