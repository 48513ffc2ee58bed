/**
 * Per-group package state (GetPackageAssignmentStatus, issue 17 item 5): how
 * many of the agents a package assignment wins for are at its versions,
 * downloading (with their summed bytes per second and mean percent),
 * installing, failed, waiting for a retry, without a file for their
 * platform, or not capable of packages: the package reconciler decides each
 * as it would to offer, core/package-group-state.ts buckets them.
 */
import { checkResourceName, DesiredStateError, invalidArgument } from '../core';
import type { PackageReconciler } from '../runtime/package.reconciler';
import type { Caller } from './api-context';
import { str, type Req } from './request-fields';

export class PackageGroupStatusApi {
  constructor(private readonly reconciler: () => PackageReconciler | null) {}

  async getPackageAssignmentStatus(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    if (!name) throw invalidArgument('name is required');
    checkResourceName(name, 'package assignment');
    const reconciler = this.reconciler();
    if (!reconciler) throw new DesiredStateError('UNAVAILABLE', 'package offers are not served by this process');
    const counts = await reconciler.groupState(c.tenantId, name);
    if (!counts) throw new DesiredStateError('NOT_FOUND', `package assignment '${name}' not found`);
    const b = counts.buckets;
    return {
      name,
      agents: counts.agents,
      installed: b.installed,
      otherVersion: b.other_version,
      downloading: b.downloading,
      downloadBytesPerSecond: Math.round(counts.downloadBytesPerSecond),
      downloadPercent: Math.round(counts.downloadPercent * 10) / 10,
      installing: b.installing,
      installFailed: b.install_failed,
      retryPending: b.retry_pending,
      noFileForPlatform: b.no_file_for_platform,
      notCapable: b.not_capable,
      other: b.other,
    };
  }
}
