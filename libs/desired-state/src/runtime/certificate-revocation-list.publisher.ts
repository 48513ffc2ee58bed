/**
 * Each CA's CRL, signed with the CA's key and stored (one per CA): re-signed
 * in the transaction of every revocation that touches the CA, and by the
 * certificate sweep once less than half its validity is left (a terminator
 * refuses every client of a CA whose CRL has passed nextUpdate). Readers get
 * the stored list, so every replica and every sync of the terminator sees
 * the same bytes until the next signing (terminator-sync reloads only on a change).
 */
import { checkCrlValidityHours, DEFAULT_CRL_VALIDITY_HOURS } from '@opamp/certificate-authority';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import type { CertificateAuthorityRecord, CertificateAuthorityRepository } from '../store/certificate-authority.repository';
import type { CertificateRevocationRepository, StoredRevocationList } from '../store/certificate-revocation.repository';

const HOUR_MS = 3_600_000;

export class RevocationListPublisher {
  readonly validityHours: number;
  /** Lists signed by this process (counted when signed; a transaction that rolls back still counts). */
  signed = 0;

  constructor(
    private readonly db: SqlDatabase,
    private readonly authorities: CertificateAuthorityRepository,
    private readonly revocations: CertificateRevocationRepository,
    validityHours = DEFAULT_CRL_VALIDITY_HOURS,
  ) {
    this.validityHours = checkCrlValidityHours(validityHours);
  }

  /** Lists signed before this are re-signed (half the validity left). */
  private dueBefore(nowMs = Date.now()): Date {
    return new Date(nowMs + (this.validityHours * HOUR_MS) / 2);
  }

  /** Signs the CA's CRL now and stores it, in the caller's transaction (the CA row locked: one signer at a time). */
  async resign(tx: SqlExecutor, ca: CertificateAuthorityRecord): Promise<StoredRevocationList> {
    await tx.query(`SELECT id FROM certificate_authorities WHERE id = $1 FOR UPDATE`, [ca.id]);
    const signer = await this.authorities.signerOf(ca, tx);
    const revoked = await this.revocations.revokedOf(tx, ca.id);
    const signed = await signer.revocationList(revoked, this.validityHours);
    this.signed++;
    return this.revocations.putList(tx, {
      caId: ca.id,
      tenantId: ca.tenantId,
      thisUpdate: signed.thisUpdate.toISOString(),
      nextUpdate: signed.nextUpdate.toISOString(),
      der: signed.der,
      pem: signed.pem,
      entries: revoked.length,
    });
  }

  /** The CA's current CRL: the stored one while it is fresh, else signed now; null when the tenant has no CA of that id. */
  async current(tenantId: string, caId: string): Promise<StoredRevocationList | null> {
    const ca = await this.authorities.get(tenantId, caId);
    if (!ca) return null;
    const stored = await this.revocations.listOf(this.db, ca.id);
    if (stored && Date.parse(stored.nextUpdate) > this.dueBefore().getTime()) return stored;
    return this.db.transaction(async (tx) => {
      // Another replica may have signed it meanwhile.
      const again = await this.revocations.listOf(tx, ca.id);
      if (again && Date.parse(again.nextUpdate) > this.dueBefore().getTime() && (!stored || again.crlNumber > stored.crlNumber)) return again;
      return this.resign(tx, ca);
    });
  }

  /** Re-signs the lists of trusted CAs that are missing or due (the certificate sweep); returns how many. */
  async resignDue(tx: SqlExecutor, limit: number): Promise<number> {
    const due = await this.revocations.authoritiesDue(tx, this.dueBefore(), limit);
    let signed = 0;
    for (const d of due) {
      const ca = await this.authorities.get(d.tenantId, d.id, tx);
      if (ca) {
        await this.resign(tx, ca);
        signed++;
      }
    }
    return signed;
  }
}
