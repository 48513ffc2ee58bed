/**
 * Agents' CSRs, from agent events (AGENT_CHANGE_CERTIFICATE_REQUEST): judged
 * (core/agent-certificate.ts), then refused with BAD_REQUEST to the agent
 * (C66, C67), recorded to wait for an operator (C68), or signed by the
 * tenant's active CA and offered: the identity reconciler's offer carries the
 * agent's current certificate (C65), so the offer's content hash changes and
 * the agent is sent it (pushed over WS, or on its next HTTP poll).
 * Runs before the identity reconciler on each batch, so a CSR in an agent's
 * first messages is in the first offer it gets, and an agent seen on a new
 * certificate has it activated (agent-certificate.activator.ts) before its
 * next offer is decided. Activations go first in a batch: they must not wait
 * for the batch's CSRs, signed one by one (an agent connected on a certificate
 * not activated yet holds it only while nothing supersedes it).
 */
import { AgentEventCodec, EnvelopeDecodeError, fleet } from '@opamp/contracts';
import { badRequestReply } from '@opamp/protocol';
import { judgeCertificateRequest, MAX_PENDING_CERTIFICATE_REQUESTS, offerCertificate, type CertificateRequestOutcome } from '../core';
import { csrDigest } from '../api/agent-certificate-api';
import type { AgentPushDispatcher, PushTarget } from '../store/agent-push.dispatcher';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import { AgentCertificateActivator } from './agent-certificate.activator';
import type { CertificateServices } from './agent-certificate.issuer';

const C = fleet.v1.AgentChange;

export interface AgentCertificateMetrics {
  requests: number;
  issued: number;
  waiting: number;
  /** CSRs seen again while a live certificate from them exists (re-offered, nothing issued). */
  repeated: number;
  /** Refusals by reason (malformed, bad_signature, uid_mismatch, ...). */
  refused: Record<string, number>;
}

export interface AgentCertificateOptions {
  /** Offers the agent what it should hold now (the identity reconciler's reconcileAgents). */
  offer: (tenantId: string, uids: readonly Buffer[]) => Promise<void>;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

function targetOf(e: fleet.v1.AgentEvent): PushTarget {
  const o = e.owner;
  return { connected: o?.connected === true, gatewayId: o?.gatewayId || null, connectionId: o?.connectionId ?? '', epoch: Number(o?.epoch ?? 0), transport: o?.transport ?? 0 };
}

export class AgentCertificateReconciler {
  readonly metrics: AgentCertificateMetrics = { requests: 0, issued: 0, waiting: 0, repeated: 0, refused: {} };
  readonly activator: AgentCertificateActivator;

  constructor(
    readonly services: CertificateServices,
    private readonly repo: DesiredStateRepository,
    private readonly dispatcher: AgentPushDispatcher,
    private readonly options: AgentCertificateOptions,
  ) {
    services.issuer.onIssued = (tenantId, uid) => this.options.offer(tenantId, [uid]);
    this.activator = new AgentCertificateActivator(services, repo, services.issuer.directory);
  }

  /** What agents' offers carry: each one's current certificate, by uid (hex), for those that have one. */
  async certificatesOf(tenantId: string, uids: readonly Buffer[]): Promise<Map<string, ReturnType<typeof offerCertificate>>> {
    const current = await this.services.certificates.currentOfMany(tenantId, uids);
    return new Map([...current].map(([hex, c]) => [hex, offerCertificate(c.certificatePem, c.caCertificatePem)]));
  }

  async handleEventRecords(values: ReadonlyArray<Buffer | null>): Promise<void> {
    const events: fleet.v1.AgentEvent[] = [];
    for (const value of values) {
      if (!value) continue;
      try {
        events.push(AgentEventCodec.decode(value));
      } catch (err) {
        if (err instanceof EnvelopeDecodeError) continue;
        throw err;
      }
    }
    await this.activator.handleEvents(events);
    for (const e of events) {
      if ((Number(e.changes ?? 0) & C.AGENT_CHANGE_CERTIFICATE_REQUEST) === 0 || !e.tenantId || e.instanceUid?.length !== 16) continue;
      await this.handle(e);
    }
  }

