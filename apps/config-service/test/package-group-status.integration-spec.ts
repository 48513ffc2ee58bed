/**
 * Per-group package state in config-service on the real Kafka, Redis and
 * PostgreSQL (issue 17): GetPackageAssignmentStatus (gRPC and REST) counts
 * the agents a package assignment wins for by where they stand, decided as
 * the package reconciler decides them, with downloads' bytes per second
 * summed and their percent averaged; agents another assignment wins for are
 * not counted; clear errors for a bad or unknown name.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { fleet } from '@opamp/contracts';
import { AgentCapabilities as C, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const ACCEPTS = C.ReportsStatus | C.AcceptsPackages | C.ReportsPackageStatuses;
const S = opamp.proto.v1.PackageStatusEnum;
const LINUX = { 'os.type': 'linux', 'host.arch': 'amd64' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('package assignment status (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  const file = randomBytes(8_000);

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('pkgstatus', { pushes: true, overrides: { packageUrlKey: Buffer.alloc(32, 3), packageDownloadUrl: 'https://gw.example.com' } });
    await bed.rest('POST', '/package-files', undefined, { raw: file, headers: { 'content-type': 'application/octet-stream' } });
    await bed.rpc('CreatePackage', { package: { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' } });
    await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'otelcol', version: '2.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(file) }] } });
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });

  const tenant = () => bed.tenants[0].id;
  const agent = (labels: Record<string, string>, capabilities = ACCEPTS, extra: Partial<ReportedAgent> = {}): ReportedAgent => ({ tenant: tenant(), uid: bed.newUid(), capabilities, labels, ...extra });
  const statuses = (p: Record<string, unknown>) => ({ packages: { otelcol: { name: 'otelcol', serverOfferedVersion: '2.0.0', ...p } } });
  const report = async (a: ReportedAgent) => {
    const before = bed.primary.packages.metrics.eventsHandled;
    await bed.report({ changes: fleet.v1.AgentChange.AGENT_CHANGE_PACKAGE_STATUSES, ...a });
    await waitFor(() => bed.primary.packages.metrics.eventsHandled, (n) => n > before, { description: 'the package reconciler handled the event' });
  };

  it('counts the agents of a group by package state, over gRPC and REST', async () => {
    await bed.rpc('CreatePackageAssignment', { packageAssignment: { name: 'grp', selector: 'team=grp', packages: [{ packageName: 'otelcol', version: '2.0.0' }] } });
    // Another assignment wins for the canary agents of the team (higher priority): not counted here.
    await bed.rpc('CreatePackageAssignment', { packageAssignment: { name: 'grp-canary', selector: 'team=grp,ring=canary', priority: 10, packages: [{ packageName: 'otelcol', version: '2.0.0' }] } });
    await bed.primary.api.packageAssignments.idle();
    const team = { team: 'grp', ...LINUX };
    await report(agent(team, ACCEPTS, { packageStatuses: statuses({ status: S.PackageStatusEnum_Installed, agentHasVersion: '2.0.0' }) }));
    await report(agent(team, ACCEPTS, { packageStatuses: statuses({ status: S.PackageStatusEnum_Installed, agentHasVersion: '1.9.0' }) }));
    await report(agent(team, ACCEPTS, { packageStatuses: statuses({ status: S.PackageStatusEnum_Downloading, downloadDetails: { downloadPercent: 20, downloadBytesPerSecond: 1_000 } }) }));
    await report(agent(team, ACCEPTS, { packageStatuses: statuses({ status: S.PackageStatusEnum_Downloading, downloadDetails: { downloadPercent: 60, downloadBytesPerSecond: 3_000 } }) }));
    await report(agent(team, ACCEPTS, { packageStatuses: statuses({ status: S.PackageStatusEnum_Installing }) }));
    await report(agent(team, C.ReportsStatus));
    await report(agent({ team: 'grp', 'os.type': 'windows', 'host.arch': 'amd64' }));
    await report(agent({ ...team, ring: 'canary' }, ACCEPTS, { packageStatuses: statuses({ status: S.PackageStatusEnum_Installed, agentHasVersion: '2.0.0' }) }));
    // A failure of the set it received: waits for its retry (the default back-off is minutes).
    const failing = agent(team);
    await report(failing);
    const desired = String((await bed.rpc('GetAgentPackages', { instanceUid: failing.uid.toString('hex') }))['desiredHash']);
    await report({ ...failing, packagesHash: Buffer.from(desired, 'hex'), packageStatuses: statuses({ status: S.PackageStatusEnum_InstallFailed, errorMessage: 'hash mismatch' }) });

    const expected = {
      name: 'grp',
      agents: 8,
      installed: 1,
      otherVersion: 1,
      downloading: 2,
      downloadBytesPerSecond: '4000',
      downloadPercent: 40,
      installing: 1,
      installFailed: 0,
      retryPending: 1,
      noFileForPlatform: 1,
      notCapable: 1,
      other: 0,
    };
    const rest = await bed.rest('GET', '/package-assignments/grp/status');
    expect(rest.status).toBe(200);
    expect(rest.json).toEqual(expected);
    expect(await bed.rpc('GetPackageAssignmentStatus', { name: 'grp' })).toMatchObject({ ...expected, downloadBytesPerSecond: expect.anything() });
    expect(await bed.rpc('GetPackageAssignmentStatus', { name: 'grp-canary' })).toMatchObject({ agents: 1, installed: 1 });
  });

  it('refuses a bad name (400) and an unknown one (404)', async () => {
    const bad = await bed.rest('GET', '/package-assignments/Bad%20Name/status');
    expect(bad.status).toBe(400);
    expect((bad.json['error'] as { message: string }).message).toMatch(/package assignment name "Bad Name" is invalid/);
    const none = await bed.rest('GET', '/package-assignments/none/status');
    expect(none.status).toBe(404);
    await expect(bed.rpc('GetPackageAssignmentStatus', { name: 'none' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});
