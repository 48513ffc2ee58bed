/**
 * The tenant settings part of the platform API: how long disconnected agents
 * are kept (`tenants.agent_retention_days`, migration 0151; the retention
 * sweep of status-ingest reads it). Changes are audited.
 */
import { invalidArgument } from '../core';
import { DEFAULT_AGENT_RETENTION_DAYS, MAX_AGENT_RETENTION_DAYS } from '../core/limits';
import { toNumber } from '../store/desired-state.repository';
import type { ApiContext, Caller } from './api-context';
import type { Req } from './request-fields';

export class TenantSettingsApi {
  constructor(private readonly ctx: ApiContext) {}

  async getTenantSettings(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(`SELECT agent_retention_days FROM tenants WHERE id = $1`, [c.tenantId]);
    return { agentRetentionDays: rows.length ? toNumber(rows[0]['agent_retention_days']) : DEFAULT_AGENT_RETENTION_DAYS };
  }

  async updateTenantSettings(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const settings = req['settings'];
    if (!settings || typeof settings !== 'object') throw invalidArgument('settings is required');
    const days = (settings as Req)['agentRetentionDays'];
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 0 || days > MAX_AGENT_RETENTION_DAYS) {
      throw invalidArgument(`settings.agent_retention_days must be a whole number of days from 0 (keep forever) to ${MAX_AGENT_RETENTION_DAYS}`);
    }
    await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      const before = await tx.query(`SELECT agent_retention_days FROM tenants WHERE id = $1 FOR UPDATE`, [c.tenantId]);
      await tx.query(`UPDATE tenants SET agent_retention_days = $2 WHERE id = $1`, [c.tenantId, days]);
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'tenant.update_settings',
          resourceType: 'tenant',
          resourceName: c.tenantId,
          details: { agentRetentionDays: { from: toNumber(before.rows[0]?.['agent_retention_days']), to: days } },
        },
        false,
      );
    });
    return { agentRetentionDays: days };
  }
}
