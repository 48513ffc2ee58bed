/**
 * Staged package rollouts, the pure part the configuration rollouts do not
 * share: which package versions a member of a package rollout should run,
 * whether a rollout's pins still count, and the gate's view of one member
 * (installed, INSTALL_FAILED, unhealthy after the upgrade, or not reporting
 * the new version within the apply deadline). Batches, the batch gate and the
 * state machine are core/rollout.ts's, the same for both kinds.
 *
 * "Has the new version" means: for the agent package (kind 'agent') the
 * agent description's `service.version` (what the agent says it runs after
 * restarting into the new build); for top-level packages and addons the
 * package status' `agent_has_version`.
 */
import { opamp } from '@opamp/protocol';
import { applyTimedOut, type ApplyDeadline, type MemberProgress } from './rollout';
import type { DesiredPackages, ReportedPackage } from './package-offer';
import type { PackageKind } from './package-catalog';

const S = opamp.proto.v1.PackageStatusEnum;

export interface PackageTarget {
  readonly packageName: string;
  readonly version: string;
  readonly kind: PackageKind;
}

export interface PackageMemberObservation {
  readonly connected: boolean;
  /** How long a disconnected agent has been gone (ms), null when unknown (counts as long gone). */
  readonly offlineForMs: number | null;
  readonly healthy: boolean | null;
  /** AcceptsPackages: without it nothing is ever offered (not sent). */
  readonly acceptsPackages: boolean;
  /** Why the agent cannot be offered its target set (no file for its platform, withdrawn): not sent. */
  readonly refusal: string | null;
  /** The versions the rollout dictates for this member (the new ones, or the old ones once reverted). */
  readonly targets: readonly PackageTarget[];
  /** all_packages_hash of the target set for the agent's platform (null when refused). */
  readonly targetHash: Buffer | null;
  /** What was last offered, and the server_provided_all_packages_hash the agent reports. */
  readonly offeredHash: Buffer | null;
  readonly reportedHash: Buffer | null;
  readonly reported: ReadonlyMap<string, ReportedPackage>;
  /** service.version of the agent description ('' or null: not reported). */
  readonly serviceVersion: string | null;
  /** When the apply deadline started (see MemberObservation.applyingSinceMs). */
  readonly applyingSinceMs: number | null;
}

export interface PackageMemberProgress extends MemberProgress {
  /** Why it failed or is not sent (the agent's error message, the refusal). */
  readonly reason: string;
}

function same(a: Buffer | null, b: Buffer | null): boolean {
  return !!a && !!b && a.length > 0 && a.equals(b);
}

/** Whether the agent runs `t.version` of the package, by what it reports. */
export function hasPackageVersion(o: Pick<PackageMemberObservation, 'reported' | 'serviceVersion'>, t: PackageTarget): boolean {
  if (t.kind === 'agent') return !!o.serviceVersion && o.serviceVersion === t.version;
  return o.reported.get(t.packageName)?.agentHasVersion === t.version;
}

/** The target package the agent reported INSTALL_FAILED for (the version offered being the target), if any. */
export function failedInstall(o: Pick<PackageMemberObservation, 'reported'>, targets: readonly PackageTarget[]): { packageName: string; message: string } | null {
  for (const t of targets) {
    const r = o.reported.get(t.packageName);
    if (r && r.serverOfferedVersion === t.version && r.status === S.PackageStatusEnum_InstallFailed) return { packageName: t.packageName, message: r.errorMessage ?? '' };
  }
  return null;
}

/**
 * The reconciler has done its part for this member: the target set was
 * offered (or the agent reports its hash already), or nothing can be offered
 * (refused, no AcceptsPackages), or the agent is gone (it is offered on its
 * next connection).
 */
export function packageMemberDecided(o: PackageMemberObservation): boolean {
  if (!o.connected || !o.acceptsPackages || o.refusal) return true;
  // Not "runs the versions already": an agent that failed the new version still runs the old one, but its
  // all_packages_hash is the new set's until it is offered the old set again (C71).
  return same(o.offeredHash, o.targetHash) || same(o.reportedHash, o.targetHash);
}

/**
 * The phase of one member of a started batch of a package rollout, judged as
 * classifyMember judges a configuration: installed (every target version
 * reported) and healthy is applied; INSTALL_FAILED of a target version is
 * failed; installed but unhealthy is unhealthy; still installing past the
 * apply deadline is timed_out; gone beyond the soak time is offline. All but
 * applied and not_sent count against the gate.
 */
export function classifyPackageMember(o: PackageMemberObservation, soakMs: number, deadline?: ApplyDeadline): PackageMemberProgress {
  if (!o.connected) {
    const gone = o.offlineForMs === null || o.offlineForMs >= soakMs;
    return { phase: 'offline', bad: gone, settled: gone, reason: '' };
  }
  if (!o.acceptsPackages) return { phase: 'not_sent', bad: false, settled: true, reason: 'the agent does not accept packages (AcceptsPackages)' };
  if (o.refusal) return { phase: 'not_sent', bad: false, settled: true, reason: o.refusal };
  if (o.targets.every((t) => hasPackageVersion(o, t))) {
    if (o.healthy === false) return { phase: 'unhealthy', bad: true, settled: true, reason: 'unhealthy after the upgrade' };
    return { phase: 'applied', bad: false, settled: true, reason: '' };
  }
  const failed = failedInstall(o, o.targets);
  if (failed) return { phase: 'failed', bad: true, settled: true, reason: `${failed.packageName}: ${failed.message || 'INSTALL_FAILED'}` };
  if (applyTimedOut(o.applyingSinceMs, deadline)) {
    const missing = o.targets.filter((t) => !hasPackageVersion(o, t)).map((t) => `${t.packageName}@${t.version}`);
    return { phase: 'timed_out', bad: true, settled: true, reason: `does not report ${missing.join(', ')} within the apply deadline` };
  }
  const offered = same(o.offeredHash, o.targetHash) || same(o.reportedHash, o.targetHash);
  return { phase: offered ? 'applying' : 'pending', bad: false, settled: false, reason: '' };
}

/**
 * A package rollout's pins count while its assignment still names the
 * versions the rollout started from (it is running, paused, aborted with
 * agents left on the new versions): once the rollout completes the
 * assignment names the new versions itself, and once an operator changes
 * it, the assignment wins for every agent.
 */
export function packagePinApplies(assignmentPackages: DesiredPackages, rolloutFrom: DesiredPackages): boolean {
  return samePackages(assignmentPackages, rolloutFrom);
}

export function samePackages(a: DesiredPackages, b: DesiredPackages): boolean {
  const key = (x: DesiredPackages) =>
    [...x]
      .map((p) => `${p.packageName}@${p.version}`)
      .sort()
      .join('\n');
  return key(a) === key(b);
}

/** "otelcol@1.1.0, addon@2" for messages. */
export function packagesLabel(p: DesiredPackages): string {
  return p.map((x) => `${x.packageName}@${x.version}`).join(', ');
}
