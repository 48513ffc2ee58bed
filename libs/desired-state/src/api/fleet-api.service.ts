/**
 * The platform API, independent of transport: gRPC and REST adapters decode
 * requests into plain shapes (proto3 field names in lowerCamelCase, enums as
 * their names) and encode the results (libs/platform-api rpc-table.ts maps
 * each rpc to a resource below). Every method takes the authenticated caller
 * and touches only the caller's tenant. Bad input throws
 * DesiredStateError('INVALID_ARGUMENT') before anything is stored.
 */
import { ServerTracing } from '@opamp/tracing';
import { DesiredStateError } from '../core';
import { apiErrorCode } from './api-error-code';
import type { AgentPushDispatcher } from '../store/agent-push.dispatcher';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import type { Reconciler } from '../runtime/reconciler';
import type { AgentWatchHub, AgentWatchHubOptions } from '../runtime/agent-watch.hub';
import { AgentApi, type AgentsChanged } from './agent-api';
import { AgentCredentialApi, type AgentCredentialServices } from './agent-credential-api';
import { directoryEntry } from '../store/agent-credential.repository';
import { AgentTokenApi, type AgentTokenSink } from './agent-token-api';
import { ApiContext, type AgentStateEraser, type Caller } from './api-context';
import { AssignmentApi } from './assignment-api';
import { AuditApi } from './audit-api';
import { ConfigurationApi } from './configuration-api';
import { ConnectionProfileApi } from './connection-profile-api';
import { OwnTelemetryApi } from './own-telemetry-api';
import { OwnMetricsApi } from './own-metrics-api';
import { GroupOwnMetricsApi } from './group-own-metrics-api';
import { PackageApi, type PackageApiOptions } from './package-api';
import { PackageAssignmentApi } from './package-assignment-api';
import { PackageGroupStatusApi } from './package-group-status-api';
import type { PackageReconciler } from '../runtime/package.reconciler';
import { CertificateAuthorityApi } from './certificate-authority-api';
import { AgentCertificateApi } from './agent-certificate-api';
import { CertificateRotationApi } from './certificate-rotation-api';
import { CertificateRevocationApi } from './certificate-revocation-api';
import { certificateDirectoryEntry } from '../store/agent-certificate.repository';
import type { CertificateServices } from '../runtime/agent-certificate.issuer';
import { RolloutApi } from './rollout-api';
import { PackageRolloutApi } from './package-rollout-api';
import { TenantSettingsApi } from './tenant-settings-api';

export type { AgentStateEraser, Caller } from './api-context';
export type { AgentsChanged } from './agent-api';
export type { AgentTokenSink, AgentTokenSinkEntry, TenantAgentPolicyEntry } from './agent-token-api';
export type { ConfigFileMessage } from './configuration-api';
export { PackageFileTooLargeError, type PackageApiOptions } from './package-api';

export interface ApiMetrics {
  calls: number;
  invalidArguments: number;
  errors: Record<string, number>;
  /** Calls by rpc and outcome ('OK' or the error code). */
  requests: Record<string, Record<string, number>>;
}

export class FleetApiService {
  readonly metrics: ApiMetrics = { calls: 0, invalidArguments: 0, errors: {}, requests: {} };
  readonly agents: AgentApi;
  readonly configurations: ConfigurationApi;
  readonly assignments: AssignmentApi;
  readonly agentTokens: AgentTokenApi;
  readonly audit: AuditApi;
  /** Staged rollouts (api/rollout-api.ts). */
  readonly rollouts: RolloutApi;
  /** Staged rollouts of package assignments (api/package-rollout-api.ts). */
  readonly packageRollouts: PackageRolloutApi;
  /** Per-tenant settings: agent retention, agents' credentials (api/tenant-settings-api.ts). */
  readonly tenantSettings: TenantSettingsApi;
  /** Agents' own credentials: list, rotate, revoke (api/agent-credential-api.ts). */
  readonly agentCredentials: AgentCredentialApi;
  /** Connection profiles: other connection settings per group of agents (api/connection-profile-api.ts). */
  readonly connectionProfiles: ConnectionProfileApi;
  /** What agents' own telemetry this server received (api/own-telemetry-api.ts). */
  readonly ownTelemetry: OwnTelemetryApi;
  /** Agents' own metrics per agent and per fleet group (api/own-metrics-api.ts). */
  readonly ownMetrics: OwnMetricsApi;
  /** Own metrics of a rollout batch's agents and of a configuration version's (api/group-own-metrics-api.ts). */
  readonly groupOwnMetrics: GroupOwnMetricsApi;
  /** The package catalog and uploaded package files (api/package-api.ts). */
  readonly packages: PackageApi;
  /** Desired packages per group (api/package-assignment-api.ts). */
  readonly packageAssignments: PackageAssignmentApi;
  /** Where the agents of a package assignment stand (api/package-group-status-api.ts). */
  readonly packageGroupStatus: PackageGroupStatusApi;
  /** Client certificates: tenant CAs and policy, agents' certificates and requests (api/certificate-authority-api.ts, api/agent-certificate-api.ts). */
  readonly certificateAuthorities: CertificateAuthorityApi;
  readonly agentCertificates: AgentCertificateApi;
  /** Certificate rotation on demand, and renewals not switched to (api/certificate-rotation-api.ts). */
  readonly certificateRotation: CertificateRotationApi;
  /** Certificate revocation and CRLs (api/certificate-revocation-api.ts). */
  readonly certificateRevocation: CertificateRevocationApi;
  private readonly certificateServices: CertificateServices | null;
  readonly tracing: ServerTracing;
  private readonly credentialServices: AgentCredentialServices | null;

