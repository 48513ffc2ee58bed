/** FleetService rpc name -> FleetApiService method: the one dispatch table both transports use. */
import { rejectNulText, type Caller, type FleetApiService } from '@opamp/desired-state';
import { rejectUndecodable } from './grpc-request-decoding';

type Handler = (api: FleetApiService, caller: Caller, req: Record<string, unknown>) => Promise<Record<string, unknown>>;

export const RPC_HANDLERS: Readonly<Record<string, Handler>> = {
  ListAgents: (api, c, r) => api.agents.listAgents(c, r),
  GetAgent: async (api, c, r) => ({
    ...(await api.agents.getAgent(c, r)),
    ...(await api.connectionProfiles.agentConnectionSettings(c, r)),
    ...(await api.ownTelemetry.agentOwnTelemetry(c, r)),
  }),
  GetFleetSummary: (api, c, r) => api.agents.getFleetSummary(c, r),
  RestartAgent: (api, c, r) => api.agents.restartAgent(c, r),
  SendCustomMessage: (api, c, r) => api.agents.sendCustomMessage(c, r),
  DeleteAgent: (api, c, r) => api.agents.deleteAgent(c, r),
  GetTenantSettings: (api, c) => api.tenantSettings.getTenantSettings(c),
  UpdateTenantSettings: (api, c, r) => api.tenantSettings.updateTenantSettings(c, r),
  CreateConfiguration: (api, c, r) => api.configurations.createConfiguration(c, r),
  UpdateConfiguration: (api, c, r) => api.configurations.updateConfiguration(c, r),
  GetConfiguration: (api, c, r) => api.configurations.getConfiguration(c, r),
  ListConfigurations: (api, c) => api.configurations.listConfigurations(c),
  ListConfigurationVersions: (api, c, r) => api.configurations.listConfigurationVersions(c, r),
  DeleteConfiguration: (api, c, r) => api.configurations.deleteConfiguration(c, r),
  ValidateConfiguration: (api, c, r) => api.configurations.validateConfiguration(c, r),
  RenderConfiguration: (api, c, r) => api.configurations.renderConfiguration(c, r),
  CreateAssignment: (api, c, r) => api.assignments.createAssignment(c, r),
  UpdateAssignment: (api, c, r) => api.assignments.updateAssignment(c, r),
  GetAssignment: (api, c, r) => api.assignments.getAssignment(c, r),
  ListAssignments: (api, c) => api.assignments.listAssignments(c),
  DeleteAssignment: (api, c, r) => api.assignments.deleteAssignment(c, r),
  CreateConnectionProfile: (api, c, r) => api.connectionProfiles.createConnectionProfile(c, r),
  UpdateConnectionProfile: (api, c, r) => api.connectionProfiles.updateConnectionProfile(c, r),
  GetConnectionProfile: (api, c, r) => api.connectionProfiles.getConnectionProfile(c, r),
  ListConnectionProfiles: (api, c) => api.connectionProfiles.listConnectionProfiles(c),
  DeleteConnectionProfile: (api, c, r) => api.connectionProfiles.deleteConnectionProfile(c, r),
  CreateAgentToken: (api, c, r) => api.agentTokens.createAgentToken(c, r),
  ListAgentTokens: (api, c) => api.agentTokens.listAgentTokens(c),
  RevokeAgentToken: (api, c, r) => api.revokeAgentToken(c, r),
  ListAgentCredentials: (api, c, r) => api.agentCredentials.listAgentCredentials(c, r),
  RotateAgentCredentials: (api, c, r) => api.agentCredentials.rotateAgentCredentials(c, r),
  RevokeAgentCredentials: (api, c, r) => api.agentCredentials.revokeAgentCredentials(c, r),
  ListPendingCredentialSwitches: (api, c, r) => api.agentCredentials.listPendingCredentialSwitches(c, r),
  GetAgentCredentialsStatus: (api, c, r) => api.agentCredentials.getAgentCredentialsStatus(c, r),
  ListAuditEvents: (api, c, r) => api.audit.listAuditEvents(c, r),
  CreateRollout: (api, c, r) => api.rollouts.createRollout(c, r),
  GetRollout: (api, c, r) => api.rollouts.getRollout(c, r),
  ListRollouts: (api, c, r) => api.rollouts.listRollouts(c, r),
  StartRollout: (api, c, r) => api.rollouts.startRollout(c, r),
  PauseRollout: (api, c, r) => api.rollouts.pauseRollout(c, r),
  ResumeRollout: (api, c, r) => api.rollouts.resumeRollout(c, r),
  AbortRollout: (api, c, r) => api.rollouts.abortRollout(c, r),
  RollbackRollout: (api, c, r) => api.rollouts.rollbackRollout(c, r),
  ListRolloutEvents: (api, c, r) => api.rollouts.listRolloutEvents(c, r),
  ListRolloutAgents: (api, c, r) => api.rollouts.listRolloutAgents(c, r),
  CreatePackage: (api, c, r) => api.packages.createPackage(c, r),
  GetPackage: (api, c, r) => api.packages.getPackage(c, r),
  ListPackages: (api, c) => api.packages.listPackages(c),
  DeletePackage: (api, c, r) => api.packages.deletePackage(c, r),
  CreatePackageVersion: (api, c, r) => api.packages.createPackageVersion(c, r),
  GetPackageVersion: (api, c, r) => api.packages.getPackageVersion(c, r),
  ListPackageVersions: (api, c, r) => api.packages.listPackageVersions(c, r),
  WithdrawPackageVersion: (api, c, r) => api.packages.withdrawPackageVersion(c, r),
  CreatePackageAssignment: (api, c, r) => api.packageAssignments.createPackageAssignment(c, r),
  UpdatePackageAssignment: (api, c, r) => api.packageAssignments.updatePackageAssignment(c, r),
  GetPackageAssignment: (api, c, r) => api.packageAssignments.getPackageAssignment(c, r),
  ListPackageAssignments: (api, c) => api.packageAssignments.listPackageAssignments(c),
  DeletePackageAssignment: (api, c, r) => api.packageAssignments.deletePackageAssignment(c, r),
  GetAgentPackages: (api, c, r) => api.packageAssignments.getAgentPackages(c, r),
  CreatePackageRollout: (api, c, r) => api.packageRollouts.createPackageRollout(c, r),
  GetPackageRollout: (api, c, r) => api.packageRollouts.getPackageRollout(c, r),
  ListPackageRollouts: (api, c, r) => api.packageRollouts.listPackageRollouts(c, r),
  StartPackageRollout: (api, c, r) => api.packageRollouts.startPackageRollout(c, r),
  PausePackageRollout: (api, c, r) => api.packageRollouts.pausePackageRollout(c, r),
  ResumePackageRollout: (api, c, r) => api.packageRollouts.resumePackageRollout(c, r),
  AbortPackageRollout: (api, c, r) => api.packageRollouts.abortPackageRollout(c, r),
  RollbackPackageRollout: (api, c, r) => api.packageRollouts.rollbackPackageRollout(c, r),
  // Client certificates (issue 18).
  CreateCertificateAuthority: (api, c, r) => api.certificateAuthorities.createCertificateAuthority(c, r),
  RotateCertificateAuthority: (api, c, r) => api.certificateAuthorities.rotateCertificateAuthority(c, r),
  ListCertificateAuthorities: (api, c) => api.certificateAuthorities.listCertificateAuthorities(c),
  GetCertificatePolicy: (api, c) => api.certificateAuthorities.getCertificatePolicy(c),
  UpdateCertificatePolicy: (api, c, r) => api.certificateAuthorities.updateCertificatePolicy(c, r),
  ListAgentCertificates: (api, c, r) => api.agentCertificates.listAgentCertificates(c, r),
  ListCertificateRequests: (api, c, r) => api.agentCertificates.listCertificateRequests(c, r),
  ApproveCertificateRequest: (api, c, r) => api.agentCertificates.approveCertificateRequest(c, r),
  DenyCertificateRequest: (api, c, r) => api.agentCertificates.denyCertificateRequest(c, r),
  // Certificate rotation (issue 18 item 4).
  RotateAgentCertificates: (api, c, r) => api.certificateRotation.rotateAgentCertificates(c, r),
  ListPendingCertificateSwitches: (api, c, r) => api.certificateRotation.listPendingCertificateSwitches(c, r),
  RevokeAgentCertificates: (api, c, r) => api.certificateRevocation.revokeAgentCertificates(c, r),
  RevokeAgents: (api, c, r) => api.certificateRevocation.revokeAgents(c, r),
  GetCertificateRevocationList: (api, c, r) => api.certificateRevocation.getCertificateRevocationList(c, r),
  GetPackageAssignmentStatus: (api, c, r) => api.packageGroupStatus.getPackageAssignmentStatus(c, r),
  GetAgentOwnMetrics: (api, c, r) => api.ownMetrics.getAgentOwnMetrics(c, r),
  GetFleetOwnMetrics: (api, c, r) => api.ownMetrics.getFleetOwnMetrics(c, r),
  GetRolloutBatchOwnMetrics: (api, c, r) => api.groupOwnMetrics.getRolloutBatchOwnMetrics(c, r),
  GetConfigurationVersionOwnMetrics: (api, c, r) => api.groupOwnMetrics.getConfigurationVersionOwnMetrics(c, r),
};

