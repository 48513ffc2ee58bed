/**
 * What the rollout driver does differently for each kind of rollout: which
 * agents a batch may take, how a member is read and judged, who pushes, and
 * what completing means. Leases, fencing, batches, gates and rollback are the
 * driver's, the same for both: a configuration rollout moves an assignment
 * to another configuration version (the reconciler pushes remote configs),
 * a package rollout moves a package assignment to other package versions
 * (the package reconciler offers PackagesAvailable).
 */
import type { SqlExecutor } from '@opamp/store';
import { classifyMember, classifyPackageMember, packagesLabel, type ApplyDeadline, type MemberProgress } from '../core';
import type { Reconciler } from './reconciler';
import type { PackageReconciler } from './package.reconciler';
import type { MemberRow, RolloutMember, RolloutRecord, RolloutRepository } from '../store/rollout.repository';
import type { PackageMemberRow, PackageRolloutRepository } from '../store/package-rollout.repository';

export interface RolloutKindDriver {
  targets(r: RolloutRecord, options: { stageSelector?: string; excludeRollout?: string; limit?: number }): Promise<Buffer[]>;
  members(r: RolloutRecord, batchIndex: number | null): Promise<{ nowMs: number; members: RolloutMember[] }>;
  /** A member's phase; without `deadline` (a reverted member) no apply deadline applies. */
  progress(r: RolloutRecord, m: RolloutMember, soakMs: number, deadline?: ApplyDeadline): MemberProgress & { reason?: string };
  /** Decides (and pushes to) these agents, not again to those already sent the version; `traceParent`: the batch's span, carried by the pushes. */
  reconcile(tenantId: string, uids: readonly Buffer[], traceParent?: string): Promise<void>;
  /** In the completing transaction: the assignment now stands for the new versions; its selector (to re-evaluate), null when it is gone. */
  complete(tx: SqlExecutor, r: RolloutRecord): Promise<string | null>;
  reevaluate(tenantId: string, selector: string): Promise<void>;
  /** "version 3", "otelcol@1.1.0" for messages. */
  label(r: RolloutRecord, which: 'from' | 'to'): string;
}

export class ConfigurationRolloutKind implements RolloutKindDriver {
  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly reconciler: Reconciler,
  ) {}

  targets(r: RolloutRecord, options: { stageSelector?: string; excludeRollout?: string; limit?: number }): Promise<Buffer[]> {
    return this.rollouts.targets(r.tenantId, r.assignmentName, options);
  }

  members(r: RolloutRecord, batchIndex: number | null): Promise<{ nowMs: number; members: MemberRow[] }> {
    return this.rollouts.members(r.tenantId, r, batchIndex);
  }

  progress(_r: RolloutRecord, m: RolloutMember, soakMs: number, deadline?: ApplyDeadline): MemberProgress {
    return classifyMember(m as MemberRow, soakMs, deadline);
  }

  async reconcile(tenantId: string, uids: readonly Buffer[], traceParent?: string): Promise<void> {
    await this.reconciler.reconcileAgents(tenantId, [...uids], { onlyUnsent: true, traceParent });
  }

  async complete(tx: SqlExecutor, r: RolloutRecord): Promise<string | null> {
    // The assignment now stands for the new version (following the latest again when it did and still may).
    const { rows } = await tx.query(
      `UPDATE assignments a SET pinned_version = CASE WHEN $4 AND $3 = c.latest_version THEN NULL ELSE $3::int END, updated_at = now()
         FROM configurations c
        WHERE a.tenant_id = $1 AND a.name = $2 AND c.tenant_id = a.tenant_id AND c.name = a.configuration_name
        RETURNING a.selector`,
      [r.tenantId, r.assignmentName, r.toVersion, r.assignmentFollowedLatest],
    );
    return rows.length ? String(rows[0]['selector']) : null;
  }

  async reevaluate(tenantId: string, selector: string): Promise<void> {
    await this.reconciler.reevaluate(tenantId, [selector]);
  }

  label(r: RolloutRecord, which: 'from' | 'to'): string {
    return `version ${which === 'from' ? r.fromVersion : r.toVersion}`;
  }
}

export class PackageRolloutKind implements RolloutKindDriver {
  constructor(
    private readonly rollouts: PackageRolloutRepository,
    private readonly reconciler: PackageReconciler,
  ) {}

  targets(r: RolloutRecord, options: { stageSelector?: string; excludeRollout?: string; limit?: number }): Promise<Buffer[]> {
    return this.rollouts.targets(r.tenantId, r.assignmentName, options);
  }

  members(r: RolloutRecord, batchIndex: number | null): Promise<{ nowMs: number; members: PackageMemberRow[] }> {
    return this.rollouts.members(r.tenantId, r, batchIndex);
  }

  progress(_r: RolloutRecord, m: RolloutMember, soakMs: number, deadline?: ApplyDeadline): MemberProgress & { reason: string } {
    return classifyPackageMember(m as PackageMemberRow, soakMs, deadline);
  }

  reconcile(tenantId: string, uids: readonly Buffer[]): Promise<void> {
    // The package decision never offers a set again while its status is awaited on the same connection.
    return this.reconciler.reconcileAgents(tenantId, uids);
  }

  async complete(tx: SqlExecutor, r: RolloutRecord): Promise<string | null> {
    const { rows } = await tx.query(
      `UPDATE package_assignments SET packages = $3::jsonb, updated_at = now() WHERE tenant_id = $1 AND name = $2 RETURNING selector`,
      [r.tenantId, r.assignmentName, JSON.stringify(r.toPackages)],
    );
    return rows.length ? String(rows[0]['selector']) : null;
  }

  reevaluate(tenantId: string, selector: string): Promise<void> {
    return this.reconciler.reconcileSelectors(tenantId, [selector]);
  }

  label(r: RolloutRecord, which: 'from' | 'to'): string {
    return packagesLabel(which === 'from' ? r.fromPackages : r.toPackages);
  }
}
