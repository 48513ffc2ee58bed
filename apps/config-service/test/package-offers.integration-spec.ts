/**
 * Desired packages per group in config-service on the real Kafka, Redis and
 * PostgreSQL (issue 17, item 3): a package assignment is offered as
 * PackagesAvailable (all_packages_hash set, C70) only to agents with
 * AcceptsPackages, each its platform's file (an upload at a signed address
 * on the gateways, a URL file at its URL); an agent whose platform has no
 * file is sent nothing and shown why; a matching reported hash gets nothing,
 * a mismatch gets the set again (C71); INSTALL_FAILED of the offered version
 * is not offered again before its retry back-off (package-retries spec), a new version is; plain-HTTP agents find it pending.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PendingPushStore } from '@opamp/bus-redis';
import { fleet, PACKAGE_FILES_PATH, verifyPackageDownload } from '@opamp/contracts';
import { AgentCapabilities as C, decodeServerToAgent, opamp } from '@opamp/protocol';
import { PackageFileServer, waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const KEY = Buffer.alloc(32, 5);
const BASE = 'https://gw.example.com';
const ACCEPTS = C.ReportsStatus | C.AcceptsPackages | C.ReportsPackageStatuses;
const S = opamp.proto.v1.PackageStatusEnum;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const LINUX = { 'os.type': 'linux', 'host.arch': 'amd64' };

describe('package offers (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  let store: PackageFileServer;
  const v1 = randomBytes(10_000);
  const v2 = randomBytes(12_000);
  let v2Url = '';

  beforeAll(async () => {
    store = await PackageFileServer.start();
    bed = await ConfigServiceBed.start('pkgoffers', { pushes: true, overrides: { packageUrlKey: KEY, packageDownloadUrl: BASE, packageUrlAllow: [store.url('/')] } });
    v2Url = store.put('/otelcol-1.1.0-linux-amd64.tar.gz', v2);
    await bed.rest('POST', '/package-files', undefined, { raw: v1, headers: { 'content-type': 'application/octet-stream' } });
    await bed.rpc('CreatePackage', { package: { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' } });
    await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'otelcol', version: '1.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v1), signature: Buffer.from('sig-1') }] } });
    await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'otelcol', version: '1.1.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v2), url: v2Url }] } });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await bed?.close();
  });

  const tenant = () => bed.tenants[0].id;
  const offersTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.packagesAvailable).map((m) => m.packagesAvailable!);
  const state = async (uid: Buffer) => bed.rpc('GetAgentPackages', { instanceUid: uid.toString('hex') });
  const agent = (labels: Record<string, string>, capabilities = ACCEPTS, extra: Partial<ReportedAgent> = {}): ReportedAgent => ({ tenant: tenant(), uid: bed.newUid(), capabilities, labels, ...extra });
  /** Reports and waits until the package reconciler has handled the event. */
  const report = async (a: ReportedAgent) => {
    const before = bed.primary.packages.metrics.eventsHandled;
    await bed.report(a);
    await waitFor(() => bed.primary.packages.metrics.eventsHandled, (n) => n > before, { description: 'the package reconciler handled the event' });
  };

  it('offers a group its platform files (a signed gateway address for an upload), nothing to an agent without AcceptsPackages or without a file, and says why', async () => {
    const a = agent({ team: 'pay', ...LINUX });
    const win = agent({ team: 'pay', 'os.type': 'windows', 'host.arch': 'amd64' });
    const deaf = agent({ team: 'pay', ...LINUX }, C.ReportsStatus);
    for (const x of [a, win, deaf]) await report(x);
    const created = await bed.rest('POST', '/package-assignments', { name: 'pay', selector: 'team=pay', packages: [{ packageName: 'otelcol', version: '1.0.0' }] });
    expect(created.status).toBe(200);
    await bed.primary.api.packageAssignments.idle();
    const [offer] = await waitFor(() => offersTo(a.uid), (o) => o.length === 1, { description: 'the offer' });
    const pkg = offer.packages!['otelcol'];
    expect(pkg).toMatchObject({ version: '1.0.0', type: opamp.proto.v1.PackageType.PackageType_TopLevel });
    expect(Buffer.from(pkg.file!.contentHash!).toString('hex')).toBe(sha(v1));
    expect(Buffer.from(pkg.file!.signature!).toString()).toBe('sig-1');
    const url = new URL(pkg.file!.downloadUrl!);
    expect(`${url.origin}${url.pathname}`).toBe(`${BASE}${PACKAGE_FILES_PATH}${sha(v1)}`);
    expect(verifyPackageDownload(KEY, sha(v1), url.search.slice(1), Date.now())).toEqual({ tenantId: tenant() });
    expect(offer.allPackagesHash?.length).toBe(32);
    // The reconciler sent exactly one offer for this assignment (a's), so win and deaf got none.
    expect(bed.primary.packages.metrics.offersSent).toBe(1);
    expect(offersTo(win.uid)).toEqual([]);
    expect(offersTo(deaf.uid)).toEqual([]);
    expect(await state(win.uid)).toMatchObject({ assignmentName: 'pay', state: 'no_file_for_platform', packageName: 'otelcol' });
    expect(await state(deaf.uid)).toMatchObject({ assignmentName: 'pay', state: 'no_accepts_packages' });
    expect(await state(a.uid)).toMatchObject({ state: 'awaiting_status', desiredHash: Buffer.from(offer.allPackagesHash!).toString('hex') });
    expect(bed.primary.packages.metrics.refusals['no_file_for_platform']).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${bed.primary.httpBase}/metrics`)).text();
    expect(metrics).toMatch(/opamp_config_package_not_offered_total\{reason="no_file_for_platform"\} [1-9]/);
    expect(metrics).toMatch(/opamp_config_package_offers_total 1\n/);
    expect(metrics).toMatch(/opamp_config_package_uploads_total 1\n/);
  });

  it('sends nothing on a matching reported hash, the set again on a mismatch (C71), not again after INSTALL_FAILED before the retry back-off, and a new version after that', async () => {
    const a = agent({ team: 'ops', ...LINUX });
    await report(a);
    await bed.rpc('CreatePackageAssignment', { packageAssignment: { name: 'ops', selector: 'team=ops', packages: [{ packageName: 'otelcol', version: '1.0.0' }] } });
    await bed.primary.api.packageAssignments.idle();
    const [first] = await waitFor(() => offersTo(a.uid), (o) => o.length === 1, { description: 'the offer' });
    const hash = Buffer.from(first.allPackagesHash!);
    const sent = () => bed.primary.packages.metrics.offersSent;
    const before = sent();
    // In sync, on another connection: nothing.
    await report({ ...a, connectionId: 'c2', packagesHash: hash, changes: fleet.v1.AgentChange.AGENT_CHANGE_PACKAGE_STATUSES });
    expect(await state(a.uid)).toMatchObject({ state: 'in_sync', reportedHash: hash.toString('hex') });
    expect(sent()).toBe(before);
    // A mismatch on a new connection: the set again.
    await report({ ...a, connectionId: 'c3', packagesHash: Buffer.alloc(32, 1), changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    expect(sent()).toBe(before + 1);
    await waitFor(() => offersTo(a.uid), (o) => o.length === 2, { description: 'the set again' });
    // It failed to install that version: not offered again on any connection before the retry back-off (2 min by default).
    const failed = { packages: { otelcol: { name: 'otelcol', serverOfferedVersion: '1.0.0', status: S.PackageStatusEnum_InstallFailed, errorMessage: 'content hash mismatch' } } };
    await report({ ...a, connectionId: 'c4', packagesHash: Buffer.alloc(32, 1), packageStatuses: failed, changes: fleet.v1.AgentChange.AGENT_CHANGE_PACKAGE_STATUSES });
    await report({ ...a, connectionId: 'c5', packagesHash: Buffer.alloc(32, 1), packageStatuses: failed, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    expect(sent()).toBe(before + 1);
    expect(offersTo(a.uid)).toHaveLength(2);
    expect(await state(a.uid)).toMatchObject({ state: 'install_retry_pending' });
    // A new version (a URL file): offered, at the operator's URL.
    await bed.rpc('UpdatePackageAssignment', { packageAssignment: { name: 'ops', selector: 'team=ops', packages: [{ packageName: 'otelcol', version: '1.1.0' }] } });
    await bed.primary.api.packageAssignments.idle();
    const offers = await waitFor(() => offersTo(a.uid), (o) => o.length === 3, { description: 'the new version offered' });
    expect(offers[2].packages!['otelcol']).toMatchObject({ version: '1.1.0', file: { downloadUrl: v2Url } });
    expect(Buffer.from(offers[2].allPackagesHash!).equals(hash)).toBe(false);
  });

  it('leaves the offer for a plain-HTTP agent in the pending store', async () => {
    const a = agent({ team: 'http', ...LINUX }, ACCEPTS, { transport: fleet.v1.Transport.TRANSPORT_HTTP });
    await report(a);
    await bed.rpc('CreatePackageAssignment', { packageAssignment: { name: 'http', selector: 'team=http', packages: [{ packageName: 'otelcol', version: '1.0.0' }] } });
    await bed.primary.api.packageAssignments.idle();
    const pending = new PendingPushStore(bed.redis);
    const items = await waitFor(() => pending.take(tenant(), a.uid.toString('hex')), (i) => i.length > 0, { description: 'the pending offer' });
    const msg = decodeServerToAgent(items.find((i) => i.kind === 'packages_available')!.serverToAgent);
    expect(msg.packagesAvailable?.packages?.['otelcol']?.version).toBe('1.0.0');
  });

  it('refuses assignments naming unknown or withdrawn versions, or a package twice, storing nothing', async () => {
    const unknown = await bed.rest('POST', '/package-assignments', { name: 'bad', selector: 'team=x', packages: [{ packageName: 'otelcol', version: '9.9.9' }] });
    expect(unknown.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "package version 'otelcol@9.9.9' is not in the catalog" });
    const twice = await bed.rest('POST', '/package-assignments', { name: 'bad', selector: 'team=x', packages: [{ packageName: 'otelcol', version: '1.0.0' }, { packageName: 'otelcol', version: '1.1.0' }] });
    expect(twice.status).toBe(400);
    expect((twice.json['error'] as { message: string }).message).toMatch(/'otelcol' comes twice/);
    await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'otelcol', version: '0.9.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v1) }] } });
    await bed.rpc('WithdrawPackageVersion', { packageName: 'otelcol', version: '0.9.0' });
    const withdrawn = await bed.rest('POST', '/package-assignments', { name: 'bad', selector: 'team=x', packages: [{ packageName: 'otelcol', version: '0.9.0' }] });
    expect(withdrawn.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "package version 'otelcol@0.9.0' is withdrawn" });
    expect((await bed.pool.query(`SELECT 1 FROM package_assignments WHERE tenant_id = $1 AND name = 'bad'`, [tenant()])).rows).toEqual([]);
  });
});
