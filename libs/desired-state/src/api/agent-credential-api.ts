/**
 * The agent credentials part of the platform API: each agent's own
 * credentials and enrollment (never a secret), rotation and revocation by
 * agent, label selector or enrollment token. Changes are audited, published
 * to the gateways' directory (a revoked credential's connections close on
 * every gateway), and a rotation's new credentials are offered at once to the
 * agents connected now (the others get theirs when they connect).
 */
import { invalidArgument, parseSelector, selectorToSql } from '../core';
import { directoryEntry, type AgentCredentialRecord, type AgentCredentialRepository } from '../store/agent-credential.repository';
import { toIso, toNumber } from '../store/desired-state.repository';
import { putAll, removeAll, type AgentIdentityReconciler, type CredentialDirectory } from '../runtime/agent-identity.reconciler';
import type { ApiContext, Caller } from './api-context';
import { instanceUid, pageSize, str, type Req } from './request-fields';

export interface AgentCredentialServices {
  readonly credentials: AgentCredentialRepository;
  readonly directory: CredentialDirectory;
  readonly identity: AgentIdentityReconciler | null;
}

/** Agents a rotation or revocation may touch in one call. */
const MAX_AGENTS_PER_CHANGE = 1_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function credentialMessage(c: AgentCredentialRecord): Record<string, unknown> {
  return {
    id: c.id,
    instanceUid: c.instanceUid.toString('hex'),
    state: c.state.toUpperCase(),
    enrollmentTokenId: c.enrollmentTokenId ?? '',
    createTime: c.createdAt,
    activateTime: c.activatedAt ?? '',
    offerTime: c.offeredAt ?? '',
    retireTime: c.retireAt ?? '',
    revokeTime: c.revokedAt ?? '',
    revokeReason: c.revokeReason ?? '',
  };
}

export class AgentCredentialApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly services: AgentCredentialServices | null,
  ) {}

  private get s(): AgentCredentialServices {
    if (!this.services) throw invalidArgument('agent credentials are not available on this server');
    return this.services;
  }

  async listAgentCredentials(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const credentials = await this.s.credentials.listOf(c.tenantId, uid);
    const { rows } = await this.ctx.repo.db.query(`SELECT enrollment_token_id, enrolled_at, enrollments FROM agent_enrollments WHERE tenant_id = $1 AND instance_uid = $2`, [c.tenantId, uid]);
    const enrollment = rows[0]
      ? { enrollmentTokenId: rows[0]['enrollment_token_id'] ? String(rows[0]['enrollment_token_id']) : '', enrollTime: toIso(rows[0]['enrolled_at']), enrollments: toNumber(rows[0]['enrollments']) }
      : undefined;
    return { credentials: credentials.map(credentialMessage), ...(enrollment ? { enrollment } : {}) };
  }

  async listPendingCredentialSwitches(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return { credentials: (await this.s.credentials.pendingSwitches(c.tenantId, pageSize(req['pageSize'], 100))).map(credentialMessage) };
  }

  /** The agents a scope names (exactly one of instance_uid, selector, enrollment_token_id). */
  private async agentsOf(c: Caller, req: Req): Promise<{ uids: Buffer[]; scope: Record<string, string> }> {
    const uidText = str(req['instanceUid']);
    const selector = str(req['selector']);
    const tokenId = str(req['enrollmentTokenId']);
    if ([uidText, selector, tokenId].filter(Boolean).length !== 1) throw invalidArgument('name exactly one of instance_uid, selector, enrollment_token_id');
    if (uidText) return { uids: [instanceUid(uidText)], scope: { instanceUid: uidText } };
    let sql: { sql: string; params: unknown[] };
    if (selector) {
      const parsed = selectorToSql(parseSelector(selector), 'a.labels', 1);
      sql = { sql: parsed.sql, params: parsed.params };
    } else {
      if (!UUID.test(tokenId)) throw invalidArgument('enrollment_token_id must be a token id (UUID)');
      sql = { sql: `a.instance_uid IN (SELECT instance_uid FROM agent_enrollments WHERE tenant_id = $1 AND enrollment_token_id = $2::uuid)`, params: [tokenId] };
    }
    const { rows } = await this.ctx.repo.db.query(`SELECT a.instance_uid FROM agents a WHERE a.tenant_id = $1 AND (${sql.sql}) LIMIT ${MAX_AGENTS_PER_CHANGE}`, [c.tenantId, ...sql.params]);
    return { uids: rows.map((r) => r['instance_uid'] as Buffer), scope: selector ? { selector } : { enrollmentTokenId: tokenId } };
  }

  async rotateAgentCredentials(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const { uids, scope } = await this.agentsOf(c, req);
    const created = await this.ctx.repo.db.transaction(async (tx) => {
      const grace = await tx.query(`SELECT credential_switch_grace_hours FROM tenants WHERE id = $1`, [c.tenantId]);
      const hours = grace.rows.length ? toNumber(grace.rows[0]['credential_switch_grace_hours']) : 168;
      const made = await this.s.credentials.rotate(tx, c.tenantId, uids, hours);
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'agent_credential.rotate', resourceType: 'agent_credentials', resourceName: Object.values(scope)[0], details: { ...scope, agents: made.length, graceHours: hours } },
        false,
      );
      return made;
    });
    await putAll(this.s.directory, created.map(directoryEntry));
    await this.s.identity?.reconcileAgents(c.tenantId, created.map((cred) => cred.instanceUid));
    return { agents: created.length, credentials: created.length };
  }

  async revokeAgentCredentials(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const reason = str(req['reason']);
    if (reason.length > 500) throw invalidArgument('reason is limited to 500 characters');
    const scoped = str(req['enrollmentTokenId']);
    const { uids, scope } = await this.agentsOf(c, req);
    const revoked = await this.ctx.repo.db.transaction(async (tx) => {
      const done = scoped && UUID.test(scoped) ? await this.s.credentials.revoke(tx, c.tenantId, { enrollmentTokenId: scoped }, reason) : await this.s.credentials.revoke(tx, c.tenantId, { uids }, reason);
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'agent_credential.revoke',
          resourceType: 'agent_credentials',
          resourceName: Object.values(scope)[0],
          details: { ...scope, reason, credentials: done.map((d) => d.id) },
        },
        false,
      );
      return done;
    });
    // Removing them from the directory ends their connections on every gateway.
    await removeAll(this.s.directory, revoked.map((cred) => directoryEntry(cred).digest));
    return { agents: new Set(revoked.map((r) => r.instanceUid.toString('hex'))).size, credentials: revoked.length };
  }
}
