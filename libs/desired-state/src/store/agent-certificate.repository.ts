/**
 * PostgreSQL access for agents' certificates and their requests (migration
 * 0190): CSRs waiting for an operator (one per agent; the same CSR sent again
 * is the same request), the operator's decision, and the certificates issued
 * with their life cycle (issued -> active -> superseded, revoked, expired).
 * A certificate's directory entry is keyed by its fingerprint.
 */
import { randomUUID } from 'node:crypto';
import type { IssuedCertificate } from '@opamp/certificate-authority';
import { fleet } from '@opamp/contracts';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import type { CredentialDirectoryEntry } from './agent-credential.repository';
import { toBuffer, toIso } from './desired-state.repository';

export type CertificateState = 'issued' | 'active' | 'superseded' | 'revoked' | 'expired';
export type RequestState = 'pending' | 'approved' | 'denied';

export interface AgentCertificateRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly instanceUid: Buffer;
  readonly caId: string;
  readonly requestId: string | null;
  readonly serial: string;
  readonly fingerprint: string;
  readonly certificatePem: string;
  readonly state: CertificateState;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly offeredAt: string | null;
  readonly revokedAt: string | null;
  readonly revokeReason: string | null;
  /** The certificate this one renews, and why it was made (rotation); null for one from a CSR. */
  readonly renewsId: string | null;
  readonly rotationReason: string | null;
  /** RFC 5280 reason code of a revocation (migration 0215), null before. */
  readonly revokeReasonCode: string | null;
}

export interface CertificateRequestRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly instanceUid: Buffer;
  readonly senderUid: Buffer;
  readonly csrPem: string;
  readonly keyType: string;
  readonly dnsNames: readonly string[];
  readonly state: RequestState;
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  readonly decisionReason: string | null;
  readonly certificateId: string | null;
}

/** agents.credential_kind of a connection admitted on a client certificate (as status-ingest writes it). */
const CERTIFICATE_CREDENTIAL_KIND = Number(fleet.v1.CredentialKind.CREDENTIAL_KIND_CERTIFICATE);

const iso = (v: unknown) => (v === null || v === undefined ? null : toIso(v));
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

function arrayOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string' && v.startsWith('{')) return v.slice(1, -1).split(',').filter((s) => s.length > 0).map((s) => s.replace(/^"|"$/g, ''));
  return [];
}

export function certificateFromRow(r: Record<string, unknown>): AgentCertificateRecord {
  return {
    id: String(r['id']),
    tenantId: String(r['tenant_id']),
    instanceUid: toBuffer(r['instance_uid']) as Buffer,
    caId: String(r['ca_id']),
    requestId: text(r['request_id']),
    serial: String(r['serial']),
    fingerprint: String(r['fingerprint']),
    certificatePem: String(r['certificate_pem']),
    state: String(r['state']) as CertificateState,
    notBefore: toIso(r['not_before']),
    notAfter: toIso(r['not_after']),
    createdAt: toIso(r['created_at']),
    activatedAt: iso(r['activated_at']),
    offeredAt: iso(r['offered_at']),
    revokedAt: iso(r['revoked_at']),
    revokeReason: text(r['revoke_reason']),
    renewsId: text(r['renews_id']),
    rotationReason: text(r['rotation_reason']),
    revokeReasonCode: text(r['revoke_reason_code']),
  };
}

function requestFromRow(r: Record<string, unknown>): CertificateRequestRecord {
  return {
    id: String(r['id']),
    tenantId: String(r['tenant_id']),
    instanceUid: toBuffer(r['instance_uid']) as Buffer,
    senderUid: toBuffer(r['sender_uid']) as Buffer,
    csrPem: String(r['csr_pem']),
    keyType: String(r['key_type']),
    dnsNames: arrayOf(r['dns_names']),
    state: String(r['state']) as RequestState,
    createdAt: toIso(r['created_at']),
    decidedAt: iso(r['decided_at']),
    decidedBy: text(r['decided_by']),
    decisionReason: text(r['decision_reason']),
    certificateId: text(r['certificate_id']),
  };
}

/** The directory entry of a certificate (what gateways behind the terminator accept), keyed by its fingerprint. */
export function certificateDirectoryEntry(c: AgentCertificateRecord): CredentialDirectoryEntry {
  return { digest: c.fingerprint, tenantId: c.tenantId, tokenId: c.id, kind: 'certificate', uidHex: c.instanceUid.toString('hex'), active: c.state === 'active' };
}

export interface NewCertificateRequest {
  readonly tenantId: string;
  readonly instanceUid: Buffer;
  readonly senderUid: Buffer;
  readonly csrPem: string;
  readonly csrDigest: Buffer;
  readonly keyType: string;
  readonly dnsNames: readonly string[];
}

