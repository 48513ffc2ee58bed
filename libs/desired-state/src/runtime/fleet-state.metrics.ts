/**
 * config-service's fleet-state gauges (issue 21): rollout progress and
 * identity expiry, read from PostgreSQL at scrape time with one aggregate
 * statement each (store/fleet-state.repository.ts), at most once per
 * FLEET_STATE_CACHE_MS whatever the number of scrapes and gauges. Every
 * replica reports the same figures: aggregate with max. A failed read keeps
 * the last figures and is counted; the scrape goes on.
 */
import { Gauge, type Registry } from 'prom-client';
import type { FleetStateRepository, IdentityExpiryRow, RolloutProgressRow } from '../store/fleet-state.repository';
import { mirrorCounter } from './metric-mirror';

const FLEET_STATE_CACHE_MS = 15_000;
const FLEET_STATE_SCRAPE_WAIT_MS = 1_000;

/** One read shared by every gauge of a scrape (and the scrapes within `ttlMs`); a failure keeps the last value. */
class CachedRead<T> {
  private pending: { at: number; read: Promise<T> } | null = null;
  private last: T;
  errors = 0;

  constructor(
    private readonly read: () => Promise<T>,
    empty: T,
    private readonly ttlMs: number,
  ) {
    this.last = empty;
  }

  async get(): Promise<T> {
    if (!this.pending || Date.now() - this.pending.at > this.ttlMs) {
      const read = this.read();
      this.pending = { at: Date.now(), read };
      read.then(
        (value) => {
          this.last = value;
        },
        () => {
          this.errors++;
          if (this.pending?.read === read) this.pending = null;
        },
      );
    }
    // A scrape waits a moment for the read, never for the store's whole wait budget (a database
    // outage must not stall /metrics): a late read still lands for the next scrape.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FLEET_STATE_SCRAPE_WAIT_MS);
      timer.unref?.();
    });
    await Promise.race([this.pending.read.then(() => undefined, () => undefined), late]);
    clearTimeout(timer);
    return this.last;
  }
}

export function registerFleetStateMetrics(registry: Registry, repo: FleetStateRepository): void {
  const rollouts = new CachedRead<RolloutProgressRow[]>(() => repo.rolloutProgress(), [], FLEET_STATE_CACHE_MS);
  const expiry = new CachedRead<IdentityExpiryRow[]>(() => repo.identityExpiry(), [], FLEET_STATE_CACHE_MS);
  mirrorCounter(registry, 'opamp_config_fleet_state_read_errors_total', 'Scrapes whose read of the rollout or expiry gauges failed (they kept their last figures)', () => rollouts.errors + expiry.errors);
  const perRollout = (name: string, help: string, value: (r: RolloutProgressRow) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['tenant', 'kind', 'rollout'] as const,
      registers: [registry],
      async collect() {
        const rows = await rollouts.get();
        this.reset();
        for (const r of rows) this.set({ tenant: r.tenantId, kind: r.kind, rollout: r.name }, value(r));
      },
    });
  new Gauge({
    name: 'opamp_config_rollouts_active',
    help: 'Rollouts not finished, by tenant, kind (configuration, package) and state (pending, running, paused, rolling_back)',
    labelNames: ['tenant', 'kind', 'state'] as const,
    registers: [registry],
    async collect() {
      const rows = await rollouts.get();
      this.reset();
      const counts = new Map<string, { tenant: string; kind: string; state: string; n: number }>();
      for (const r of rows) {
        const key = `${r.tenantId}\u0000${r.kind}\u0000${r.state}`;
        const c = counts.get(key) ?? { tenant: r.tenantId, kind: r.kind, state: r.state, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const c of counts.values()) this.set({ tenant: c.tenant, kind: c.kind, state: c.state }, c.n);
    },
  });
  new Gauge({
    name: 'opamp_config_rollout_agents',
    help: "Agents of each rollout under way by their place: moved (to the new version), reverted (by a rollback), waiting (of the agents targeted at the start, not taken by a batch yet)",
    labelNames: ['tenant', 'kind', 'rollout', 'state'] as const,
    registers: [registry],
    async collect() {
      const rows = await rollouts.get();
      this.reset();
      for (const r of rows) {
        const labels = { tenant: r.tenantId, kind: r.kind, rollout: r.name };
        this.set({ ...labels, state: 'moved' }, r.moved);
        this.set({ ...labels, state: 'reverted' }, r.reverted);
        this.set({ ...labels, state: 'waiting' }, Math.max(0, r.totalAgents - r.moved - r.reverted));
      }
    },
  });
  perRollout('opamp_config_rollout_current_batch', 'Number of the batch in progress of each rollout under way (1 = the first; 0 before it)', (r) => r.currentBatch + 1);
  perRollout('opamp_config_rollout_batches', 'Batches of each rollout under way', (r) => r.batches);
  perRollout('opamp_config_rollout_paused_by_gate', 'Whether a rollout under way is paused because a batch failed its gate (1) or not (0; also when an operator paused it)', (r) => (r.pausedByGate ? 1 : 0));
  new Gauge({
    name: 'opamp_config_identities_expiring',
    help: 'Identities in use that end within 24h or 7d, by tenant and kind (agent_certificate, agent_credential: its rotation deadline, enrollment_token, ca_certificate)',
    labelNames: ['tenant', 'kind', 'within'] as const,
    registers: [registry],
    async collect() {
      const rows = await expiry.get();
      this.reset();
      for (const r of rows) {
        this.set({ tenant: r.tenantId, kind: r.kind, within: '24h' }, r.within24h);
        this.set({ tenant: r.tenantId, kind: r.kind, within: '7d' }, r.within7d);
      }
    },
  });
  new Gauge({
    name: 'opamp_config_identity_earliest_expiry_seconds',
    help: 'Seconds until the first identity in use of each tenant and kind ends (negative: ended, not yet swept); no series when the tenant has none',
    labelNames: ['tenant', 'kind'] as const,
    registers: [registry],
    async collect() {
      const rows = await expiry.get();
      this.reset();
      for (const r of rows) this.set({ tenant: r.tenantId, kind: r.kind }, r.earliestSeconds);
    },
  });
}
