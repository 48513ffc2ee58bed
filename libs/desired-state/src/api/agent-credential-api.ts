/**
 * The agent credentials part of the platform API: each agent's own
 * credentials and enrollment (never a secret), rotation and revocation by
 * agent, label selector or enrollment token. Changes are audited, published
 * to the gateways' directory (a revoked credential's connections close on
 * every gateway). A rotation answers once its credentials are written and
 * accepted by the gateways: their offers are due in the database and sent by
 * the offer queue (runtime/agent-credential-offer.driver.ts) to the agents
 * connected now, page by page, by whichever replica is up (the others get
 * theirs when they connect); GetAgentCredentialsStatus counts how far it got.
 */
import { invalidArgument, parseSelectorArgument, selectorToSql } from '../core';
import { directoryEntry, type AgentCredentialRecord, type AgentCredentialRepository } from '../store/agent-credential.repository';
import { toIso, toNumber } from '../store/desired-state.repository';
import { putAll, removeAll, type AgentIdentityReconciler, type CredentialDirectory } from '../runtime/agent-identity.reconciler';
import type { ApiContext, Caller } from './api-context';
import { instanceUid, pageSize, str, type Req } from './request-fields';

export interface AgentCredentialServices {
  readonly credentials: AgentCredentialRepository;
  readonly directory: CredentialDirectory;
  readonly identity: AgentIdentityReconciler | null;
  /** The offer queue of this replica, woken after a rotation (the interval of every replica finds the offers too). */
  readonly offers?: { wake(): void; idle(): Promise<void> } | null;
}

/** Agents a rotation or revocation may touch in one call. */
const MAX_AGENTS_PER_CHANGE = 1_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where an offer of this credential stands: PENDING (not sent), SENT, FAILED (the agent said so for the offer last sent); empty: not on offer. */
export function offerState(c: Pick<AgentCredentialRecord, 'state' | 'offeredAt' | 'offerFailedAt'>): string {
  if (c.state !== 'offered') return '';
  if (!c.offeredAt) return 'PENDING';
  return c.offerFailedAt && Date.parse(c.offerFailedAt) >= Date.parse(c.offeredAt) ? 'FAILED' : 'SENT';
}

/** The offer part of a credential's message: its own offer, or its successor's (a credential being rotated). */
function offerPart(c: AgentCredentialRecord | null): Record<string, unknown> {
  if (!c || c.state !== 'offered') return {};
  return { offerState: offerState(c), offerError: c.offerError ?? '', offerFailures: c.offerFailures };
}

export function credentialMessage(c: AgentCredentialRecord, successor: AgentCredentialRecord | null = null): Record<string, unknown> {
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
    ...offerPart(c.state === 'offered' ? c : successor),
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
    return { credentials: credentials.map((cred) => credentialMessage(cred)), ...(enrollment ? { enrollment } : {}) };
  }

  async listPendingCredentialSwitches(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const pending = await this.s.credentials.pendingSwitches(c.tenantId, pageSize(req['pageSize'], 100));
    return { credentials: pending.map((p) => credentialMessage(p.credential, p.successor)) };
  }

  /** How far the switch of a scope's agents got (the scope of a rotation). */
  async getAgentCredentialsStatus(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const { uids } = await this.agentsOf(c, req);
    return { ...(await this.s.credentials.switchCounts(c.tenantId, uids)) };
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
      const parsed = selectorToSql(parseSelectorArgument(selector), 'a.labels', 1);
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
        {
          tenantId: c.tenantId,
          actor: this.ctx.actor(c),
          action: 'agent_credential.rotate',
          resourceType: 'agent_credentials',
          resourceName: Object.values(scope)[0],
          details: { ...scope, agents: made.created.length, graceHours: hours, ...(made.replaced.length ? { replacedFailedOffers: made.replaced.map((r) => r.id) } : {}) },
        },
        false,
      );
      return made;
    });
    // Gateways accept the new credentials before any offer of them leaves; failed offers they replace are dropped.
    await removeAll(this.s.directory, created.replaced.map((r) => directoryEntry(r).digest));
    await putAll(this.s.directory, created.created.map(directoryEntry));
    this.s.offers?.wake();
    return { agents: created.created.length, credentials: created.created.length };
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
