/**
 * Desired packages per group in the platform API (migration 0201): package
 * assignments (a label selector and a priority, like configuration
 * assignments, naming one version per package), validated against the
 * catalog (a version must exist and not be withdrawn), audited, and offered
 * after each change to the connected agents the old or new selector matches
 * (runtime/package.reconciler.ts); and an agent's package state as the
 * reconciler decides it (GetAgentPackages).
 */
import type { SqlExecutor } from '@opamp/store';
import {
  checkResourceName,
  DesiredStateError,
  formatSelector,
  invalidArgument,
  MAX_PACKAGE_ASSIGNMENTS,
  parseDesiredPackages,
  parseSelectorArgument,
} from '../core';
import { toBuffer, toIso, toNumber } from '../store/desired-state.repository';
import { packageAssignmentFromRow, PackageRepository } from '../store/package.repository';
import type { PackageReconciler } from '../runtime/package.reconciler';
import type { RolloutRepository } from '../store/rollout.repository';
import type { ApiContext, Caller } from './api-context';
import { hex, instanceUid, int, str, type Req } from './request-fields';

interface AssignmentInput {
  name: string;
  selector: string;
  priority: number;
  packages: Array<{ packageName: string; version: string }>;
}

export interface PackageAssignmentMetrics {
  /** Re-evaluations after a change that failed (the agents get it on their next event). */
  reevaluationErrors: number;
}

