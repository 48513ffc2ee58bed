/**
 * Package rollouts in the platform API (issue 17 item 4): a package
 * assignment moves to other package versions batch by batch. Everything but
 * creating, starting and the message is the configuration rollouts' (this
 * extends RolloutApi: pause, resume, abort, rollback, events and agents are
 * the same calls on the same tables, of target kind 'package'). Like the
 * configuration API it records what the operator wants, audited, in one
 * transaction; the rollout driver offers the packages.
 */
import type { SqlExecutor } from '@opamp/store';
import { checkResourceName, DesiredStateError, packagesLabel, parseDesiredPackages, samePackages, gatesMessage, strategyMessage, type DesiredPackages } from '../core';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import type { RolloutRecord } from '../store/rollout.repository';
import type { Caller } from './api-context';
import { makePageToken, pageSize, pageToken, str, type Req } from './request-fields';
import { RolloutApi } from './rollout-api';

/** The assignment's versions with `to` replacing (or adding) the packages it names. */
export function mergePackages(current: DesiredPackages, to: DesiredPackages): DesiredPackages {
  const byName = new Map(current.map((p) => [p.packageName, p.version]));
  for (const p of to) byName.set(p.packageName, p.version);
  return [...byName].map(([packageName, version]) => ({ packageName, version }));
}

export class PackageRolloutApi extends RolloutApi {
  protected override readonly kind = 'package' as const;
  protected override readonly auditPrefix = 'package_rollout';

  constructor(desired: DesiredStateRepository) {
    super(desired);
  }

  protected override async message(r: RolloutRecord): Promise<Record<string, unknown>> {
    const { batches, progress } = await this.progress(r);
    return {
      name: r.name,
      packageAssignmentName: r.assignmentName,
      fromPackages: r.fromPackages,
      toPackages: r.toPackages,
      strategy: strategyMessage(r.strategy),
      gates: gatesMessage(r.gates),
      soakTimeMs: r.soakMs,
      applyTimeoutMs: r.applyTimeoutMs,
      autoRollback: r.autoRollback,
      state: `ROLLOUT_STATE_${r.state.toUpperCase()}`,
      stateReason: r.stateReason,
      totalAgents: r.totalAgents,
      currentBatch: r.currentBatch,
      batches,
      progress,
      driverId: r.driverId ?? '',
      createdBy: r.createdBy,
      createTime: r.createdAt,
      updateTime: r.updatedAt,
      startTime: r.startedAt,
      finishTime: r.finishedAt,
    };
  }

  /** Every version exists and is not withdrawn (FAILED_PRECONDITION: nothing is stored, nothing offered). */
  private async checkCatalog(tx: SqlExecutor, tenantId: string, packages: DesiredPackages): Promise<void> {
    const found = await this.packageRollouts.packages.versions(tenantId, packages, tx);
    for (const p of packages) {
      const v = found.get(`${p.packageName}@${p.version}`);
      if (!v) throw new DesiredStateError('FAILED_PRECONDITION', `package version '${p.packageName}@${p.version}' is not in the catalog`);
      if (v.withdrawn) throw new DesiredStateError('FAILED_PRECONDITION', `package version '${p.packageName}@${p.version}' is withdrawn`);
    }
  }

