/**
 * Durable re-evaluation jobs (migration 0120): recorded by an API change in
 * its own transaction, worked page by page by one reconciler at a time (a
 * lease with expiry, renewed after every page; every write is fenced by the
 * lease owner), resumed from their cursor by whichever reconciler takes them
 * over. Jobs of one tenant are worked oldest first, one at a time, so a
 * later change is never overtaken by an earlier one.
 */
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { toBuffer, toNumber } from './desired-state.repository';

export interface ReevaluationJob {
  readonly id: number;
  readonly tenantId: string;
  /** Label selectors whose agents are re-evaluated; null = every agent. */
  readonly selectors: readonly string[] | null;
  readonly reason: string;
  /** Last instance uid done; null = not started. */
  readonly cursor: Buffer | null;
  readonly pagesDone: number;
  readonly agentsDone: number;
  /** The trace of the API call that recorded it (migration 0290); null: not traced. */
  readonly traceParent: string | null;
}

function jobFromRow(r: Record<string, unknown>): ReevaluationJob {
  return {
    id: toNumber(r['id']),
    tenantId: String(r['tenant_id']),
    selectors: Array.isArray(r['selectors']) ? (r['selectors'] as unknown[]).map(String) : null,
    reason: String(r['reason'] ?? ''),
    cursor: toBuffer(r['cursor']),
    pagesDone: toNumber(r['pages_done']),
    agentsDone: toNumber(r['agents_done']),
    traceParent: typeof r['trace_parent'] === 'string' ? r['trace_parent'] : null,
  };
}

export class ReevaluationJobRepository {
  constructor(readonly db: SqlDatabase) {}

  /** Records a job in the caller's transaction (the one that made the change). */
  async record(tx: SqlExecutor, tenantId: string, selectors: readonly string[] | null, reason: string, traceParent: string | null = null): Promise<number> {
    const { rows } = await tx.query(`INSERT INTO reevaluation_jobs (tenant_id, selectors, reason, trace_parent) VALUES ($1, $2::jsonb, $3, $4) RETURNING id`, [
      tenantId,
      selectors === null ? null : JSON.stringify(selectors),
      reason,
      traceParent,
    ]);
    return toNumber(rows[0]['id']);
  }

  /**
   * Takes the lease of the oldest job that is free (never leased, or its
   * lease expired) and is the oldest of its tenant; of one tenant when given.
   */
  async claim(owner: string, leaseMs: number, tenantId: string | null = null): Promise<ReevaluationJob | null> {
    const { rows } = await this.db.query(
      `UPDATE reevaluation_jobs j SET lease_owner = $1, lease_expires_at = now() + $2::int * interval '1 millisecond', updated_at = now()
        WHERE j.id = (
          SELECT c.id FROM reevaluation_jobs c
           WHERE ($3::text IS NULL OR c.tenant_id = $3::text)
             AND (c.lease_owner IS NULL OR c.lease_expires_at < now())
             AND NOT EXISTS (SELECT 1 FROM reevaluation_jobs o WHERE o.tenant_id = c.tenant_id AND o.id < c.id)
           ORDER BY c.id LIMIT 1 FOR UPDATE SKIP LOCKED)
          AND (j.lease_owner IS NULL OR j.lease_expires_at < now())
        RETURNING *`,
      [owner, leaseMs, tenantId],
    );
    return rows.length ? jobFromRow(rows[0]) : null;
  }

  /** Records a page done and renews the lease; false when the lease was lost (another reconciler took over). */
  async advance(jobId: number, owner: string, cursor: Buffer, agents: number, leaseMs: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE reevaluation_jobs SET cursor = $3, pages_done = pages_done + 1, agents_done = agents_done + $4,
              lease_expires_at = now() + $5::int * interval '1 millisecond', updated_at = now()
        WHERE id = $1 AND lease_owner = $2 RETURNING id`,
      [jobId, owner, cursor, agents, leaseMs],
    );
    return rows.length > 0;
  }

  /** Deletes a finished job (only while holding its lease). */
  async finish(jobId: number, owner: string): Promise<boolean> {
    const { rows } = await this.db.query(`DELETE FROM reevaluation_jobs WHERE id = $1 AND lease_owner = $2 RETURNING id`, [jobId, owner]);
    return rows.length > 0;
  }

  /** Gives up every lease of this owner (graceful stop: another replica continues at once). */
  async release(owner: string): Promise<void> {
    await this.db.query(`UPDATE reevaluation_jobs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now() WHERE lease_owner = $1`, [owner]);
  }

  /** Unfinished jobs, for tests and operators. */
  async list(tenantId?: string): Promise<ReevaluationJob[]> {
    const { rows } = await this.db.query(`SELECT * FROM reevaluation_jobs WHERE ($1::text IS NULL OR tenant_id = $1::text) ORDER BY id`, [tenantId ?? null]);
    return rows.map(jobFromRow);
  }
}
