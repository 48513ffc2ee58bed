/**
 * Prometheus metrics of certificate rotation (issue 18 item 4), in
 * config-service and the embedded server: per tenant, agents whose
 * certificate ends within the expiry window (7 days), agents whose
 * certificates have all expired, and renewals not switched to within the
 * stall bound (read from the database at scrape time, at most once per
 * EXPIRY_CACHE_MS: the same figures on every replica, so aggregate with max;
 * a failed read keeps the last figures and is counted, the scrape goes on);
 * and this process's activations and renewals by reason.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { CERTIFICATE_EXPIRY_WINDOW_DAYS, CERTIFICATE_SWITCH_STALL_MS } from '../core';
import type { CertificateRotationRepository } from '../store/certificate-rotation.repository';
import type { AgentCertificateReconciler } from './agent-certificate.reconciler';
import type { AgentCertificateRotator } from './agent-certificate.rotator';
import { mirrorCounter } from './metric-mirror';

const EXPIRY_CACHE_MS = 15_000;

type ExpiryCounts = Awaited<ReturnType<CertificateRotationRepository['expiryCounts']>>;

export function registerCertificateMetrics(registry: Registry, reconciler: AgentCertificateReconciler, rotator: AgentCertificateRotator | null): void {
  const activator = reconciler.activator.metrics;
  mirrorCounter(registry, 'opamp_config_certificate_activations_total', 'Agents seen on a certificate issued to them (activated; the ones it replaced superseded)', () => activator.activations);
  mirrorCounter(registry, 'opamp_config_certificate_requests_repeated_total', 'CSRs seen again (a replayed agent event) while a live certificate from them exists: re-offered, nothing issued', () => reconciler.metrics.repeated);
  if (rotator) {
    const totals = rotator.totals;
    new Counter({
      name: 'opamp_config_certificate_renewals_total',
      help: "Agents' certificates renewed by reason (expiry: the policy's share of the lifetime passed; requested: RotateAgentCertificates; ca_rotation: signed by a retiring CA)",
      labelNames: ['reason'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const reason of ['expiry', 'requested', 'ca_rotation'] as const) this.inc({ reason }, totals[reason]);
      },
    });
    mirrorCounter(registry, 'opamp_config_certificate_renewals_postponed_total', 'Renewals not made (the CA ends first, or the certificate cannot be renewed): tried again later', () => totals.postponed);
  }
  const rotations = reconciler.services.rotations;
  let cached: { at: number; counts: Promise<ExpiryCounts> } | null = null;
  const counts = (): Promise<ExpiryCounts> => {
    if (!cached || Date.now() - cached.at > EXPIRY_CACHE_MS) {
      const read = rotations.expiryCounts(CERTIFICATE_EXPIRY_WINDOW_DAYS, CERTIFICATE_SWITCH_STALL_MS);
      cached = { at: Date.now(), counts: read };
      read.catch(() => (cached = null));
    }
    return cached.counts;
  };
  let last: ExpiryCounts = [];
  let readErrors = 0;
  mirrorCounter(registry, 'opamp_config_agent_certificates_read_errors_total', 'Scrapes whose read of the certificate gauge failed (it kept its last figures)', () => readErrors);
  new Gauge({
    name: 'opamp_config_agent_certificates',
    help: `Agents by the state of their client certificate, per tenant: expiring (ends within ${CERTIFICATE_EXPIRY_WINDOW_DAYS} days), expired (all their certificates ended), rotation_stalled (a renewal not switched to within ${CERTIFICATE_SWITCH_STALL_MS / 60_000} min)`,
    labelNames: ['tenant', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        last = await counts();
      } catch {
        readErrors++;
      }
      for (const c of last) {
        this.set({ tenant: c.tenantId, state: 'expiring' }, c.expiring);
        this.set({ tenant: c.tenantId, state: 'expired' }, c.expired);
        this.set({ tenant: c.tenantId, state: 'rotation_stalled' }, c.stalled);
      }
    },
  });
}
