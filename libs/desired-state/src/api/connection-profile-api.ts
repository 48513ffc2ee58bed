/**
 * The connection profiles part of the platform API: CRUD of the other OpAMP
 * connection settings per group of agents (core/connection-profile.ts), each
 * with the counts of its agents by reported status, and the agent's part of
 * GetAgent (its profile and status). A change is audited (a digest of the
 * settings, never their values: headers may hold secrets), and in the same
 * transaction the offers of the connected agents the old or new selector
 * matches are made due: the offer queue sends them page by page through the
 * identity reconciler, on whichever replica is up (the others get it when
 * they connect; HTTP agents in their next poll, from the pending store).
 */
import type { SqlExecutor } from '@opamp/store';
import {
  checkResourceName,
  connectionProfileSpecMessage,
  DesiredStateError,
  formatSelector,
  invalidArgument,
  MAX_CONNECTION_PROFILES,
  parseConnectionProfileSpec,
  parseSelector,
  parseSelectorArgument,
  resolveAssignment,
  selectorToSql,
} from '../core';
import { ConnectionProfileRepository, NO_COUNTS, profileFromRow, specDigest, type ConnectionProfileCounts } from '../store/connection-profile.repository';
import { toBuffer, toIso, toNumber } from '../store/desired-state.repository';
import type { AgentCredentialRepository } from '../store/agent-credential.repository';
import type { ApiContext, Caller } from './api-context';
import { hex, instanceUid, int, str, type Req } from './request-fields';

const STATES = ['CONNECTION_SETTINGS_STATE_UNSET', 'CONNECTION_SETTINGS_STATE_APPLIED', 'CONNECTION_SETTINGS_STATE_APPLYING', 'CONNECTION_SETTINGS_STATE_FAILED'];
/** What a profile change needs of agents' identity: the credentials (to make offers due) and this replica's offer queue. */
export interface ProfileOffers {
  readonly credentials: AgentCredentialRepository;
  readonly offers?: { wake(): void; idle(): Promise<void> } | null;
}

interface ProfileInput {
  name: string;
  selector: string;
  priority: number;
  spec: ReturnType<typeof parseConnectionProfileSpec>;
}

export interface ConnectionProfileMetrics {
  /** Credentials whose offer profile changes made due. */
  agentsReevaluated: number;
  /** Kept for the metrics' shape: re-evaluations are durable now (the offer queue retries). */
  reevaluationErrors: number;
}

export class ConnectionProfileApi {
  readonly metrics: ConnectionProfileMetrics = { agentsReevaluated: 0, reevaluationErrors: 0 };
  private readonly repo: ConnectionProfileRepository;
  constructor(
    private readonly ctx: ApiContext,
    private readonly identity: () => ProfileOffers | null,
  ) {
    this.repo = new ConnectionProfileRepository(ctx.repo.db);
  }

  private input(req: Req): ProfileInput {
    const p = (req['connectionProfile'] ?? null) as Req | null;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw invalidArgument('connection_profile is required');
    const name = str(p['name']);
    checkResourceName(name, 'connection profile');
    const selector = formatSelector(parseSelectorArgument(str(p['selector']), 'connection_profile.selector'));
    const priority = int(p['priority'], 'connection_profile.priority');
    if (Math.abs(priority) > 1_000_000) throw invalidArgument('connection_profile.priority must be between -1000000 and 1000000');
    return { name, selector, priority, spec: parseConnectionProfileSpec(p) };
  }

  private message(r: Record<string, unknown>, counts: ConnectionProfileCounts): Record<string, unknown> {
    const p = profileFromRow(r);
    return {
      name: p.name,
      selector: p.selectorText,
      priority: p.priority,
      ...connectionProfileSpecMessage(p.spec),
      createdBy: str(r['created_by']),
      createTime: toIso(r['created_at']),
      updateTime: toIso(r['updated_at']),
      agentCounts: counts,
    };
  }

  private async withCounts(tenantId: string, rows: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const counts = await this.repo.counts(tenantId, await this.repo.ordered(tenantId));
    return rows.map((r) => this.message(r, counts.get(str(r['name'])) ?? NO_COUNTS));
  }

  private async audit(tx: SqlExecutor, c: Caller, action: string, name: string, before: ProfileInput | null, after: ProfileInput | null): Promise<void> {
    const part = (p: ProfileInput | null) => (p ? { selector: p.selector, priority: p.priority, otherConnections: Object.keys(p.spec.otherConnections) } : null);
    await this.ctx.repo.audit(
      tx,
      {
        tenantId: c.tenantId,
        actor: this.ctx.actor(c),
        action,
        resourceType: 'connection_profile',
        resourceName: name,
        beforeHash: before ? specDigest(before.spec) : null,
        afterHash: after ? specDigest(after.spec) : null,
        details: { before: part(before), after: part(after) },
      },
      false,
    );
  }

