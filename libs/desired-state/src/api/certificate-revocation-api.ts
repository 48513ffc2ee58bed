/**
 * The certificate revocation part of the platform API (issue 18 item 5):
 * - RevokeAgentCertificates revokes certificates (one, an agent's, a
 *   selector's agents', optionally of one CA) and nothing else;
 * - RevokeAgents ("revoke the agent", C69) revokes every certificate of the
 *   agents and every other credential this server issued them (their own
 *   bearer credentials, through the credential API).
 * In the revocation's transaction the certificates are marked revoked, the
 * CRL of each CA they came from is re-signed, and the change is audited;
 * after the commit the gateways' directory refuses their fingerprints at once
 * and closes their connections on every gateway. GetCertificateRevocationList
 * serves a CA's current CRL.
 */
import { certificateRevocationOf, DesiredStateError, invalidArgument, MAX_AGENTS_PER_REVOCATION, parseSelectorArgument, selectorToSql, type CertificateRevocationRequest } from '../core';
import { publishRevocations, type CertificateServices } from '../runtime/agent-certificate.issuer';
import type { AgentCertificateRecord } from '../store/agent-certificate.repository';
import type { StoredRevocationList } from '../store/certificate-revocation.repository';
import type { AgentCredentialApi } from './agent-credential-api';
import type { ApiContext, Caller } from './api-context';
import { str, type Req } from './request-fields';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Certificate ids an answer (and an audit record) lists; the counts are always whole. */
const MAX_LISTED = 1000;

export function revocationListMessage(l: StoredRevocationList): Record<string, unknown> {
  return { caId: l.caId, crlNumber: l.crlNumber, thisUpdate: l.thisUpdate, nextUpdate: l.nextUpdate, entries: l.entries, crlPem: l.pem, crlDer: l.der };
}

export interface RevocationOutcome {
  readonly revoked: readonly AgentCertificateRecord[];
  readonly caIds: readonly string[];
}

export class CertificateRevocationApi {
  /** Certificates revoked by this replica, by reason code. */
  readonly metrics = { revoked: {} as Record<string, number> };

  constructor(
    private readonly ctx: ApiContext,
    private readonly services: CertificateServices | null,
    private readonly credentials: () => AgentCredentialApi | null,
  ) {}

  /** CRLs this replica signed (revocations, the sweep, a stale list read). */
  get crlsSigned(): number {
    return this.services?.crls.signed ?? 0;
  }

  private get s(): CertificateServices {
    if (!this.services || !this.services.authorities.available) {
      throw new DesiredStateError('FAILED_PRECONDITION', 'certificates are not available on this server (no credential key configured: OPAMP_CREDENTIAL_KEY)');
    }
    return this.services;
  }

  async revokeAgentCertificates(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const r = certificateRevocationOf(req);
    const done = await this.revoke(c, r, 'agent_certificate.revoke');
    return this.answer(done, 0);
  }

  async revokeAgents(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const r = certificateRevocationOf(req, true);
    const credentials = this.credentials();
    const done = this.services?.authorities.available ? await this.revoke(c, r, 'agent.revoke') : { revoked: [], caIds: [] };
    // The agents' own bearer credentials (audited and closed by the credential API); none issued: nothing to revoke.
    let revokedCredentials = 0;
    let credentialAgents = 0;
    if (credentials) {
      const scope = r.scope.kind === 'agent' ? { instanceUid: r.scope.uidHex } : { selector: (r.scope as { selector: string }).selector };
      const note = r.note ? `${r.reason}: ${r.note}` : r.reason;
      const out = await credentials.revokeAgentCredentials(c, { ...scope, reason: `agent revoked (${note})`.slice(0, 500) });
      revokedCredentials = Number(out['credentials'] ?? 0);
      credentialAgents = Number(out['agents'] ?? 0);
    }
    const answer = this.answer(done, revokedCredentials);
    // Agents with certificates mostly hold a credential too: the larger count, not the sum.
    return { ...answer, agents: Math.max(credentialAgents, Number(answer['agents'])) };
  }

