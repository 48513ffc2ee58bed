import { AgentCapabilities as C, opamp } from '@opamp/protocol';
import { PackageInstallRunner } from './package-install.runner';
import { buildAgentToServer, FULL_STATE_PARTS, StatusPart } from './status-builder';

const S = opamp.proto.v1.PackageStatusEnum;
const offer = (version: string, hash = Buffer.alloc(32, 3)): opamp.proto.v1.IPackagesAvailable => ({
  packages: { otelcol: { version, hash: Buffer.from(version) }, geoip: { version: '2', hash: Buffer.from('g2') } },
  allPackagesHash: hash,
});

describe('simulated package installs', () => {
  it('installs what it is offered, the agent package becoming service.version, and reports the statuses with the offered set hash', () => {
    const r = new PackageInstallRunner({ agentPackage: 'otelcol' }, { identifying: { 'service.name': 'otelcol', 'service.version': '1.0.0' } });
    expect(r.packageStatuses).toBeUndefined();
    expect(r.offer(offer('1.1.0'))).toBe(true);
    expect(r.agentDescription?.identifying).toEqual({ 'service.name': 'otelcol', 'service.version': '1.1.0' });
    expect(r.packageStatuses).toMatchObject({
      serverProvidedAllPackagesHash: Buffer.alloc(32, 3),
      packages: {
        otelcol: { agentHasVersion: '1.1.0', serverOfferedVersion: '1.1.0', status: S.PackageStatusEnum_Installed },
        geoip: { agentHasVersion: '2', status: S.PackageStatusEnum_Installed },
      },
    });
  });

  it('reports INSTALL_FAILED for a version it is told to fail and keeps what it had', () => {
    const r = new PackageInstallRunner({ agentPackage: 'otelcol', failVersions: ['otelcol@1.1.0'] }, { identifying: { 'service.version': '1.0.0' } });
    r.offer(offer('1.0.0'));
    expect(r.offer(offer('1.1.0', Buffer.alloc(32, 4)))).toBe(false);
    expect(r.agentDescription?.identifying?.['service.version']).toBe('1.0.0');
    expect(r.packageStatuses?.packages?.['otelcol']).toMatchObject({ agentHasVersion: '1.0.0', serverOfferedVersion: '1.1.0', status: S.PackageStatusEnum_InstallFailed, errorMessage: 'simulated install failure' });
  });

  it('puts package_statuses in a message only with ReportsPackageStatuses', () => {
    const r = new PackageInstallRunner({}, undefined);
    r.offer(offer('1.0.0'));
    const state = { instanceUid: Buffer.alloc(16), sequenceNum: 1, remoteConfig: { status: 0 }, packageStatuses: r.packageStatuses };
    expect(buildAgentToServer({ ...state, capabilities: C.ReportsStatus | C.ReportsPackageStatuses }, StatusPart.PackageStatuses).packageStatuses?.packages?.['otelcol']).toBeDefined();
    expect(buildAgentToServer({ ...state, capabilities: C.ReportsStatus | C.AcceptsPackages }, FULL_STATE_PARTS).packageStatuses).toBeUndefined();
  });
});
