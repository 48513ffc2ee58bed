/**
 * Certificate rotation in the platform API (issue 18 item 4): renew agents'
 * certificates on demand (one agent, a label selector, or the whole tenant:
 * one call each, audited; the rotation sweep renews them page by page and the
 * paced offer queue offers them), and the renewals agents have not switched to
 * within the stall bound, with the certificate they still use.
 */
import { CERTIFICATE_SWITCH_STALL_MS, DesiredStateError, invalidArgument, parseSelectorArgument, selectorToSql } from '../core';
import type { CertificateServices } from '../runtime/agent-certificate.issuer';
import { agentCertificateMessage } from './agent-certificate-api';
import type { ApiContext, Caller } from './api-context';
import { instanceUid, int, pageSize, str, type Req } from './request-fields';

const MAX_STALL_MINUTES = 60 * 24 * 366;

export class CertificateRotationApi {
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

  /** Marks the scope's active certificates for renewal; returns how many. */
  async rotateAgentCertificates(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uidText = str(req['instanceUid']);
    const selector = str(req['selector']);
    const all = req['allAgents'] === true;
    if ([uidText !== '', selector !== '', all].filter(Boolean).length !== 1) throw invalidArgument('name exactly one of instance_uid, selector, all_agents');
    let condition: { sql: string; params: unknown[] };
    let scope: Record<string, string | boolean>;
    if (uidText) {
      condition = { sql: 'a.instance_uid = $2', params: [instanceUid(uidText)] };
      scope = { instanceUid: uidText };
    } else if (selector) {
      const parsed = selectorToSql(parseSelectorArgument(selector), 'a.labels', 1);
      condition = { sql: parsed.sql, params: parsed.params };
      scope = { selector };
    } else {
      condition = { sql: 'true', params: [] };
      scope = { allAgents: true };
    }
    const s = this.s;
    if (!(await s.authorities.active(c.tenantId))) throw new DesiredStateError('FAILED_PRECONDITION', 'the tenant has no certificate authority to sign renewals with (CreateCertificateAuthority)');
    const certificates = await this.ctx.repo.db.transaction(async (tx) => {
      const n = await s.rotations.requestRotation(tx, c.tenantId, condition);
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'agent_certificate.request_rotation', resourceType: 'agent_certificates', resourceName: uidText || selector || c.tenantId, details: { ...scope, certificates: n } },
        false,
      );
      return n;
    });
    if (certificates > 0) s.rotation.wake();
    return { certificates };
  }

  async listPendingCertificateSwitches(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const minutes = int(req['olderThanMinutes'], 'older_than_minutes');
    if (minutes < 0 || minutes > MAX_STALL_MINUTES) throw invalidArgument(`older_than_minutes must be between 0 and ${MAX_STALL_MINUTES} (0: the default, ${CERTIFICATE_SWITCH_STALL_MS / 60_000})`);
    const pending = await this.s.rotations.pendingSwitches(c.tenantId, minutes > 0 ? minutes * 60_000 : CERTIFICATE_SWITCH_STALL_MS, pageSize(req['pageSize']));
    return { switches: pending.map((p) => ({ instanceUid: p.current.instanceUid.toString('hex'), current: agentCertificateMessage(p.current), offered: agentCertificateMessage(p.offered) })) };
  }
}
