/**
 * PostgreSQL access for certificate revocation (migration 0215): marking the
 * certificates a revocation covers revoked (every unexpired one still
 * valid as X.509: issued, active, and superseded ones that were never used,
 * which a terminator would still accept), what each CA's CRL lists, and the
 * CRL each CA signed last.
 */
import type { RevocationReason, RevokedSerial } from '@opamp/certificate-authority';
import type { SqlExecutor } from '@opamp/store';
import type { CertificateRevocationScope } from '../core';
import { certificateFromRow, type AgentCertificateRecord } from './agent-certificate.repository';
import { toIso } from './desired-state.repository';

export interface StoredRevocationList {
  readonly caId: string;
  readonly tenantId: string;
  readonly crlNumber: number;
  readonly thisUpdate: string;
  readonly nextUpdate: string;
  readonly der: Buffer;
  readonly pem: string;
  readonly entries: number;
}

function listFromRow(r: Record<string, unknown>): StoredRevocationList {
  return {
    caId: String(r['ca_id']),
    tenantId: String(r['tenant_id']),
    crlNumber: Number(r['crl_number']),
    thisUpdate: toIso(r['this_update']),
    nextUpdate: toIso(r['next_update']),
    der: Buffer.from(r['crl_der'] as Uint8Array),
    pem: String(r['crl_pem']),
    entries: Number(r['entries']),
  };
}

export class CertificateRevocationRepository {
  /**
   * Revokes what the scope names (selector scopes come resolved to `uids`);
   * returns the certificates it revoked now (one revoked before is not again).
   */
  async revoke(
    tx: SqlExecutor,
    tenantId: string,
    scope: CertificateRevocationScope,
    uids: readonly Buffer[] | null,
    reason: RevocationReason,
    note: string,
    by: string,
  ): Promise<AgentCertificateRecord[]> {
    const params: unknown[] = [tenantId, reason, note || null, by];
    const where = [`tenant_id = $1`, `state IN ('issued', 'active', 'superseded')`, `not_after > now()`];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (scope.kind === 'certificate') {
      if (scope.by === 'id') add((p) => `id = ${p}::uuid`, scope.value);
      else if (scope.by === 'fingerprint') add((p) => `fingerprint = ${p}`, scope.value);
      // Stored as issued (a leading zero nibble kept); named without leading zeros.
      else add((p) => `ltrim(serial, '0') = ${p}`, scope.value);
    } else {
      add((p) => `instance_uid = ANY(${p}::bytea[])`, uids ?? []);
    }
    if (scope.caId) add((p) => `ca_id = ${p}::uuid`, scope.caId);
    const { rows } = await tx.query(
      `UPDATE agent_certificates SET state = 'revoked', revoked_at = now(), revoke_reason_code = $2, revoke_reason = $3, revoked_by = $4
        WHERE ${where.join(' AND ')} RETURNING *`,
      params,
    );
    return rows.map(certificateFromRow);
  }

  /** What the CA's CRL lists: its revoked certificates not yet expired. */
  async revokedOf(tx: SqlExecutor, caId: string): Promise<RevokedSerial[]> {
    const { rows } = await tx.query(
      `SELECT serial, revoked_at, revoke_reason_code FROM agent_certificates WHERE ca_id = $1 AND state = 'revoked' AND not_after > now() ORDER BY serial`,
      [caId],
    );
    return rows.map((r) => ({
      serialHex: String(r['serial']),
      revokedAt: new Date(toIso(r['revoked_at'])),
      reason: (r['revoke_reason_code'] ? String(r['revoke_reason_code']) : 'unspecified') as RevocationReason,
    }));
  }

  async listOf(tx: SqlExecutor, caId: string): Promise<StoredRevocationList | null> {
    const { rows } = await tx.query(`SELECT * FROM certificate_revocation_lists WHERE ca_id = $1`, [caId]);
    return rows[0] ? listFromRow(rows[0]) : null;
  }

  async putList(tx: SqlExecutor, l: Omit<StoredRevocationList, 'crlNumber'>): Promise<StoredRevocationList> {
    const { rows } = await tx.query(
      `INSERT INTO certificate_revocation_lists (ca_id, tenant_id, crl_number, this_update, next_update, crl_der, crl_pem, entries)
       VALUES ($1, $2, 1, $3, $4, $5, $6, $7)
       ON CONFLICT (ca_id) DO UPDATE SET crl_number = certificate_revocation_lists.crl_number + 1, this_update = EXCLUDED.this_update,
         next_update = EXCLUDED.next_update, crl_der = EXCLUDED.crl_der, crl_pem = EXCLUDED.crl_pem, entries = EXCLUDED.entries, signed_at = now()
       RETURNING *`,
      [l.caId, l.tenantId, l.thisUpdate, l.nextUpdate, l.der, l.pem, l.entries],
    );
    return listFromRow(rows[0]);
  }

  /** CAs still trusted (active, retiring) whose CRL is missing or due (next_update before `dueBefore`), at most `limit`. */
  async authoritiesDue(tx: SqlExecutor, dueBefore: Date, limit: number): Promise<Array<{ id: string; tenantId: string }>> {
    const { rows } = await tx.query(
      `SELECT a.id, a.tenant_id FROM certificate_authorities a LEFT JOIN certificate_revocation_lists l ON l.ca_id = a.id
        WHERE a.state IN ('active', 'retiring') AND (l.ca_id IS NULL OR l.next_update <= $1)
        ORDER BY l.next_update NULLS FIRST LIMIT $2`,
      [dueBefore.toISOString(), limit],
    );
    return rows.map((r) => ({ id: String(r['id']), tenantId: String(r['tenant_id']) }));
  }
}