/** Server-streaming rpcs: served by the transports themselves (watch-stream.ts), not through invokeRpc. */
export const STREAM_RPCS: readonly string[] = ['WatchAgents'];

/** Authenticates, refuses text PostgreSQL cannot hold, runs the rpc, counts the outcome. */
export async function invokeRpc(api: FleetApiService, rpc: string, authorization: string | undefined, req: Record<string, unknown>): Promise<Record<string, unknown>> {
  const handler = RPC_HANDLERS[rpc];
  // Every mutation is traced whatever the sample ratio (issue 21); what it records continues the trace.
  const span = isMutation(rpc) ? api.tracing.startForced(`api.${rpc}`, { 'rpc.method': rpc }) : null;
  try {
    if (!handler) throw new Error(`no handler for ${rpc}`);
    const authenticated = await api.authenticate(authorization);
    span?.setAttributes({ 'opamp.tenant': authenticated.tenantId });
    const caller = span ? { ...authenticated, trace: span } : authenticated;
    rejectUndecodable(req);
    rejectNulText(req);
    const result = await handler(api, caller, req);
    api.count(undefined, rpc);
    return result;
  } catch (err) {
    api.count(err, rpc);
    span?.fail(err);
    throw err;
  } finally {
    span?.end();
  }
}

/** Reads answer and change nothing; every other rpc is a mutation. */
export function isMutation(rpc: string): boolean {
  return !/^(Get|List|Validate|Render|Watch)/.test(rpc);
}
