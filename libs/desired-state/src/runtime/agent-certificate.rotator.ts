/**
 * Certificate rotation, one bounded pass at a time (the certificate sweep
 * runs it): active certificates that are due (the policy's share of their
 * lifetime passed, an operator asked, or their CA is retiring after a CA
 * rotation) are renewed for the key the agent holds
 * (certificate-authority's renewalRequestOf: OpAMP cannot ask an agent for a
 * new CSR), signed by the tenant's active CA, recorded as issued beside the
 * old one (both accepted until the agent reconnects with the new one, C64),
 * audited, and the agents' offers made due in the same transaction: the
 * durable, paced credential offer queue sends them (the offer carries the
 * newest certificate). Replicas share the work (rows locked, SKIP LOCKED).
 */
import { CertificateRefusal, issueClientCertificate, renewalRequestOf } from '@opamp/certificate-authority';
import type { SqlExecutor } from '@opamp/store';
import { CERTIFICATE_RENEWAL_RETRY_MS, CERTIFICATE_ROTATIONS_PER_PASS, renewalOutlives, rotationReason, type RotationReason } from '../core';
import { certificateDirectoryEntry, type AgentCertificateRecord } from '../store/agent-certificate.repository';
import type { AgentCredentialRepository } from '../store/agent-credential.repository';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import type { RotationRow } from '../store/certificate-rotation.repository';
import type { CertificateServices } from './agent-certificate.issuer';
import { putAll, removeAll, type CredentialDirectory } from './agent-identity.reconciler';

export interface CertificateRotatorOptions {
  /** The offer queue: agents' offers are made due through their credentials, and its driver woken after the commit. */
  credentials: AgentCredentialRepository;
  offers?: { wake(): void } | null;
  pageSize?: number;
  now?: () => number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export interface RotationPass {
  readonly renewed: number;
  readonly postponed: number;
  /** The page was full: more may be due. */
  readonly more: boolean;
}

interface Renewal {
  readonly old: AgentCertificateRecord;
  readonly record: AgentCertificateRecord;
  readonly reason: RotationReason;
  readonly superseded: readonly AgentCertificateRecord[];
}

export class AgentCertificateRotator {
  readonly totals: Record<RotationReason, number> & { postponed: number } = { requested: 0, ca_rotation: 0, expiry: 0, postponed: 0 };

  constructor(
    private readonly services: CertificateServices,
    private readonly repo: DesiredStateRepository,
    private readonly directory: Pick<CredentialDirectory, 'put' | 'remove' | 'putMany' | 'removeMany'> | null,
    private readonly options: CertificateRotatorOptions,
  ) {}

  async rotateOnce(): Promise<RotationPass> {
    const limit = this.options.pageSize ?? CERTIFICATE_ROTATIONS_PER_PASS;
    const now = this.options.now?.() ?? Date.now();
    const outcome = await this.repo.db.transaction(async (tx) => {
      const rows = await this.services.rotations.rotationCandidates(tx, limit);
      const byTenant = new Map<string, Array<{ row: RotationRow; reason: RotationReason }>>();
      for (const row of rows) {
        const c = row.certificate;
        const reason = rotationReason({ ...row, notBeforeMs: Date.parse(c.notBefore), notAfterMs: Date.parse(c.notAfter) }, now);
        if (!reason) continue;
        byTenant.set(c.tenantId, [...(byTenant.get(c.tenantId) ?? []), { row, reason }]);
      }
      const renewals: Renewal[] = [];
      const postponed: string[] = [];
      for (const [tenantId, due] of byTenant) {
        const made = await this.renewTenant(tx, tenantId, due, now);
        renewals.push(...made.renewals);
        postponed.push(...made.postponed);
      }
      await this.services.rotations.renewed(tx, renewals.map((r) => r.old.id));
      await this.services.rotations.postpone(tx, postponed, new Date(now + CERTIFICATE_RENEWAL_RETRY_MS));
      return { renewals, postponed, full: rows.length >= limit };
    });
    if (this.directory) {
      // Gateways accept the renewal before its offer leaves; the unused ones it replaced go.
      await putAll(this.directory as CredentialDirectory, outcome.renewals.map((r) => certificateDirectoryEntry(r.record)));
      await removeAll(this.directory as CredentialDirectory, outcome.renewals.flatMap((r) => r.superseded.map((c) => c.fingerprint)));
    }
    for (const r of outcome.renewals) this.totals[r.reason]++;
    this.totals.postponed += outcome.postponed.length;
    if (outcome.renewals.length > 0) this.options.offers?.wake();
    return { renewed: outcome.renewals.length, postponed: outcome.postponed.length, more: outcome.full };
  }

  private async renewTenant(tx: SqlExecutor, tenantId: string, due: ReadonlyArray<{ row: RotationRow; reason: RotationReason }>, now: number): Promise<{ renewals: Renewal[]; postponed: string[] }> {
    const ca = await this.services.authorities.active(tenantId, tx);
    if (!ca) return { renewals: [], postponed: [] };
    const signer = await this.services.authorities.signerOf(ca, tx);
    const policy = await this.services.authorities.policy(tenantId, tx);
    const renewals: Renewal[] = [];
    const postponed: string[] = [];
    for (const { row, reason } of due) {
      const old = row.certificate;
      const uidHex = old.instanceUid.toString('hex');
      let issued;
      try {
        const request = renewalRequestOf(old.certificatePem, tenantId, uidHex);
        issued = await issueClientCertificate(signer, request, request.grant, policy.lifetimeHours, now);
      } catch (err) {
        if (!(err instanceof CertificateRefusal)) throw err;
        this.options.log?.('warn', `certificate ${old.id} of agent ${uidHex} not renewed: ${err.message}`);
        postponed.push(old.id);
        continue;
      }
      // Cut at the CA's end, it would not outlive the old one: rotating the CA is the operator's part.
      if (reason !== 'ca_rotation' && reason !== 'requested' && !renewalOutlives(Date.parse(old.notAfter), issued.notAfter.getTime())) {
        postponed.push(old.id);
        continue;
      }
      const superseded = await this.services.certificates.supersedeIssued(tx, tenantId, old.instanceUid);
      const record = await this.services.certificates.insertIssued(tx, tenantId, old.instanceUid, ca.id, null, issued, { renewsId: old.id, reason });
      renewals.push({ old, record, reason, superseded });
    }
    if (renewals.length === 0) return { renewals, postponed };
    await this.repo.auditMany(
      tx,
      renewals.map((r) => ({
        tenantId,
        actor: 'system',
        action: 'agent_certificate.rotate',
        resourceType: 'agent',
        resourceName: r.record.instanceUid.toString('hex'),
        details: { reason: r.reason, certificateId: r.record.id, fingerprint: r.record.fingerprint, notAfter: r.record.notAfter, renews: r.old.id },
      })),
    );
    // Durable: the queue offers them (paced) even if this process stops now.
    await this.options.credentials.markDue(tx, tenantId, { sql: 'a.instance_uid = ANY($2::bytea[])', params: [renewals.map((r) => r.record.instanceUid)] });
    return { renewals, postponed };
  }
}
