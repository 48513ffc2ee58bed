/**
 * The aggregate reads behind config-service's fleet-state gauges (issue 21):
 * the progress of every rollout under way, and when identities end. Each is
 * one aggregate statement over the whole database, whatever the fleet's size
 * (counted per rollout and per tenant, never read per agent), made at most
 * once per cache interval (runtime/fleet-state.metrics.ts).
 */
import type { SqlDatabase } from '@opamp/store';
import { toNumber } from './desired-state.repository';

export interface RolloutProgressRow {
  tenantId: string;
  name: string;
  /** 'configuration' or 'package'. */
  kind: string;
  state: string;
  /** Index of the batch in progress (-1 before the first). */
  currentBatch: number;
  batches: number;
  totalAgents: number;
  moved: number;
  reverted: number;
  /** Paused because a batch failed its gate (not by an operator). */
  pausedByGate: boolean;
}

/** What an identity is: an agent's client certificate, an agent's own credential, an enrollment token, a tenant's CA certificate. */
export type IdentityKind = 'agent_certificate' | 'agent_credential' | 'enrollment_token' | 'ca_certificate';

export interface IdentityExpiryRow {
  tenantId: string;
  kind: IdentityKind;
  within24h: number;
  within7d: number;
  /** Seconds until the earliest one ends (negative: already past, not yet swept). */
  earliestSeconds: number;
}

export class FleetStateRepository {
  constructor(private readonly db: SqlDatabase) {}

  /** Rollouts not finished (pending, running, paused, rolling back), with their agents counted by pin state. */
  async rolloutProgress(): Promise<RolloutProgressRow[]> {
    const { rows } = await this.db.query(
      `SELECT r.tenant_id, r.name, r.target_kind, r.state, r.current_batch, r.total_agents,
              (SELECT count(*) FROM rollout_batches b WHERE b.tenant_id = r.tenant_id AND b.rollout_name = r.name) AS batches,
              (r.state = 'paused' AND EXISTS (SELECT 1 FROM rollout_batches b WHERE b.tenant_id = r.tenant_id AND b.rollout_name = r.name AND b.state = 'failed')) AS paused_by_gate,
              m.moved, m.reverted
         FROM rollouts r
         CROSS JOIN LATERAL (
           SELECT count(*) FILTER (WHERE ra.state = 'moved') AS moved, count(*) FILTER (WHERE ra.state = 'reverted') AS reverted
             FROM rollout_agents ra WHERE ra.tenant_id = r.tenant_id AND ra.rollout_name = r.name) m
        WHERE r.state IN ('pending', 'running', 'paused', 'rolling_back')`,
    );
    return rows.map((r) => ({
      tenantId: String(r['tenant_id']),
      name: String(r['name']),
      kind: String(r['target_kind']),
      state: String(r['state']),
      currentBatch: toNumber(r['current_batch']),
      batches: toNumber(r['batches']),
      totalAgents: toNumber(r['total_agents']),
      moved: toNumber(r['moved']),
      reverted: toNumber(r['reverted']),
      pausedByGate: r['paused_by_gate'] === true,
    }));
  }

  /** Per tenant and kind: identities in use that end within 24 h and 7 days, and the earliest end. */
  async identityExpiry(): Promise<IdentityExpiryRow[]> {
    const { rows } = await this.db.query(
      `SELECT tenant_id, kind,
              count(*) FILTER (WHERE ends <= now() + interval '24 hours') AS within_24h,
              count(*) FILTER (WHERE ends <= now() + interval '7 days') AS within_7d,
              extract(epoch FROM min(ends) - now()) AS earliest_seconds
         FROM (
           SELECT tenant_id, 'agent_certificate' AS kind, not_after AS ends FROM agent_certificates WHERE state IN ('issued', 'active')
           UNION ALL
           SELECT tenant_id, 'agent_credential', retire_at FROM agent_credentials WHERE state = 'active' AND retire_at IS NOT NULL
           UNION ALL
           SELECT tenant_id, 'enrollment_token', expires_at FROM api_tokens WHERE kind = 'agent' AND revoked_at IS NULL AND expires_at > now()
           UNION ALL
           SELECT tenant_id, 'ca_certificate', not_after FROM certificate_authorities WHERE state IN ('active', 'retiring')
         ) e
        GROUP BY tenant_id, kind`,
    );
    return rows.map((r) => ({
      tenantId: String(r['tenant_id']),
      kind: String(r['kind']) as IdentityKind,
      within24h: toNumber(r['within_24h']),
      within7d: toNumber(r['within_7d']),
      earliestSeconds: toNumber(r['earliest_seconds']),
    }));
  }
}
