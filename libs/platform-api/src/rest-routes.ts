/**
 * The REST/JSON mirror of FleetService under /api/v1: one table drives both
 * the routing and the OpenAPI document, so they cannot drift apart.
 */
import { echo, invalidArgument } from '@opamp/desired-state';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RestRoute {
  readonly method: HttpMethod;
  /** Path under /api/v1 with {param} placeholders (request field names). */
  readonly path: string;
  readonly rpc: string;
  /** '*' = the whole body is the request; a field name = the body is that field; absent = no body (query parameters). */
  readonly body?: string;
  readonly summary: string;
  /** A server stream: served as Server-Sent Events (text/event-stream), one event per message. */
  readonly stream?: true;
}

export const REST_ROUTES: readonly RestRoute[] = [
  { method: 'GET', path: '/agents', rpc: 'ListAgents', summary: 'List agents (label selector, filters, keyset paging)' },
  { method: 'GET', path: '/agents/{instanceUid}', rpc: 'GetAgent', summary: 'Get one agent with its health tree, effective config, package statuses and components' },
  { method: 'GET', path: '/fleet-summary', rpc: 'GetFleetSummary', summary: 'Fleet totals, and per value of a label (?groupBy=<label key>)' },
  { method: 'POST', path: '/agents/{instanceUid}/restart', rpc: 'RestartAgent', body: '*', summary: 'Send a restart command' },
  { method: 'POST', path: '/agents/{instanceUid}/custom-messages', rpc: 'SendCustomMessage', body: '*', summary: 'Send a custom message' },
  { method: 'DELETE', path: '/agents/{instanceUid}', rpc: 'DeleteAgent', summary: 'Delete a disconnected agent (FAILED_PRECONDITION while it is connected)' },
  { method: 'GET', path: '/tenant-settings', rpc: 'GetTenantSettings', summary: 'Tenant settings (agent retention, agent credentials)' },
  { method: 'PUT', path: '/tenant-settings', rpc: 'UpdateTenantSettings', body: 'settings', summary: 'Update tenant settings; fields left out keep their value (agent_retention_days: 0 keeps agents forever; require_agent_credentials, agent_credential_lifetime_days, credential_switch_grace_hours; own_telemetry_to_server)' },
  { method: 'GET', path: '/configurations', rpc: 'ListConfigurations', summary: 'List configurations (latest versions)' },
  { method: 'POST', path: '/configurations', rpc: 'CreateConfiguration', body: '*', summary: 'Create a configuration (version 1)' },
  { method: 'POST', path: '/configurations:validate', rpc: 'ValidateConfiguration', body: '*', summary: 'Validate files without storing' },
  { method: 'GET', path: '/configurations/{name}', rpc: 'GetConfiguration', summary: 'Get a configuration (latest, or ?version=N)' },
  { method: 'PUT', path: '/configurations/{name}', rpc: 'UpdateConfiguration', body: '*', summary: 'Update: creates a new immutable version' },
  { method: 'DELETE', path: '/configurations/{name}', rpc: 'DeleteConfiguration', summary: 'Delete a configuration no assignment uses' },
  { method: 'GET', path: '/configurations/{name}/versions', rpc: 'ListConfigurationVersions', summary: 'List versions, newest first' },
  { method: 'GET', path: '/configurations/{name}/versions/{version}', rpc: 'GetConfiguration', summary: 'Get one version' },
  { method: 'POST', path: '/configurations/{name}:render', rpc: 'RenderConfiguration', body: '*', summary: 'Render for one agent without storing or sending' },
  { method: 'GET', path: '/assignments', rpc: 'ListAssignments', summary: 'List assignments' },
  { method: 'POST', path: '/assignments', rpc: 'CreateAssignment', body: 'assignment', summary: 'Create an assignment' },
  { method: 'GET', path: '/assignments/{name}', rpc: 'GetAssignment', summary: 'Get an assignment' },
  { method: 'PUT', path: '/assignments/{assignment.name}', rpc: 'UpdateAssignment', body: 'assignment', summary: 'Update an assignment' },
  { method: 'DELETE', path: '/assignments/{name}', rpc: 'DeleteAssignment', summary: 'Delete an assignment' },
  { method: 'GET', path: '/connection-profiles', rpc: 'ListConnectionProfiles', summary: 'List connection profiles with their agents by connection settings status' },
  { method: 'POST', path: '/connection-profiles', rpc: 'CreateConnectionProfile', body: 'connectionProfile', summary: 'Create a connection profile (OpAMP endpoint, heartbeat, headers, proxy, TLS, other connections)' },
  { method: 'GET', path: '/connection-profiles/{name}', rpc: 'GetConnectionProfile', summary: 'Get a connection profile with its agents by status' },
  { method: 'PUT', path: '/connection-profiles/{connectionProfile.name}', rpc: 'UpdateConnectionProfile', body: 'connectionProfile', summary: 'Update a connection profile (offered again to its agents)' },
  { method: 'DELETE', path: '/connection-profiles/{name}', rpc: 'DeleteConnectionProfile', summary: 'Delete a connection profile' },
  { method: 'GET', path: '/agent-tokens', rpc: 'ListAgentTokens', summary: 'List agent tokens' },
  { method: 'POST', path: '/agent-tokens', rpc: 'CreateAgentToken', body: '*', summary: 'Create an agent (enrollment) token, optionally with expire_time, max_uses and labels (the secret is shown once)' },
  { method: 'DELETE', path: '/agent-tokens/{id}', rpc: 'RevokeAgentToken', summary: 'Revoke an agent token' },
  { method: 'GET', path: '/agents/{instanceUid}/credentials', rpc: 'ListAgentCredentials', summary: "An agent's own credentials and enrollment (never a secret)" },
  { method: 'POST', path: '/agent-credentials:rotate', rpc: 'RotateAgentCredentials', body: '*', summary: 'Offer new credentials (one of instance_uid, selector, enrollment_token_id)' },
  { method: 'POST', path: '/agent-credentials:revoke', rpc: 'RevokeAgentCredentials', body: '*', summary: "Revoke agents' credentials: their connections close, later attempts get 401" },
  { method: 'GET', path: '/agent-credentials:pending-switches', rpc: 'ListPendingCredentialSwitches', summary: 'Agents that have not followed a rotation yet' },
  { method: 'GET', path: '/agent-credentials:status', rpc: 'GetAgentCredentialsStatus', summary: 'How far the credential switch of the chosen agents got (one of instance_uid, selector, enrollment_token_id): pending, offered, failed, switched' },
  { method: 'GET', path: '/audit-events', rpc: 'ListAuditEvents', summary: 'Audit log, newest first' },
  { method: 'GET', path: '/rollouts', rpc: 'ListRollouts', summary: 'List rollouts, newest first' },
  { method: 'POST', path: '/rollouts', rpc: 'CreateRollout', body: '*', summary: 'Create a staged rollout of an assignment to another version (start: true starts it)' },
  { method: 'GET', path: '/rollouts/{name}', rpc: 'GetRollout', summary: 'Get a rollout with its progress per batch' },
  { method: 'POST', path: '/rollouts/{name}:start', rpc: 'StartRollout', body: '*', summary: 'Start a pending rollout' },
  { method: 'POST', path: '/rollouts/{name}:pause', rpc: 'PauseRollout', body: '*', summary: 'Pause: no new batch starts' },
  { method: 'POST', path: '/rollouts/{name}:resume', rpc: 'ResumeRollout', body: '*', summary: 'Resume a paused rollout' },
  { method: 'POST', path: '/rollouts/{name}:abort', rpc: 'AbortRollout', body: '*', summary: 'Abort: stop for good, agents keep what they have' },
  { method: 'POST', path: '/rollouts/{name}:rollback', rpc: 'RollbackRollout', body: '*', summary: 'Return every moved agent to the previous version' },
  { method: 'GET', path: '/rollouts/{name}/events', rpc: 'ListRolloutEvents', summary: 'Rollout events, oldest first (after_id, wait_ms to follow)' },
  { method: 'GET', path: '/rollouts/{name}/agents', rpc: 'ListRolloutAgents', summary: 'Agents of a rollout with their phase' },
  // Packages (issue 17). The files themselves are uploaded raw: POST /api/v1/package-files (package-upload.ts).
  { method: 'GET', path: '/packages', rpc: 'ListPackages', summary: 'List packages with their version counts' },
  { method: 'POST', path: '/packages', rpc: 'CreatePackage', body: 'package', summary: 'Create a package (the agent itself, a top-level package or an addon)' },
  { method: 'GET', path: '/packages/{name}', rpc: 'GetPackage', summary: 'Get a package with its versions and their files' },
  { method: 'DELETE', path: '/packages/{name}', rpc: 'DeletePackage', summary: 'Delete a package that has no versions' },
  { method: 'GET', path: '/packages/{packageName}/versions', rpc: 'ListPackageVersions', summary: 'Versions of a package, newest first' },
  {
    method: 'POST',
    path: '/packages/{packageVersion.packageName}/versions',
    rpc: 'CreatePackageVersion',
    body: 'packageVersion',
    summary: 'Register an immutable version: one file per platform, by URL (its hash verified by downloading it) or by the sha256 of an uploaded file',
  },
  { method: 'GET', path: '/packages/{packageName}/versions/{version}', rpc: 'GetPackageVersion', summary: 'Get a package version with its files' },
  { method: 'POST', path: '/packages/{packageName}/versions/{version}:withdraw', rpc: 'WithdrawPackageVersion', body: '*', summary: 'Withdraw a version: offered to no agent again' },
  { method: 'GET', path: '/package-assignments', rpc: 'ListPackageAssignments', summary: 'List package assignments, highest priority first' },
  { method: 'POST', path: '/package-assignments', rpc: 'CreatePackageAssignment', body: 'packageAssignment', summary: 'Say which package versions the agents a selector matches should run' },
  { method: 'GET', path: '/package-assignments/{name}', rpc: 'GetPackageAssignment', summary: 'Get a package assignment' },
  { method: 'PUT', path: '/package-assignments/{packageAssignment.name}', rpc: 'UpdatePackageAssignment', body: 'packageAssignment', summary: 'Change a package assignment (offered again to its agents)' },
  { method: 'DELETE', path: '/package-assignments/{name}', rpc: 'DeletePackageAssignment', summary: 'Delete a package assignment' },
  { method: 'GET', path: '/agents/{instanceUid}/packages', rpc: 'GetAgentPackages', summary: "An agent's package state: its assignment, why nothing is sent when it is not, the hashes" },
  // Package rollouts (issue 17 item 4); their events and agents: /rollouts/{name}/events, /rollouts/{name}/agents.
  { method: 'GET', path: '/package-rollouts', rpc: 'ListPackageRollouts', summary: 'List package rollouts, newest first' },
  { method: 'POST', path: '/package-rollouts', rpc: 'CreatePackageRollout', body: '*', summary: 'Create a staged rollout of a package assignment to other package versions (start: true starts it)' },
  { method: 'GET', path: '/package-rollouts/{name}', rpc: 'GetPackageRollout', summary: 'Get a package rollout with its progress per batch' },
  { method: 'POST', path: '/package-rollouts/{name}:start', rpc: 'StartPackageRollout', body: '*', summary: 'Start a pending package rollout' },
  { method: 'POST', path: '/package-rollouts/{name}:pause', rpc: 'PausePackageRollout', body: '*', summary: 'Pause: no new batch starts' },
  { method: 'POST', path: '/package-rollouts/{name}:resume', rpc: 'ResumePackageRollout', body: '*', summary: 'Resume a paused package rollout' },
  { method: 'POST', path: '/package-rollouts/{name}:abort', rpc: 'AbortPackageRollout', body: '*', summary: 'Abort: stop for good, agents keep the versions they have' },
  { method: 'POST', path: '/package-rollouts/{name}:rollback', rpc: 'RollbackPackageRollout', body: '*', summary: 'Offer every moved agent the previous package versions' },
  // Client certificates (issue 18).
  { method: 'GET', path: '/certificate-authorities', rpc: 'ListCertificateAuthorities', summary: "The tenant's certificate authorities and the trust bundle (active and retiring CAs) for a mutual-TLS terminator" },
  { method: 'POST', path: '/certificate-authorities', rpc: 'CreateCertificateAuthority', body: '*', summary: "Create the tenant's certificate authority (key_type, lifetime_days)" },
  { method: 'POST', path: '/certificate-authorities:rotate', rpc: 'RotateCertificateAuthority', body: '*', summary: 'A new CA signs from now on; the old one stays trusted for overlap_hours' },
  { method: 'GET', path: '/certificate-policy', rpc: 'GetCertificatePolicy', summary: "The tenant's certificate policy" },
  { method: 'PUT', path: '/certificate-policy', rpc: 'UpdateCertificatePolicy', body: 'policy', summary: 'Set the certificate policy (require_approval, lifetime_hours, key_types, allowed_dns_names)' },
  { method: 'GET', path: '/agent-certificates', rpc: 'ListAgentCertificates', summary: "Agents' certificates (instance_uid, state, expires_within_days)" },
  { method: 'GET', path: '/certificate-requests', rpc: 'ListCertificateRequests', summary: "Agents' CSRs (state: PENDING waits for approval)" },
  { method: 'POST', path: '/certificate-requests/{id}:approve', rpc: 'ApproveCertificateRequest', body: '*', summary: 'Sign a waiting CSR; the agent is offered the certificate' },
  { method: 'POST', path: '/certificate-requests/{id}:deny', rpc: 'DenyCertificateRequest', body: '*', summary: 'Refuse a waiting CSR' },
  // Certificate rotation (issue 18 item 4).
  { method: 'POST', path: '/agent-certificates:rotate', rpc: 'RotateAgentCertificates', body: '*', summary: "Renew agents' certificates now (exactly one of instance_uid, selector, all_agents)" },
  { method: 'GET', path: '/agent-certificates:pending-switches', rpc: 'ListPendingCertificateSwitches', summary: 'Renewals agents have not switched to (older_than_minutes, default 60)' },
  { method: 'POST', path: '/agent-certificates:revoke', rpc: 'RevokeAgentCertificates', body: '*', summary: 'Revoke certificates (certificate_id, serial, fingerprint, instance_uid or selector; ca_id; reason, note): refused at once on every gateway, in the CRL' },
  { method: 'POST', path: '/agents:revoke', rpc: 'RevokeAgents', body: '*', summary: "Revoke agents (instance_uid or selector): every certificate and every credential the server issued them" },
  { method: 'GET', path: '/certificate-authorities/{id}/revocation-list', rpc: 'GetCertificateRevocationList', summary: "The CA's current CRL as JSON (PEM and DER); GET .../crl serves the CRL itself" },
  { method: 'GET', path: '/package-assignments/{name}/status', rpc: 'GetPackageAssignmentStatus', summary: "Where a package assignment's agents stand: installed, other version, downloading (bytes/s, percent), installing, failed, retry pending, no file for their platform, not capable" },
  { method: 'GET', path: '/agents/{instanceUid}/own-metrics', rpc: 'GetAgentOwnMetrics', summary: "An agent's own metrics (start_time, end_time RFC 3339, default the last hour; kinds): 10 s points up to 24 h, 5-minute rollups beyond, at most 31 days" },
  { method: 'GET', path: '/fleet-own-metrics', rpc: 'GetFleetOwnMetrics', summary: "Agents' own metrics summed per group from the 5-minute rollups: by the configuration they run, or by a label's value (group_by_label); selector, kinds, start_time, end_time" },
  { method: 'GET', path: '/rollouts/{rolloutName}/batches/{batchIndex}/own-metrics', rpc: 'GetRolloutBatchOwnMetrics', summary: "Own metrics of the agents a rollout batch took, summed (per minute up to 24 h, per 5 minutes beyond); start_time defaults to an hour before the batch started; kinds, end_time" },
  { method: 'GET', path: '/configurations/{configurationName}/versions/{version}/own-metrics', rpc: 'GetConfigurationVersionOwnMetrics', summary: "Own metrics of the agents running a configuration version now, summed (per minute up to 24 h, per 5 minutes beyond); start_time, end_time (default the last hour), kinds" },
  {
    method: 'GET',
    path: '/agents:watch',
    rpc: 'WatchAgents',
    stream: true,
    summary: 'Agent changes as Server-Sent Events (ListAgents filters): `event: change` with an AgentWatchEvent, `event: error` before the end when the watch falls behind (list again, watch again)',
  },
];

export interface CompiledRoute extends RestRoute {
  readonly regex: RegExp;
  readonly params: readonly string[];
}

export function compileRoutes(routes: readonly RestRoute[] = REST_ROUTES): CompiledRoute[] {
  return routes.map((r) => {
    const params: string[] = [];
    const pattern = r.path
      .split(/(\{[^}]+\})/)
      .map((part) => {
        const param = /^\{([^}]+)\}$/.exec(part);
        if (!param) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
        params.push(param[1]);
        return '([^/:]+)';
      })
      .join('');
    return { ...r, regex: new RegExp(`^${pattern}$`), params };
  });
}

function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidArgument(`path parameter '${name}' is not valid percent-encoded UTF-8: ${echo(raw)}`);
  }
}

/** Finds the route (INVALID_ARGUMENT for a path parameter that does not decode); `allowed` lists the methods of a matching path when none matched the method. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | { allowed: string[] } {
  const allowed: string[] = [];
  for (const route of routes) {
    const m = route.regex.exec(path);
    if (!m) continue;
    if (route.method !== method) {
      allowed.push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    route.params.forEach((name, i) => (params[name] = decodeParam(name, m[i + 1])));
    return { route, params };
  }
  return { allowed };
}
