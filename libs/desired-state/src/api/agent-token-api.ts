/**
 * The agent tokens part of the platform API: the enrollment tokens agents
 * connect with (optionally expiring, use-limited and labelling the agents
 * they enroll), created and revoked here and published to the gateways'
 * directory, with their expiry, so a gateway refuses an expired one without
 * asking the database.
 */
import { agentTokenState, enrollmentExpiry, enrollmentLabels, enrollmentMaxUses, invalidArgument, DesiredStateError } from '../core';
import { AgentTokenRepository, type AgentTokenRecord } from '../store/agent-token.repository';
import type { ApiContext, Caller } from './api-context';
import { int, str, type Req } from './request-fields';

/** One credential gateways accept (the shape of bus-redis AgentTokenEntry): an agent token, or (kind 'agent') one agent's own. */
export interface AgentTokenSinkEntry {
  /** base64 SHA-256 of the token. */
  digest: string;
  tenantId: string;
  tokenId: string;
  kind?: 'enrollment' | 'agent' | 'certificate';
  uidHex?: string;
  active?: boolean;
  /** Refused from then on (ms since the epoch); absent: never. */
  expiresAtMs?: number;
}

/** What a tenant demands of its agents' credentials (bus-redis TenantAgentPolicy). */
export interface TenantAgentPolicyEntry {
  tenantId: string;
  requireAgentCredentials: boolean;
}

/** Where the credentials and tenant policies that gateways follow are published (Redis directory, or the embedded gateway itself). */
export interface AgentTokenSink {
  put(entry: AgentTokenSinkEntry): Promise<void>;
  remove(digest: string): Promise<void>;
  /** `stillAccepted`: asked about what it would remove, just before (another replica may have just added it). */
  replaceAll(entries: readonly AgentTokenSinkEntry[], stillAccepted?: (digests: string[]) => Promise<ReadonlySet<string>>): Promise<void>;
  putPolicy(policy: TenantAgentPolicyEntry): Promise<void>;
}

const STATE_NAMES = { ACTIVE: 'AGENT_TOKEN_STATE_ACTIVE', EXPIRED: 'AGENT_TOKEN_STATE_EXPIRED', EXHAUSTED: 'AGENT_TOKEN_STATE_EXHAUSTED', REVOKED: 'AGENT_TOKEN_STATE_REVOKED' } as const;

/** The directory entry of an enrollment token. */
export function enrollmentEntry(t: AgentTokenRecord): AgentTokenSinkEntry {
  const entry: AgentTokenSinkEntry = { digest: t.digest, tenantId: t.tenantId, tokenId: t.id, kind: 'enrollment' };
  if (t.expiresAtMs !== null) entry.expiresAtMs = t.expiresAtMs;
  return entry;
}

export class AgentTokenApi {
  private readonly tokens: AgentTokenRepository;

  constructor(
    private readonly ctx: ApiContext,
    private readonly sink: AgentTokenSink | null,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = new AgentTokenRepository(ctx.repo.db);
  }

  /**
   * Makes the gateways' directory hold exactly every usable agent token plus
   * `also` (agents' own credentials), at start; fixes any drift.
   */
  async syncAgentTokens(also: readonly AgentTokenSinkEntry[] = []): Promise<number> {
    if (!this.sink) return 0;
    const tokens = await this.tokens.listUsable();
    await this.sink.replaceAll([...tokens.map(enrollmentEntry), ...also], (digests) => this.acceptedDigests(digests));
    return tokens.length + also.length;
  }

  /** Which of these directory digests the database accepts now (an unrevoked agent token, a live agent credential). */
  private async acceptedDigests(digests: readonly string[]): Promise<ReadonlySet<string>> {
    const hashes = digests.map((d) => Buffer.from(d, 'base64')).filter((b) => b.length === 32);
    if (hashes.length === 0) return new Set();
    const { rows } = await this.ctx.repo.db.query(
      `SELECT token_hash AS h FROM api_tokens WHERE kind = 'agent' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AND token_hash = ANY($1::bytea[])
       UNION ALL
       SELECT secret_hash AS h FROM agent_credentials WHERE state IN ('offered', 'active') AND secret_hash = ANY($1::bytea[])`,
      [hashes],
    );
    return new Set(rows.map((r) => Buffer.from(r['h'] as Uint8Array).toString('base64')));
  }

  private tokenMessage(t: AgentTokenRecord): Record<string, unknown> {
    return {
      id: t.id,
      name: t.name,
      createdBy: t.createdBy,
      createTime: t.createdAt,
      revokeTime: t.revokedAt,
      expireTime: t.expiresAtMs === null ? '' : new Date(t.expiresAtMs).toISOString(),
      maxUses: t.maxUses ?? 0,
      uses: t.uses,
      labels: t.labels,
      state: STATE_NAMES[agentTokenState({ revoked: t.revokedAt !== '', expiresAtMs: t.expiresAtMs, maxUses: t.maxUses, uses: t.uses }, this.now())],
    };
  }

  async createAgentToken(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    if (name.length > 200) throw invalidArgument('name is limited to 200 characters');
    const expiresAtMs = enrollmentExpiry(str(req['expireTime']), this.now());
    const maxUses = enrollmentMaxUses(int(req['maxUses'], 'max_uses'));
    const labels = enrollmentLabels(req['labels']);
    const { record, token } = await this.ctx.repo.db.transaction(async (tx) => {
      const created = await this.ctx.repo.createToken(tx, c.tenantId, 'agent', name, this.ctx.actor(c));
      const stored = await this.tokens.setEnrollment(tx, created.record.id, { expiresAtMs, maxUses, labels });
      const details: Record<string, unknown> = { name };
      if (expiresAtMs !== null) details['expireTime'] = new Date(expiresAtMs).toISOString();
      if (maxUses !== null) details['maxUses'] = maxUses;
      if (Object.keys(labels).length > 0) details['labels'] = labels;
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'agent_token.create', resourceType: 'agent_token', resourceName: stored.id, details },
        false,
      );
      return { record: stored, token: created.token };
    });
    await this.sink?.put(enrollmentEntry(record));
    return { token: this.tokenMessage(record), secret: token };
  }

  async listAgentTokens(c: Caller): Promise<Record<string, unknown>> {
    return { tokens: (await this.tokens.list(c.tenantId)).map((t) => this.tokenMessage(t)) };
  }

  async revokeAgentToken(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const id = str(req['id']);
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw invalidArgument('id must be a token id (UUID)');
    const record = await this.ctx.repo.db.transaction(async (tx) => {
      const revoked = await this.tokens.revoke(tx, c.tenantId, id);
      if (!revoked) throw new DesiredStateError('NOT_FOUND', `agent token ${id} not found`);
      await this.ctx.repo.audit(tx, { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'agent_token.revoke', resourceType: 'agent_token', resourceName: id }, false);
      return revoked;
    });
    await this.sink?.remove(record.digest);
    return this.tokenMessage(record);
  }
}
