/**
 * PostgreSQL access for desired packages (migrations 0200, 0201): a tenant's
 * package assignments in resolution order, the catalog versions they name
 * (with their files), and what was last offered to an agent.
 */
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { orderAssignments, parseSelector, type CatalogVersion, type DesiredPackages, type LabelSelector, type PackageKind } from '../core';
import { toBuffer, toNumber } from './desired-state.repository';

export interface PackageAssignment {
  name: string;
  selector: LabelSelector;
  selectorText: string;
  priority: number;
  packages: DesiredPackages;
}

export function packageAssignmentFromRow(r: Record<string, unknown>): PackageAssignment {
  const selectorText = String(r['selector'] ?? '');
  const raw = typeof r['packages'] === 'string' ? (JSON.parse(r['packages']) as unknown) : r['packages'];
  const packages = Array.isArray(raw) ? raw.map((p) => ({ packageName: String((p as Record<string, unknown>)['packageName']), version: String((p as Record<string, unknown>)['version']) })) : [];
  return { name: String(r['name']), selector: parseSelector(selectorText), selectorText, priority: toNumber(r['priority']), packages };
}

/** An agent's failed install is due for a retry: retries left (< the count param) and its back-off (the ms-array param at its attempt) passed. */
function retryDue(countParam: string, backoffParam: string): string {
  return `packages_failed_at IS NOT NULL AND packages_retries < ${countParam}
          AND packages_failed_at <= now() - ((${backoffParam}::bigint[])[packages_retries + 1] * interval '1 millisecond')`;
}

export class PackageRepository {
  constructor(readonly db: SqlDatabase) {}

  async orderedAssignments(tenantId: string, tx: SqlExecutor = this.db): Promise<PackageAssignment[]> {
    const { rows } = await tx.query(`SELECT name, selector, priority, packages FROM package_assignments WHERE tenant_id = $1`, [tenantId]);
    return orderAssignments(rows.map(packageAssignmentFromRow));
  }

  /** The catalog versions `wanted` names, keyed `name@version` (absent: no such version). */
  async versions(tenantId: string, wanted: DesiredPackages, tx: SqlExecutor = this.db): Promise<Map<string, CatalogVersion>> {
    const out = new Map<string, CatalogVersion>();
    if (wanted.length === 0) return out;
    const names = wanted.map((w) => w.packageName);
    const versions = wanted.map((w) => w.version);
    const { rows } = await tx.query(
      `SELECT v.package_name, v.version, v.withdrawn_at, p.type
         FROM package_versions v JOIN packages p ON p.tenant_id = v.tenant_id AND p.name = v.package_name
         JOIN unnest($2::text[], $3::text[]) AS w(name, version) ON w.name = v.package_name AND w.version = v.version
        WHERE v.tenant_id = $1`,
      [tenantId, names, versions],
    );
    for (const r of rows) {
      out.set(`${String(r['package_name'])}@${String(r['version'])}`, {
        packageName: String(r['package_name']),
        version: String(r['version']),
        kind: String(r['type']) as PackageKind,
        withdrawn: r['withdrawn_at'] !== null && r['withdrawn_at'] !== undefined,
        files: [],
      });
    }
    if (out.size === 0) return out;
    const files = await tx.query(
      `SELECT f.package_name, f.version, f.os, f.arch, f.sha256, f.signature, f.source, f.url
         FROM package_files f JOIN unnest($2::text[], $3::text[]) AS w(name, version) ON w.name = f.package_name AND w.version = f.version
        WHERE f.tenant_id = $1`,
      [tenantId, names, versions],
    );
    for (const f of files.rows) {
      const v = out.get(`${String(f['package_name'])}@${String(f['version'])}`);
      if (!v) continue;
      (v.files as CatalogVersion['files'][number][]).push({
        os: String(f['os']),
        arch: String(f['arch']),
        sha256: toBuffer(f['sha256']) as Buffer,
        signature: toBuffer(f['signature']),
        source: String(f['source']) === 'url' ? 'url' : 'upload',
        url: f['url'] ? String(f['url']) : null,
      });
    }
    return out;
  }

  /**
   * Records the offer of `hash` on `connection` unless the same offer was
   * recorded on the same connection less than `waitMs` ago (another decider
   * got there first: the decision's awaiting_status, made atomic). True when
   * this caller should push.
   */
  async claimOffer(tenantId: string, instanceUid: Buffer, hash: Buffer, connection: string, waitMs: number, retry?: { of: Buffer; retries: number }): Promise<boolean> {
    // A retry also moves the agent's attempt on (and its failure time off: the back-off of the next attempt runs from its own failure).
    const setRetry = retry ? ', packages_retry_of = $6, packages_retries = $7, packages_failed_at = NULL' : '';
    const { rows } = await this.db.query(
      `UPDATE agents SET packages_offered_hash = $3, packages_offered_connection = $4, packages_offered_at = now()${setRetry}
        WHERE tenant_id = $1 AND instance_uid = $2
          AND NOT (packages_offered_hash IS NOT DISTINCT FROM $3 AND packages_offered_connection IS NOT DISTINCT FROM $4
                   AND packages_offered_at > now() - ($5::int * interval '1 millisecond'))
        RETURNING 1`,
      retry ? [tenantId, instanceUid, hash, connection, waitMs, retry.of, retry.retries] : [tenantId, instanceUid, hash, connection, waitMs],
    );
    return rows.length > 0;
  }

  /** The failure of an agent's attempt at a set was seen now (once: the back-off runs from the first sighting). */
  async recordInstallFailure(tenantId: string, instanceUid: Buffer, setHash: Buffer, attempt: number): Promise<void> {
    await this.db.query(
      `UPDATE agents SET packages_retry_of = $3, packages_retries = $4, packages_failed_at = now()
        WHERE tenant_id = $1 AND instance_uid = $2
          AND NOT (packages_retry_of IS NOT DISTINCT FROM $3 AND packages_retries = $4 AND packages_failed_at IS NOT NULL)`,
      [tenantId, instanceUid, setHash, attempt],
    );
  }

  /** Of these agents, forgets the failure time of those still due (their retry was not made). */
  async clearDueFailures(tenantId: string, uids: readonly Buffer[], backoffMs: readonly number[]): Promise<void> {
    if (uids.length === 0 || backoffMs.length === 0) return;
    await this.db.query(
      `UPDATE agents SET packages_failed_at = NULL
        WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND ${retryDue('$3', '$4')}`,
      [tenantId, uids, backoffMs.length, backoffMs],
    );
  }

  /**
   * Connected agents whose failed install is due for a retry (its back-off,
   * backoffMs[retries], passed since the failure), oldest first, at most `limit`.
   */
  async retriesDue(backoffMs: readonly number[], limit: number): Promise<Array<{ tenantId: string; instanceUid: Buffer }>> {
    if (backoffMs.length === 0) return [];
    const { rows } = await this.db.query(
      `SELECT tenant_id, instance_uid FROM agents
        WHERE connected AND ${retryDue('$1', '$2')}
        ORDER BY packages_failed_at LIMIT $3`,
      [backoffMs.length, backoffMs, limit],
    );
    return rows.map((r) => ({ tenantId: String(r['tenant_id']), instanceUid: toBuffer(r['instance_uid']) as Buffer }));
  }
}
