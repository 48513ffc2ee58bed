/**
 * PostgreSQL access for tenants' certificate authorities and certificate
 * policies (migration 0190): create, rotate (the old CA retiring until its
 * overlap ends), the signer of the active CA (its key opened with the sealing
 * key, cached per CA), and the trust bundle (active and retiring CAs).
 */
import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import {
  checkedPolicy,
  createCertificateAuthority,
  DEFAULT_CERTIFICATE_POLICY,
  deriveSealingKey,
  LocalCaSigner,
  openPrivateKey,
  sealPrivateKey,
  type CertificatePolicy,
  type KeyType,
} from '@opamp/certificate-authority';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { toIso } from './desired-state.repository';

export type CaState = 'active' | 'retiring' | 'retired';

export interface CertificateAuthorityRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly state: CaState;
  readonly source: 'built_in' | 'operator';
  readonly keyType: KeyType;
  readonly certificatePem: string;
  readonly fingerprint: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly overlapEndsAt: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

function caFromRow(r: Record<string, unknown>): CertificateAuthorityRecord {
  const iso = (v: unknown) => (v === null || v === undefined ? null : toIso(v));
  return {
    id: String(r['id']),
    tenantId: String(r['tenant_id']),
    state: String(r['state']) as CaState,
    source: String(r['source']) as 'built_in' | 'operator',
    keyType: String(r['key_type']) as KeyType,
    certificatePem: String(r['certificate_pem']),
    fingerprint: String(r['fingerprint']),
    serial: String(r['serial']),
    notBefore: toIso(r['not_before']),
    notAfter: toIso(r['not_after']),
    overlapEndsAt: iso(r['overlap_ends_at']),
    createdBy: String(r['created_by']),
    createdAt: toIso(r['created_at']),
    retiredAt: iso(r['retired_at']),
  };
}

function arrayOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  // PGlite may hand text[] back as its literal.
  if (typeof v === 'string' && v.startsWith('{')) return v.slice(1, -1).split(',').filter((s) => s.length > 0).map((s) => s.replace(/^"|"$/g, ''));
  return [];
}

export class CertificateAuthorityRepository {
  private readonly sealingKey: Buffer | null;
  private readonly signers = new Map<string, Promise<LocalCaSigner>>();

  constructor(
    readonly db: SqlDatabase,
    /** The server's credential key (the sealing key is derived from it); null: no CA can be made or used. */
    credentialKey: Buffer | null,
  ) {
    this.sealingKey = credentialKey ? deriveSealingKey(credentialKey) : null;
  }

  get available(): boolean {
    return this.sealingKey !== null;
  }

  private key(): Buffer {
    if (!this.sealingKey) throw new Error('no credential key configured');
    return this.sealingKey;
  }