export class PackageAssignmentApi {
  readonly metrics: PackageAssignmentMetrics = { reevaluationErrors: 0 };
  private readonly repo: PackageRepository;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ApiContext,
    private readonly reconciler: () => PackageReconciler | null,
    private readonly rollouts: RolloutRepository,
  ) {
    this.repo = new PackageRepository(ctx.repo.db);
  }

  private input(req: Req): AssignmentInput {
    const a = (req['packageAssignment'] ?? null) as Req | null;
    if (!a || typeof a !== 'object' || Array.isArray(a)) throw invalidArgument('package_assignment is required');
    const name = str(a['name']);
    checkResourceName(name, 'package assignment');
    const selector = formatSelector(parseSelectorArgument(str(a['selector']), 'package_assignment.selector'));
    const priority = int(a['priority'], 'package_assignment.priority');
    if (Math.abs(priority) > 1_000_000) throw invalidArgument('package_assignment.priority must be between -1000000 and 1000000');
    return { name, selector, priority, packages: parseDesiredPackages(a['packages']) };
  }

  /** Every named version exists and is not withdrawn (FAILED_PRECONDITION otherwise). */
  private async checkCatalog(tx: SqlExecutor, tenantId: string, packages: AssignmentInput['packages']): Promise<void> {
    const found = await this.repo.versions(tenantId, packages, tx);
    for (const p of packages) {
      const v = found.get(`${p.packageName}@${p.version}`);
      if (!v) throw new DesiredStateError('FAILED_PRECONDITION', `package version '${p.packageName}@${p.version}' is not in the catalog`);
      if (v.withdrawn) throw new DesiredStateError('FAILED_PRECONDITION', `package version '${p.packageName}@${p.version}' is withdrawn`);
    }
  }

  /**
   * A package assignment an active package rollout holds cannot change or go
   * away; otherwise earlier rollouts' pins stop counting (the assignment
   * decides for every agent again, even if it names the old versions).
   */
  private async releaseRollouts(tx: SqlExecutor, tenantId: string, name: string): Promise<void> {
    const active = await this.rollouts.activeFor(tx, tenantId, name, 'package');
    if (active) {
      throw new DesiredStateError('FAILED_PRECONDITION', `package assignment '${name}' is being rolled out by package rollout '${active.name}' (${active.state}); finish, abort or roll it back first`);
    }
    await tx.query(`UPDATE rollouts SET holds_assignment = false WHERE tenant_id = $1 AND assignment_name = $2 AND holds_assignment AND target_kind = 'package'`, [tenantId, name]);
  }

  private audit(tx: SqlExecutor, c: Caller, action: string, name: string, before: AssignmentInput | null, after: AssignmentInput | null): Promise<void> {
    const part = (a: AssignmentInput | null) => (a ? { selector: a.selector, priority: a.priority, packages: a.packages } : null);
    return this.ctx.repo.audit(tx, { tenantId: c.tenantId, actor: this.ctx.actor(c), action, resourceType: 'package_assignment', resourceName: name, details: { before: part(before), after: part(after) } }, false);
  }

  async createPackageAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const a = this.input(req);
    const row = await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      const n = await tx.query(`SELECT count(*) AS n FROM package_assignments WHERE tenant_id = $1`, [c.tenantId]);
      if (toNumber(n.rows[0]['n']) >= MAX_PACKAGE_ASSIGNMENTS) throw new DesiredStateError('RESOURCE_EXHAUSTED', `a tenant may have at most ${MAX_PACKAGE_ASSIGNMENTS} package assignments`);
      await this.checkCatalog(tx, c.tenantId, a.packages);
      const ins = await tx.query(
        `INSERT INTO package_assignments (tenant_id, name, selector, priority, packages, created_by) VALUES ($1, $2, $3, $4, $5::jsonb, $6)
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [c.tenantId, a.name, a.selector, a.priority, JSON.stringify(a.packages), this.ctx.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `package assignment '${a.name}' already exists`);
      await this.audit(tx, c, 'package_assignment.create', a.name, null, a);
      return ins.rows[0];
    });
    this.reoffer(c.tenantId, [a.selector]);
    return message(row);
  }

  async updatePackageAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const a = this.input(req);
    const { row, old } = await this.ctx.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT * FROM package_assignments WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, a.name]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package assignment '${a.name}' not found`);
      await this.releaseRollouts(tx, c.tenantId, a.name);
      await this.checkCatalog(tx, c.tenantId, a.packages);
      const before = packageAssignmentFromRow(cur.rows[0]);
      const upd = await tx.query(
        `UPDATE package_assignments SET selector = $3, priority = $4, packages = $5::jsonb, updated_at = now() WHERE tenant_id = $1 AND name = $2 RETURNING *`,
        [c.tenantId, a.name, a.selector, a.priority, JSON.stringify(a.packages)],
      );
      const old = { name: before.name, selector: before.selectorText, priority: before.priority, packages: [...before.packages] };
      await this.audit(tx, c, 'package_assignment.update', a.name, old, a);
      return { row: upd.rows[0], old };
    });
    this.reoffer(c.tenantId, old.selector === a.selector ? [a.selector] : [old.selector, a.selector]);
    return message(row);
  }

  async getPackageAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'package assignment');
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM package_assignments WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package assignment '${name}' not found`);
    return message(rows[0]);
  }

  async listPackageAssignments(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM package_assignments WHERE tenant_id = $1 ORDER BY priority DESC, name`, [c.tenantId]);
    return { packageAssignments: rows.map(message) };
  }

  async deletePackageAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'package assignment');
    const selector = await this.ctx.repo.db.transaction(async (tx) => {
      await this.releaseRollouts(tx, c.tenantId, name);
      const del = await tx.query(`DELETE FROM package_assignments WHERE tenant_id = $1 AND name = $2 RETURNING *`, [c.tenantId, name]);
      if (del.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `package assignment '${name}' not found`);
      const old = packageAssignmentFromRow(del.rows[0]);
      await this.audit(tx, c, 'package_assignment.delete', name, { name, selector: old.selectorText, priority: old.priority, packages: [...old.packages] }, null);
      return old.selectorText;
    });
    // Agents another assignment now selects get its packages; the others keep what they have.
    this.reoffer(c.tenantId, [selector]);
    return {};
  }

  /** What the reconciler decides for the agent: its assignment, the state (why nothing is sent), the hashes. */
  async getAgentPackages(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const reconciler = this.reconciler();
    if (!reconciler) throw new DesiredStateError('UNAVAILABLE', 'package offers are not served by this process');
    const decision = await reconciler.decisionFor(c.tenantId, uid);
    if (!decision) throw new DesiredStateError('NOT_FOUND', `agent ${uid.toString('hex')} not found`);
    const { rows } = await this.ctx.repo.db.query(`SELECT packages_hash, packages_offered_hash FROM agents WHERE tenant_id = $1 AND instance_uid = $2`, [c.tenantId, uid]);
    return {
      instanceUid: uid.toString('hex'),
      assignmentName: decision.assignmentName,
      state: decision.state,
      packageName: decision.packageName,
      desiredHash: hex(decision.desiredHash),
      reportedHash: hex(toBuffer(rows[0]?.['packages_hash'])),
      offeredHash: hex(toBuffer(rows[0]?.['packages_offered_hash'])),
    };
  }

  /** Re-evaluations started by changes of this replica, finished (for tests and shutdown). */
  idle(): Promise<void> {
    return this.pending;
  }

  private reoffer(tenantId: string, selectors: string[]): void {
    const reconciler = this.reconciler();
    if (!reconciler) return;
    this.pending = this.pending
      .then(() => reconciler.reconcileSelectors(tenantId, selectors))
      .catch(() => {
        this.metrics.reevaluationErrors++;
      });
  }
}

function message(r: Record<string, unknown>): Record<string, unknown> {
  const a = packageAssignmentFromRow(r);
  return {
    name: a.name,
    selector: a.selectorText,
    priority: a.priority,
    packages: a.packages,
    createdBy: str(r['created_by']),
    createTime: toIso(r['created_at']),
    updateTime: toIso(r['updated_at']),
  };
}
