/**
 * The certificate authority part of the platform API: a tenant's CAs (create
 * the first, rotate: a new one signs, the old one stays trusted until its
 * overlap ends), the trust bundle a mutual-TLS terminator loads, and the
 * tenant's certificate policy. Every change is audited (fingerprints and
 * settings, never a key).
 */
import { CA_KEY_TYPES, CertificateRefusal, checkCaOptions, checkedPolicy, isKeyType, type CertificatePolicy, type KeyType } from '@opamp/certificate-authority';
import { DesiredStateError, invalidArgument } from '../core';
import { MAX_CA_OVERLAP_HOURS, MAX_CA_PEM_CHARS, DEFAULT_CA_OVERLAP_HOURS } from '../core/limits';
import type { CertificateAuthorityRecord } from '../store/certificate-authority.repository';
import type { CertificateServices } from '../runtime/agent-certificate.issuer';
import type { ApiContext, Caller } from './api-context';
import { int, str, type Req } from './request-fields';

export function certificateAuthorityMessage(ca: CertificateAuthorityRecord): Record<string, unknown> {
  return {
    id: ca.id,
    state: ca.state.toUpperCase(),
    source: ca.source.toUpperCase(),
    keyType: ca.keyType,
    certificatePem: ca.certificatePem,
    fingerprint: ca.fingerprint,
    serial: ca.serial,
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
    overlapEndTime: ca.overlapEndsAt ?? '',
    createdBy: ca.createdBy,
    createTime: ca.createdAt,
    retireTime: ca.retiredAt ?? '',
  };
}

function policyMessage(p: CertificatePolicy): Record<string, unknown> {
  return { requireApproval: p.requireApproval, lifetimeHours: p.lifetimeHours, keyTypes: [...p.keyTypes], allowedDnsNames: [...p.allowedDnsNames], rotateAtPercent: p.rotateAtPercent };
}

/** An operator's CA in a create request: both PEMs or neither. */
function operatorCa(req: Req): { certificatePem: string; privateKeyPem: string } | null {
  const certificatePem = str(req['certificatePem']);
  const privateKeyPem = str(req['privateKeyPem']);
  if (!certificatePem && !privateKeyPem) return null;
  if (!certificatePem || !privateKeyPem) throw invalidArgument('an operator CA needs both certificate_pem and private_key_pem');
  if (certificatePem.length > MAX_CA_PEM_CHARS || privateKeyPem.length > MAX_CA_PEM_CHARS) throw invalidArgument(`certificate_pem and private_key_pem must be at most ${MAX_CA_PEM_CHARS} characters`);
  return { certificatePem, privateKeyPem };
}

function caOptions(req: Req): { keyType?: KeyType; lifetimeDays?: number } {
  const keyType = str(req['keyType']);
  if (keyType && !isKeyType(keyType)) throw invalidArgument(`key_type must be one of ${CA_KEY_TYPES.join(', ')}`);
  const lifetimeDays = int(req['lifetimeDays'], 'lifetime_days');
  const options = { keyType: (keyType || undefined) as KeyType | undefined, lifetimeDays: lifetimeDays || undefined };
  try {
    checkCaOptions({ tenantId: '', ...options });
  } catch (err) {
    throw invalidArgument((err as Error).message);
  }
  return options;
}

export class CertificateAuthorityApi {
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

  private async audit(tx: Parameters<ApiContext['repo']['audit']>[0], c: Caller, action: string, name: string, before: string | null, after: string | null, details: Record<string, unknown>): Promise<void> {
    await this.ctx.repo.audit(tx, { tenantId: c.tenantId, actor: this.ctx.actor(c), action, resourceType: 'certificate_authority', resourceName: name, beforeHash: before ? Buffer.from(before, 'hex') : null, afterHash: after ? Buffer.from(after, 'hex') : null, details }, false);
  }