  async createConnectionProfile(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const p = this.input(req);
    const row = await this.ctx.repo.db.transaction(async (tx) => {
      const n = await tx.query(`SELECT count(*) AS n FROM connection_profiles WHERE tenant_id = $1`, [c.tenantId]);
      if (toNumber(n.rows[0]['n']) >= MAX_CONNECTION_PROFILES) throw new DesiredStateError('RESOURCE_EXHAUSTED', `a tenant may have at most ${MAX_CONNECTION_PROFILES} connection profiles`);
      const ins = await tx.query(
        `INSERT INTO connection_profiles (tenant_id, name, selector, priority, spec, created_by) VALUES ($1, $2, $3, $4, $5::jsonb, $6)
         ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [c.tenantId, p.name, p.selector, p.priority, JSON.stringify(connectionProfileSpecMessage(p.spec)), this.ctx.actor(c)],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `connection profile '${p.name}' already exists`);
      await this.audit(tx, c, 'connection_profile.create', p.name, null, p);
      await this.reoffer(tx, c.tenantId, [p.selector]);
      return ins.rows[0];
    });
    this.wake();
    return (await this.withCounts(c.tenantId, [row]))[0];
  }

  async updateConnectionProfile(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const p = this.input(req);
    const { row } = await this.ctx.repo.db.transaction(async (tx) => {
      const cur = await tx.query(`SELECT * FROM connection_profiles WHERE tenant_id = $1 AND name = $2 FOR UPDATE`, [c.tenantId, p.name]);
      if (cur.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `connection profile '${p.name}' not found`);
      const old = profileFromRow(cur.rows[0]);
      const upd = await tx.query(
        `UPDATE connection_profiles SET selector = $3, priority = $4, spec = $5::jsonb, updated_at = now() WHERE tenant_id = $1 AND name = $2 RETURNING *`,
        [c.tenantId, p.name, p.selector, p.priority, JSON.stringify(connectionProfileSpecMessage(p.spec))],
      );
      await this.audit(tx, c, 'connection_profile.update', p.name, { name: old.name, selector: old.selectorText, priority: old.priority, spec: old.spec }, p);
      await this.reoffer(tx, c.tenantId, old.selectorText === p.selector ? [p.selector] : [old.selectorText, p.selector]);
      return { row: upd.rows[0] };
    });
    this.wake();
    return (await this.withCounts(c.tenantId, [row]))[0];
  }

  async getConnectionProfile(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'connection profile');
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM connection_profiles WHERE tenant_id = $1 AND name = $2`, [c.tenantId, name]);
    if (rows.length === 0) throw new DesiredStateError('NOT_FOUND', `connection profile '${name}' not found`);
    return (await this.withCounts(c.tenantId, rows))[0];
  }

  async listConnectionProfiles(c: Caller): Promise<Record<string, unknown>> {
    const { rows } = await this.ctx.repo.db.query(`SELECT * FROM connection_profiles WHERE tenant_id = $1 ORDER BY priority DESC, name`, [c.tenantId]);
    return { connectionProfiles: await this.withCounts(c.tenantId, rows) };
  }

  async deleteConnectionProfile(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    checkResourceName(name, 'connection profile');
    await this.ctx.repo.db.transaction(async (tx) => {
      const del = await tx.query(`DELETE FROM connection_profiles WHERE tenant_id = $1 AND name = $2 RETURNING *`, [c.tenantId, name]);
      if (del.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `connection profile '${name}' not found`);
      const old = profileFromRow(del.rows[0]);
      await this.audit(tx, c, 'connection_profile.delete', name, { name, selector: old.selectorText, priority: old.priority, spec: old.spec }, null);
      await this.reoffer(tx, c.tenantId, [old.selectorText]);
    });
    this.wake();
    return {};
  }

  /** GetAgent's part: the profile the agent gets and the connection settings status it reports. */
  async agentConnectionSettings(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const { rows } = await this.ctx.repo.db.query(
      `SELECT a.labels, a.connection_settings_hash, a.connection_settings_status, a.connection_settings_error,
              (SELECT c.offered_hash FROM agent_credentials c WHERE c.tenant_id = a.tenant_id AND c.instance_uid = a.instance_uid
                  AND c.state IN ('offered', 'active') AND c.offered_hash IS NOT NULL ORDER BY c.offered_at DESC NULLS LAST LIMIT 1) AS offered_hash
         FROM agents a WHERE a.tenant_id = $1 AND a.instance_uid = $2`,
      [c.tenantId, uid],
    );
    if (rows.length === 0) return {};
    const r = rows[0];
    const labels = (typeof r['labels'] === 'string' ? JSON.parse(r['labels']) : (r['labels'] ?? {})) as Record<string, string>;
    const profile = resolveAssignment(await this.repo.ordered(c.tenantId), labels);
    return {
      connectionSettings: {
        profileName: profile?.name ?? '',
        reportedHash: hex(toBuffer(r['connection_settings_hash'])),
        status: STATES[toNumber(r['connection_settings_status'])] ?? STATES[0],
        errorMessage: str(r['connection_settings_error']),
        offeredHash: hex(toBuffer(r['offered_hash'])),
      },
    };
  }

  /** The offers this replica's changes made due, sent (for tests and shutdown). */
  async idle(): Promise<void> {
    await this.identity()?.offers?.idle();
  }

  private wake(): void {
    this.identity()?.offers?.wake();
  }

  /** In the change's transaction: the offers of the connected agents these selectors match are due. */
  private async reoffer(tx: SqlExecutor, tenantId: string, selectors: string[]): Promise<void> {
    const identity = this.identity();
    if (!identity) return;
    const params: unknown[] = [tenantId];
    const where = selectors.map((text) => {
      const sel = selectorToSql(parseSelector(text), 'a.labels', params.length);
      params.push(...sel.params);
      return `(${sel.sql})`;
    });
    this.metrics.agentsReevaluated += await identity.credentials.markDue(tx, tenantId, { sql: where.join(' OR '), params: params.slice(1) });
  }
}