  async getCertificateRevocationList(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const id = str(req['id']);
    if (!UUID.test(id)) throw invalidArgument('id must be a certificate authority id (a UUID)');
    const list = await this.s.crls.current(c.tenantId, id.toLowerCase());
    if (!list) throw new DesiredStateError('NOT_FOUND', `no certificate authority '${id}'`);
    return revocationListMessage(list);
  }

  private answer(done: RevocationOutcome, credentials: number): Record<string, unknown> {
    return {
      agents: new Set(done.revoked.map((x) => x.instanceUid.toString('hex'))).size,
      certificates: done.revoked.length,
      credentials,
      certificateIds: done.revoked.slice(0, MAX_LISTED).map((x) => x.id),
      caIds: [...done.caIds],
    };
  }

  /** The agents a selector matches now. */
  private async agentsOf(c: Caller, selector: string): Promise<Buffer[]> {
    const parsed = selectorToSql(parseSelectorArgument(selector), 'a.labels', 1);
    const { rows } = await this.ctx.repo.db.query(`SELECT a.instance_uid FROM agents a WHERE a.tenant_id = $1 AND (${parsed.sql}) LIMIT ${MAX_AGENTS_PER_REVOCATION}`, [c.tenantId, ...parsed.params]);
    return rows.map((row) => row['instance_uid'] as Buffer);
  }

  private async revoke(c: Caller, r: CertificateRevocationRequest, action: string): Promise<RevocationOutcome> {
    const s = this.s;
    const { scope } = r;
    if (scope.caId && !(await s.authorities.get(c.tenantId, scope.caId))) throw new DesiredStateError('NOT_FOUND', `no certificate authority '${scope.caId}'`);
    const uids = scope.kind === 'agent' ? [Buffer.from(scope.uidHex, 'hex')] : scope.kind === 'selector' ? await this.agentsOf(c, scope.selector) : null;
    const actor = this.ctx.actor(c);
    const done = await this.ctx.repo.db.transaction(async (tx) => {
      const revoked = await s.revocations.revoke(tx, c.tenantId, scope, uids, r.reason, r.note, actor);
      // A single certificate named that is not (or no longer) revocable is the caller's mistake to hear about.
      if (scope.kind === 'certificate' && revoked.length === 0) {
        throw new DesiredStateError('NOT_FOUND', `no unexpired, unrevoked certificate of this tenant with ${scope.by} ${scope.value}`);
      }
      const caIds = [...new Set(revoked.map((x) => x.caId))].sort();
      for (const id of caIds) {
        const ca = await s.authorities.get(c.tenantId, id, tx);
        if (ca) await s.crls.resign(tx, ca);
      }
      const scopeDetails = scope.kind === 'certificate' ? { [scope.by]: scope.value } : scope.kind === 'agent' ? { instanceUid: scope.uidHex } : { selector: scope.selector };
      await this.ctx.repo.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor,
          action,
          resourceType: 'agent_certificates',
          resourceName: Object.values(scopeDetails)[0],
          details: {
            ...scopeDetails,
            ...(scope.caId ? { caId: scope.caId } : {}),
            reason: r.reason,
            note: r.note,
            certificates: revoked.length,
            certificateIds: revoked.slice(0, MAX_LISTED).map((x) => x.id),
            fingerprints: revoked.slice(0, MAX_LISTED).map((x) => x.fingerprint),
            crlsSigned: caIds,
          },
        },
        false,
      );
      return { revoked, caIds };
    });
    this.metrics.revoked[r.reason] = (this.metrics.revoked[r.reason] ?? 0) + done.revoked.length;
    // After the commit: every gateway refuses them and ends their connections.
    await publishRevocations(s.directory, done.revoked);
    return done;
  }
}
