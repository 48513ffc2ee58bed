import { AgentCapabilities as C, opamp } from '@opamp/protocol';
import type { CatalogVersion } from './package-offer';
import { decidePackageOffer, packagesAvailableMessage, planPackages, reportedPackages, type PackageAgentState, type PackagePlan } from './package-offer';

const S = opamp.proto.v1.PackageStatusEnum;
const h = (c: string) => Buffer.alloc(32, c);
const version = (packageName: string, v: string, files: CatalogVersion['files'], extra: Partial<CatalogVersion> = {}): CatalogVersion => ({ packageName, kind: 'agent', version: v, withdrawn: false, files, ...extra });
const file = (os: string, arch: string, sha = h('a'), extra = {}) => ({ os, arch, sha256: sha, signature: null, source: 'upload' as const, url: null, ...extra });

const catalog = new Map<string, CatalogVersion>([
  ['otelcol@1.0.0', version('otelcol', '1.0.0', [file('linux', 'amd64', h('1')), file('windows', 'amd64', h('2'))])],
  ['otelcol@1.1.0', version('otelcol', '1.1.0', [file('linux', 'amd64', h('3'))])],
  ['otelcol@0.9.0', version('otelcol', '0.9.0', [file('linux', 'amd64', h('4'))], { withdrawn: true })],
  ['geoip@2.0.0', version('geoip', '2.0.0', [file('any', 'any', h('5'), { signature: Buffer.from('sig') })], { kind: 'addon' })],
]);
const linux = { os: 'linux', arch: 'amd64' };
const plan = (desired: Array<[string, string]>, platform: { os: string; arch: string } | null = linux) =>
  planPackages(desired.map(([packageName, v]) => ({ packageName, version: v })), catalog, platform);
const ok = (p: ReturnType<typeof plan>): PackagePlan => {
  if ('refused' in p) throw new Error(`refused: ${p.refused}`);
  return p;
};

const ACCEPTS = C.ReportsStatus | C.AcceptsPackages;
const REPORTS = ACCEPTS | C.ReportsPackageStatuses;
const agent = (over: Partial<PackageAgentState> = {}): PackageAgentState => ({ capabilities: REPORTS, reportedHash: null, reported: new Map(), offeredHash: null, offeredConnection: null, offeredAtMs: null, ...over });