export interface CertificateListFilter {
  readonly instanceUid?: Buffer;
  /** Live certificates (issued or active) whose not_after falls within this many days from now. */
  readonly expiresWithinDays?: number;
  readonly state?: CertificateState;
  readonly limit: number;
}

export class AgentCertificateRepository {
  constructor(readonly db: SqlDatabase) {}

  // --- requests ---------------------------------------------------------------

  /** Records an agent's CSR as waiting; one waits per agent, a different CSR replaces it, the same one is left as it is. */
  async putPending(tx: SqlExecutor, r: NewCertificateRequest): Promise<CertificateRequestRecord> {
    const { rows } = await tx.query(
      `INSERT INTO certificate_requests (id, tenant_id, instance_uid, sender_uid, csr_pem, csr_digest, key_type, dns_names, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], 'pending')
       ON CONFLICT (tenant_id, instance_uid) WHERE state = 'pending' DO UPDATE
         SET sender_uid = EXCLUDED.sender_uid, csr_pem = EXCLUDED.csr_pem, csr_digest = EXCLUDED.csr_digest,
             key_type = EXCLUDED.key_type, dns_names = EXCLUDED.dns_names, created_at = now()
         WHERE certificate_requests.csr_digest <> EXCLUDED.csr_digest
       RETURNING *`,
      [randomUUID(), r.tenantId, r.instanceUid, r.senderUid, r.csrPem, r.csrDigest, r.keyType, [...r.dnsNames]],
    );
    if (rows[0]) return requestFromRow(rows[0]);
    const same = await tx.query(`SELECT * FROM certificate_requests WHERE tenant_id = $1 AND instance_uid = $2 AND state = 'pending'`, [r.tenantId, r.instanceUid]);
    return requestFromRow(same.rows[0]);
  }

  async countPending(tenantId: string): Promise<number> {
    const { rows } = await this.db.query(`SELECT count(*) AS n FROM certificate_requests WHERE tenant_id = $1 AND state = 'pending'`, [tenantId]);
    return Number(rows[0]['n']);
  }

