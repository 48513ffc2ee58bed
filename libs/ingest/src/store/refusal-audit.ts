/**
 * Refusals the gateways reported (a credential used for an agent it does not
 * speak for, a duplicate connection under an enrollment token) go to the
 * tenant's audit log, one multi-row INSERT per batch. Repeats of the same
 * refusal within a batch (a client retrying in a loop) are one row with a
 * count, so a hostile loop costs rows per batch, not per attempt.
 */
import { fleet } from '@opamp/contracts';
import type { SqlExecutor } from '@opamp/store';

export interface Refusal {
  tenantId: string;
  instanceUid: Buffer;
  gatewayId: string;
  credentialId: string;
  reason: number;
  detail: string;
  atMs: number;
}

/** The audit action's last word per reason (agent.refused.<word>). */
export function refusalName(reason: number): string {
  const R = fleet.v1.RefusalReason;
  switch (reason) {
    case R.REFUSAL_REASON_CREDENTIAL_OF_ANOTHER_AGENT:
      return 'credential_of_another_agent';
    case R.REFUSAL_REASON_AGENT_HAS_OWN_CREDENTIAL:
      return 'agent_has_own_credential';
    case R.REFUSAL_REASON_DUPLICATE_CONNECTION:
      return 'duplicate_connection';
    case R.REFUSAL_REASON_AGENT_CREDENTIAL_REQUIRED:
      return 'agent_credential_required';
    default:
      return 'unspecified';
  }
}

export async function recordRefusals(tx: SqlExecutor, refusals: readonly Refusal[]): Promise<number> {
  const grouped = new Map<string, { r: Refusal; count: number }>();
  for (const r of refusals) {
    const key = [r.tenantId, r.instanceUid.toString('hex'), r.reason, r.credentialId].join('\u0000');
    const g = grouped.get(key);
    if (g) g.count++;
    else grouped.set(key, { r, count: 1 });
  }
  if (grouped.size === 0) return 0;
  const values: string[] = [];
  const params: unknown[] = [];
  for (const { r, count } of grouped.values()) {
    const p = params.length;
    values.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}::jsonb, $${p + 6}::timestamptz)`);
    params.push(
      r.tenantId,
      `gateway:${r.gatewayId}`,
      `agent.refused.${refusalName(r.reason)}`,
      r.instanceUid.toString('hex'),
      JSON.stringify({ credentialId: r.credentialId, detail: r.detail, attempts: count }),
      new Date(r.atMs).toISOString(),
    );
  }
  const { rows } = await tx.query(
    `INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_name, details, created_at)
     SELECT v.tenant_id, v.actor, v.action, 'agent', v.uid, v.details, v.at
       FROM (VALUES ${values.join(', ')}) AS v (tenant_id, actor, action, uid, details, at)
     RETURNING id`,
    params,
  );
  return rows.length;
}
