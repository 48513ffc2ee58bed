/**
 * PostgreSQL access for the rotation side of agents' certificates
 * (migrations 0190, 0210): activation when an agent is seen on a certificate
 * issued to it (the ones it replaces superseded in the same statement set),
 * the certificates a rotation pass renews (due by age, asked for, or signed by
 * a retiring CA), operators' rotation requests, renewals the agents have not
 * switched to, and the expiry figures of the API and the metrics.
 */
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import type { LiveCertificate } from '../core';
import { certificateFromRow, type AgentCertificateRecord } from './agent-certificate.repository';
import { toBuffer, toIso } from './desired-state.repository';

/** A live certificate a rotation pass may renew, with what the decision needs (core/certificate-rotation.ts). */
export interface RotationRow {
  readonly certificate: AgentCertificateRecord;
  readonly caRetiring: boolean;
  readonly requested: boolean;
  readonly renewalPending: boolean;
  readonly rotateAtPercent: number;
}

export interface PendingCertificateSwitch {
  /** What the agent still connects with, and the renewal offered to it. */
  readonly current: AgentCertificateRecord;
  readonly offered: AgentCertificateRecord;
}

/** A renewal signed by the tenant's active CA waits for the agent of `c` (issued, not used yet). */
const PENDING = `EXISTS (
  SELECT 1 FROM agent_certificates n JOIN certificate_authorities na ON na.id = n.ca_id
   WHERE n.tenant_id = c.tenant_id AND n.instance_uid = c.instance_uid AND n.state = 'issued' AND na.state = 'active' AND n.not_after > now())`;

export class CertificateRotationRepository {
  constructor(readonly db: SqlDatabase) {}

  /** The agents' live certificates (issued, active), ids, states and when each was made, by uid hex. */
  async liveOf(tenantId: string, uids: readonly Buffer[]): Promise<Map<string, LiveCertificate[]>> {
    const out = new Map<string, LiveCertificate[]>();
    if (uids.length === 0) return out;
    const { rows } = await this.db.query(
      `SELECT id, instance_uid, state, created_at FROM agent_certificates WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND state IN ('issued', 'active') AND not_after > now()`,
      [tenantId, uids],
    );
    for (const r of rows) {
      const key = (toBuffer(r['instance_uid']) as Buffer).toString('hex');
      out.set(key, [...(out.get(key) ?? []), { id: String(r['id']), state: String(r['state']), createdAtMs: Date.parse(toIso(r['created_at'])) }]);
    }
    return out;
  }

  /**
   * Activates the certificates (still issued) and supersedes the ones each
   * replaces (still live), in uid order. Returns the activated ones and what
   * each superseded, by uid hex.
   */
  async activateMany(
    tx: SqlExecutor,
    tenantId: string,
    plans: ReadonlyArray<{ uid: Buffer; activate: string; supersede: readonly string[] }>,
  ): Promise<Map<string, { active: AgentCertificateRecord; superseded: AgentCertificateRecord[] }>> {
    const out = new Map<string, { active: AgentCertificateRecord; superseded: AgentCertificateRecord[] }>();
    if (plans.length === 0) return out;
    const sorted = [...plans].sort((a, b) => Buffer.compare(a.uid, b.uid));
    const { rows } = await tx.query(
      `UPDATE agent_certificates c SET state = 'active', activated_at = now()
         FROM unnest($2::bytea[], $3::uuid[]) AS u(uid, id)
        WHERE c.tenant_id = $1 AND c.instance_uid = u.uid AND c.id = u.id AND c.state = 'issued' AND c.not_after > now()
        RETURNING c.*`,
      [tenantId, sorted.map((p) => p.uid), sorted.map((p) => p.activate)],
    );
    for (const r of rows) {
      const active = certificateFromRow(r);
      out.set(active.instanceUid.toString('hex'), { active, superseded: [] });
    }
    // Only for the activations made here (another replica may have made one first).
    const old = sorted.filter((p) => out.has(p.uid.toString('hex'))).flatMap((p) => p.supersede.map((id) => ({ uid: p.uid, id })));
    if (old.length > 0) {
      const superseded = await tx.query(
        `UPDATE agent_certificates c SET state = 'superseded', rotation_requested_at = NULL
           FROM unnest($2::bytea[], $3::uuid[]) AS u(uid, id)
          WHERE c.tenant_id = $1 AND c.instance_uid = u.uid AND c.id = u.id AND c.state IN ('issued', 'active')
          RETURNING c.*`,
        [tenantId, old.map((o) => o.uid), old.map((o) => o.id)],
      );
      for (const r of superseded.rows) {
        const c = certificateFromRow(r);
        out.get(c.instanceUid.toString('hex'))?.superseded.push(c);
      }
    }
    return out;
  }

  /**
   * Active certificates a rotation pass may renew, soonest to expire first:
   * asked for, signed by a CA that is not the active one, or past the
   * policy's share of their lifetime, and no renewal by the active CA waiting
   * already (unless asked for again). Tenants without an active CA have
   * nothing to renew with.
   */
  async rotationCandidates(tx: SqlExecutor, limit: number): Promise<RotationRow[]> {
    const { rows } = await tx.query(
      `SELECT c.*, ca.state <> 'active' AS ca_retiring, COALESCE(p.rotate_at_percent, 67) AS policy_percent, ${PENDING} AS renewal_pending
         FROM agent_certificates c
         JOIN certificate_authorities ca ON ca.id = c.ca_id
         LEFT JOIN certificate_policies p ON p.tenant_id = c.tenant_id
        WHERE c.state = 'active' AND c.not_after > now()
          AND (c.rotation_retry_at IS NULL OR c.rotation_retry_at <= now())
          AND (c.rotation_requested_at IS NOT NULL OR ca.state <> 'active'
               OR now() >= c.not_before + (c.not_after - c.not_before) * (COALESCE(p.rotate_at_percent, 67) / 100.0))
          AND EXISTS (SELECT 1 FROM certificate_authorities a WHERE a.tenant_id = c.tenant_id AND a.state = 'active')
          -- A waiting renewal keeps it out, unless the operator asked again.
          AND (c.rotation_requested_at IS NOT NULL OR NOT ${PENDING})
        ORDER BY c.not_after, c.id
        LIMIT $1
        FOR UPDATE OF c SKIP LOCKED`,
      [limit],
    );
    return rows.map((r) => ({
      certificate: certificateFromRow(r),
      caRetiring: r['ca_retiring'] === true,
      requested: r['rotation_requested_at'] !== null && r['rotation_requested_at'] !== undefined,
      renewalPending: r['renewal_pending'] === true,
      rotateAtPercent: Number(r['policy_percent']),
    }));
  }