  async listRequests(tenantId: string, state: RequestState | null, limit: number): Promise<CertificateRequestRecord[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM certificate_requests WHERE tenant_id = $1 AND ($2::text IS NULL OR state = $2) ORDER BY created_at, id LIMIT $3`,
      [tenantId, state, limit],
    );
    return rows.map(requestFromRow);
  }

  /** A waiting request, locked for the decision; null when there is none of that id (or it was decided). */
  async pendingForUpdate(tx: SqlExecutor, tenantId: string, id: string): Promise<CertificateRequestRecord | null> {
    const { rows } = await tx.query(`SELECT * FROM certificate_requests WHERE tenant_id = $1 AND id = $2 AND state = 'pending' FOR UPDATE`, [tenantId, id]);
    return rows[0] ? requestFromRow(rows[0]) : null;
  }

  async decide(tx: SqlExecutor, tenantId: string, id: string, state: 'approved' | 'denied', by: string, reason: string, certificateId: string | null): Promise<CertificateRequestRecord> {
    const { rows } = await tx.query(
      `UPDATE certificate_requests SET state = $3, decided_at = now(), decided_by = $4, decision_reason = $5, certificate_id = $6
        WHERE tenant_id = $1 AND id = $2 RETURNING *`,
      [tenantId, id, state, by, reason || null, certificateId],
    );
    return requestFromRow(rows[0]);
  }

  // --- certificates -------------------------------------------------------------

  /**
   * The agent's certificates issued and never used: superseded by the one
   * about to be issued (an agent holds at most one unused certificate, so a
   * flood of CSRs cannot grow what gateways accept). Not the one its agent is
   * connected on (its row names it, written by status-ingest as the
   * connection opened): its activation is on the way through the agent
   * events, and superseding it first would refuse a well-behaved agent.
   */
  async supersedeIssued(tx: SqlExecutor, tenantId: string, uid: Buffer): Promise<AgentCertificateRecord[]> {
    const { rows } = await tx.query(
      `UPDATE agent_certificates c SET state = 'superseded' WHERE c.tenant_id = $1 AND c.instance_uid = $2 AND c.state = 'issued'
          AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.tenant_id = c.tenant_id AND a.instance_uid = c.instance_uid AND a.connected
                             AND a.credential_kind = ${CERTIFICATE_CREDENTIAL_KIND} AND a.credential_id = c.id::text)
        RETURNING c.*`,
      [tenantId, uid],
    );
    return rows.map(certificateFromRow);
  }

  /** The agent's live certificate signed from this CSR (its SHA-256), if any: the same CSR again issues nothing new. */
  async liveFromCsr(tx: SqlExecutor, tenantId: string, uid: Buffer, csrDigest: Buffer): Promise<AgentCertificateRecord | null> {
    const { rows } = await tx.query(
      `SELECT * FROM agent_certificates WHERE tenant_id = $1 AND instance_uid = $2 AND csr_digest = $3 AND state IN ('issued', 'active') AND not_after > now() ORDER BY created_at DESC LIMIT 1`,
      [tenantId, uid, csrDigest],
    );
    return rows[0] ? certificateFromRow(rows[0]) : null;
  }

  async insertIssued(
    tx: SqlExecutor,
    tenantId: string,
    uid: Buffer,
    caId: string,
    requestId: string | null,
    issued: IssuedCertificate,
    renewal: { renewsId: string; reason: string } | null = null,
    csrDigest: Buffer | null = null,
  ): Promise<AgentCertificateRecord> {
    const { rows } = await tx.query(
      `INSERT INTO agent_certificates (id, tenant_id, instance_uid, ca_id, request_id, serial, fingerprint, certificate_pem, state, not_before, not_after, renews_id, rotation_reason, csr_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'issued', $9, $10, $11, $12, $13) RETURNING *`,
      [
        randomUUID(),
        tenantId,
        uid,
        caId,
        requestId,
        issued.serialHex,
        issued.fingerprintHex,
        issued.certificatePem,
        issued.notBefore.toISOString(),
        issued.notAfter.toISOString(),
        renewal?.renewsId ?? null,
        renewal?.reason ?? null,
        csrDigest,
      ],
    );
    return certificateFromRow(rows[0]);
  }

  async list(tenantId: string, f: CertificateListFilter): Promise<AgentCertificateRecord[]> {
    const params: unknown[] = [tenantId];
    const where = ['tenant_id = $1'];
    if (f.instanceUid) {
      params.push(f.instanceUid);
      where.push(`instance_uid = $${params.length}`);
    }
    if (f.expiresWithinDays !== undefined) {
      params.push(f.expiresWithinDays);
      where.push(`state IN ('issued', 'active') AND not_after <= now() + make_interval(days => $${params.length}::int)`);
    }
    if (f.state) {
      params.push(f.state);
      where.push(`state = $${params.length}`);
    }
    params.push(f.limit);
    const order = f.expiresWithinDays !== undefined ? 'not_after, id' : 'created_at DESC, id';
    const { rows } = await this.db.query(`SELECT * FROM agent_certificates WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${params.length}`, params);
    return rows.map(certificateFromRow);
  }

  /** Each agent's current certificate (live, newest) with its CA's, for an offer batch, by uid (hex). */
  async currentOfMany(tenantId: string, uids: readonly Buffer[]): Promise<Map<string, { certificatePem: string; caCertificatePem: string }>> {
    const out = new Map<string, { certificatePem: string; caCertificatePem: string }>();
    if (uids.length === 0) return out;
    const { rows } = await this.db.query(
      `SELECT DISTINCT ON (c.instance_uid) c.instance_uid, c.certificate_pem, a.certificate_pem AS ca_pem
         FROM agent_certificates c JOIN certificate_authorities a ON a.id = c.ca_id
        WHERE c.tenant_id = $1 AND c.instance_uid = ANY($2::bytea[]) AND c.state IN ('issued', 'active') AND c.not_after > now()
        ORDER BY c.instance_uid, c.created_at DESC`,
      [tenantId, uids],
    );
    for (const r of rows) out.set((toBuffer(r['instance_uid']) as Buffer).toString('hex'), { certificatePem: String(r['certificate_pem']), caCertificatePem: String(r['ca_pem']) });
    return out;
  }

  /** Live certificates (issued or active) past their not_after: expired (their directory entries go). */
  async expireDue(tx: SqlExecutor, limit: number): Promise<AgentCertificateRecord[]> {
    const { rows } = await tx.query(
      `UPDATE agent_certificates SET state = 'expired'
        WHERE id IN (SELECT id FROM agent_certificates WHERE state IN ('issued', 'active') AND not_after <= now() ORDER BY not_after LIMIT $1)
        RETURNING *`,
      [limit],
    );
    return rows.map(certificateFromRow);
  }

  /** Every certificate gateways must accept (issued and active), for the start-up sync of the directory. */
  async listAccepted(): Promise<AgentCertificateRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM agent_certificates WHERE state IN ('issued', 'active') AND not_after > now()`);
    return rows.map(certificateFromRow);
  }
}
