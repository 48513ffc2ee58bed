/**
 * The tenant settings part of the platform API: how long disconnected agents
 * are kept (`tenants.agent_retention_days`, migration 0151; the retention
 * sweep of status-ingest reads it) and what the tenant demands of its agents'
 * credentials (migration 0160: require_agent_credentials, which every gateway
 * follows as the tenant's policy; the credential lifetime and the grace of an
 * unfollowed rotation), and whether its agents send their own telemetry to
 * this server (migration 0230; turning it on or off makes the connection
 * settings offers of its connected agents due). An update changes the fields
 * it carries; changes are audited.
 */
import { echo, invalidArgument } from '../core';
import {
  DEFAULT_AGENT_RETENTION_DAYS,
  DEFAULT_CREDENTIAL_SWITCH_GRACE_HOURS,
  MAX_AGENT_CREDENTIAL_LIFETIME_DAYS,
  MAX_AGENT_RETENTION_DAYS,
  MAX_CREDENTIAL_SWITCH_GRACE_HOURS,
  MIN_CREDENTIAL_SWITCH_GRACE_HOURS,
} from '../core/limits';
import { toNumber } from '../store/desired-state.repository';
import type { AgentTokenSink } from './agent-token-api';
import type { ApiContext, Caller } from './api-context';
import type { ProfileOffers } from './connection-profile-api';
import type { Req } from './request-fields';

export interface TenantSettings {
  agentRetentionDays: number;
  requireAgentCredentials: boolean;
  agentCredentialLifetimeDays: number;
  credentialSwitchGraceHours: number;
  ownTelemetryToServer: boolean;
}

const DEFAULTS: TenantSettings = {
  agentRetentionDays: DEFAULT_AGENT_RETENTION_DAYS,
  requireAgentCredentials: false,
  agentCredentialLifetimeDays: 0,
  credentialSwitchGraceHours: DEFAULT_CREDENTIAL_SWITCH_GRACE_HOURS,
  ownTelemetryToServer: false,
};

const COLUMNS = {
  agentRetentionDays: 'agent_retention_days',
  requireAgentCredentials: 'require_agent_credentials',
  agentCredentialLifetimeDays: 'agent_credential_lifetime_days',
  credentialSwitchGraceHours: 'credential_switch_grace_hours',
  ownTelemetryToServer: 'own_telemetry_to_server',
} as const satisfies Record<keyof TenantSettings, string>;

const SELECT = `SELECT ${Object.values(COLUMNS).join(', ')} FROM tenants WHERE id = $1`;

function fromRow(r: Record<string, unknown> | undefined): TenantSettings {
  if (!r) return { ...DEFAULTS };
  return {
    agentRetentionDays: toNumber(r[COLUMNS.agentRetentionDays]),
    requireAgentCredentials: r[COLUMNS.requireAgentCredentials] === true,
    agentCredentialLifetimeDays: toNumber(r[COLUMNS.agentCredentialLifetimeDays]),
    credentialSwitchGraceHours: toNumber(r[COLUMNS.credentialSwitchGraceHours]),
    ownTelemetryToServer: r[COLUMNS.ownTelemetryToServer] === true,
  };
}

function wholeNumber(v: unknown, field: string, min: number, max: number, meaning: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(`settings.${field} must be a whole number ${meaning} from ${min} to ${max}, got ${echo(v)}`);
  }
  return v;
}

/** The fields an update carries, checked; absent ones are not there. */
export function settingsChange(settings: Req): Partial<TenantSettings> {
  const change: Partial<TenantSettings> = {};
  const has = (k: keyof TenantSettings) => settings[k] !== undefined && settings[k] !== null;
  if (has('agentRetentionDays')) {
    change.agentRetentionDays = wholeNumber(settings['agentRetentionDays'], 'agent_retention_days', 0, MAX_AGENT_RETENTION_DAYS, 'of days (0 keeps forever)');
  }
  if (has('requireAgentCredentials')) {
    if (typeof settings['requireAgentCredentials'] !== 'boolean') throw invalidArgument('settings.require_agent_credentials must be true or false');
    change.requireAgentCredentials = settings['requireAgentCredentials'];
  }
  if (has('agentCredentialLifetimeDays')) {
    change.agentCredentialLifetimeDays = wholeNumber(
      settings['agentCredentialLifetimeDays'],
      'agent_credential_lifetime_days',
      0,
      MAX_AGENT_CREDENTIAL_LIFETIME_DAYS,
      'of days (0 rotates on demand only)',
    );
  }
  if (has('credentialSwitchGraceHours')) {
    change.credentialSwitchGraceHours = wholeNumber(
      settings['credentialSwitchGraceHours'],
      'credential_switch_grace_hours',
      MIN_CREDENTIAL_SWITCH_GRACE_HOURS,
      MAX_CREDENTIAL_SWITCH_GRACE_HOURS,
      'of hours',
    );
  }
  if (has('ownTelemetryToServer')) {
    if (typeof settings['ownTelemetryToServer'] !== 'boolean') throw invalidArgument('settings.own_telemetry_to_server must be true or false');
    change.ownTelemetryToServer = settings['ownTelemetryToServer'];
  }
  if (Object.keys(change).length === 0) {
    throw invalidArgument(`settings must carry at least one of ${Object.values(COLUMNS).join(', ')}`);
  }
  return change;
}

export class TenantSettingsApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly sink: AgentTokenSink | null = null,
    private readonly identity: () => ProfileOffers | null = () => null,
  ) {}

  async getTenantSettings(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(SELECT, [c.tenantId]);
    return { ...fromRow(rows[0]) };
  }

  async updateTenantSettings(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const settings = req['settings'];
    if (!settings || typeof settings !== 'object') throw invalidArgument('settings is required');
    const change = settingsChange(settings as Req);
    const { before, after } = await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      const was = fromRow((await tx.query(`${SELECT} FOR UPDATE`, [c.tenantId])).rows[0]);
      const keys = Object.keys(change) as Array<keyof TenantSettings>;
      await tx.query(
        `UPDATE tenants SET ${keys.map((k, i) => `${COLUMNS[k]} = $${i + 2}`).join(', ')} WHERE id = $1`,
        [c.tenantId, ...keys.map((k) => change[k])],
      );
      const details: Record<string, unknown> = {};
      for (const k of keys) details[k] = { from: was[k], to: change[k] };
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'tenant.update_settings', resourceType: 'tenant', resourceName: c.tenantId, details },
        false,
      );
      if (change.ownTelemetryToServer !== undefined && change.ownTelemetryToServer !== was.ownTelemetryToServer) {
        // Every connected agent's offer changes (or loses) its own-telemetry part: due now, sent by the offer queue.
        await this.identity()?.credentials.markDue(tx, c.tenantId, { sql: 'true', params: [] });
      }
      return { before: was, after: { ...was, ...change } };
    });
    if (before.ownTelemetryToServer !== after.ownTelemetryToServer) this.identity()?.offers?.wake();
    if (before.requireAgentCredentials !== after.requireAgentCredentials) {
      await this.sink?.putPolicy({ tenantId: c.tenantId, requireAgentCredentials: after.requireAgentCredentials });
    }
    return { ...after };
  }

  /** Publishes every tenant's credential policy to the gateways (at start; fixes any drift). */
  async syncPolicies(): Promise<number> {
    if (!this.sink) return 0;
    const { rows } = await this.ctx.repo.db.query(`SELECT id, require_agent_credentials FROM tenants ORDER BY id`);
    for (const r of rows) await this.sink.putPolicy({ tenantId: String(r['id']), requireAgentCredentials: r['require_agent_credentials'] === true });
    return rows.length;
  }
}