  constructor(
    private readonly repo: DesiredStateRepository,
    dispatcher: AgentPushDispatcher,
    reconciler: Reconciler | null,
    agentTokenSink: AgentTokenSink | null = null,
    /**
     * `onAgentsChanged`: publishes the API's own agent changes (deletions) on the agent-change
     * feed every replica's watches hear; without it they reach this replica's watches only.
     * `credentials`: agents' own credentials (api/agent-credential-api.ts); without, those calls fail.
     * `packages`: the package file limits and store (api/package-api.ts).
     * `packageReconciler`: offers desired packages after assignment changes; without, GetAgentPackages is UNAVAILABLE.
     */
    options: {
      watch?: AgentWatchHubOptions;
      agentState?: AgentStateEraser;
      onAgentsChanged?: AgentsChanged;
      credentials?: AgentCredentialServices;
      packages?: PackageApiOptions;
      packageReconciler?: PackageReconciler;
      certificates?: CertificateServices;
      /** This process's traces: mutations get a span each (issue 21); default off. */
      tracing?: ServerTracing;
    } = {},
  ) {
    this.tracing = options.tracing ?? ServerTracing.off;
    const ctx = new ApiContext(repo, dispatcher, reconciler, options.agentState ?? null);
    this.rollouts = new RolloutApi(repo);
    this.packageRollouts = new PackageRolloutApi(repo);
    this.agents = new AgentApi(ctx, options);
    this.configurations = new ConfigurationApi(ctx, this.agents);
    this.assignments = new AssignmentApi(ctx, this.configurations, this.rollouts.repo);
    this.agentTokens = new AgentTokenApi(ctx, agentTokenSink);
    this.audit = new AuditApi(ctx);
    this.tenantSettings = new TenantSettingsApi(ctx, agentTokenSink, () => this.credentialServices ?? null);
    this.credentialServices = options.credentials ?? null;
    this.agentCredentials = new AgentCredentialApi(ctx, this.credentialServices);
    this.packages = new PackageApi(ctx, options.packages);
    this.packageAssignments = new PackageAssignmentApi(ctx, () => options.packageReconciler ?? null, this.rollouts.repo);
    this.packageGroupStatus = new PackageGroupStatusApi(() => options.packageReconciler ?? null);
    this.connectionProfiles = new ConnectionProfileApi(ctx, () => this.credentialServices ?? null);
    this.ownTelemetry = new OwnTelemetryApi(ctx);
    this.ownMetrics = new OwnMetricsApi(ctx);
    this.groupOwnMetrics = new GroupOwnMetricsApi(ctx);
    this.certificateServices = options.certificates ?? null;
    this.certificateAuthorities = new CertificateAuthorityApi(ctx, this.certificateServices);
    this.agentCertificates = new AgentCertificateApi(ctx, this.certificateServices);
    this.certificateRotation = new CertificateRotationApi(ctx, this.certificateServices);
    this.certificateRevocation = new CertificateRevocationApi(ctx, this.certificateServices, () => (this.credentialServices ? this.agentCredentials : null));
  }

  /** WatchAgents streams of this replica; fed by the agent-change feed (the host wires it). */
  get watches(): AgentWatchHub {
    return this.agents.watches;
  }

  /** Makes the gateways' directory hold exactly the usable agent tokens and agents' live credentials, and every tenant's credential policy (at start; fixes any drift). */
  async syncAgentTokens(): Promise<number> {
    const credentials = this.credentialServices ? await this.credentialServices.credentials.listAccepted() : [];
    const certificates = this.certificateServices ? await this.certificateServices.certificates.listAccepted() : [];
    const entries = await this.agentTokens.syncAgentTokens([...credentials.map(directoryEntry), ...certificates.map(certificateDirectoryEntry)]);
    await this.tenantSettings.syncPolicies();
    return entries;
  }

  /** RevokeAgentToken: the token, and with `revokeCredentials` every credential of the agents it brought in. */
  async revokeAgentToken(c: Caller, req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const token = await this.agentTokens.revokeAgentToken(c, req);
    if (req['revokeCredentials'] === true) {
      await this.agentCredentials.revokeAgentCredentials(c, { enrollmentTokenId: req['id'], reason: 'enrollment token revoked' });
    }
    return token;
  }

  /** Counts a call's outcome (adapters call this around every method). */
  count(err?: unknown, rpc = 'unknown'): void {
    this.metrics.calls++;
    const code = !err ? 'OK' : apiErrorCode(err);
    const byCode = (this.metrics.requests[rpc] ??= {});
    byCode[code] = (byCode[code] ?? 0) + 1;
    if (!err) return;
    if (code === 'INVALID_ARGUMENT') this.metrics.invalidArguments++;
    this.metrics.errors[code] = (this.metrics.errors[code] ?? 0) + 1;
  }

  /** Resolves `Bearer <token>` to a caller; throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined | null): Promise<Caller> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) throw new DesiredStateError('UNAUTHENTICATED', 'missing bearer token (authorization: Bearer <token>)');
    const token = await this.repo.findActiveToken(m[1]);
    if (!token || token.kind !== 'admin') throw new DesiredStateError('UNAUTHENTICATED', 'invalid or revoked token');
    return { tenantId: token.tenantId, tokenId: token.id };
  }
}
