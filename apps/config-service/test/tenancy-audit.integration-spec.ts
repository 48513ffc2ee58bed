/**
 * Tenancy and the audit log over the real API (issue 13, item 25): a second
 * tenant cannot see or act on another tenant's rollouts, agent tokens or
 * agents (NOT_FOUND, and nothing changes), and every mutating rpc leaves its
 * audit event with the action, the resource and the caller as actor. The
 * table of mutating rpcs must name every rpc of rpc-table.ts that is not a
 * read, so a new mutating rpc fails here until its audit event is asserted.
 */
import * as grpc from '@grpc/grpc-js';
import { AgentCapabilities as C } from '@opamp/protocol';
import { RPC_HANDLERS } from '@opamp/platform-api';
import { testCsr } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const STATIC = 'receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {logs: {receivers: [otlp], exporters: [debug]}}}\n';
const V2 = STATIC.replace('debug: {}', 'debug: {verbosity: detailed}');
const files = (body = STATIC) => ({ 'c.yaml': { body, contentType: 'text/yaml' } });
const A = 0;
const B = 1;

let bed: ConfigServiceBed;
/** Tenant A's agent: restartable, with one custom capability, matched by the rollout's assignment. */
let agentUid: string;
/** Tenant A's agent that has gone (DeleteAgent refuses a connected one). */
let goneUid: string;
/** A package file tenant A uploaded (the package version steps name it). */
let packageSha = '';
/** Tenant A's CSRs waiting for approval: one to approve, one to deny. */
const csrIds: { approve: string; deny: string } = { approve: '', deny: '' };

async function notFound(call: Promise<unknown>): Promise<void> {
  await expect(call).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
}

/** The newest event a caller caused: the rollout driver's own events (actor system, e.g. a rollback finishing) land whenever it acts. */
async function newestAudit(tenant: number): Promise<Record<string, unknown> | undefined> {
  const res = await bed.rpc('ListAuditEvents', { pageSize: 20 }, { tenant });
  return (res['events'] as Array<Record<string, unknown>>).find((e) => e['actor'] !== 'system');
}

/** Tenant A: a configuration with two versions, an assignment pinned to v1 over one agent, a pending rollout to v2. */
async function rolloutOfA(name: string): Promise<void> {
  await bed.rpc('CreateConfiguration', { name: `${name}-c`, files: files() });
  await bed.rpc('CreateAssignment', { assignment: { name: `${name}-a`, configurationName: `${name}-c`, pinnedVersion: 1, selector: 'role=rollout' } });
  await bed.rpc('UpdateConfiguration', { name: `${name}-c`, files: files(V2) });
  await bed.rpc('CreateRollout', { name, assignmentName: `${name}-a`, toVersion: 2, strategy: { batchSize: 1 } });
}