  /** Judges and answers one CSR: refused, waiting, or issued (or issued from the same CSR before) and offered. */
  private async handle(e: fleet.v1.AgentEvent): Promise<void> {
    this.metrics.requests++;
    const tenantId = e.tenantId;
    const uid = Buffer.from(e.instanceUid);
    const previous = e.previousInstanceUid?.length === 16 ? Buffer.from(e.previousInstanceUid) : null;
    const csr = Buffer.from(e.certificateRequestCsr ?? []);
    const available = this.services.authorities.available && (await this.services.authorities.active(tenantId)) !== null;
    const policy = available ? await this.services.authorities.policy(tenantId) : null;
    // Moved in this batch (RequestInstanceUid): the CSR came with the old uid, the certificate is for the new one (C67).
    const agent = previous ? { tenantId, uidHex: previous.toString('hex'), reassignedUidHex: uid.toString('hex') } : { tenantId, uidHex: uid.toString('hex') };
    let outcome: CertificateRequestOutcome = await judgeCertificateRequest({ csr, capabilities: Number(e.capabilities ?? 0), policy, agent });
    if (outcome.action === 'wait' && (await this.services.certificates.countPending(tenantId)) >= MAX_PENDING_CERTIFICATE_REQUESTS) {
      outcome = { action: 'refuse', code: 'too_many_waiting', message: `certificate request refused: ${MAX_PENDING_CERTIFICATE_REQUESTS} requests of the tenant already wait for approval` };
    }
    if (outcome.action === 'refuse') return this.refuse(e, outcome.code, outcome.message);
    const pem = csr.toString('latin1');
    const request = { tenantId, instanceUid: uid, senderUid: previous ?? uid, csrPem: pem, csrDigest: csrDigest(pem), keyType: outcome.request.keyType ?? '', dnsNames: outcome.grant.dnsNames };
    if (outcome.action === 'wait') {
      await this.repo.db.transaction(async (tx) => {
        const r = await this.services.certificates.putPending(tx, request);
        await this.repo.audit(tx, { tenantId, actor: 'system', action: 'certificate_request.receive', resourceType: 'certificate_request', resourceName: r.id, details: { instanceUid: uid.toString('hex') } }, false);
      });
      this.metrics.waiting++;
      return;
    }
    const granted = outcome;
    let issued;
    try {
      issued = await this.repo.db.transaction(async (tx) => {
        // The same CSR again (agent events come at least once: a batch replays after the consumer lost its group):
        // the agent is offered what it got from it, nothing is issued or superseded.
        if (await this.services.certificates.liveFromCsr(tx, tenantId, uid, request.csrDigest)) return null;
        const done = await this.services.issuer.issue(tx, granted.grant, granted.request, null, policy!.lifetimeHours, request.csrDigest);
        await this.repo.audit(
          tx,
          { tenantId, actor: 'system', action: 'agent_certificate.issue', resourceType: 'agent', resourceName: uid.toString('hex'), details: { certificateId: done.record.id, fingerprint: done.record.fingerprint, notAfter: done.record.notAfter } },
          false,
        );
        return done;
      });
    } catch (err) {
      // Issuance failing (the CA expiring, its key not opening) is the agent's BAD_REQUEST too (§3.6.5), and the operator's to fix.
      this.options.log?.('error', `certificate for agent ${uid.toString('hex')} of tenant ${JSON.stringify(tenantId)} not issued: ${String(err)}`);
      return this.refuse(e, 'issuance_failed', 'certificate request refused: the server could not issue a certificate');
    }
    if (!issued) {
      this.metrics.repeated++;
      return this.options.offer(tenantId, [uid]);
    }
    this.metrics.issued++;
    await this.services.issuer.published(issued.record, issued.superseded);
  }

  private async refuse(e: fleet.v1.AgentEvent, code: string, message: string): Promise<void> {
    this.metrics.refused[code] = (this.metrics.refused[code] ?? 0) + 1;
    const uid = Buffer.from(e.instanceUid);
    await this.dispatcher.push(e.tenantId, uid, targetOf(e), 'error', badRequestReply(uid, message)).catch(() => undefined);
  }
}
