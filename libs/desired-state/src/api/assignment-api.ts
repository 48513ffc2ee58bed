/**
 * The assignments part of the platform API: which configuration (latest or a
 * pinned version) applies to the agents a selector matches, with priorities.
 * A change records the re-evaluation of the agents it touches in its own
 * transaction; an assignment an active rollout holds cannot change.
 */
import type { SqlExecutor } from '@opamp/store';
import { checkResourceName, DesiredStateError, formatSelector, invalidArgument, parseSelectorArgument } from '../core';
import { toBuffer, toIso, toNumber } from '../store/desired-state.repository';
import type { RolloutRepository } from '../store/rollout.repository';
import type { ApiContext, Caller } from './api-context';
import type { ConfigurationApi } from './configuration-api';
import { int, str, type Req } from './request-fields';

export class AssignmentApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly configurations: ConfigurationApi,
    private readonly rollouts: RolloutRepository,
  ) {}

  /**
   * An assignment held by an active rollout cannot change or go away; when
   * its configuration or version changes, finished rollouts' pins stop
   * counting (the assignment alone says what its agents get).
   */
  private async guardRollouts(tx: SqlExecutor, tenantId: string, assignmentName: string, releasePins: boolean): Promise<void> {
    const active = await this.rollouts.activeFor(tx, tenantId, assignmentName);
    if (active) {
      throw new DesiredStateError(
        'FAILED_PRECONDITION',
        `assignment '${assignmentName}' is being rolled out by rollout '${active.name}' (${active.state}); finish, abort or roll it back first`,
      );
    }
    if (releasePins) {
      await tx.query(`UPDATE rollouts SET holds_assignment = false WHERE tenant_id = $1 AND assignment_name = $2 AND holds_assignment AND target_kind = 'configuration'`, [tenantId, assignmentName]);
    }
  }

  /** Puts every active agent token into the gateways' directory (at start; fixes any drift). */

  private assignmentMessage(r: Record<string, unknown>): Record<string, unknown> {
    return {
      name: str(r['name']),
      configurationName: str(r['configuration_name']),
      pinnedVersion: r['pinned_version'] == null ? 0 : toNumber(r['pinned_version']),
      selector: str(r['selector']),
      priority: toNumber(r['priority']),
      createdBy: str(r['created_by']),
      createTime: toIso(r['created_at']),
      updateTime: toIso(r['updated_at']),
    };
  }

  private assignmentInput(req: Req): { name: string; configurationName: string; pinned: number | null; selector: string; priority: number } {
    const a = (req['assignment'] ?? null) as Req | null;
    if (!a || typeof a !== 'object') throw invalidArgument('assignment is required');
    const name = str(a['name']);
    checkResourceName(name, 'assignment');
    const configurationName = str(a['configurationName']);
    checkResourceName(configurationName, 'configuration');
    const pinned = int(a['pinnedVersion'], 'assignment.pinned_version');
    if (pinned < 0) throw invalidArgument('assignment.pinned_version must be >= 0');
    const selector = formatSelector(parseSelectorArgument(str(a['selector']), 'assignment.selector'));
    const priority = int(a['priority'], 'assignment.priority');
    if (Math.abs(priority) > 1_000_000) throw invalidArgument('assignment.priority must be between -1000000 and 1000000');
    return { name, configurationName, pinned: pinned === 0 ? null : pinned, selector, priority };
  }

  private async checkTarget(tx: SqlExecutor, tenantId: string, name: string, pinned: number | null): Promise<Buffer> {
    const row = await this.configurations.versionRow(tx, tenantId, name, pinned ?? 0).catch((err: unknown) => {
      if (err instanceof DesiredStateError && err.code === 'NOT_FOUND') throw invalidArgument(`assignment.configuration_name: ${err.message}`);
      throw err;
    });
    return toBuffer(row['content_hash']) ?? Buffer.alloc(0);
  }

  async createAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const a = this.assignmentInput(req);
    const row = await this.ctx.repo.db.transaction(async (tx) => {
      const hash = await this.checkTarget(tx, c.tenantId, a.configurationName, a.pinned);
      const ins = await tx.query(
        `INSERT INTO assignments (tenant_id, name, configuration_name, pinned_version, selector, priority, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [c.tenantId, a.name, a.configurationName, a.pinned, a.selector, a.priority, this.ctx.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `assignment '${a.name}' already exists`);
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'assignment.create',
          resourceType: 'assignment',
          resourceName: a.name,
          afterHash: hash,
          details: { configuration: a.configurationName, pinnedVersion: a.pinned, selector: a.selector, priority: a.priority },
        },
        true,
      );
      await this.ctx.recordReevaluation(tx, c, [a.selector], 'assignment.create');
      return ins.rows[0];
    });
    this.ctx.reevaluate(c.tenantId, [a.selector]);
    return this.assignmentMessage(row);
  }

  async updateAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const a = this.assignmentInput(req);
    const { row, oldSelector } = await this.ctx.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT * FROM assignments WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, a.name]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${a.name}' not found`);
      const old = cur.rows[0];
      const oldPinned = old['pinned_version'] == null ? null : toNumber(old['pinned_version']);
      await this.guardRollouts(tx, c.tenantId, a.name, str(old['configuration_name']) !== a.configurationName || oldPinned !== a.pinned);
      const beforeHash = await this.checkTarget(tx, c.tenantId, str(old['configuration_name']), old['pinned_version'] == null ? null : toNumber(old['pinned_version'])).catch(() => null);
      const afterHash = await this.checkTarget(tx, c.tenantId, a.configurationName, a.pinned);
      const upd = await tx.query(
        `UPDATE assignments SET configuration_name = $3, pinned_version = $4, selector = $5, priority = $6, updated_at = now() WHERE tenant_id = $1 AND name = $2 RETURNING *`,
        [c.tenantId, a.name, a.configurationName, a.pinned, a.selector, a.priority],
      );
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'assignment.update',
          resourceType: 'assignment',
          resourceName: a.name,
          beforeHash,
          afterHash,
          details: {
            before: { configuration: str(old['configuration_name']), selector: str(old['selector']), priority: toNumber(old['priority']) },
            after: { configuration: a.configurationName, selector: a.selector, priority: a.priority, pinnedVersion: a.pinned },
          },
        },
        true,
      );
      await this.ctx.recordReevaluation(tx, c, [str(old['selector']), a.selector], 'assignment.update');
      return { row: upd.rows[0], oldSelector: str(old['selector']) };
    });
    this.ctx.reevaluate(c.tenantId, oldSelector === a.selector ? [a.selector] : [oldSelector, a.selector]);
    return this.assignmentMessage(row);
  }

  async getAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'assignment');
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM assignments WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${name}' not found`);
    return this.assignmentMessage(rows[0]);
  }

  async listAssignments(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM assignments WHERE tenant_id = $1 ORDER BY priority DESC, name`, [c.tenantId]);
    return { assignments: rows.map((r) => this.assignmentMessage(r)) };
  }

  async deleteAssignment(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'assignment');
    const selector = await this.ctx.repo.db.transaction(async (tx) => {
      await this.guardRollouts(tx, c.tenantId, name, true);
      const del = await tx.query(`DELETE FROM assignments WHERE tenant_id = $1 AND name = $2 RETURNING *`, [c.tenantId, name]);
      if (del.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${name}' not found`);
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'assignment.delete',
          resourceType: 'assignment',
          resourceName: name,
          details: { configuration: str(del.rows[0]['configuration_name']), selector: str(del.rows[0]['selector']) },
        },
        true,
      );
      await this.ctx.recordReevaluation(tx, c, [str(del.rows[0]['selector'])], 'assignment.delete');
      return str(del.rows[0]['selector']);
    });
    this.ctx.reevaluate(c.tenantId, [selector]);
    return {};
  }
}
