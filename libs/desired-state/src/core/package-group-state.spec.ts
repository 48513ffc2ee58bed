import { opamp } from '@opamp/protocol';
import { addToPackageGroup, emptyPackageGroupCounts, packageGroupBucket } from './package-group-state';

const S = opamp.proto.v1.PackageStatusEnum;
const desired = [{ packageName: 'otelcol', version: '2.0.0' }];
const statuses = (p: Record<string, unknown>) => ({ packages: { otelcol: { name: 'otelcol', ...p } } });

describe('packageGroupBucket', () => {
  it('puts the reconciler reasons first', () => {
    expect(packageGroupBucket('no_accepts_packages', desired, null).bucket).toBe('not_capable');
    expect(packageGroupBucket('no_file_for_platform', desired, null).bucket).toBe('no_file_for_platform');
    expect(packageGroupBucket('install_retry_pending', desired, statuses({ status: S.PackageStatusEnum_InstallFailed })).bucket).toBe('retry_pending');
    expect(packageGroupBucket('install_failed', desired, null).bucket).toBe('install_failed');
  });

  it("then the agent's report of the desired packages", () => {
    expect(packageGroupBucket('in_sync', desired, statuses({ status: S.PackageStatusEnum_Installed, agentHasVersion: '2.0.0' })).bucket).toBe('installed');
    expect(packageGroupBucket('awaiting_status', desired, statuses({ status: S.PackageStatusEnum_Installed, agentHasVersion: '1.0.0' })).bucket).toBe('other_version');
    expect(packageGroupBucket('awaiting_status', desired, statuses({ status: 'PackageStatusEnum_Installing' })).bucket).toBe('installing');
    expect(packageGroupBucket('awaiting_status', desired, statuses({ status: S.PackageStatusEnum_Downloading, downloadDetails: { downloadPercent: 40, downloadBytesPerSecond: 1000 } }))).toEqual({ bucket: 'downloading', percent: 40, bytesPerSecond: 1000 });
    expect(packageGroupBucket('send', desired, null).bucket).toBe('other');
  });

  it('sums bytes per second and averages the percent over downloading agents only', () => {
    const counts = emptyPackageGroupCounts();
    addToPackageGroup(counts, { bucket: 'downloading', percent: 20, bytesPerSecond: 100 });
    addToPackageGroup(counts, { bucket: 'downloading', percent: 60, bytesPerSecond: 300 });
    addToPackageGroup(counts, { bucket: 'installed', percent: 0, bytesPerSecond: 0 });
    expect(counts).toMatchObject({ agents: 3, downloadPercent: 40, downloadBytesPerSecond: 400, buckets: { downloading: 2, installed: 1 } });
  });
});
