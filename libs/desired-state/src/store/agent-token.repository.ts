/**
 * The enrollment side of agent tokens (api_tokens rows of kind 'agent',
 * columns of migration 0160): expiry, use limit, uses and the labels their
 * agents get. Creating the secret stays with DesiredStateRepository.createToken.
 */
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { toIso, toNumber, tokenFromRow, type TokenRecord } from './desired-state.repository';

export interface AgentTokenRecord extends TokenRecord {
  /** ms since the epoch; null: never expires. */
  expiresAtMs: number | null;
  /** null: no limit. */
  maxUses: number | null;
  uses: number;
  labels: Record<string, string>;
}

export interface EnrollmentProperties {
  expiresAtMs: number | null;
  maxUses: number | null;
  labels: Record<string, string>;
}

function agentTokenFromRow(r: Record<string, unknown>): AgentTokenRecord {
  const labels = r['labels'];
  return {
    ...tokenFromRow(r),
    expiresAtMs: r['expires_at'] ? Date.parse(toIso(r['expires_at'])) : null,
    maxUses: r['max_uses'] === null || r['max_uses'] === undefined ? null : toNumber(r['max_uses']),
    uses: toNumber(r['uses']),
    labels: labels && typeof labels === 'object' ? (labels as Record<string, string>) : {},
  };
}

export class AgentTokenRepository {
  constructor(private readonly db: SqlDatabase) {}

  /** Sets a new token's enrollment properties (same transaction as its creation). */
  async setEnrollment(tx: SqlExecutor, id: string, p: EnrollmentProperties): Promise<AgentTokenRecord> {
    const { rows } = await tx.query(
      `UPDATE api_tokens SET expires_at = $2, max_uses = $3, labels = $4::jsonb WHERE id = $1 AND kind = 'agent' RETURNING *`,
      [id, p.expiresAtMs === null ? null : new Date(p.expiresAtMs).toISOString(), p.maxUses, JSON.stringify(p.labels)],
    );
    return agentTokenFromRow(rows[0]);
  }

  async list(tenantId: string): Promise<AgentTokenRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM api_tokens WHERE tenant_id = $1 AND kind = 'agent' ORDER BY created_at, id`, [tenantId]);
    return rows.map(agentTokenFromRow);
  }

  /** Every agent token of every tenant gateways should know: not revoked, not expired (used up ones still speak for the agents they enrolled). */
  async listUsable(): Promise<AgentTokenRecord[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM api_tokens WHERE kind = 'agent' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) ORDER BY id`,
    );
    return rows.map(agentTokenFromRow);
  }

  async revoke(tx: SqlExecutor, tenantId: string, id: string): Promise<AgentTokenRecord | null> {
    const { rows } = await tx.query(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND kind = 'agent' AND id::text = $2 RETURNING *`,
      [tenantId, id],
    );
    return rows.length ? agentTokenFromRow(rows[0]) : null;
  }
}
