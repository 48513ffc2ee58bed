/**
 * What removing an agent removes, in one place for every path that removes
 * agents (DeleteAgent in config-service, the retention sweep of status-ingest):
 * its agents row and the tombstones of uids it replaced, its reconcile state,
 * its places in rollouts and its command records. Content-addressed rows
 * (effective configs, available components) are shared and stay; the audit
 * log stays (it is the history). Redis state (ingest cursor, live index,
 * pending pushes) is the caller's to clear after the commit.
 */
import type { SqlExecutor } from './sql-database';

/** Rows one retention statement removes at most: short transactions, short locks. */
export const AGENT_REMOVAL_BATCH = 500;

function uidOf(v: unknown): Buffer | null {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && v.startsWith('\\x')) return Buffer.from(v.slice(2), 'hex');
  return null;
}

/**
 * Removes these agents (rows the caller has locked) and what hangs off them,
 * in the caller's transaction. Returns every uid removed: the agents and the
 * tombstones that pointed at them.
 */
export async function deleteAgentRecords(tx: SqlExecutor, tenantId: string, uids: readonly Buffer[]): Promise<Buffer[]> {
  if (uids.length === 0) return [];
  const tombstones = await tx.query(`SELECT instance_uid FROM agents WHERE tenant_id = $1 AND replaced_by = ANY($2::bytea[])`, [tenantId, uids]);
  const all = [...uids, ...tombstones.rows.map((r) => uidOf(r['instance_uid'])).filter((b): b is Buffer => b !== null)];
  await tx.query(`DELETE FROM agent_config_state WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[])`, [tenantId, all]);
  await tx.query(`DELETE FROM rollout_agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[])`, [tenantId, all]);
  await tx.query(`DELETE FROM agent_commands WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[])`, [tenantId, all]);
  const { rows } = await tx.query(`DELETE FROM agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) RETURNING instance_uid`, [tenantId, all]);
  return rows.map((r) => uidOf(r['instance_uid'])).filter((b): b is Buffer => b !== null);
}

/**
 * One batch of a tenant's agents not connected since before `cutoffMs`,
 * locked (SKIP LOCKED: an agent status-ingest is writing right now is
 * alive, it is skipped) and removed. Returns the uids removed.
 */
export async function removeAgentsDisconnectedBefore(tx: SqlExecutor, tenantId: string, cutoffMs: number, limit = AGENT_REMOVAL_BATCH): Promise<Buffer[]> {
  const { rows } = await tx.query(
    `SELECT instance_uid FROM agents
      WHERE tenant_id = $1 AND NOT connected
        -- A range on agents_retention_idx (migration 0151); a row never seen counts from its last update.
        AND (last_seen_at < to_timestamp($2::float8 / 1000.0) OR (last_seen_at IS NULL AND updated_at < to_timestamp($2::float8 / 1000.0)))
      ORDER BY last_seen_at NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [tenantId, cutoffMs, limit],
  );
  const uids = rows.map((r) => uidOf(r['instance_uid'])).filter((b): b is Buffer => b !== null);
  return deleteAgentRecords(tx, tenantId, uids);
}
