/**
 * Issues agents' certificates: a granted request signed by the tenant's
 * active CA and recorded (state issued) in the caller's transaction; after
 * the commit the certificate goes into the credential directory (kind
 * CERTIFICATE, keyed by its fingerprint) so gateways behind the mutual-TLS
 * terminator accept it, and whoever offers it to the agent is told.
 */
import { issueClientCertificate, type CertificateGrant, type CertificateRequestInfo, type IssuedCertificate } from '@opamp/certificate-authority';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { DesiredStateError } from '../core';
import { AgentCertificateRepository, certificateDirectoryEntry, type AgentCertificateRecord } from '../store/agent-certificate.repository';
import { CertificateAuthorityRepository } from '../store/certificate-authority.repository';
import { CertificateRotationRepository } from '../store/certificate-rotation.repository';
import type { CredentialDirectoryEntry } from '../store/agent-credential.repository';
import { CertificateRevocationRepository } from '../store/certificate-revocation.repository';
import { RevocationListPublisher } from './certificate-revocation-list.publisher';

/** A revoked certificate as gateways refuse it: by fingerprint, until it would have expired anyway. */
export interface CertificateRevocationEntry {
  readonly fingerprint: string;
  readonly tenantId: string;
  /** The certificate's id: the credential its connections were opened with. */
  readonly tokenId: string;
  readonly uidHex: string;
  readonly notAfterMs: number;
}

/** Where certificates' directory entries go (the gateways' credential directory). */
export interface CertificateDirectory {
  put(entry: CredentialDirectoryEntry): Promise<void>;
  remove(digest: string): Promise<void>;
  /**
   * Refuses these fingerprints on every gateway from now on (a revocation
   * set beside the directory: a late put of the entry cannot bring one back),
   * removes their entries and ends their connections. Without it: removal only.
   */
  revokeCertificates?(entries: readonly CertificateRevocationEntry[]): Promise<void>;
}

export function revocationEntry(c: AgentCertificateRecord): CertificateRevocationEntry {
  return { fingerprint: c.fingerprint, tenantId: c.tenantId, tokenId: c.id, uidHex: c.instanceUid.toString('hex'), notAfterMs: Date.parse(c.notAfter) };
}

/** Tells the directory of revoked certificates (the revocation set where it has one). */
export async function publishRevocations(directory: CertificateDirectory | null, revoked: readonly AgentCertificateRecord[]): Promise<void> {
  if (!directory || revoked.length === 0) return;
  if (directory.revokeCertificates) return directory.revokeCertificates(revoked.map(revocationEntry));
  for (const c of revoked) await directory.remove(c.fingerprint);
}

export interface CertificateServices {
  readonly authorities: CertificateAuthorityRepository;
  readonly certificates: AgentCertificateRepository;
  readonly issuer: AgentCertificateIssuer;
  readonly rotations: CertificateRotationRepository;
  /** Starts a rotation pass now (an operator's request, a CA rotation); set by the certificate sweeper of this process. */
  readonly rotation: { wake: () => void };
  readonly revocations: CertificateRevocationRepository;
  /** Each CA's CRL (runtime/certificate-revocation-list.publisher.ts). */
  readonly crls: RevocationListPublisher;
  /** The gateways' credential directory (null: none, tests). */
  readonly directory: CertificateDirectory | null;
}

export interface IssuedAgentCertificate {
  readonly record: AgentCertificateRecord;
  readonly issued: IssuedCertificate;
  /** The agent's unused certificates it replaces (they leave the directory). */
  readonly superseded: readonly AgentCertificateRecord[];
}

export class AgentCertificateIssuer {
  /** Told after a certificate was issued and published (the offer to the agent follows). */
  onIssued: ((tenantId: string, instanceUid: Buffer) => Promise<void>) | null = null;

  constructor(
    private readonly authorities: CertificateAuthorityRepository,
    private readonly certificates: AgentCertificateRepository,
    /** The gateways' credential directory (null: none in this process). */
    readonly directory: CertificateDirectory | null,
  ) {}

  /**
   * Signs and records; throws FAILED_PRECONDITION when the tenant has no CA (or it cannot sign).
   * `csrDigest` (SHA-256 of the CSR) is kept so the same CSR delivered again issues nothing new.
   */
  async issue(tx: SqlExecutor, grant: CertificateGrant, request: CertificateRequestInfo, requestId: string | null, lifetimeHours: number, csrDigest: Buffer | null = null): Promise<IssuedAgentCertificate> {
    const ca = await this.authorities.active(grant.tenantId, tx);
    if (!ca) throw new DesiredStateError('FAILED_PRECONDITION', 'the tenant has no certificate authority (CreateCertificateAuthority)');
    const signer = await this.authorities.signerOf(ca, tx);
    const issued = await issueClientCertificate(signer, request, grant, lifetimeHours);
    const uid = Buffer.from(grant.uidHex, 'hex');
    const superseded = await this.certificates.supersedeIssued(tx, grant.tenantId, uid);
    const record = await this.certificates.insertIssued(tx, grant.tenantId, uid, ca.id, requestId, issued, null, csrDigest);
    return { record, issued, superseded };
  }

  /** After the commit: the directory accepts the certificate (and no longer the unused ones it replaced), and the agent is to be offered it. */
  async published(c: AgentCertificateRecord, superseded: readonly AgentCertificateRecord[] = []): Promise<void> {
    if (this.directory) {
      for (const old of superseded) await this.directory.remove(old.fingerprint);
      await this.directory.put(certificateDirectoryEntry(c));
    }
    await this.onIssued?.(c.tenantId, c.instanceUid);
  }
}

export interface CertificateServiceOptions {
  /** How long each CA's CRL is valid (its nextUpdate), hours. */
  readonly crlValidityHours?: number;
}

/** The certificate services of a server: CAs sealed under a key derived from `credentialKey` (null: certificates are off). */
export function certificateServices(db: SqlDatabase, credentialKey: Buffer | null, directory: CertificateDirectory | null, options: CertificateServiceOptions = {}): CertificateServices {
  const authorities = new CertificateAuthorityRepository(db, credentialKey);
  const certificates = new AgentCertificateRepository(db);
  const revocations = new CertificateRevocationRepository();
  return {
    authorities,
    certificates,
    issuer: new AgentCertificateIssuer(authorities, certificates, directory),
    rotations: new CertificateRotationRepository(db),
    rotation: { wake: () => undefined },
    revocations,
    crls: new RevocationListPublisher(db, authorities, revocations, options.crlValidityHours),
    directory,
  };
}