  /** A new built-in CA for the tenant, inserted as `state` (the caller retires the previous one in the same transaction). */
  async create(tx: SqlExecutor, tenantId: string, options: { keyType?: KeyType; lifetimeDays?: number }, createdBy: string): Promise<CertificateAuthorityRecord> {
    const id = randomUUID();
    const ca = await createCertificateAuthority({ tenantId, keyType: options.keyType, lifetimeDays: options.lifetimeDays });
    const sealed = sealPrivateKey(this.key(), tenantId, id, ca.pkcs8);
    const { rows } = await tx.query(
      `INSERT INTO certificate_authorities (id, tenant_id, state, source, key_type, certificate_pem, sealed_key, fingerprint, serial, not_before, not_after, created_by)
       VALUES ($1, $2, 'active', 'built_in', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [id, tenantId, ca.keyType, ca.certificatePem, sealed, ca.fingerprintHex, ca.serialHex, ca.notBefore.toISOString(), ca.notAfter.toISOString(), createdBy],
    );
    return caFromRow(rows[0]);
  }

  /** An operator's CA (its certificate and key checked by LocalCaSigner.fromOperatorPem), its key sealed like a built-in one's. */
  async importOperator(tx: SqlExecutor, tenantId: string, certificatePem: string, privateKeyPem: string, createdBy: string): Promise<CertificateAuthorityRecord> {
    const signer = await LocalCaSigner.fromOperatorPem(certificatePem, privateKeyPem);
    const id = randomUUID();
    const pkcs8 = createPrivateKey(privateKeyPem).export({ format: 'der', type: 'pkcs8' }) as Buffer;
    const cert = new X509Certificate(certificatePem);
    const { rows } = await tx.query(
      `INSERT INTO certificate_authorities (id, tenant_id, state, source, key_type, certificate_pem, sealed_key, fingerprint, serial, not_before, not_after, created_by)
       VALUES ($1, $2, 'active', 'operator', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [id, tenantId, signer.keyType, signer.caCertificatePem, sealPrivateKey(this.key(), tenantId, id, pkcs8), signer.caFingerprintHex, cert.serialNumber.toLowerCase(), new Date(cert.validFrom).toISOString(), signer.caNotAfter.toISOString(), createdBy],
    );
    return caFromRow(rows[0]);
  }

  /** Makes the active CA retiring (trusted until `overlapEndsAt`); returns it, or null when the tenant has none. */
  async retireActive(tx: SqlExecutor, tenantId: string, overlapHours: number): Promise<CertificateAuthorityRecord | null> {
    const { rows } = await tx.query(
      `UPDATE certificate_authorities SET state = 'retiring', overlap_ends_at = LEAST(not_after, now() + make_interval(hours => $2::int))
        WHERE tenant_id = $1 AND state = 'active' RETURNING *`,
      [tenantId, overlapHours],
    );
    return rows[0] ? caFromRow(rows[0]) : null;
  }

  /** Retiring CAs whose overlap has ended: retired (no longer trusted). */
  async retireDue(tx: SqlExecutor): Promise<CertificateAuthorityRecord[]> {
    const { rows } = await tx.query(
      `UPDATE certificate_authorities SET state = 'retired', retired_at = now() WHERE state = 'retiring' AND overlap_ends_at <= now() RETURNING *`,
    );
    return rows.map(caFromRow);
  }

  async list(tenantId: string): Promise<CertificateAuthorityRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM certificate_authorities WHERE tenant_id = $1 ORDER BY created_at DESC`, [tenantId]);
    return rows.map(caFromRow);
  }

  /** One of the tenant's CAs by id; null when it has none of that id. */
  async get(tenantId: string, id: string, tx: SqlExecutor = this.db): Promise<CertificateAuthorityRecord | null> {
    const { rows } = await tx.query(`SELECT * FROM certificate_authorities WHERE tenant_id = $1 AND id = $2::uuid`, [tenantId, id]);
    return rows[0] ? caFromRow(rows[0]) : null;
  }

  async active(tenantId: string, tx: SqlExecutor = this.db): Promise<CertificateAuthorityRecord | null> {
    const { rows } = await tx.query(`SELECT * FROM certificate_authorities WHERE tenant_id = $1 AND state = 'active'`, [tenantId]);
    return rows[0] ? caFromRow(rows[0]) : null;
  }

  /** The signer of a built-in CA (its key opened once per process); `tx`: read through the caller's transaction (the embedded database has one connection). */
  async signerOf(ca: CertificateAuthorityRecord, tx: SqlExecutor = this.db): Promise<LocalCaSigner> {
    let signer = this.signers.get(ca.id);
    if (!signer) {
      signer = (async () => {
        const { rows } = await tx.query(`SELECT sealed_key FROM certificate_authorities WHERE id = $1 AND tenant_id = $2`, [ca.id, ca.tenantId]);
        const sealed = rows[0]?.['sealed_key'];
        if (!sealed) throw new Error(`CA ${ca.id} has no key in the store`);
        const pkcs8 = openPrivateKey(this.key(), ca.tenantId, ca.id, Buffer.from(sealed as Uint8Array));
        return LocalCaSigner.fromPkcs8(ca.certificatePem, ca.keyType, pkcs8);
      })();
      signer.catch(() => this.signers.delete(ca.id));
      this.signers.set(ca.id, signer);
    }
    return signer;
  }

  async policy(tenantId: string, tx: SqlExecutor = this.db): Promise<CertificatePolicy> {
    const { rows } = await tx.query(`SELECT * FROM certificate_policies WHERE tenant_id = $1`, [tenantId]);
    const r = rows[0];
    if (!r) return DEFAULT_CERTIFICATE_POLICY;
    return checkedPolicy({
      requireApproval: r['require_approval'] === true,
      lifetimeHours: Number(r['lifetime_hours']),
      keyTypes: arrayOf(r['key_types']),
      allowedDnsNames: arrayOf(r['allowed_dns_names']),
      rotateAtPercent: r['rotate_at_percent'] === undefined || r['rotate_at_percent'] === null ? undefined : Number(r['rotate_at_percent']),
    });
  }

  async setPolicy(tx: SqlExecutor, tenantId: string, p: CertificatePolicy, updatedBy: string): Promise<void> {
    await tx.query(
      `INSERT INTO certificate_policies (tenant_id, require_approval, lifetime_hours, key_types, allowed_dns_names, updated_by, rotate_at_percent)
       VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7)
       ON CONFLICT (tenant_id) DO UPDATE SET require_approval = EXCLUDED.require_approval, lifetime_hours = EXCLUDED.lifetime_hours,
         key_types = EXCLUDED.key_types, allowed_dns_names = EXCLUDED.allowed_dns_names, updated_by = EXCLUDED.updated_by, updated_at = now(),
         rotate_at_percent = EXCLUDED.rotate_at_percent`,
      [tenantId, p.requireApproval, p.lifetimeHours, [...p.keyTypes], [...p.allowedDnsNames], updatedBy, p.rotateAtPercent],
    );
  }
}