describe('package offers (pure)', () => {
  it('gives each platform its files, with one hash for the set that names contents, not addresses', () => {
    const p = ok(plan([['otelcol', '1.0.0'], ['geoip', '2.0.0']]));
    expect(p.packages.map((x) => [x.name, x.version, x.file.sha256.equals(x.name === 'otelcol' ? h('1') : h('5'))])).toEqual([
      ['geoip', '2.0.0', true],
      ['otelcol', '1.0.0', true],
    ]);
    expect(ok(plan([['geoip', '2.0.0'], ['otelcol', '1.0.0']])).hash.equals(p.hash)).toBe(true);
    const windows = ok(plan([['otelcol', '1.0.0'], ['geoip', '2.0.0']], { os: 'windows', arch: 'amd64' }));
    expect(windows.hash.equals(p.hash)).toBe(false);
    expect(ok(plan([['otelcol', '1.1.0'], ['geoip', '2.0.0']])).hash.equals(p.hash)).toBe(false);
  });

  it('sends nothing, with the reason, when a platform has no file or a version is withdrawn or unknown', () => {
    expect(plan([['otelcol', '1.1.0']], { os: 'windows', arch: 'amd64' })).toEqual({ refused: 'no_file_for_platform', packageName: 'otelcol' });
    expect(plan([['otelcol', '1.0.0']], null)).toEqual({ refused: 'no_file_for_platform', packageName: 'otelcol' });
    expect(ok(plan([['geoip', '2.0.0']], null)).packages).toHaveLength(1);
    expect(plan([['otelcol', '0.9.0']])).toEqual({ refused: 'version_withdrawn', packageName: 'otelcol' });
    expect(plan([['otelcol', '7.0.0']])).toEqual({ refused: 'version_unknown', packageName: 'otelcol' });
  });

  it('offers only to AcceptsPackages, and only on a hash mismatch (C71)', () => {
    const p = ok(plan([['otelcol', '1.0.0']]));
    expect(decidePackageOffer(p, agent({ capabilities: C.ReportsStatus | C.ReportsPackageStatuses }), 'ws:g/c', 0)).toEqual({ send: false, reason: 'no_accepts_packages' });
    expect(decidePackageOffer(p, agent(), 'ws:g/c', 0)).toEqual({ send: true, reason: 'send' });
    expect(decidePackageOffer(p, agent({ reportedHash: p.hash }), 'ws:g/c', 0)).toEqual({ send: false, reason: 'in_sync' });
    expect(decidePackageOffer(p, agent({ reportedHash: h('x') }), 'ws:g/c', 0)).toEqual({ send: true, reason: 'send' });
  });

  it('waits for the status of a set sent to this connection, and sends it again elsewhere or later', () => {
    const p = ok(plan([['otelcol', '1.0.0']]));
    const sent = agent({ offeredHash: p.hash, offeredConnection: 'ws:g/c', offeredAtMs: 1_000 });
    expect(decidePackageOffer(p, sent, 'ws:g/c', 2_000)).toEqual({ send: false, reason: 'awaiting_status' });
    expect(decidePackageOffer(p, sent, 'ws:g/other', 2_000)).toEqual({ send: true, reason: 'send' });
    expect(decidePackageOffer(p, sent, 'ws:g/c', 1_000 + 30_000)).toEqual({ send: true, reason: 'send' });
  });

  it('does not offer again a set whose version failed to install, but offers a new version', () => {
    const p = ok(plan([['otelcol', '1.0.0']]));
    const failed = agent({
      reportedHash: h('old'),
      reported: reportedPackages({ packages: { otelcol: { name: 'otelcol', serverOfferedVersion: '1.0.0', status: S.PackageStatusEnum_InstallFailed, errorMessage: 'hash mismatch' } } }),
      offeredHash: p.hash,
      offeredConnection: 'ws:g/c',
      offeredAtMs: 0,
    });
    expect(decidePackageOffer(p, failed, 'ws:g/other', 10 * 60_000)).toEqual({ send: false, reason: 'install_failed' });
    expect(decidePackageOffer(ok(plan([['otelcol', '1.1.0']])), failed, 'ws:g/c', 10 * 60_000)).toEqual({ send: true, reason: 'send' });
  });

  it('shows install_failed, not in_sync, when the agent reports the set as received (as opamp-go does at once) but its version failed', () => {
    const p = ok(plan([['otelcol', '1.0.0']]));
    const reported = (status: number) => reportedPackages({ packages: { otelcol: { name: 'otelcol', serverOfferedVersion: '1.0.0', status } } });
    const received = { reportedHash: p.hash, offeredHash: p.hash, offeredConnection: 'ws:g/c', offeredAtMs: 0 };
    expect(decidePackageOffer(p, agent({ ...received, reported: reported(S.PackageStatusEnum_InstallFailed) }), 'ws:g/c', 10 * 60_000)).toEqual({ send: false, reason: 'install_failed' });
    expect(decidePackageOffer(p, agent({ ...received, reported: reported(S.PackageStatusEnum_Installed) }), 'ws:g/c', 10 * 60_000)).toEqual({ send: false, reason: 'in_sync' });
  });

  it('counts a retry failed only once the agent reports the retry received (the attempt before leaves its INSTALL_FAILED behind)', () => {
    const p = ok(plan([['otelcol', '1.0.0']]));
    const stale = reportedPackages({ packages: { otelcol: { name: 'otelcol', serverOfferedVersion: '1.0.0', status: S.PackageStatusEnum_InstallFailed } } });
    const retrySent = { reportedHash: h('attempt before'), reported: stale, offeredHash: p.hash, offeredConnection: 'ws:g/c', offeredAtMs: 0 };
    expect(decidePackageOffer(p, agent(retrySent), 'ws:g/c', 1_000, 30_000, true)).toEqual({ send: false, reason: 'awaiting_status' });
    expect(decidePackageOffer(p, agent(retrySent), 'ws:g/c', 1_000, 30_000, false)).toEqual({ send: false, reason: 'install_failed' });
    expect(decidePackageOffer(p, agent({ ...retrySent, reportedHash: p.hash }), 'ws:g/c', 1_000, 30_000, true)).toEqual({ send: false, reason: 'install_failed' });
  });

  it('offers a set once to an agent that does not report package statuses', () => {
    const p = ok(plan([['otelcol', '1.0.0']]));
    expect(decidePackageOffer(p, agent({ capabilities: ACCEPTS }), 'http', 0)).toEqual({ send: true, reason: 'send' });
    expect(decidePackageOffer(p, agent({ capabilities: ACCEPTS, offeredHash: p.hash }), 'http', 0)).toEqual({ send: false, reason: 'already_offered' });
  });

  it('builds PackagesAvailable with all_packages_hash always set (C70), types, content hashes and signatures', () => {
    const p = ok(plan([['otelcol', '1.0.0'], ['geoip', '2.0.0']]));
    const msg = packagesAvailableMessage(Buffer.alloc(16, 1), p, (x) => `https://gw/${x.name}`);
    const pa = msg.packagesAvailable!;
    expect(Buffer.from(pa.allPackagesHash as Uint8Array).equals(p.hash)).toBe(true);
    expect(pa.packages!['otelcol']).toMatchObject({ type: opamp.proto.v1.PackageType.PackageType_TopLevel, version: '1.0.0', file: { downloadUrl: 'https://gw/otelcol', contentHash: h('1') } });
    expect(pa.packages!['geoip']).toMatchObject({ type: opamp.proto.v1.PackageType.PackageType_Addon, file: { signature: Buffer.from('sig') } });
    expect(Buffer.from(pa.packages!['geoip'].hash as Uint8Array).length).toBe(32);
  });

  it('reads stored package statuses, enums by number or name', () => {
    const r = reportedPackages(
      JSON.stringify({ packages: { a: { serverOfferedVersion: '1', status: 'PackageStatusEnum_InstallFailed', errorMessage: 'bad hash', agentHasVersion: '0.9' }, b: { status: 2 } } }),
    );
    expect(r.get('a')).toEqual({ serverOfferedVersion: '1', status: S.PackageStatusEnum_InstallFailed, agentHasVersion: '0.9', errorMessage: 'bad hash', downloadPercent: 0, downloadBytesPerSecond: 0 });
    expect(r.get('b')).toEqual({ serverOfferedVersion: '', status: S.PackageStatusEnum_Installing, agentHasVersion: '', errorMessage: '', downloadPercent: 0, downloadBytesPerSecond: 0 });
    expect(reportedPackages(null).size).toBe(0);
  });
});