  /** Renewed: the request (if any) is consumed. */
  async renewed(tx: SqlExecutor, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await tx.query(`UPDATE agent_certificates SET rotation_requested_at = NULL, rotation_retry_at = NULL WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** Could not be renewed now (the CA ends first): left until `retryAt`. */
  async postpone(tx: SqlExecutor, ids: readonly string[], retryAt: Date): Promise<void> {
    if (ids.length > 0) await tx.query(`UPDATE agent_certificates SET rotation_retry_at = $2 WHERE id = ANY($1::uuid[])`, [ids, retryAt.toISOString()]);
  }

  /**
   * An operator's rotation: the active certificates of the agents a condition
   * on `agents a` selects ($2.. its parameters) are marked; the sweep renews
   * them page by page. Returns how many.
   */
  async requestRotation(tx: SqlExecutor, tenantId: string, agentCondition: { sql: string; params: unknown[] }): Promise<number> {
    const { rows } = await tx.query(
      `UPDATE agent_certificates c SET rotation_requested_at = now(), rotation_retry_at = NULL
         FROM agents a
        WHERE c.tenant_id = $1 AND a.tenant_id = c.tenant_id AND a.instance_uid = c.instance_uid AND c.state = 'active' AND c.not_after > now() AND (${agentCondition.sql})
        RETURNING c.id`,
      [tenantId, ...agentCondition.params],
    );
    return rows.length;
  }

  /** Renewals (issued, renewing an active one) the agents have not switched to for `olderThanMs`, oldest first. */
  async pendingSwitches(tenantId: string, olderThanMs: number, limit: number): Promise<PendingCertificateSwitch[]> {
    const { rows } = await this.db.query(
      `SELECT row_to_json(o.*) AS offered, row_to_json(c.*) AS current
         FROM agent_certificates o JOIN agent_certificates c ON c.id = o.renews_id AND c.state = 'active'
        WHERE o.tenant_id = $1 AND o.state = 'issued' AND o.created_at <= now() - $2::int * interval '1 millisecond'
        ORDER BY o.created_at, o.id LIMIT $3`,
      [tenantId, Math.max(0, Math.floor(olderThanMs)), limit],
    );
    return rows.map((r) => ({ current: certificateFromRow(jsonRow(r['current'])), offered: certificateFromRow(jsonRow(r['offered'])) }));
  }

  /**
   * Per tenant: agents whose live certificate expires within `days`, agents
   * whose certificates have all expired (their newest one ended, none live),
   * and renewals not switched to within the stall bound.
   */
  async expiryCounts(days: number, stallMs: number): Promise<Array<{ tenantId: string; expiring: number; expired: number; stalled: number }>> {
    const { rows } = await this.db.query(
      `SELECT tenant_id,
              count(DISTINCT instance_uid) FILTER (WHERE state IN ('issued', 'active') AND not_after > now() AND not_after <= now() + make_interval(days => $1::int)) AS expiring,
              count(*) FILTER (WHERE state = 'issued' AND renews_id IS NOT NULL AND created_at <= now() - $2::int * interval '1 millisecond') AS stalled
         FROM agent_certificates WHERE state IN ('issued', 'active') GROUP BY tenant_id`,
      [days, Math.floor(stallMs)],
    );
    const { rows: gone } = await this.db.query(
      `SELECT e.tenant_id, count(DISTINCT e.instance_uid) AS expired
         FROM agent_certificates e
        WHERE (e.state = 'expired' OR (e.state IN ('issued', 'active') AND e.not_after <= now()))
          AND NOT EXISTS (SELECT 1 FROM agent_certificates l WHERE l.tenant_id = e.tenant_id AND l.instance_uid = e.instance_uid AND l.state IN ('issued', 'active') AND l.not_after > now())
          AND EXISTS (SELECT 1 FROM agents a WHERE a.tenant_id = e.tenant_id AND a.instance_uid = e.instance_uid)
        GROUP BY e.tenant_id`,
    );
    const out = new Map<string, { tenantId: string; expiring: number; expired: number; stalled: number }>();
    for (const r of rows) out.set(String(r['tenant_id']), { tenantId: String(r['tenant_id']), expiring: Number(r['expiring']), expired: 0, stalled: Number(r['stalled']) });
    for (const r of gone) {
      const t = String(r['tenant_id']);
      out.set(t, { ...(out.get(t) ?? { tenantId: t, expiring: 0, stalled: 0 }), expired: Number(r['expired']) });
    }
    return [...out.values()];
  }
}

/** A row_to_json row: bytea comes back as "\\x…" text. */
function jsonRow(v: unknown): Record<string, unknown> {
  const o = (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
  const uid = o['instance_uid'];
  return { ...o, instance_uid: typeof uid === 'string' && uid.startsWith('\\x') ? Buffer.from(uid.slice(2), 'hex') : uid };
}
