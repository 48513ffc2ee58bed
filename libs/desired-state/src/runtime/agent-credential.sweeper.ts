/**
 * The clock side of agents' credentials, swept periodically by one
 * config-service replica at a time (a transaction-scoped advisory lock):
 * - a rotation's deadline passed before the agent switched: its old
 *   credential expires and leaves the gateways' directory (the agent can
 *   enroll again; it is listed until then by ListPendingCredentialSwitches);
 * - scheduled rotation: in tenants with agent_credential_lifetime_days > 0,
 *   active credentials older than that get a successor on offer (with the
 *   tenant's switch grace), their offers due (the offer queue sends them).
 * Work per pass is bounded (pages), so a large fleet rotates over several passes.
 */
import { holdsSweepLock, PeriodicPass } from './periodic-pass';
import { directoryEntry, type AgentCredentialRecord, type AgentCredentialRepository } from '../store/agent-credential.repository';
import { toBuffer, toNumber } from '../store/desired-state.repository';
import { putAll, removeAll, type CredentialDirectory } from './agent-identity.reconciler';

const SWEEP_LOCK = 'opamp.agent-credential-sweep';

export interface AgentCredentialSweeperOptions {
  intervalMs?: number;
  /** Credentials expired or rotated per pass at most. */
  pageSize?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export interface CredentialSweepStats {
  expired: number;
  rotated: number;
  skipped: boolean;
}

export class AgentCredentialSweeper {
  private readonly periodic: PeriodicPass;
  readonly totals = { passes: 0, expired: 0, rotated: 0, errors: 0 };

  constructor(
    private readonly credentials: AgentCredentialRepository,
    private readonly directory: CredentialDirectory,
    /** The offer queue, woken when a pass rotated credentials. */
    private readonly offers: { wake(): void } | null,
    private readonly options: AgentCredentialSweeperOptions = {},
  ) {
    this.periodic = new PeriodicPass(() => this.sweepOnce(), this.options.intervalMs ?? 60_000, (err) => {
      this.totals.errors++;
      this.options.log?.('error', `credential sweep failed: ${String(err)}`);
    });
  }

  start(): void {
    this.periodic.start();
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  async sweepOnce(): Promise<CredentialSweepStats> {
    const limit = this.options.pageSize ?? 1000;
    const outcome = await this.credentials.db.transaction(async (tx) => {
      if (!(await holdsSweepLock(tx, SWEEP_LOCK))) return null;
      const expired = await this.credentials.expireDue(tx, limit);
      const due = await tx.query(
        `SELECT c.tenant_id, c.instance_uid, t.credential_switch_grace_hours
           FROM agent_credentials c JOIN tenants t ON t.id = c.tenant_id
          WHERE c.state = 'active' AND c.retire_at IS NULL AND t.agent_credential_lifetime_days > 0
            AND c.activated_at < now() - make_interval(days => t.agent_credential_lifetime_days)
          ORDER BY c.activated_at LIMIT $1`,
        [limit],
      );
      const byTenant = new Map<string, { uids: Buffer[]; grace: number }>();
      for (const r of due.rows) {
        const t = String(r['tenant_id']);
        const entry = byTenant.get(t) ?? { uids: [], grace: toNumber(r['credential_switch_grace_hours']) };
        entry.uids.push(toBuffer(r['instance_uid']) as Buffer);
        byTenant.set(t, entry);
      }
      const rotated: AgentCredentialRecord[] = [];
      const replaced: AgentCredentialRecord[] = [];
      for (const [tenantId, { uids, grace }] of byTenant) {
        const r = await this.credentials.rotate(tx, tenantId, uids, grace);
        rotated.push(...r.created);
        replaced.push(...r.replaced);
      }
      return { expired, replaced, rotated };
    });
    this.totals.passes++;
    if (!outcome) return { expired: 0, rotated: 0, skipped: true };
    await removeAll(this.directory, [...outcome.expired, ...outcome.replaced].map((c) => directoryEntry(c).digest));
    await putAll(this.directory, outcome.rotated.map(directoryEntry));
    if (outcome.rotated.length > 0) this.offers?.wake();
    this.totals.expired += outcome.expired.length;
    this.totals.rotated += outcome.rotated.length;
    return { expired: outcome.expired.length, rotated: outcome.rotated.length, skipped: false };
  }
}