beforeAll(async () => {
  bed = await ConfigServiceBed.start('tenancy', { tenants: 2, overrides: { credentialKey: Buffer.alloc(32, 5) } });
  const uid = bed.newUid();
  agentUid = uid.toString('hex');
  await bed.putAgent({ tenant: bed.tenants[A].id, uid, capabilities: C.ReportsStatus | C.AcceptsRemoteConfig | C.AcceptsRestartCommand, labels: { role: 'rollout' }, customCapabilities: ['io.example.ping'] });
  const gone = bed.newUid();
  goneUid = gone.toString('hex');
  await bed.putAgent({ tenant: bed.tenants[A].id, uid: gone, capabilities: C.ReportsStatus, labels: { role: 'gone' }, connected: false });
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe('a second tenant', () => {
  it('cannot see, start, pause, resume, abort or roll back another tenant\'s rollout, nor read its events or agents', async () => {
    await rolloutOfA('xr');
    const before = await bed.rpc('GetRollout', { name: 'xr' });
    expect(before).toMatchObject({ state: 'ROLLOUT_STATE_PENDING' });
    for (const rpc of ['GetRollout', 'StartRollout', 'PauseRollout', 'ResumeRollout', 'AbortRollout', 'RollbackRollout', 'ListRolloutEvents', 'ListRolloutAgents']) {
      await notFound(bed.rpc(rpc, { name: 'xr' }, { tenant: B }));
    }
    expect((await bed.rest('POST', '/rollouts/xr:start', {}, { tenant: B })).status).toBe(404);
    expect((await bed.rpc('ListRollouts', {}, { tenant: B }))['rollouts']).toEqual([]);
    const after = await bed.rpc('GetRollout', { name: 'xr' });
    expect(after).toMatchObject({ state: 'ROLLOUT_STATE_PENDING', updateTime: before['updateTime'] });
    expect((await bed.rpc('ListRolloutEvents', { name: 'xr' }))['events']).toEqual([expect.objectContaining({ type: 'created' })]);
    expect(await newestAudit(B)).toBeUndefined();
    await bed.rpc('AbortRollout', { name: 'xr' });
  });

  it('cannot list or revoke another tenant\'s agent tokens', async () => {
    const created = await bed.rpc('CreateAgentToken', { name: 'a-token' });
    const id = (created['token'] as { id: string }).id;
    expect((await bed.rpc('ListAgentTokens', {}, { tenant: B }))['tokens']).toEqual([]);
    await notFound(bed.rpc('RevokeAgentToken', { id }, { tenant: B }));
    expect((await bed.rest('DELETE', `/agent-tokens/${id}`, undefined, { tenant: B })).status).toBe(404);
    expect((await bed.rpc('ListAgentTokens', {}))['tokens']).toEqual([expect.objectContaining({ id, name: 'a-token', revokeTime: '' })]);
    expect(await newestAudit(B)).toBeUndefined();
  });

  it('cannot send a custom message to (or restart) another tenant\'s agent', async () => {
    await notFound(bed.rpc('SendCustomMessage', { instanceUid: agentUid, capability: 'io.example.ping', type: 'ping' }, { tenant: B }));
    await notFound(bed.rpc('RestartAgent', { instanceUid: agentUid }, { tenant: B }));
    await notFound(bed.rpc('GetAgent', { instanceUid: agentUid }, { tenant: B }));
    const { rows } = await bed.pool.query(`SELECT count(*)::int AS n FROM agent_commands WHERE instance_uid = $1`, [Buffer.from(agentUid, 'hex')]);
    expect(rows[0]['n']).toBe(0);
    expect(await newestAudit(B)).toBeUndefined();
  });

  it('cannot see, change or delete another tenant\'s connection profile, and may have one of the same name', async () => {
    await bed.rpc('CreateConnectionProfile', { connectionProfile: { name: 'x-p', opamp: { headers: [{ key: 'X-A', value: 'a' }] } } });
    expect((await bed.rpc('ListConnectionProfiles', {}, { tenant: B }))['connectionProfiles']).toEqual([]);
    await notFound(bed.rpc('GetConnectionProfile', { name: 'x-p' }, { tenant: B }));
    await notFound(bed.rpc('UpdateConnectionProfile', { connectionProfile: { name: 'x-p' } }, { tenant: B }));
    await notFound(bed.rpc('DeleteConnectionProfile', { name: 'x-p' }, { tenant: B }));
    await bed.rpc('CreateConnectionProfile', { connectionProfile: { name: 'x-p' } }, { tenant: B });
    expect(await bed.rpc('GetConnectionProfile', { name: 'x-p' })).toMatchObject({ opamp: { headers: [{ key: 'X-A', value: 'a' }] } });
    await bed.rpc('DeleteConnectionProfile', { name: 'x-p' }, { tenant: B });
    await bed.rpc('DeleteConnectionProfile', { name: 'x-p' });
  });
});

/** A mutating rpc, the request it is called with (given what earlier steps returned), and the audit event it must leave. */
interface AuditStep {
  rpc: string;
  request: (previous: Record<string, Record<string, unknown>>) => Record<string, unknown>;
  action: string;
  resourceType: string;
  resourceName: (previous: Record<string, Record<string, unknown>>) => string;
}

const tokenId = (p: Record<string, Record<string, unknown>>) => (p['CreateAgentToken']['token'] as { id: string }).id;

/** In the order they run (each may use what the earlier ones created). */
const AUDITED: readonly AuditStep[] = [
  { rpc: 'CreateConfiguration', request: () => ({ name: 'au-c', files: files() }), action: 'configuration.create', resourceType: 'configuration', resourceName: () => 'au-c' },
  { rpc: 'UpdateConfiguration', request: () => ({ name: 'au-c', files: files(V2) }), action: 'configuration.update', resourceType: 'configuration', resourceName: () => 'au-c' },
  { rpc: 'CreateAssignment', request: () => ({ assignment: { name: 'au-a', configurationName: 'au-c', selector: 'role=none' } }), action: 'assignment.create', resourceType: 'assignment', resourceName: () => 'au-a' },
  { rpc: 'UpdateAssignment', request: () => ({ assignment: { name: 'au-a', configurationName: 'au-c', selector: 'role=none', priority: 5 } }), action: 'assignment.update', resourceType: 'assignment', resourceName: () => 'au-a' },
  { rpc: 'DeleteAssignment', request: () => ({ name: 'au-a' }), action: 'assignment.delete', resourceType: 'assignment', resourceName: () => 'au-a' },
  {
    rpc: 'CreateConnectionProfile',
    request: () => ({ connectionProfile: { name: 'au-p', selector: 'role=none', opamp: { heartbeatIntervalSeconds: 10 } } }),
    action: 'connection_profile.create',
    resourceType: 'connection_profile',
    resourceName: () => 'au-p',
  },
  {
    rpc: 'UpdateConnectionProfile',
    request: () => ({ connectionProfile: { name: 'au-p', selector: 'role=none', opamp: { heartbeatIntervalSeconds: 20 } } }),
    action: 'connection_profile.update',
    resourceType: 'connection_profile',
    resourceName: () => 'au-p',
  },
  { rpc: 'DeleteConnectionProfile', request: () => ({ name: 'au-p' }), action: 'connection_profile.delete', resourceType: 'connection_profile', resourceName: () => 'au-p' },
  { rpc: 'RotateAgentCredentials', request: () => ({ instanceUid: agentUid }), action: 'agent_credential.rotate', resourceType: 'agent_credentials', resourceName: () => agentUid },
  { rpc: 'RevokeAgentCredentials', request: () => ({ instanceUid: agentUid }), action: 'agent_credential.revoke', resourceType: 'agent_credentials', resourceName: () => agentUid },
  { rpc: 'DeleteConfiguration', request: () => ({ name: 'au-c' }), action: 'configuration.delete', resourceType: 'configuration', resourceName: () => 'au-c' },
  { rpc: 'CreateAgentToken', request: () => ({ name: 'au-token' }), action: 'agent_token.create', resourceType: 'agent_token', resourceName: tokenId },
  { rpc: 'RevokeAgentToken', request: (p) => ({ id: tokenId(p) }), action: 'agent_token.revoke', resourceType: 'agent_token', resourceName: tokenId },
  { rpc: 'RestartAgent', request: () => ({ instanceUid: agentUid }), action: 'agent.restart', resourceType: 'agent', resourceName: () => agentUid },
  { rpc: 'SendCustomMessage', request: () => ({ instanceUid: agentUid, capability: 'io.example.ping', type: 'ping' }), action: 'agent.custom_message', resourceType: 'agent', resourceName: () => agentUid },
  { rpc: 'CreateRollout', request: () => ({ name: 'au-r', assignmentName: 'aur-a', toVersion: 2, strategy: { batchSize: 1 } }), action: 'rollout.create', resourceType: 'rollout', resourceName: () => 'au-r' },
  { rpc: 'StartRollout', request: () => ({ name: 'au-r' }), action: 'rollout.start', resourceType: 'rollout', resourceName: () => 'au-r' },
  { rpc: 'PauseRollout', request: () => ({ name: 'au-r' }), action: 'rollout.pause', resourceType: 'rollout', resourceName: () => 'au-r' },
  { rpc: 'ResumeRollout', request: () => ({ name: 'au-r' }), action: 'rollout.resume', resourceType: 'rollout', resourceName: () => 'au-r' },
  { rpc: 'AbortRollout', request: () => ({ name: 'au-r' }), action: 'rollout.abort', resourceType: 'rollout', resourceName: () => 'au-r' },
  { rpc: 'DeleteAgent', request: () => ({ instanceUid: goneUid }), action: 'agent.delete', resourceType: 'agent', resourceName: () => goneUid },
  { rpc: 'UpdateTenantSettings', request: () => ({ settings: { agentRetentionDays: 30 } }), action: 'tenant.update_settings', resourceType: 'tenant', resourceName: () => bed.tenants[A].id },
  { rpc: 'RollbackRollout', request: () => ({ name: 'au-r' }), action: 'rollout.rollback', resourceType: 'rollout', resourceName: () => 'au-r' },
  { rpc: 'CreatePackage', request: () => ({ package: { name: 'au-pkg', kind: 'PACKAGE_KIND_ADDON' } }), action: 'package.create', resourceType: 'package', resourceName: () => 'au-pkg' },
  {
    rpc: 'CreatePackageVersion',
    request: () => ({ packageVersion: { packageName: 'au-pkg', version: '1.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: packageSha }] } }),
    action: 'package_version.create',
    resourceType: 'package_version',
    resourceName: () => 'au-pkg@1.0.0',
  },
  {
    rpc: 'CreatePackageAssignment',
    request: () => ({ packageAssignment: { name: 'au-pa', selector: 'role=none', packages: [{ packageName: 'au-pkg', version: '1.0.0' }] } }),
    action: 'package_assignment.create',
    resourceType: 'package_assignment',
    resourceName: () => 'au-pa',
  },
  {
    rpc: 'UpdatePackageAssignment',
    request: () => ({ packageAssignment: { name: 'au-pa', selector: 'role=none', priority: 3, packages: [{ packageName: 'au-pkg', version: '1.0.0' }] } }),
    action: 'package_assignment.update',
    resourceType: 'package_assignment',
    resourceName: () => 'au-pa',
  },
  { rpc: 'DeletePackageAssignment', request: () => ({ name: 'au-pa' }), action: 'package_assignment.delete', resourceType: 'package_assignment', resourceName: () => 'au-pa' },
  { rpc: 'WithdrawPackageVersion', request: () => ({ packageName: 'au-pkg', version: '1.0.0' }), action: 'package_version.withdraw', resourceType: 'package_version', resourceName: () => 'au-pkg@1.0.0' },
  { rpc: 'DeletePackage', request: () => ({ name: 'au-pkg-empty' }), action: 'package.delete', resourceType: 'package', resourceName: () => 'au-pkg-empty' },
  // Package rollouts (issue 17 item 4): of 'aurp-a' over an agent that never reports, so it stays running until aborted.
  {
    rpc: 'CreatePackageRollout',
    request: () => ({ name: 'au-pr', packageAssignmentName: 'aurp-a', toPackages: [{ packageName: 'aur-pkg', version: '1.1.0' }], strategy: { batchSize: 1 } }),
    action: 'package_rollout.create',
    resourceType: 'package_rollout',
    resourceName: () => 'au-pr',
  },
  { rpc: 'StartPackageRollout', request: () => ({ name: 'au-pr' }), action: 'package_rollout.start', resourceType: 'package_rollout', resourceName: () => 'au-pr' },
  { rpc: 'PausePackageRollout', request: () => ({ name: 'au-pr' }), action: 'package_rollout.pause', resourceType: 'package_rollout', resourceName: () => 'au-pr' },
  { rpc: 'ResumePackageRollout', request: () => ({ name: 'au-pr' }), action: 'package_rollout.resume', resourceType: 'package_rollout', resourceName: () => 'au-pr' },
  { rpc: 'AbortPackageRollout', request: () => ({ name: 'au-pr' }), action: 'package_rollout.abort', resourceType: 'package_rollout', resourceName: () => 'au-pr' },
  { rpc: 'RollbackPackageRollout', request: () => ({ name: 'au-pr' }), action: 'package_rollout.rollback', resourceType: 'package_rollout', resourceName: () => 'au-pr' },
  // Client certificates (issue 18).
  { rpc: 'CreateCertificateAuthority', request: () => ({}), action: 'certificate_authority.create', resourceType: 'certificate_authority', resourceName: (p) => String(p['CreateCertificateAuthority']['id']) },
  { rpc: 'RotateCertificateAuthority', request: () => ({}), action: 'certificate_authority.rotate', resourceType: 'certificate_authority', resourceName: (p) => String(p['RotateCertificateAuthority']['id']) },
  { rpc: 'RotateAgentCertificates', request: () => ({ allAgents: true }), action: 'agent_certificate.request_rotation', resourceType: 'agent_certificates', resourceName: () => bed.tenants[A].id },
  { rpc: 'UpdateCertificatePolicy', request: () => ({ policy: { lifetimeHours: 24 } }), action: 'certificate_policy.update', resourceType: 'certificate_policy', resourceName: () => bed.tenants[A].id },
  { rpc: 'ApproveCertificateRequest', request: () => ({ id: csrIds.approve }), action: 'certificate_request.approve', resourceType: 'certificate_request', resourceName: () => csrIds.approve },
  { rpc: 'DenyCertificateRequest', request: () => ({ id: csrIds.deny }), action: 'certificate_request.deny', resourceType: 'certificate_request', resourceName: () => csrIds.deny },
  // Certificate revocation (issue 18 item 5), of the agent labelled role=au-revoke.
  { rpc: 'RevokeAgentCertificates', request: () => ({ selector: 'role=au-revoke' }), action: 'agent_certificate.revoke', resourceType: 'agent_certificates', resourceName: () => 'role=au-revoke' },
  // Its certificates' event (agent.revoke) comes first, its own credentials' last (the certificate-revocation spec shows both).
  { rpc: 'RevokeAgents', request: () => ({ selector: 'role=au-revoke' }), action: 'agent_credential.revoke', resourceType: 'agent_credentials', resourceName: () => 'role=au-revoke' },
];

/** Rpcs that only read (or compute without storing): everything else in rpc-table.ts mutates and must be in AUDITED. */
const READ_ONLY = /^(Get|List|Validate|Render|Watch)/;

describe('the audit log', () => {
  it('the table names every mutating rpc of rpc-table.ts', () => {
    const mutating = Object.keys(RPC_HANDLERS).filter((rpc) => !READ_ONLY.test(rpc)).sort();
    expect(AUDITED.map((s) => s.rpc).sort()).toEqual(mutating);
  });

  it('every mutating rpc leaves its event: action, resource and the caller as actor', async () => {
    // The rollout steps roll out this assignment (pinned to v1 of a two-version configuration) over the agent.
    await bed.rpc('CreateConfiguration', { name: 'aur-c', files: files() });
    await bed.rpc('CreateAssignment', { assignment: { name: 'aur-a', configurationName: 'aur-c', pinnedVersion: 1, selector: 'role=rollout' } });
    await bed.rpc('UpdateConfiguration', { name: 'aur-c', files: files(V2) });
    csrIds.approve = await bed.putCertificateRequest(A, bed.newUid(), (await testCsr()).pem);
    csrIds.deny = await bed.putCertificateRequest(A, bed.newUid(), (await testCsr()).pem);
    const actor = await bed.adminActor(A);
    // A package file upload (REST only) is audited too; the package steps name it, and delete a package without versions.
    const uploaded = await bed.rest('POST', '/package-files', undefined, { raw: 'package bytes', headers: { 'content-type': 'application/octet-stream' } });
    packageSha = String(uploaded.json['sha256']);
    expect(await newestAudit(A)).toMatchObject({ action: 'package_file.upload', resourceType: 'package_file', resourceName: packageSha, actor });
    await bed.rpc('CreatePackage', { package: { name: 'au-pkg-empty', kind: 'PACKAGE_KIND_TOP_LEVEL' } });
    await bed.rpc('CreatePackage', { package: { name: 'aur-pkg', kind: 'PACKAGE_KIND_AGENT' } });
    for (const version of ['1.0.0', '1.1.0']) await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'aur-pkg', version, files: [{ os: 'any', arch: 'any', sha256: packageSha }] } });
    await bed.rpc('CreatePackageAssignment', { packageAssignment: { name: 'aurp-a', selector: 'role=pkgrollout', packages: [{ packageName: 'aur-pkg', version: '1.0.0' }] } });
    await bed.putAgent({ tenant: bed.tenants[A].id, uid: bed.newUid(), capabilities: C.ReportsStatus | C.AcceptsPackages | C.ReportsPackageStatuses, labels: { role: 'pkgrollout' } });
    await bed.putAgent({ tenant: bed.tenants[A].id, uid: bed.newUid(), capabilities: C.ReportsStatus, labels: { role: 'au-revoke' } });
    const previous: Record<string, Record<string, unknown>> = {};
    for (const step of AUDITED) {
      previous[step.rpc] = await bed.rpc(step.rpc, step.request(previous));
      expect({ rpc: step.rpc, ...(await newestAudit(A)) }).toMatchObject({
        rpc: step.rpc,
        action: step.action,
        resourceType: step.resourceType,
        resourceName: step.resourceName(previous),
        actor,
      });
    }
  });
});
