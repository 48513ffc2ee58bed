/**
 * Activation of agents' certificates (C64): an agent the gateway saw on a
 * client certificate issued to it (credential kind CERTIFICATE, the
 * terminator's verified fingerprint) has it activated, and the certificates it
 * replaces are superseded: they leave the gateways' credential directory, so
 * the old one is refused from then on, never before the agent is on the new
 * one. Decisions in core/certificate-rotation.ts; a batch costs one read and
 * one transaction per tenant.
 */
import { fleet } from '@opamp/contracts';
import { planCertificateActivations } from '../core';
import { certificateDirectoryEntry } from '../store/agent-certificate.repository';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import type { CertificateServices } from './agent-certificate.issuer';
import { putAll, removeAll, type CredentialDirectory } from './agent-identity.reconciler';

const K = fleet.v1.CredentialKind;

export class AgentCertificateActivator {
  readonly metrics = { activations: 0, superseded: 0 };

  constructor(
    private readonly services: CertificateServices,
    private readonly repo: DesiredStateRepository,
    private readonly directory: CredentialDirectory | null,
  ) {}

  /** Agents of a batch seen connected on a certificate; the latest event per agent counts. */
  async handleEvents(events: readonly fleet.v1.AgentEvent[]): Promise<void> {
    const byTenant = new Map<string, Map<string, { key: string; uid: Buffer; certificateId: string }>>();
    for (const e of events) {
      if (e.credentialKind !== K.CREDENTIAL_KIND_CERTIFICATE || e.owner?.connected !== true || !e.credentialId || !e.tenantId || e.instanceUid?.length !== 16) continue;
      const uid = Buffer.from(e.instanceUid);
      const seen = byTenant.get(e.tenantId) ?? new Map();
      seen.set(uid.toString('hex'), { key: uid.toString('hex'), uid, certificateId: e.credentialId });
      byTenant.set(e.tenantId, seen);
    }
    for (const [tenantId, seen] of byTenant) await this.activate(tenantId, [...seen.values()]);
  }

  private async activate(tenantId: string, seen: ReadonlyArray<{ key: string; uid: Buffer; certificateId: string }>): Promise<void> {
    const live = await this.services.rotations.liveOf(tenantId, seen.map((s) => s.uid));
    const plans = planCertificateActivations(seen, live);
    if (plans.length === 0) return;
    const uidOf = new Map(seen.map((s) => [s.key, s.uid]));
    const done = await this.repo.db.transaction(async (tx) => {
      const r = await this.services.rotations.activateMany(tx, tenantId, plans.map((p) => ({ uid: uidOf.get(p.key) as Buffer, activate: p.activate, supersede: p.supersede })));
      await this.repo.auditMany(
        tx,
        [...r.values()].map(({ active, superseded }) => ({
          tenantId,
          actor: 'system',
          action: 'agent_certificate.activate',
          resourceType: 'agent',
          resourceName: active.instanceUid.toString('hex'),
          details: { certificateId: active.id, fingerprint: active.fingerprint, notAfter: active.notAfter, superseded: superseded.map((c) => c.id) },
        })),
      );
      return r;
    });
    const results = [...done.values()];
    this.metrics.activations += results.length;
    this.metrics.superseded += results.reduce((n, r) => n + r.superseded.length, 0);
    if (!this.directory) return;
    // The new one is the agent's own from now on; the ones it replaced are refused everywhere.
    await putAll(this.directory, results.map((r) => certificateDirectoryEntry(r.active)));
    await removeAll(this.directory, results.flatMap((r) => r.superseded.map((c) => c.fingerprint)));
  }
}
