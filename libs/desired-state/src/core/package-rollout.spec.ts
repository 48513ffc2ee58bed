import { opamp } from '@opamp/protocol';
import { evaluateBatch } from './rollout';
import { classifyPackageMember, packageMemberDecided, packagePinApplies, type PackageMemberObservation } from './package-rollout';
import type { ReportedPackage } from './package-offer';

const S = opamp.proto.v1.PackageStatusEnum;
const HASH = Buffer.alloc(32, 7);
const OLD = Buffer.alloc(32, 1);
const agentPkg = { packageName: 'otelcol', version: '1.1.0', kind: 'agent' as const };
const addon = { packageName: 'geoip', version: '2.0.0', kind: 'addon' as const };

const obs = (o: Partial<PackageMemberObservation> = {}): PackageMemberObservation => ({
  connected: true,
  offlineForMs: null,
  healthy: true,
  acceptsPackages: true,
  refusal: null,
  targets: [agentPkg],
  targetHash: HASH,
  offeredHash: null,
  reportedHash: null,
  reported: new Map(),
  serviceVersion: '1.0.0',
  applyingSinceMs: 1_000,
  ...o,
});
const reported = (entries: Record<string, ReportedPackage>) => new Map(Object.entries(entries));
const deadline = { applyTimeoutMs: 5_000, nowMs: 2_000 };

describe('package rollout member phases', () => {
  it('is pending until offered, applying once offered (or the agent reports the set), not bad either way', () => {
    expect(classifyPackageMember(obs(), 100, deadline)).toMatchObject({ phase: 'pending', bad: false, settled: false });
    expect(classifyPackageMember(obs({ offeredHash: HASH }), 100, deadline)).toMatchObject({ phase: 'applying', bad: false, settled: false });
    expect(classifyPackageMember(obs({ reportedHash: HASH }), 100, deadline)).toMatchObject({ phase: 'applying', bad: false });
    // An offer of another set (the previous version) is not this one.
    expect(classifyPackageMember(obs({ offeredHash: OLD }), 100, deadline).phase).toBe('pending');
  });

  it('reads the agent package from service.version, others from agent_has_version', () => {
    expect(classifyPackageMember(obs({ serviceVersion: '1.1.0' }), 100, deadline)).toMatchObject({ phase: 'applied', bad: false, settled: true });
    // A status saying the agent package is installed is not enough: the agent must say it runs it.
    const statusOnly = reported({ otelcol: { serverOfferedVersion: '1.1.0', status: S.PackageStatusEnum_Installed, agentHasVersion: '1.1.0' } });
    expect(classifyPackageMember(obs({ reported: statusOnly, offeredHash: HASH }), 100, deadline).phase).toBe('applying');
    const both = obs({ targets: [agentPkg, addon], serviceVersion: '1.1.0', offeredHash: HASH });
    expect(classifyPackageMember(both, 100, deadline).phase).toBe('applying');
    const installed = reported({ geoip: { serverOfferedVersion: '2.0.0', status: S.PackageStatusEnum_Installed, agentHasVersion: '2.0.0' } });
    expect(classifyPackageMember({ ...both, reported: installed }, 100, deadline).phase).toBe('applied');
  });

  it('fails on INSTALL_FAILED of the target version, with the agent message; not on a failure of another version', () => {
    const failed = reported({ otelcol: { serverOfferedVersion: '1.1.0', status: S.PackageStatusEnum_InstallFailed, errorMessage: 'hash mismatch', agentHasVersion: '1.0.0' } });
    expect(classifyPackageMember(obs({ reported: failed, offeredHash: HASH }), 100, deadline)).toEqual({ phase: 'failed', bad: true, settled: true, reason: 'otelcol: hash mismatch' });
    // Reverted to 1.0.0: the failure of 1.1.0 does not count, and 1.0.0 is what it still runs.
    const back = obs({ reported: failed, targets: [{ ...agentPkg, version: '1.0.0' }], targetHash: OLD });
    expect(classifyPackageMember(back, 100).phase).toBe('applied');
  });

  it('is unhealthy when it runs the new version and reports health false', () => {
    expect(classifyPackageMember(obs({ serviceVersion: '1.1.0', healthy: false }), 100, deadline)).toMatchObject({ phase: 'unhealthy', bad: true, settled: true });
    // Unknown health is not unhealthy.
    expect(classifyPackageMember(obs({ serviceVersion: '1.1.0', healthy: null }), 100, deadline).phase).toBe('applied');
  });

  it('times out when the new version is not reported within the apply deadline (0 = none)', () => {
    const late = { applyTimeoutMs: 5_000, nowMs: 6_000 };
    expect(classifyPackageMember(obs({ offeredHash: HASH }), 100, late)).toEqual({
      phase: 'timed_out',
      bad: true,
      settled: true,
      reason: 'does not report otelcol@1.1.0 within the apply deadline',
    });
    expect(classifyPackageMember(obs({ offeredHash: HASH }), 100, { applyTimeoutMs: 0, nowMs: 1e12 }).phase).toBe('applying');
    expect(classifyPackageMember(obs({ offeredHash: HASH }), 100).phase).toBe('applying');
  });

  it('is not sent (settled, not bad) without AcceptsPackages or when its platform has no file; offline counts once gone for the soak time', () => {
    expect(classifyPackageMember(obs({ acceptsPackages: false }), 100, deadline)).toMatchObject({ phase: 'not_sent', bad: false, settled: true });
    expect(classifyPackageMember(obs({ refusal: 'no_file_for_platform: otelcol' }), 100, deadline)).toEqual({ phase: 'not_sent', bad: false, settled: true, reason: 'no_file_for_platform: otelcol' });
    expect(classifyPackageMember(obs({ connected: false, offlineForMs: 50 }), 100, deadline)).toMatchObject({ phase: 'offline', bad: false, settled: false });
    expect(classifyPackageMember(obs({ connected: false, offlineForMs: 150 }), 100, deadline)).toMatchObject({ phase: 'offline', bad: true, settled: true });
  });

  it('feeds the same batch gate as configurations: one INSTALL_FAILED of three fails a batch tolerating none', () => {
    const failed = reported({ otelcol: { serverOfferedVersion: '1.1.0', status: S.PackageStatusEnum_InstallFailed } });
    const members = [obs({ serviceVersion: '1.1.0' }), obs({ serviceVersion: '1.1.0' }), obs({ reported: failed })].map((o) => classifyPackageMember(o, 100, deadline));
    const verdict = evaluateBatch({ members, gates: { maxFailedAgents: 0, maxFailedPercent: 0 }, soakMs: 100, nowMs: 2_000, soakStartedAtMs: null });
    expect(verdict).toMatchObject({ verdict: 'failed', counts: { applied: 2, failed: 1 } });
    const tolerant = evaluateBatch({ members, gates: { maxFailedAgents: 1, maxFailedPercent: 0 }, soakMs: 100, nowMs: 2_000, soakStartedAtMs: null });
    expect(tolerant.verdict).toBe('soaking');
  });
});

