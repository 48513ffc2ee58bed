/**
 * The agent tokens part of the platform API: tokens agents connect with,
 * created and revoked here and published to the gateways' directory.
 */
import { invalidArgument, DesiredStateError } from '../core';
import type { TokenRecord } from '../store/desired-state.repository';
import type { ApiContext, Caller } from './api-context';
import { str, type Req } from './request-fields';

/** A credential gateways accept: an agent token, or (kind 'agent') one agent's own. */
export interface AgentTokenSinkEntry {
  digest: string;
  tenantId: string;
  tokenId: string;
  kind?: 'enrollment' | 'agent';
  uidHex?: string;
  active?: boolean;
  expiresAtMs?: number;
}

/** Where the agent tokens that gateways accept are published (Redis directory, or the embedded gateway itself). */
export interface AgentTokenSink {
  put(entry: AgentTokenSinkEntry): Promise<void>;
  remove(digest: string): Promise<void>;
  replaceAll(entries: ReadonlyArray<AgentTokenSinkEntry>): Promise<void>;
}

export class AgentTokenApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly sink: AgentTokenSink | null,
  ) {}

  /**
   * Makes the gateways' directory hold exactly every active agent token plus
   * `also` (agents' own credentials), at start; fixes any drift.
   */
  async syncAgentTokens(also: readonly AgentTokenSinkEntry[] = []): Promise<number> {
    if (!this.sink) return 0;
    const tokens = await this.ctx.repo.listActiveAgentTokens();
    await this.sink.replaceAll([...tokens.map((t) => ({ digest: t.digest, tenantId: t.tenantId, tokenId: t.id })), ...also]);
    return tokens.length + also.length;
  }

  private tokenMessage(t: TokenRecord): Record<string, unknown> {
    return { id: t.id, name: t.name, createdBy: t.createdBy, createTime: t.createdAt, revokeTime: t.revokedAt };
  }

  async createAgentToken(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['name']);
    if (name.length > 200) throw invalidArgument('name is limited to 200 characters');
    const { record, token } = await this.ctx.repo.db.transaction(async (tx) => {
      const created = await this.ctx.repo.createToken(tx, c.tenantId, 'agent', name, this.ctx.actor(c));
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'agent_token.create', resourceType: 'agent_token', resourceName: created.record.id, details: { name } },
        false,
      );
      return created;
    });
    await this.sink?.put({ digest: record.digest, tenantId: record.tenantId, tokenId: record.id });
    return { token: this.tokenMessage(record), secret: token };
  }

  async listAgentTokens(c: Caller): Promise<Record<string, unknown>> {
    return { tokens: (await this.ctx.repo.listTokens(c.tenantId, 'agent')).map((t) => this.tokenMessage(t)) };
  }

  async revokeAgentToken(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const id = str(req['id']);
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw invalidArgument('id must be a token id (UUID)');
    const record = await this.ctx.repo.db.transaction(async (tx) => {
      const revoked = await this.ctx.repo.revokeToken(tx, c.tenantId, 'agent', id);
      if (!revoked) throw new DesiredStateError('NOT_FOUND', `agent token ${id} not found`);
      await this.ctx.repo.audit(tx, { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'agent_token.revoke', resourceType: 'agent_token', resourceName: id }, false);
      return revoked;
    });
    await this.sink?.remove(record.digest);
    return this.tokenMessage(record);
  }
}
