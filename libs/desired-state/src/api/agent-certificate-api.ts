/**
 * The agent certificates part of the platform API: agents' certificates
 * (filter: one agent, a state, "expires within N days"), and the CSRs waiting
 * for an operator when the tenant's policy asks for approval. Approving signs
 * the CSR with the tenant's active CA (after checking it against the policy
 * as it is now) and the certificate is then offered to the agent; denying
 * drops it. Decisions are audited.
 */
import { createHash } from 'node:crypto';
import { CertificateRefusal, decideRequest, parseCertificateRequest } from '@opamp/certificate-authority';
import { DesiredStateError, invalidArgument } from '../core';
import type { AgentCertificateRecord, CertificateRequestRecord, CertificateState, RequestState } from '../store/agent-certificate.repository';
import type { CertificateServices } from '../runtime/agent-certificate.issuer';
import type { ApiContext, Caller } from './api-context';
import { instanceUid, int, pageSize, str, type Req } from './request-fields';

const CERT_STATES: readonly CertificateState[] = ['issued', 'active', 'superseded', 'revoked', 'expired'];
const REQUEST_STATES: readonly RequestState[] = ['pending', 'approved', 'denied'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_EXPIRY_WINDOW_DAYS = 3650;
const MAX_REASON_CHARS = 500;

export function agentCertificateMessage(c: AgentCertificateRecord): Record<string, unknown> {
  return {
    id: c.id,
    instanceUid: c.instanceUid.toString('hex'),
    state: c.state.toUpperCase(),
    serial: c.serial,
    fingerprint: c.fingerprint,
    caId: c.caId,
    requestId: c.requestId ?? '',
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    createTime: c.createdAt,
    activateTime: c.activatedAt ?? '',
    offerTime: c.offeredAt ?? '',
    revokeTime: c.revokedAt ?? '',
    // The CRL's reason code, then the operator's note.
    revokeReason: [c.revokeReasonCode?.toUpperCase(), c.revokeReason].filter(Boolean).join(': '),
    certificatePem: c.certificatePem,
  };
}

export function certificateRequestMessage(r: CertificateRequestRecord): Record<string, unknown> {
  return {
    id: r.id,
    instanceUid: r.instanceUid.toString('hex'),
    senderUid: r.senderUid.toString('hex'),
    state: r.state.toUpperCase(),
    keyType: r.keyType,
    dnsNames: [...r.dnsNames],
    createTime: r.createdAt,
    decideTime: r.decidedAt ?? '',
    decidedBy: r.decidedBy ?? '',
    decisionReason: r.decisionReason ?? '',
    certificateId: r.certificateId ?? '',
    csrPem: r.csrPem,
  };
}

function stateOf<T extends string>(v: unknown, states: readonly T[], field: string): T | null {
  const s = str(v).toLowerCase();
  if (!s) return null;
  if (!(states as readonly string[]).includes(s)) throw invalidArgument(`${field} must be one of ${states.map((x) => x.toUpperCase()).join(', ')}`);
  return s as T;
}

function requestId(v: unknown): string {
  const id = str(v);
  if (!UUID.test(id)) throw invalidArgument('id must be a certificate request id (a UUID)');
  return id;
}

function reasonOf(v: unknown): string {
  const reason = str(v);
  if (reason.length > MAX_REASON_CHARS) throw invalidArgument(`reason must be at most ${MAX_REASON_CHARS} characters`);
  return reason;
}

/** The digest a CSR is known by (the same CSR sent again is the same request). */
export function csrDigest(csr: string): Buffer {
  return createHash('sha256').update(csr, 'utf8').digest();
}

export class AgentCertificateApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly services: CertificateServices | null,
  ) {}

  private get s(): CertificateServices {
    if (!this.services || !this.services.authorities.available) {
      throw new DesiredStateError('FAILED_PRECONDITION', 'certificates are not available on this server (no credential key configured: OPAMP_CREDENTIAL_KEY)');
    }
    return this.services;
  }

  async listAgentCertificates(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = str(req['instanceUid']) ? instanceUid(req['instanceUid']) : undefined;
    const within = int(req['expiresWithinDays'], 'expires_within_days');
    if (within < 0 || within > MAX_EXPIRY_WINDOW_DAYS) throw invalidArgument(`expires_within_days must be between 0 and ${MAX_EXPIRY_WINDOW_DAYS}`);
    const state = stateOf(req['state'], CERT_STATES, 'state');
    const list = await this.s.certificates.list(c.tenantId, { instanceUid: uid, expiresWithinDays: within > 0 ? within : undefined, state: state ?? undefined, limit: pageSize(req['pageSize']) });
    return { certificates: list.map(agentCertificateMessage) };
  }

  async listCertificateRequests(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const state = stateOf(req['state'], REQUEST_STATES, 'state');
    const list = await this.s.certificates.listRequests(c.tenantId, state, pageSize(req['pageSize']));
    return { requests: list.map(certificateRequestMessage) };
  }

  async approveCertificateRequest(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const id = requestId(req['id']);
    const reason = reasonOf(req['reason']);
    const s = this.s;
    const done = await this.ctx.repo.db.transaction(async (tx) => {
      const pending = await s.certificates.pendingForUpdate(tx, c.tenantId, id);
      if (!pending) throw new DesiredStateError('NOT_FOUND', `no waiting certificate request '${id}'`);
      const policy = await s.authorities.policy(c.tenantId, tx);
      let grant;
      let parsed;
      try {
        parsed = await parseCertificateRequest(pending.csrPem);
        grant = decideRequest(policy, parsed, { tenantId: c.tenantId, uidHex: pending.senderUid.toString('hex'), reassignedUidHex: pending.instanceUid.toString('hex') });
      } catch (err) {
        if (err instanceof CertificateRefusal) throw new DesiredStateError('FAILED_PRECONDITION', `the request no longer meets the certificate policy: ${err.message}`);
        throw err;
      }
      const issued = await s.issuer.issue(tx, grant, parsed, pending.id, policy.lifetimeHours);
      const decided = await s.certificates.decide(tx, c.tenantId, id, 'approved', this.ctx.actor(c), reason, issued.record.id);
      await this.audit(tx, c, 'certificate_request.approve', decided, { certificateId: issued.record.id, fingerprint: issued.record.fingerprint, notAfter: issued.record.notAfter, reason });
      return { decided, certificate: issued.record, superseded: issued.superseded };
    });
    await s.issuer.published(done.certificate, done.superseded);
    return certificateRequestMessage(done.decided);
  }

  async denyCertificateRequest(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const id = requestId(req['id']);
    const reason = reasonOf(req['reason']);
    const s = this.s;
    const decided = await this.ctx.repo.db.transaction(async (tx) => {
      const pending = await s.certificates.pendingForUpdate(tx, c.tenantId, id);
      if (!pending) throw new DesiredStateError('NOT_FOUND', `no waiting certificate request '${id}'`);
      const d = await s.certificates.decide(tx, c.tenantId, id, 'denied', this.ctx.actor(c), reason, null);
      await this.audit(tx, c, 'certificate_request.deny', d, { reason });
      return d;
    });
    return certificateRequestMessage(decided);
  }

  private async audit(tx: Parameters<ApiContext['repo']['audit']>[0], c: Caller, action: string, r: CertificateRequestRecord, details: Record<string, unknown>): Promise<void> {
    await this.ctx.repo.audit(
      tx,
      { tenantId: c.tenantId, actor: this.ctx.actor(c), action, resourceType: 'certificate_request', resourceName: r.id, details: { instanceUid: r.instanceUid.toString('hex'), ...details } },
      false,
    );
  }
}