  async createCertificateAuthority(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const operator = operatorCa(req);
    const options = operator ? {} : caOptions(req);
    const s = this.s;
    const ca = await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      if (await s.authorities.active(c.tenantId, tx)) throw new DesiredStateError('ALREADY_EXISTS', 'the tenant has a certificate authority already (RotateCertificateAuthority replaces it)');
      let created: CertificateAuthorityRecord;
      try {
        created = operator
          ? await s.authorities.importOperator(tx, c.tenantId, operator.certificatePem, operator.privateKeyPem, this.ctx.actor(c))
          : await s.authorities.create(tx, c.tenantId, options, this.ctx.actor(c));
      } catch (err) {
        // The operator's CA refused: the reason, never the key.
        if (err instanceof CertificateRefusal) throw invalidArgument(`certificate_pem / private_key_pem: ${err.message}`);
        throw err;
      }
      await this.audit(tx, c, 'certificate_authority.create', created.id, null, created.fingerprint, { source: created.source, keyType: created.keyType, notAfter: created.notAfter });
      return created;
    });
    return certificateAuthorityMessage(ca);
  }

  async rotateCertificateAuthority(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const options = caOptions(req);
    const overlap = int(req['overlapHours'], 'overlap_hours') || DEFAULT_CA_OVERLAP_HOURS;
    if (overlap < 1 || overlap > MAX_CA_OVERLAP_HOURS) throw invalidArgument(`overlap_hours must be between 1 and ${MAX_CA_OVERLAP_HOURS}`);
    const s = this.s;
    const ca = await this.ctx.repo.db.transaction(async (tx) => {
      const old = await s.authorities.retireActive(tx, c.tenantId, overlap);
      if (!old) throw new DesiredStateError('FAILED_PRECONDITION', 'the tenant has no certificate authority to rotate (CreateCertificateAuthority)');
      const created = await s.authorities.create(tx, c.tenantId, { keyType: options.keyType ?? old.keyType, lifetimeDays: options.lifetimeDays }, this.ctx.actor(c));
      await this.audit(tx, c, 'certificate_authority.rotate', created.id, old.fingerprint, created.fingerprint, { retiring: old.id, overlapEndTime: old.overlapEndsAt, keyType: created.keyType });
      return created;
    });
    // The retiring CA's certificates are due for renewal now (during the overlap): the rotation sweep starts on them.
    s.rotation.wake();
    return certificateAuthorityMessage(ca);
  }

  async listCertificateAuthorities(c: Caller): Promise<Record<string, unknown>> {
    const cas = this.services?.authorities.available ? await this.services.authorities.list(c.tenantId) : [];
    const trusted = cas.filter((ca) => ca.state !== 'retired');
    return { certificateAuthorities: cas.map(certificateAuthorityMessage), trustBundlePem: trusted.map((ca) => ca.certificatePem.trim() + '\n').join('') };
  }

  async getCertificatePolicy(c: Caller): Promise<Record<string, unknown>> {
    return policyMessage(await this.s.authorities.policy(c.tenantId));
  }

  async updateCertificatePolicy(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const p = (req['policy'] ?? null) as Req | null;
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw invalidArgument('policy is required');
    const list = (v: unknown, field: string) => {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) throw invalidArgument(`${field} must be a list`);
      return v.map(str);
    };
    let policy: CertificatePolicy;
    try {
      policy = checkedPolicy({
        requireApproval: p['requireApproval'] === true,
        lifetimeHours: int(p['lifetimeHours'], 'policy.lifetime_hours') || undefined,
        keyTypes: list(p['keyTypes'], 'policy.key_types'),
        allowedDnsNames: list(p['allowedDnsNames'], 'policy.allowed_dns_names'),
        rotateAtPercent: int(p['rotateAtPercent'], 'policy.rotate_at_percent') || undefined,
      });
    } catch (err) {
      if (err instanceof DesiredStateError) throw err;
      throw invalidArgument(`policy.${(err as Error).message}`);
    }
    const s = this.s;
    await this.ctx.repo.db.transaction(async (tx) => {
      await this.ctx.repo.ensureTenant(tx, c.tenantId);
      const before = await s.authorities.policy(c.tenantId, tx);
      await s.authorities.setPolicy(tx, c.tenantId, policy, this.ctx.actor(c));
      await this.ctx.repo.audit(
        tx,
        { tenantId: c.tenantId, actor: this.ctx.actor(c), action: 'certificate_policy.update', resourceType: 'certificate_policy', resourceName: c.tenantId, details: { before: policyMessage(before), after: policyMessage(policy) } },
        false,
      );
    });
    return policyMessage(policy);
  }
}
