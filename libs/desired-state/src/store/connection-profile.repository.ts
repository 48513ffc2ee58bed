/**
 * PostgreSQL access for connection profiles (migration 0170): the profiles of
 * a tenant in resolution order, and how many agents each one holds by the
 * connection settings status they report, in one aggregate.
 */
import { createHash } from 'node:crypto';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { connectionProfileSpecMessage, parseConnectionProfileSpec, parseSelector, selectorToSql, orderAssignments, type ConnectionProfile, type ConnectionProfileSpec } from '../core';
import { toNumber } from './desired-state.repository';

export interface ConnectionProfileCounts {
  agents: number;
  applied: number;
  applying: number;
  failed: number;
  notReported: number;
}

export const NO_COUNTS: ConnectionProfileCounts = { agents: 0, applied: 0, applying: 0, failed: 0, notReported: 0 };

/** A stored row as a profile (its spec is read back through the validation, so the shape is always the current one). */
export function profileFromRow(r: Record<string, unknown>): ConnectionProfile {
  const selectorText = String(r['selector'] ?? '');
  return {
    name: String(r['name']),
    selector: parseSelector(selectorText),
    selectorText,
    priority: toNumber(r['priority']),
    spec: parseConnectionProfileSpec((r['spec'] ?? {}) as Record<string, unknown>),
  };
}

/** SHA-256 of a spec's canonical form: what the audit log records instead of its values (headers may be secrets). */
export function specDigest(spec: ConnectionProfileSpec): Buffer {
  return createHash('sha256').update(JSON.stringify(connectionProfileSpecMessage(spec))).digest();
}

const S = { APPLIED: 1, APPLYING: 2, FAILED: 3 } as const;

export class ConnectionProfileRepository {
  constructor(readonly db: SqlDatabase) {}

  /** The tenant's profiles, highest priority first (ties by name): resolveAssignment's order. */
  async ordered(tenantId: string, tx: SqlExecutor = this.db): Promise<ConnectionProfile[]> {
    const { rows } = await tx.query(`SELECT name, selector, priority, spec FROM connection_profiles WHERE tenant_id = $1`, [tenantId]);
    return orderAssignments(rows.map(profileFromRow));
  }

  /**
   * Agents per profile (the one each resolves to) by the status they report
   * for the settings last offered to them; a status of an older offer, or
   * none, is "not yet reported". One scan of the tenant's agents: a CASE in
   * resolution order names each agent's profile.
   */
  async counts(tenantId: string, ordered: readonly ConnectionProfile[]): Promise<Map<string, ConnectionProfileCounts>> {
    const out = new Map<string, ConnectionProfileCounts>();
    if (ordered.length === 0) return out;
    const params: unknown[] = [tenantId];
    const branches = ordered.map((p) => {
      const sel = selectorToSql(p.selector, 'a.labels', params.length);
      params.push(...sel.params, p.name);
      return `WHEN (${sel.sql}) THEN $${params.length}::text`;
    });
    const { rows } = await this.db.query(
      `SELECT profile, count(*) AS agents,
              count(*) FILTER (WHERE current AND status = ${S.APPLIED}) AS applied,
              count(*) FILTER (WHERE current AND status = ${S.APPLYING}) AS applying,
              count(*) FILTER (WHERE current AND status = ${S.FAILED}) AS failed
         FROM (SELECT CASE ${branches.join(' ')} END AS profile, a.connection_settings_status AS status,
                      EXISTS (SELECT 1 FROM agent_credentials c
                               WHERE c.tenant_id = a.tenant_id AND c.instance_uid = a.instance_uid AND c.state IN ('offered', 'active')
                                 AND c.offered_hash = a.connection_settings_hash) AS current
                 FROM agents a WHERE a.tenant_id = $1 AND a.replaced_by IS NULL) x
        WHERE profile IS NOT NULL
        GROUP BY profile`,
      params,
    );
    for (const r of rows) {
      const c = { agents: toNumber(r['agents']), applied: toNumber(r['applied']), applying: toNumber(r['applying']), failed: toNumber(r['failed']), notReported: 0 };
      c.notReported = c.agents - c.applied - c.applying - c.failed;
      out.set(String(r['profile']), c);
    }
    return out;
  }
}
