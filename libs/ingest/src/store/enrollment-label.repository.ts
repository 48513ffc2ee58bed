/**
 * Which labels an agent's credential brings (read by status-ingest when an
 * agent's credential changes): an enrollment token's own labels, or, for an
 * agent's own credential, those of the enrollment token that issued it
 * (agent_credentials.enrollment_token_id). One query per batch for every
 * credential that changed in it; unknown credentials (static gateway tokens)
 * bring none.
 */
import { fleet } from '@opamp/contracts';
import type { SqlExecutor } from '@opamp/store';

export interface CredentialRef {
  tenantId: string;
  credentialId: string;
  credentialKind: number;
}

const ENROLLMENT = fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT;
const AGENT = fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function credentialKey(c: CredentialRef): string {
  return `${c.tenantId}/${c.credentialKind}/${c.credentialId}`;
}

function labelsOf(v: unknown): Record<string, string> {
  const parsed = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(parsed as Record<string, unknown>)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** credentialKey -> the labels it brings; credentials not found are absent. */
export async function enrollmentLabelsOf(tx: SqlExecutor, refs: readonly CredentialRef[]): Promise<Map<string, Record<string, string>>> {
  // A static gateway token's id is no UUID and can match nothing: left out, so the ids compare as
  // uuid and the primary keys are used (as text, every batch scanned the whole credentials table).
  const uuidsOf = (kind: number) => [...new Set(refs.filter((r) => r.credentialKind === kind && UUID.test(r.credentialId)).map((r) => r.credentialId))];
  const tokenIds = uuidsOf(ENROLLMENT);
  const credentialIds = uuidsOf(AGENT);
  const found = new Map<string, Record<string, string>>();
  if (tokenIds.length === 0 && credentialIds.length === 0) return found;
  const { rows } = await tx.query(
    `SELECT t.tenant_id, ${ENROLLMENT} AS kind, t.id::text AS id, t.labels
       FROM api_tokens t WHERE t.kind = 'agent' AND t.id = ANY($1::uuid[])
     UNION ALL
     SELECT c.tenant_id, ${AGENT} AS kind, c.id::text AS id, t.labels
       FROM agent_credentials c JOIN api_tokens t ON t.id = c.enrollment_token_id AND t.tenant_id = c.tenant_id
      WHERE c.id = ANY($2::uuid[])`,
    [tokenIds, credentialIds],
  );
  for (const r of rows) {
    found.set(credentialKey({ tenantId: String(r['tenant_id']), credentialKind: Number(r['kind']), credentialId: String(r['id']) }), labelsOf(r['labels']));
  }
  return found;
}