describe('package rollout decisions', () => {
  it('a member is decided once offered its set, in sync, refused, not accepting, or gone', () => {
    expect(packageMemberDecided(obs())).toBe(false);
    expect(packageMemberDecided(obs({ offeredHash: OLD }))).toBe(false);
    // Reverted after its install failed: it runs the old version, but reports the failed set's hash until offered the old set.
    const failed = reported({ otelcol: { serverOfferedVersion: '1.1.0', status: S.PackageStatusEnum_InstallFailed } });
    expect(packageMemberDecided(obs({ targets: [{ ...agentPkg, version: '1.0.0' }], targetHash: OLD, offeredHash: HASH, reportedHash: HASH, reported: failed }))).toBe(false);
    expect(packageMemberDecided(obs({ offeredHash: HASH }))).toBe(true);
    expect(packageMemberDecided(obs({ reportedHash: HASH }))).toBe(true);
    expect(packageMemberDecided(obs({ refusal: 'version_withdrawn' }))).toBe(true);
    expect(packageMemberDecided(obs({ acceptsPackages: false }))).toBe(true);
    expect(packageMemberDecided(obs({ connected: false }))).toBe(true);
  });

  it('pins count while the assignment names the versions the rollout started from, in any order', () => {
    const from = [
      { packageName: 'otelcol', version: '1.0.0' },
      { packageName: 'geoip', version: '1' },
    ];
    expect(packagePinApplies([...from].reverse(), from)).toBe(true);
    expect(packagePinApplies([{ packageName: 'otelcol', version: '1.1.0' }, from[1]], from)).toBe(false);
    expect(packagePinApplies([from[0]], from)).toBe(false);
  });
});
