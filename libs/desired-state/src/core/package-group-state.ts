/**
 * Where the agents of one package assignment stand (GetPackageAssignmentStatus):
 * each agent the assignment selects falls in one bucket, from what the package
 * reconciler decided for it and what it reports per package; downloads add
 * their reported percent and bytes per second.
 */
import { opamp } from '@opamp/protocol';
import { reportedPackages, type ReportedPackage } from './package-offer';

const S = opamp.proto.v1.PackageStatusEnum;

export type PackageGroupBucket =
  | 'installed'
  | 'other_version'
  | 'downloading'
  | 'installing'
  | 'install_failed'
  | 'retry_pending'
  | 'no_file_for_platform'
  | 'not_capable'
  | 'other';

export interface PackageGroupCounts {
  agents: number;
  buckets: Record<PackageGroupBucket, number>;
  /** Over the downloading agents: the sum of their reported bytes per second, and their mean percent. */
  downloadBytesPerSecond: number;
  downloadPercent: number;
}

export function emptyPackageGroupCounts(): PackageGroupCounts {
  return {
    agents: 0,
    buckets: { installed: 0, other_version: 0, downloading: 0, installing: 0, install_failed: 0, retry_pending: 0, no_file_for_platform: 0, not_capable: 0, other: 0 },
    downloadBytesPerSecond: 0,
    downloadPercent: 0,
  };
}

/**
 * The bucket of one agent: the reconciler's reasons first (not capable, no
 * file, a failure it retries or gave up on), then the agent's own report of
 * the desired packages (any downloading, installing or failed; all at their
 * desired version; else another version).
 */
export function packageGroupBucket(decisionState: string, desired: ReadonlyArray<{ packageName: string; version: string }>, storedStatuses: unknown): { bucket: PackageGroupBucket; percent: number; bytesPerSecond: number } {
  const none = { percent: 0, bytesPerSecond: 0 };
  if (decisionState === 'no_accepts_packages') return { bucket: 'not_capable', ...none };
  if (decisionState === 'no_file_for_platform') return { bucket: 'no_file_for_platform', ...none };
  if (decisionState === 'install_retry_pending') return { bucket: 'retry_pending', ...none };
  if (decisionState === 'install_failed') return { bucket: 'install_failed', ...none };
  const reported = reportedPackages(storedStatuses);
  const mine = desired.map((d) => reported.get(d.packageName));
  const downloading = mine.filter((r): r is ReportedPackage => r?.status === S.PackageStatusEnum_Downloading);
  if (downloading.length > 0) {
    return {
      bucket: 'downloading',
      percent: downloading.reduce((s, r) => s + (r.downloadPercent ?? 0), 0) / downloading.length,
      bytesPerSecond: downloading.reduce((s, r) => s + (r.downloadBytesPerSecond ?? 0), 0),
    };
  }
  if (mine.some((r) => r?.status === S.PackageStatusEnum_Installing)) return { bucket: 'installing', ...none };
  if (mine.some((r) => r?.status === S.PackageStatusEnum_InstallFailed)) return { bucket: 'install_failed', ...none };
  if (desired.length > 0 && desired.every((d, i) => mine[i]?.status === S.PackageStatusEnum_Installed && mine[i]?.agentHasVersion === d.version)) return { bucket: 'installed', ...none };
  if (mine.some((r) => r !== undefined)) return { bucket: 'other_version', ...none };
  return { bucket: 'other', ...none };
}

/** Adds one agent to the counts (the mean percent is kept over the downloading agents). */
export function addToPackageGroup(counts: PackageGroupCounts, one: { bucket: PackageGroupBucket; percent: number; bytesPerSecond: number }): void {
  counts.agents++;
  counts.buckets[one.bucket]++;
  if (one.bucket !== 'downloading') return;
  const n = counts.buckets.downloading;
  counts.downloadPercent += (one.percent - counts.downloadPercent) / n;
  counts.downloadBytesPerSecond += one.bytesPerSecond;
}
