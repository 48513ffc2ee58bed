/**
 * A failed package install is offered again (issue 17; core/package-retry.ts),
 * on the real Kafka, Redis and PostgreSQL: after INSTALL_FAILED of the set it
 * was sent, an agent that only heartbeats is woken by the retry sweep once the
 * back-off passed and gets the set again under another all_packages_hash (an
 * agent skips a hash it saw, C71); each retry waits its own back-off from its
 * own failure; after the last one the failure stands (no install loop) until
 * the set changes. GetAgentPackages says which.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fleet } from '@opamp/contracts';
import { AgentCapabilities as C, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const S = opamp.proto.v1.PackageStatusEnum;
const ACCEPTS = C.ReportsStatus | C.AcceptsPackages | C.ReportsPackageStatuses;
const LINUX = { 'os.type': 'linux', 'host.arch': 'amd64' };
const BACKOFF_MS = [400, 400];
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('package install retries (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  const file = randomBytes(4_000);

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('pkgretry', {
      pushes: true,
      overrides: { packageUrlKey: Buffer.alloc(32, 6), packageDownloadUrl: 'https://gw.example.com', packageRetryBackoffMs: BACKOFF_MS, packageRetrySweepMs: 100 },
    });
    await bed.rest('POST', '/package-files', undefined, { raw: file, headers: { 'content-type': 'application/octet-stream' } });
    await bed.rpc('CreatePackage', { package: { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' } });
    for (const version of ['1.0.0', '1.0.1']) {
      await bed.rpc('CreatePackageVersion', { packageVersion: { packageName: 'otelcol', version, files: [{ os: 'linux', arch: 'amd64', sha256: sha(file) }] } });
    }
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });

  const tenant = () => bed.tenants[0].id;
  const offersTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.packagesAvailable).map((m) => m.packagesAvailable!);
  const state = async (uid: Buffer) => bed.rpc('GetAgentPackages', { instanceUid: uid.toString('hex') });
  const report = async (a: ReportedAgent) => {
    const before = bed.primary.packages.metrics.eventsHandled;
    await bed.report(a);
    await waitFor(() => bed.primary.packages.metrics.eventsHandled, (n) => n > before, { description: 'the package reconciler handled the event' });
  };
  /** The agent reports it received the offer with this hash and failed to install the version. */
  const failed = (a: ReportedAgent, hash: Uint8Array, version: string) =>
    report({
      ...a,
      packagesHash: Buffer.from(hash),
      packageStatuses: { packages: { otelcol: { name: 'otelcol', serverOfferedVersion: version, status: S.PackageStatusEnum_InstallFailed, errorMessage: 'download cut' } } },
      changes: fleet.v1.AgentChange.AGENT_CHANGE_PACKAGE_STATUSES,
    });

  it('offers a failed set again after each back-off under a new hash, then leaves the failure standing; a new set starts over', async () => {
    const a: ReportedAgent = { tenant: tenant(), uid: bed.newUid(), capabilities: ACCEPTS, labels: { team: 'retry', ...LINUX } };
    await report(a);
    await bed.rpc('CreatePackageAssignment', { packageAssignment: { name: 'retry', selector: 'team=retry', packages: [{ packageName: 'otelcol', version: '1.0.0' }] } });
    await bed.primary.api.packageAssignments.idle();
    const [first] = await waitFor(() => offersTo(a.uid), (o) => o.length === 1, { description: 'the first offer' });

    await failed(a, first.allPackagesHash!, '1.0.0');
    expect(await state(a.uid)).toMatchObject({ state: 'install_retry_pending' });
    // No event comes from the agent: the sweep offers it again once the back-off passed.
    const second = await waitFor(() => offersTo(a.uid), (o) => o.length === 2, { description: 'the first retry', timeoutMs: 10_000 });
    expect(second[1].packages!['otelcol']).toMatchObject({ version: '1.0.0' });
    expect(Buffer.from(second[1].allPackagesHash!).equals(Buffer.from(first.allPackagesHash!))).toBe(false);
    expect(await state(a.uid)).toMatchObject({ state: 'awaiting_status' });

    await failed(a, second[1].allPackagesHash!, '1.0.0');
    const third = await waitFor(() => offersTo(a.uid), (o) => o.length === 3, { description: 'the second retry', timeoutMs: 10_000 });
    const hashes = new Set(third.map((o) => Buffer.from(o.allPackagesHash!).toString('hex')));
    expect(hashes.size).toBe(3);

    // The last retry failed too: the failure stands, several sweeps later nothing more was sent.
    await failed(a, third[2].allPackagesHash!, '1.0.0');
    expect(await state(a.uid)).toMatchObject({ state: 'install_failed' });
    const passes = bed.primary.packageRetries.totals.passes;
    await waitFor(() => bed.primary.packageRetries.totals.passes, (n) => n >= passes + 10, { description: 'ten more sweeps', timeoutMs: 10_000 });
    expect(offersTo(a.uid)).toHaveLength(3);
    expect(bed.primary.packages.metrics.retriesSent).toBe(2);
    expect(await (await fetch(`${bed.primary.httpBase}/metrics`)).text()).toMatch(/opamp_config_package_install_retries_total 2\n/);

    // Another version is a new set: offered at once, under its own hash (attempt 0).
    await bed.rpc('UpdatePackageAssignment', { packageAssignment: { name: 'retry', selector: 'team=retry', packages: [{ packageName: 'otelcol', version: '1.0.1' }] } });
    await bed.primary.api.packageAssignments.idle();
    const fourth = await waitFor(() => offersTo(a.uid), (o) => o.length === 4, { description: 'the new version' });
    expect(fourth[3].packages!['otelcol']).toMatchObject({ version: '1.0.1' });
    expect((await state(a.uid))['desiredHash']).toBe(Buffer.from(fourth[3].allPackagesHash!).toString('hex'));
  });
});