  /** The package assignment, locked for the transaction (its packages may not change under a starting rollout). */
  private async lockAssignment(tx: SqlExecutor, tenantId: string, name: string): Promise<DesiredPackages | null> {
    const { rows } = await tx.query(`SELECT packages FROM package_assignments WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [tenantId, name]);
    if (rows.length === 0) return null;
    const raw = typeof rows[0]['packages'] === 'string' ? (JSON.parse(rows[0]['packages'] as string) as unknown) : rows[0]['packages'];
    return Array.isArray(raw) ? raw.map((p) => ({ packageName: String((p as Record<string, unknown>)['packageName']), version: String((p as Record<string, unknown>)['version']) })) : [];
  }

  async createPackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const assignmentName = str(req['packageAssignmentName']);
    checkResourceName(assignmentName, 'package assignment');
    const requested = parseDesiredPackages(req['toPackages'], 'to_packages');
    const { strategy, gates, soakMs, applyTimeoutMs } = this.settings(req);
    let name = str(req['name']);
    if (!name) name = `${assignmentName.slice(0, 40)}-${Date.now().toString(36)}`;
    checkResourceName(name, 'rollout');
    const start = req['start'] === true;
    const autoRollback = req['autoRollback'] === true;
    // Counted before the transaction: the embedded database runs one connection.
    const total = start ? (await this.packageRollouts.targets(c.tenantId, assignmentName)).length : 0;
    const r = await this.repo.db.transaction(async (tx) => {
      const from = await this.lockAssignment(tx, c.tenantId, assignmentName);
      if (!from) throw new DesiredStateError('NOT_FOUND', `package assignment '${assignmentName}' not found`);
      const to = mergePackages(from, requested);
      await this.checkCatalog(tx, c.tenantId, to);
      if (samePackages(from, to)) throw new DesiredStateError('FAILED_PRECONDITION', `package assignment '${assignmentName}' already names ${packagesLabel(to)}`);
      const active = await this.repo.activeFor(tx, c.tenantId, assignmentName, 'package');
      if (active) throw new DesiredStateError('FAILED_PRECONDITION', `package rollout '${active.name}' of package assignment '${assignmentName}' is ${active.state}; abort or finish it first`);
      const ins = await tx.query(
        `INSERT INTO rollouts (tenant_id, name, target_kind, assignment_name, from_packages, to_packages, strategy, gates, soak_ms, apply_timeout_ms, auto_rollback, state, created_by)
         VALUES ($1, $2, 'package', $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10, 'pending', $11) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [c.tenantId, name, assignmentName, JSON.stringify(from), JSON.stringify(to), JSON.stringify(strategy), JSON.stringify(gates), soakMs, applyTimeoutMs, autoRollback, this.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `rollout '${name}' already exists`);
      await this.repo.event(tx, c.tenantId, name, {
        type: 'created',
        message: `rollout of package assignment '${assignmentName}' from ${packagesLabel(from)} to ${packagesLabel(to)}`,
        actor: this.actor(c),
      });
      await this.desired.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
          action: 'package_rollout.create',
          resourceType: 'package_rollout',
          resourceName: name,
          details: { packageAssignment: assignmentName, fromPackages: from, toPackages: to, strategy, gates, soakMs, applyTimeoutMs, autoRollback },
        },
        false,
      );
      const created = await this.repo.get(tx, c.tenantId, name, true);
      return start && created ? this.startInTx(tx, c, created, total) : created;
    });
    if (start) this.onChange();
    return this.message(r as RolloutRecord);
  }

  protected override async startInTx(tx: SqlExecutor, c: Caller, r: RolloutRecord, total: number): Promise<RolloutRecord> {
    const current = await this.lockAssignment(tx, c.tenantId, r.assignmentName);
    if (!current) throw new DesiredStateError('FAILED_PRECONDITION', `package assignment '${r.assignmentName}' no longer exists`);
    if (!samePackages(current, r.fromPackages)) throw new DesiredStateError('FAILED_PRECONDITION', `package assignment '${r.assignmentName}' changed since the rollout was created; create a new rollout`);
    // A version withdrawn since creation is refused here, before any agent is offered it.
    await this.checkCatalog(tx, c.tenantId, r.toPackages);
    await tx.query(`UPDATE rollouts SET holds_assignment = false WHERE tenant_id = $1 AND assignment_name = $2 AND holds_assignment AND name <> $3 AND target_kind = 'package'`, [
      c.tenantId,
      r.assignmentName,
      r.name,
    ]);
    return this.planInTx(tx, c, r, total, false, { fromPackages: r.fromPackages, toPackages: r.toPackages });
  }

  async startPackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const peek = await this.load(this.repo.db, c, req['name']);
    const total = (await this.packageRollouts.targets(c.tenantId, peek.assignmentName)).length;
    const r = await this.repo.db.transaction(async (tx) => this.startInTx(tx, c, await this.load(tx, c, req['name'], true), total));
    this.onChange();
    return this.message(r);
  }

  getPackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.getRollout(c, req);
  }

  async listPackageRollouts(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const limit = pageSize(req['pageSize'], 50);
    const assignment = str(req['packageAssignmentName']);
    if (assignment) checkResourceName(assignment, 'package assignment');
    const before = pageToken(req['pageToken'], 'package-rollouts');
    const rows = await this.repo.list(c.tenantId, assignment, req['activeOnly'] === true, limit + 1, before, 'package');
    const page = rows.slice(0, limit);
    return {
      rollouts: await Promise.all(page.map((r) => this.message(r))),
      nextPageToken: rows.length > limit ? makePageToken('package-rollouts', page[page.length - 1].name) : '',
    };
  }

  pausePackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'pause');
  }

  resumePackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'resume');
  }

  abortPackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'abort');
  }

  rollbackPackageRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'rollback');
  }
}
